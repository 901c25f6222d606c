// ListenerMailbox: how the main thread hands a worker the listener sockets a SIGHUP reload
// added and the names of the listeners it removed. The main thread posts (after binding and
// after publishing the new snapshot); the worker takes, woken by an eventfd read armed in its
// ring. A mutex guards the lists: this is control plane to worker, once per reload, never on
// the accept or forwarding path (ENGINEERING.md rule 4 is about the hot path).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "ringlb/common/fd.h"

namespace ringlb::worker {

// A worker's socket for one configured listener (one SO_REUSEPORT socket per worker).
struct ListenerSocket {
  std::string name;  // the listener's name: resolved against each new snapshot
  Fd fd;
  uint32_t backlog = 0;  // what listen(2) was given: a snapshot with another value re-listens
};

struct ListenerChange {
  std::vector<std::string> removed;  // stop accepting; live connections continue
  std::vector<ListenerSocket> added;  // bound and listening; the worker arms their accepts
};

class ListenerMailbox {
 public:
  // Creates the eventfd; false (errno set) if that failed.
  bool init() noexcept;

  // Main thread: appends `change` and wakes the worker. Returns the sequence number that
  // applied() reaches once the worker has taken it.
  uint64_t post(ListenerChange change);
  // Worker thread: everything posted so far, in order (apply removals before additions, so a
  // listener whose bind changed is closed and re-added under the same name), and in *seq the
  // sequence number it covers.
  ListenerChange take(uint64_t* seq);
  // Worker thread, after applying what take() returned.
  void mark_applied(uint64_t seq) noexcept { applied_.store(seq, std::memory_order_release); }
  uint64_t applied() const noexcept { return applied_.load(std::memory_order_acquire); }
  uint64_t posted() const noexcept { return posted_.load(std::memory_order_acquire); }

  int eventfd() const noexcept { return wake_.get(); }

 private:
  std::mutex mu_;
  ListenerChange pending_;  // guarded by mu_
  std::atomic<uint64_t> posted_{0};
  std::atomic<uint64_t> applied_{0};
  Fd wake_;
};

}  // namespace ringlb::worker
