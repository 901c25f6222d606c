// Prometheus rendering of the counters (see metrics.h).
#include "ringlb/admin/metrics.h"

#include <string_view>

#include "ringlb/admin/exposition.h"

namespace ringlb::admin {
namespace {

// One per-backend series. Rows that share a name are one family and are adjacent; `label` is
// an extra rendered label ("" for none).
struct BackendMetric {
  std::string_view name;
  std::string_view label;
  MetricType type;
  std::string_view help;
  uint64_t (*value)(const lb::BackendView&);
};

uint64_t load(const std::atomic<uint64_t>& v) { return v.load(std::memory_order_relaxed); }

constexpr BackendMetric kBackendMetrics[] = {
    {"backend_up", "", MetricType::gauge, "1 while health checks pass, 0 while they fail (admin state aside)",
     [](const lb::BackendView& b) -> uint64_t { return b.up; }},
    {"backend_drained", "", MetricType::gauge, "1 while drained by the admin API (no new connections)",
     [](const lb::BackendView& b) -> uint64_t { return b.drained; }},
    {"backend_disabled", "", MetricType::gauge, "1 while disabled by the admin API (admin-down)",
     [](const lb::BackendView& b) -> uint64_t { return b.disabled; }},
    {"backend_weight", "", MetricType::gauge, "configured relative weight",
     [](const lb::BackendView& b) -> uint64_t { return b.weight; }},
    {"backend_connections_active", "", MetricType::gauge, "client connections holding this backend (connecting or open)",
     [](const lb::BackendView& b) -> uint64_t { return b.counters->active.load(std::memory_order_relaxed); }},
    {"backend_connections_total", "", MetricType::counter, "connections established to this backend",
     [](const lb::BackendView& b) { return load(b.counters->connections_total); }},
    {"backend_connect_failures_total", "", MetricType::counter, "connect attempts to this backend that failed",
     [](const lb::BackendView& b) { return load(b.counters->connect_failures); }},
    {"health_checks_total", "result=\"success\"", MetricType::counter, "health probes, by result",
     [](const lb::BackendView& b) { return load(b.counters->checks_ok); }},
    {"health_checks_total", "result=\"failure\"", MetricType::counter, "health probes, by result",
     [](const lb::BackendView& b) { return load(b.counters->checks_failed); }},
};

void render_workers(Exposition& out, const WorkerTotals& w) {
#define RINGLB_COUNTER(field, metric, labels, help) \
  out.family(metric, MetricType::counter, help);    \
  out.sample(metric, labels, w.field);
#define RINGLB_GAUGE(field, metric, labels, help) \
  out.family(metric, MetricType::gauge, help);    \
  out.sample(metric, labels, w.field);
  RINGLB_WORKER_COUNTERS(RINGLB_COUNTER)
  RINGLB_WORKER_GAUGES(RINGLB_GAUGE)
#undef RINGLB_COUNTER
#undef RINGLB_GAUGE
}

void render_listeners(Exposition& out, const lb::Snapshot& snap) {
  out.family("listener_info", MetricType::gauge, "1 per configured listener, labelled with its pool and bind");
  for (const lb::ListenerView& l : snap.listeners) {
    std::string labels;
    add_label(labels, "listener", l.name);
    add_label(labels, "pool", snap.pools[l.pool].name);
    add_label(labels, "bind", l.bind.to_string());
    out.sample("listener_info", labels, 1);
  }
}

void render_backends(Exposition& out, const lb::Snapshot& snap) {
  for (const BackendMetric& m : kBackendMetrics) {
    out.family(m.name, m.type, m.help);
    for (const lb::PoolView& pool : snap.pools) {
      for (const lb::BackendView& b : pool.backends) {
        std::string labels;
        add_label(labels, "pool", pool.name);
        add_label(labels, "backend", b.key);
        if (!m.label.empty()) labels += "," + std::string(m.label);
        out.sample(m.name, labels, m.value(b));
      }
    }
  }
}

}  // namespace

WorkerTotals sum_workers(std::span<const worker::WorkerStats* const> workers) noexcept {
  WorkerTotals t;
  for (const worker::WorkerStats* s : workers) {
#define RINGLB_SUM(field, metric, labels, help) t.field += s->field.load(std::memory_order_relaxed);
    RINGLB_WORKER_COUNTERS(RINGLB_SUM)
    RINGLB_WORKER_GAUGES(RINGLB_SUM)
#undef RINGLB_SUM
  }
  return t;
}

std::string render_metrics(const WorkerTotals& workers, const ReloadTotals& reloads, const lb::Snapshot& snap,
                           bool sockmap_available) {
  Exposition out;
  render_workers(out, workers);
  out.family("sockmap_available", MetricType::gauge,
             "1: the sockmap path is loaded; 0: every connection stays on the splice path (the datapath log "
             "line says why)");
  out.sample("sockmap_available", "", sockmap_available ? 1 : 0);
  out.family("config_reloads_total", MetricType::counter, "SIGHUP reloads, by result");
  out.sample("config_reloads_total", "result=\"success\"", reloads.ok);
  out.sample("config_reloads_total", "result=\"error\"", reloads.failed);
  render_listeners(out, snap);
  render_backends(out, snap);
  return out.text();
}

}  // namespace ringlb::admin
