// RiseFall::observe: counts runs of equal probe results and flips the state when a run reaches
// `rise` (while down) or `fall` (while up). The first observation decides at once.
#include "ringlb/health/rise_fall.h"

namespace ringlb::health {

bool RiseFall::observe(bool success) noexcept {
  if (state_ == State::unknown) {
    state_ = success ? State::up : State::down;
    last_ = success;
    streak_ = 1;
    return true;
  }
  if (success == last_) {
    if (streak_ != UINT32_MAX) ++streak_;  // saturates: a backend may stay up for years
  } else {
    last_ = success;
    streak_ = 1;
  }
  // rise/fall of 0 behave as 1 (streak_ >= 1 here); the config layer rejects 0 anyway.
  if (state_ == State::up && !success && streak_ >= fall_) {
    state_ = State::down;
    return true;
  }
  if (state_ == State::down && success && streak_ >= rise_) {
    state_ = State::up;
    return true;
  }
  return false;
}

}  // namespace ringlb::health
