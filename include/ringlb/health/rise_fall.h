// RiseFall: the health state machine of one backend. `rise` consecutive successes mark it up,
// `fall` consecutive failures mark it down. The first observation decides the state at once
// (the startup round), so a dead backend is never offered before its first probe fails.
// Pure value type, owned by the prober thread.
#pragma once

#include <cstdint>

namespace ringlb::health {

class RiseFall {
 public:
  enum class State : uint8_t { unknown, up, down };

  RiseFall(uint32_t rise, uint32_t fall) noexcept : rise_(rise), fall_(fall) {}

  // Feeds one probe result (or a passive failure as success=false). Returns true when the state
  // changed (unknown -> up/down counts as a change).
  bool observe(bool success) noexcept;

  // A reload changed rise/fall: the current state and streak are kept.
  void set_thresholds(uint32_t rise, uint32_t fall) noexcept {
    rise_ = rise;
    fall_ = fall;
  }

  State state() const noexcept { return state_; }
  bool up() const noexcept { return state_ == State::up; }
  uint32_t streak() const noexcept { return streak_; }  // current run of equal results

 private:
  uint32_t rise_;
  uint32_t fall_;
  State state_ = State::unknown;
  bool last_ = false;
  uint32_t streak_ = 0;
};

}  // namespace ringlb::health
