// /metrics rendering: every declared series is present with its value, families are contiguous
// with one HELP/TYPE each, counters end in _total, and per-backend series carry pool/backend.
#include "ringlb/admin/metrics.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

#include "snapshot_fixture.h"

namespace ringlb::admin {
namespace {

// name{labels} -> value, plus the TYPE of each family, from the text.
struct Parsed {
  std::map<std::string, uint64_t> samples;
  std::map<std::string, std::string> types;
  std::vector<std::string> family_order;  // family of each sample line, in order
};

Parsed parse(const std::string& text) {
  Parsed p;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream l(line.substr(7));
      std::string name, type;
      l >> name >> type;
      EXPECT_EQ(p.types.count(name), 0u) << "TYPE twice for " << name;
      p.types[name] = type;
      continue;
    }
    if (line.rfind("#", 0) == 0) continue;
    const size_t space = line.rfind(' ');
    const std::string key = line.substr(0, space);
    p.samples[key] = std::stoull(line.substr(space + 1));
    p.family_order.push_back(key.substr(0, key.find('{')));
  }
  return p;
}

TEST(Metrics, SumsWorkersAndReconciles) {
  worker::WorkerStats a, b;
  a.accepted = 10;
  a.closed = 7;
  a.active = 3;
  b.accepted = 5;
  b.closed = 5;
  b.bytes_c2b = 100;
  b.rejected_no_backend = 2;
  const worker::WorkerStats* both[] = {&a, &b};
  const WorkerTotals t = sum_workers(both);
  EXPECT_EQ(t.accepted, 15u);
  EXPECT_EQ(t.closed, 12u);
  EXPECT_EQ(t.active, 3u);

  const auto snap = test::make_snapshot();
  const Parsed p = parse(render_metrics(t, ReloadTotals{4, 1}, *snap));
  EXPECT_EQ(p.samples.at("ringlb_connections_accepted_total"), 15u);
  EXPECT_EQ(p.samples.at("ringlb_connections_closed_total"), 12u);
  EXPECT_EQ(p.samples.at("ringlb_connections_active"), 3u);
  EXPECT_EQ(p.samples.at("ringlb_bytes_total{direction=\"c2b\"}"), 100u);
  EXPECT_EQ(p.samples.at("ringlb_bytes_total{direction=\"b2c\"}"), 0u);
  EXPECT_EQ(p.samples.at("ringlb_connections_rejected_total{reason=\"no_backend\"}"), 2u);
  EXPECT_EQ(p.samples.at("ringlb_sockmap_connections_active"), 0u);
  EXPECT_EQ(p.samples.at("ringlb_config_reloads_total{result=\"success\"}"), 4u);
  EXPECT_EQ(p.samples.at("ringlb_config_reloads_total{result=\"error\"}"), 1u);
  EXPECT_EQ(p.samples.at("ringlb_listener_info{listener=\"l\",pool=\"p\",bind=\"127.0.0.1:1443\"}"), 1u);
}

TEST(Metrics, BackendSeriesFromTheSnapshot) {
  const auto snap = test::make_snapshot();
  lb::BackendView& b = snap->pools[0].backends[1];  // 10.0.0.2:443, sorted
  ASSERT_EQ(b.key, "10.0.0.2:443");
  b.counters->connections_total = 42;
  b.counters->connect_failures = 3;
  b.counters->checks_ok = 9;
  b.counters->checks_failed = 1;
  b.counters->active = 2;
  b.up = false;
  b.drained = true;
  const Parsed p = parse(render_metrics({}, {}, *snap));
  const std::string l = "{pool=\"p\",backend=\"10.0.0.2:443\"";
  EXPECT_EQ(p.samples.at("ringlb_backend_up" + l + "}"), 0u);
  EXPECT_EQ(p.samples.at("ringlb_backend_drained" + l + "}"), 1u);
  EXPECT_EQ(p.samples.at("ringlb_backend_disabled" + l + "}"), 0u);
  EXPECT_EQ(p.samples.at("ringlb_backend_weight" + l + "}"), 50u);
  EXPECT_EQ(p.samples.at("ringlb_backend_connections_active" + l + "}"), 2u);
  EXPECT_EQ(p.samples.at("ringlb_backend_connections_total" + l + "}"), 42u);
  EXPECT_EQ(p.samples.at("ringlb_backend_connect_failures_total" + l + "}"), 3u);
  EXPECT_EQ(p.samples.at("ringlb_health_checks_total" + l + ",result=\"success\"}"), 9u);
  EXPECT_EQ(p.samples.at("ringlb_health_checks_total" + l + ",result=\"failure\"}"), 1u);
  EXPECT_EQ(p.samples.at("ringlb_backend_up{pool=\"p\",backend=\"[::1]:8080\"}"), 1u);
  EXPECT_EQ(p.samples.at("ringlb_backend_up{pool=\"q\",backend=\"10.0.1.1:80\"}"), 1u);
}

TEST(Metrics, FamiliesAreContiguousTypedAndNamedByTheRules) {
  const auto snap = test::make_snapshot();
  const Parsed p = parse(render_metrics({}, {}, *snap));
  std::set<std::string> finished;
  std::string current;
  for (const std::string& f : p.family_order) {
    if (f == current) continue;
    EXPECT_EQ(finished.count(f), 0u) << f << " is split: Prometheus needs a family's samples together";
    finished.insert(current);
    current = f;
  }
  for (const auto& [name, type] : p.types) {
    EXPECT_EQ(name.rfind("ringlb_", 0), 0u) << name;
    const bool total = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
    EXPECT_EQ(type == "counter", total) << name << " is a " << type;
  }
  // Every series DESIGN.md names is present.
  for (const char* name : {"ringlb_connections_accepted_total", "ringlb_connections_active",
                           "ringlb_connections_rejected_total", "ringlb_backend_up", "ringlb_backend_connections_active",
                           "ringlb_backend_connections_total", "ringlb_backend_connect_failures_total",
                           "ringlb_bytes_total", "ringlb_health_checks_total", "ringlb_sockmap_connections_active",
                           "ringlb_config_reloads_total"}) {
    EXPECT_EQ(p.types.count(name), 1u) << name;
  }
}

}  // namespace
}  // namespace ringlb::admin
