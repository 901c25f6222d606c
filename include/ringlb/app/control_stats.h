// ControlStats: counters of the control plane (the main thread's reloads). Written by the main
// thread, read by the admin API at scrape. The data plane's counters are WorkerStats; backend
// counters live in lb::BackendCounters.
#pragma once

#include <atomic>
#include <cstdint>

namespace ringlb::app {

struct ControlStats {
  std::atomic<uint64_t> reloads_ok{0};      // ringlb_config_reloads_total{result="success"}
  std::atomic<uint64_t> reloads_failed{0};  // ringlb_config_reloads_total{result="error"}
};

}  // namespace ringlb::app
