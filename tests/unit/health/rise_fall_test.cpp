// RiseFall tests: the first observation decides, `fall` failures take an up backend down,
// `rise` successes bring a down one up, a broken streak resets, and observe() reports exactly
// the changes.
#include "ringlb/health/rise_fall.h"

#include <gtest/gtest.h>

namespace ringlb::health {
namespace {

using State = RiseFall::State;

TEST(RiseFall, StartsUnknown) {
  const RiseFall rf(2, 3);
  EXPECT_EQ(rf.state(), State::unknown);
  EXPECT_FALSE(rf.up());
  EXPECT_EQ(rf.streak(), 0u);
}

TEST(RiseFall, FirstSuccessDecidesUp) {
  RiseFall rf(2, 3);
  EXPECT_TRUE(rf.observe(true));
  EXPECT_EQ(rf.state(), State::up);
  EXPECT_TRUE(rf.up());
  EXPECT_EQ(rf.streak(), 1u);
  EXPECT_FALSE(rf.observe(true));
  EXPECT_EQ(rf.streak(), 2u);
}

TEST(RiseFall, FirstFailureDecidesDown) {
  RiseFall rf(2, 3);
  EXPECT_TRUE(rf.observe(false));
  EXPECT_EQ(rf.state(), State::down);
  EXPECT_FALSE(rf.up());
  EXPECT_EQ(rf.streak(), 1u);
}

TEST(RiseFall, FallConsecutiveFailuresTakeItDown) {
  RiseFall rf(2, 3);
  ASSERT_TRUE(rf.observe(true));
  EXPECT_FALSE(rf.observe(false));
  EXPECT_FALSE(rf.observe(false));
  EXPECT_EQ(rf.state(), State::up);
  EXPECT_TRUE(rf.observe(false));  // the third
  EXPECT_EQ(rf.state(), State::down);
  EXPECT_EQ(rf.streak(), 3u);
  EXPECT_FALSE(rf.observe(false));  // already down: no change
  EXPECT_EQ(rf.state(), State::down);
}

TEST(RiseFall, SuccessBeforeFallResetsTheStreak) {
  RiseFall rf(2, 3);
  ASSERT_TRUE(rf.observe(true));
  EXPECT_FALSE(rf.observe(false));
  EXPECT_FALSE(rf.observe(false));  // fall - 1 failures
  EXPECT_FALSE(rf.observe(true));   // streak broken
  EXPECT_EQ(rf.state(), State::up);
  EXPECT_EQ(rf.streak(), 1u);
  EXPECT_FALSE(rf.observe(false));  // counting starts again from one
  EXPECT_FALSE(rf.observe(false));
  EXPECT_EQ(rf.state(), State::up);
  EXPECT_TRUE(rf.observe(false));
  EXPECT_EQ(rf.state(), State::down);
}

TEST(RiseFall, RiseConsecutiveSuccessesBringItUp) {
  RiseFall rf(2, 3);
  ASSERT_TRUE(rf.observe(false));
  EXPECT_FALSE(rf.observe(true));
  EXPECT_EQ(rf.state(), State::down);
  EXPECT_FALSE(rf.observe(false));  // broken: start over
  EXPECT_FALSE(rf.observe(true));
  EXPECT_EQ(rf.state(), State::down);
  EXPECT_TRUE(rf.observe(true));
  EXPECT_EQ(rf.state(), State::up);
  EXPECT_FALSE(rf.observe(true));
}

TEST(RiseFall, RiseOneFallOneFlipsOnEveryChange) {
  RiseFall rf(1, 1);
  EXPECT_TRUE(rf.observe(true));
  EXPECT_FALSE(rf.observe(true));
  EXPECT_TRUE(rf.observe(false));
  EXPECT_EQ(rf.state(), State::down);
  EXPECT_FALSE(rf.observe(false));
  EXPECT_TRUE(rf.observe(true));
  EXPECT_EQ(rf.state(), State::up);
  EXPECT_TRUE(rf.observe(false));
  EXPECT_TRUE(rf.observe(true));
}

TEST(RiseFall, ReturnsTrueExactlyOnChanges) {
  RiseFall rf(3, 2);
  const bool inputs[] = {true, false, true, false, false, true, true, false, true, true, true,
                         true, false, false, false};
  State prev = rf.state();
  int changes = 0;
  for (bool in : inputs) {
    const bool changed = rf.observe(in);
    EXPECT_EQ(changed, rf.state() != prev);
    changes += changed;
    prev = rf.state();
  }
  // unknown->up, up->down (2 failures), down->up (3 successes), up->down (2 failures).
  EXPECT_EQ(changes, 4);
  EXPECT_EQ(rf.state(), State::down);
}

TEST(RiseFall, NewThresholdsKeepStateAndStreak) {
  RiseFall rf(2, 5);
  ASSERT_TRUE(rf.observe(true));
  EXPECT_FALSE(rf.observe(false));
  EXPECT_FALSE(rf.observe(false));
  rf.set_thresholds(2, 3);  // a reload lowered fall: the two failures so far still count
  EXPECT_EQ(rf.state(), State::up);
  EXPECT_EQ(rf.streak(), 2u);
  EXPECT_TRUE(rf.observe(false));
  EXPECT_EQ(rf.state(), State::down);
}

}  // namespace
}  // namespace ringlb::health
