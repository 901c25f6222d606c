// Prober: the health checker. One control-plane thread with its own io_uring sends TCP-connect
// probes to every backend of every pool (interval, timeout from the pool's health settings),
// folds in the connect failures workers reported (passive checks), runs rise/fall, and on each
// state change logs one line and publishes a new snapshot. Workers never wait for it.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "ringlb/common/fd.h"
#include "ringlb/common/ring.h"
#include "ringlb/health/rise_fall.h"
#include "ringlb/lb/snapshot.h"

namespace ringlb::health {

class Prober {
 public:
  explicit Prober(lb::SnapshotStore& store);
  Prober(const Prober&) = delete;
  Prober& operator=(const Prober&) = delete;

  // Creates the ring. Returns 0 or -errno.
  int init() noexcept;
  // Probes every backend once, in parallel, waits for every result (at most the largest probe
  // timeout) and publishes the outcome. Called at startup before workers accept, so a backend
  // that is down at start never receives a client.
  void first_round();
  // The thread body: probes on schedule until `stop` is set (checked at least every 100 ms).
  void run(const std::atomic<bool>& stop);

 private:
  struct Target {
    std::string pool;
    std::string backend;  // BackendView::key
    Address address;
    lb::HealthSettings settings;
    std::shared_ptr<lb::BackendCounters> counters;
    RiseFall rise_fall;
    uint64_t next_due_ms = 0;
    bool in_flight = false;
    bool removed = false;  // no longer in the snapshot: dropped when its probe completes
    Fd socket;
    sockaddr_storage sockaddr{};
    __kernel_timespec timeout{};
    uint32_t id = 0;
  };

  void sync_targets();  // follows the snapshot: new backends added, removed ones dropped
  void start_probe(Target& t, uint64_t now_ms);
  void on_result(Target& t, int res);
  void apply(Target& t, bool success, std::string_view cause);
  void process_completions();
  uint64_t next_deadline() const;

  lb::SnapshotStore& store_;
  Ring ring_;
  uint64_t synced_generation_ = UINT64_MAX;
  uint32_t next_id_ = 1;
  std::map<uint32_t, std::unique_ptr<Target>> targets_;  // by id (the probe's user_data)
  // (pool, backend) -> id: stable across snapshots, so a reload keeps the health history.
  std::map<std::pair<std::string, std::string>, uint32_t> ids_;
};

}  // namespace ringlb::health
