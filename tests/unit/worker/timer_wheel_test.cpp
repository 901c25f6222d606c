// TimerWheel: ids fire exactly when due, rescheduling and cancelling work, far deadlines wait
// for their turn.
#include "ringlb/worker/timer_wheel.h"

#include <gtest/gtest.h>

#include <vector>

namespace ringlb::worker {
namespace {

std::vector<uint32_t> advance(TimerWheel& w, uint64_t now) {
  std::vector<uint32_t> fired;
  w.advance(now, [&](uint32_t id) { fired.push_back(id); });
  return fired;
}

TEST(TimerWheel, FiresOnlyWhenDue) {
  TimerWheel w(100, 16, 0);
  w.schedule(1, 250);
  w.schedule(2, 1000);
  EXPECT_TRUE(advance(w, 200).empty());
  EXPECT_EQ(advance(w, 300), std::vector<uint32_t>{1});
  EXPECT_FALSE(w.scheduled(1));
  EXPECT_TRUE(w.scheduled(2));
  EXPECT_TRUE(advance(w, 999).empty());
  EXPECT_EQ(advance(w, 1000), std::vector<uint32_t>{2});
}

TEST(TimerWheel, DeadlinePastTheHorizonWaitsForItsTurn) {
  TimerWheel w(100, 8, 0);  // an 800 ms turn
  w.schedule(7, 2500);
  for (uint64_t t = 100; t < 2500; t += 100) EXPECT_TRUE(advance(w, t).empty()) << t;
  EXPECT_EQ(advance(w, 2500), std::vector<uint32_t>{7});
}

TEST(TimerWheel, RescheduleReplacesAndCancelRemoves) {
  TimerWheel w(100, 16, 0);
  w.schedule(3, 200);
  w.schedule(3, 700);
  w.schedule(4, 300);
  w.cancel(4);
  EXPECT_TRUE(advance(w, 500).empty());
  EXPECT_EQ(advance(w, 700), std::vector<uint32_t>{3});
}

TEST(TimerWheel, FireMayScheduleAgain) {
  TimerWheel w(100, 16, 0);
  w.schedule(5, 100);
  int fired = 0;
  w.advance(100, [&](uint32_t id) {
    ++fired;
    w.schedule(id, 600);
  });
  EXPECT_EQ(fired, 1);
  EXPECT_TRUE(advance(w, 500).empty());
  EXPECT_EQ(advance(w, 600), std::vector<uint32_t>{5});
}

TEST(TimerWheel, AlreadyDueFiresAtNextAdvanceAndLongJumpsVisitEverything) {
  TimerWheel w(100, 4, 1000);
  w.schedule(1, 500);  // in the past
  EXPECT_EQ(advance(w, 1000), std::vector<uint32_t>{1});
  for (uint32_t id = 0; id < 50; ++id) w.schedule(id, 1100 + id * 37);
  const auto fired = advance(w, 100000);  // many turns later: each fires once
  EXPECT_EQ(fired.size(), 50u);
}

}  // namespace
}  // namespace ringlb::worker
