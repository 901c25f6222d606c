// TimerWheel: a worker's idle timers. One bucket per tick; an id (a connection slot) sits in the
// bucket of its deadline. Activity does not touch the wheel: the owner re-checks the
// connection's last activity when the timer fires and schedules again if it was busy, so a busy
// connection costs one wheel operation per idle_timeout, not one per byte. Deadlines past the
// wheel's horizon are visited once per turn and stay until due. Pure (time is passed in);
// owned by one worker thread.
#pragma once

#include <cstdint>
#include <cstddef>
#include <limits>
#include <vector>

namespace ringlb::worker {

class TimerWheel {
 public:
  static constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

  TimerWheel(uint64_t tick_ms, uint32_t buckets, uint64_t now_ms)
      : tick_ms_(tick_ms), heads_(buckets, kNone), next_tick_(now_ms / tick_ms) {}

  // Schedules `id` at `deadline_ms`, replacing any earlier schedule of it.
  void schedule(uint32_t id, uint64_t deadline_ms) {
    if (id >= next_.size()) grow(id + 1);
    if (bucket_[id] != kNone) unlink(id);
    // Rounded up: when tick t is processed, now >= t * tick_ms >= deadline, so an entry is never
    // found in its bucket before it is due (which would leave it there for a whole turn).
    uint64_t tick = (deadline_ms + tick_ms_ - 1) / tick_ms_;
    if (tick < next_tick_) tick = next_tick_;  // already due: fire at the next advance
    const uint32_t b = static_cast<uint32_t>(tick % heads_.size());
    deadline_[id] = deadline_ms;
    link(id, b);
  }

  void cancel(uint32_t id) noexcept {
    if (id < bucket_.size() && bucket_[id] != kNone) unlink(id);
  }

  bool scheduled(uint32_t id) const noexcept { return id < bucket_.size() && bucket_[id] != kNone; }

  // Calls fire(id) for every id whose deadline <= now_ms. Each id is unscheduled before its
  // call, so fire may schedule it again.
  template <class Fire>
  void advance(uint64_t now_ms, Fire&& fire) {
    const uint64_t now_tick = now_ms / tick_ms_;
    if (now_tick < next_tick_) return;
    uint64_t first = next_tick_;
    // Past a whole turn, every bucket is visited exactly once.
    if (now_tick - first >= heads_.size()) first = now_tick - heads_.size() + 1;
    for (uint64_t t = first; t <= now_tick; ++t) {
      next_tick_ = t + 1;
      const uint32_t b = static_cast<uint32_t>(t % heads_.size());
      uint32_t id = heads_[b];
      while (id != kNone) {
        const uint32_t next = next_[id];
        if (deadline_[id] <= now_ms) {
          unlink(id);
          fire(id);
        }
        id = next;
      }
    }
    next_tick_ = now_tick + 1;
  }

 private:
  void grow(size_t n) {
    next_.resize(n, kNone);
    prev_.resize(n, kNone);
    bucket_.resize(n, kNone);
    deadline_.resize(n, 0);
  }
  void link(uint32_t id, uint32_t b) noexcept {
    bucket_[id] = b;
    prev_[id] = kNone;
    next_[id] = heads_[b];
    if (heads_[b] != kNone) prev_[heads_[b]] = id;
    heads_[b] = id;
  }
  void unlink(uint32_t id) noexcept {
    const uint32_t b = bucket_[id];
    if (prev_[id] != kNone) {
      next_[prev_[id]] = next_[id];
    } else {
      heads_[b] = next_[id];
    }
    if (next_[id] != kNone) prev_[next_[id]] = prev_[id];
    bucket_[id] = kNone;
    next_[id] = prev_[id] = kNone;
  }

  uint64_t tick_ms_;
  std::vector<uint32_t> heads_;
  std::vector<uint32_t> next_, prev_, bucket_;
  std::vector<uint64_t> deadline_;
  uint64_t next_tick_;  // the first tick not yet processed
};

}  // namespace ringlb::worker
