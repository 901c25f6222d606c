// The /metrics page: every worker's WorkerStats summed at scrape, the reload counters, and per
// listener and per backend series from the current snapshot (BackendCounters are shared atomics).
// The per-worker series are declared once, in worker/stats.h; the per-backend ones in the table
// in metrics.cpp. Rendering is pure over these values; any control-plane thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "ringlb/lb/snapshot.h"
#include "ringlb/worker/stats.h"

namespace ringlb::admin {

// The sum over workers of each WorkerStats field.
struct WorkerTotals {
#define RINGLB_FIELD(name, metric, labels, help) uint64_t name = 0;
  RINGLB_WORKER_COUNTERS(RINGLB_FIELD)
  RINGLB_WORKER_GAUGES(RINGLB_FIELD)
#undef RINGLB_FIELD
};

// Relaxed loads of counters that their workers keep writing: each sum is exact at quiescence and
// may be a few events behind while traffic flows.
WorkerTotals sum_workers(std::span<const worker::WorkerStats* const> workers) noexcept;

struct ReloadTotals {
  uint64_t ok = 0;
  uint64_t failed = 0;
};

std::string render_metrics(const WorkerTotals& workers, const ReloadTotals& reloads, const lb::Snapshot& snap,
                           bool sockmap_available = false);

}  // namespace ringlb::admin
