// Candidate order tests: walk_tier (distinct usable backends in table order from the flow's
// slot) and candidate_order (primary vs backup tier), with injected predicates.
#include "ringlb/lb/candidates.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace ringlb::lb {
namespace {

constexpr uint32_t kSize = 65537;

// A tier whose table entry i is pool backend members[i]; keys derive from the pool index.
Tier make_tier(std::vector<uint32_t> members, uint32_t size = kSize) {
  std::vector<MaglevBackend> b;
  for (uint32_t p : members) {
    char key[32];
    std::snprintf(key, sizeof key, "10.1.0.%u:8443", p);
    b.push_back({key, 1});
  }
  Tier t;
  if (!b.empty()) t.table = MaglevTable::build(b, size);
  t.members = std::move(members);
  return t;
}

// Expected walk, written independently: distinct pool indices in slot order from slot_of(h),
// keeping those accepted by `ok`, at most `want`.
template <class Ok>
std::vector<uint32_t> expected_walk(const Tier& t, uint64_t h, Ok ok, size_t want) {
  std::vector<uint32_t> out;
  std::set<uint32_t> seen;
  for (uint32_t i = 0; i < t.table.size() && out.size() < want; ++i) {
    const uint32_t p = t.members[t.table.at((t.table.slot_of(h) + i) % t.table.size())];
    if (seen.insert(p).second && ok(p)) out.push_back(p);
  }
  return out;
}

std::vector<uint32_t> run(const Tier& t, uint64_t h, auto usable, size_t want) {
  std::vector<uint32_t> out(want, UINT32_MAX);
  out.resize(walk_tier(t, h, usable, std::span<uint32_t>(out)));
  return out;
}

const auto kAll = [](uint32_t) { return true; };

TEST(Candidates, FirstIsThePlainLookupAndTheRestFollowTableOrder) {
  const Tier t = make_tier({7, 3, 12, 40, 41, 42, 5, 6, 9, 11});
  std::mt19937_64 rng(1);
  for (int i = 0; i < 2000; ++i) {
    const uint64_t h = rng();
    const auto got = run(t, h, kAll, 3);  // retries = 2
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0], t.members[t.table.at(t.table.slot_of(h))]);
    EXPECT_EQ(std::set<uint32_t>(got.begin(), got.end()).size(), 3u);
    EXPECT_EQ(got, expected_walk(t, h, kAll, 3));
  }
}

TEST(Candidates, OutSizeBoundsTheCount) {
  const Tier t = make_tier({0, 1, 2, 3, 4, 5});
  EXPECT_EQ(run(t, 99, kAll, 1).size(), 1u);
  EXPECT_EQ(run(t, 99, kAll, 6).size(), 6u);
  EXPECT_EQ(run(t, 99, kAll, 10).size(), 6u);  // only 6 distinct backends exist
  EXPECT_EQ(run(t, 99, kAll, 0).size(), 0u);
}

TEST(Candidates, SkipsBackendsThatAreNotUsable) {
  const Tier t = make_tier({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  const std::set<uint32_t> rejected = {2, 5, 8};  // e.g. 2 drained, 5 full, 8 down
  const auto usable = [&](uint32_t p) { return rejected.count(p) == 0; };
  std::mt19937_64 rng(2);
  int started_on_rejected = 0;
  for (int i = 0; i < 2000; ++i) {
    const uint64_t h = rng();
    const auto got = run(t, h, usable, 3);
    ASSERT_EQ(got.size(), 3u);
    for (uint32_t p : got) EXPECT_EQ(rejected.count(p), 0u) << p;
    EXPECT_EQ(got, expected_walk(t, h, usable, 3));
    started_on_rejected += rejected.count(t.table.at(t.table.slot_of(h))) != 0;
  }
  EXPECT_GT(started_on_rejected, 300);  // the test really exercised the skip
}

TEST(Candidates, MarkingOneDownMovesOnlyItsFlows) {
  const Tier t = make_tier({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  const uint32_t down = 6;
  const auto usable = [&](uint32_t p) { return p != down; };
  std::mt19937_64 rng(3);
  std::array<uint32_t, 10> moved_to{};
  uint32_t moved = 0;
  constexpr int kFlows = 100000;
  for (int i = 0; i < kFlows; ++i) {
    const uint64_t h = rng();
    std::array<uint32_t, 1> before{}, after{};
    ASSERT_EQ(walk_tier(t, h, kAll, std::span<uint32_t>(before)), 1u);
    ASSERT_EQ(walk_tier(t, h, usable, std::span<uint32_t>(after)), 1u);
    if (before[0] != down) {
      ASSERT_EQ(after[0], before[0]) << "flow " << h << " moved off a healthy backend";
    } else {
      ASSERT_NE(after[0], down);
      ++moved_to[after[0]];
      ++moved;
    }
  }
  EXPECT_NEAR(moved / double(kFlows), 0.1, 0.01);
  // The down backend's flows spread over all nine others (1/9 = 11% each on average).
  for (uint32_t p = 0; p < 10; ++p) {
    if (p == down) continue;
    EXPECT_GT(moved_to[p], moved * 0.04) << "backend " << p;
    EXPECT_LT(moved_to[p], moved * 0.25) << "backend " << p;
  }
}

TEST(Candidates, ReturnsFewerWhenFewerAreUsable) {
  const Tier t = make_tier({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  const auto two = [](uint32_t p) { return p == 3 || p == 7; };
  for (uint64_t h : {0ull, 1ull, 123456789ull, ~0ull}) {
    const auto got = run(t, h, two, 3);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(std::set<uint32_t>(got.begin(), got.end()), (std::set<uint32_t>{3, 7}));
    EXPECT_EQ(got, expected_walk(t, h, two, 3));
  }
  EXPECT_EQ(run(t, 5, [](uint32_t) { return false; }, 3).size(), 0u);
}

TEST(Candidates, UsableLimitStopsTheWalkEarly) {
  const Tier t = make_tier({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  size_t calls = 0;
  const auto one = [&](uint32_t p) { ++calls; return p == 4; };
  std::array<uint32_t, 3> out{};
  EXPECT_EQ(walk_tier(t, 77, one, std::span<uint32_t>(out), 1), 1u);
  EXPECT_EQ(out[0], 4u);
  EXPECT_LT(calls, 200u);  // stopped at the first 4, not after a full turn of 65537 slots
  // Without a limit the walk turns the whole table: one call per slot not owned by 4, plus the
  // one that accepts 4 (later slots of 4 are already in `out`).
  uint32_t owned_by_4 = 0;
  for (uint32_t s = 0; s < kSize; ++s) owned_by_4 += t.table.at(s) == 4;
  calls = 0;
  EXPECT_EQ(walk_tier(t, 77, one, std::span<uint32_t>(out)), 1u);
  EXPECT_EQ(calls, kSize - owned_by_4 + 1);
}

TEST(Candidates, SingleBackendTier) {
  const Tier t = make_tier({17}, 101);
  for (uint64_t h : {0ull, 42ull, ~0ull}) EXPECT_EQ(run(t, h, kAll, 3), (std::vector<uint32_t>{17}));
  EXPECT_EQ(run(t, 42, [](uint32_t) { return false; }, 3).size(), 0u);
}

TEST(Candidates, EmptyTierGivesNothing) {
  const Tier empty = make_tier({});
  EXPECT_EQ(run(empty, 42, kAll, 3).size(), 0u);
  std::array<uint32_t, 3> out{};
  EXPECT_EQ(candidate_order(empty, empty, 42, kAll, kAll, std::span<uint32_t>(out)), 0u);
}

// Pool: primaries 0..4, backups 5..7.
struct Pool {
  Tier primary = make_tier({0, 1, 2, 3, 4});
  Tier backup = make_tier({5, 6, 7});
  std::set<uint32_t> down, full;
  std::vector<uint32_t> order(uint64_t h, size_t want = 3) {
    std::vector<uint32_t> out(want);
    const auto available = [&](uint32_t p) { return down.count(p) == 0; };
    const auto usable = [&](uint32_t p) { return down.count(p) == 0 && full.count(p) == 0; };
    out.resize(candidate_order(primary, backup, h, available, usable, std::span<uint32_t>(out)));
    return out;
  }
};

TEST(Candidates, OrderUsesPrimariesWhileAnyIsAvailable) {
  Pool pool;
  std::mt19937_64 rng(4);
  for (int i = 0; i < 500; ++i) {
    const uint64_t h = rng();
    const auto got = pool.order(h);
    EXPECT_EQ(got, expected_walk(pool.primary, h, kAll, 3));
  }
  pool.down = {0, 1, 2, 3};  // one primary left: it alone, never a backup
  for (int i = 0; i < 500; ++i) EXPECT_EQ(pool.order(rng()), (std::vector<uint32_t>{4}));
}

TEST(Candidates, OrderFallsBackToBackupsWhenNoPrimaryIsAvailable) {
  Pool pool;
  pool.down = {0, 1, 2, 3, 4};
  std::mt19937_64 rng(5);
  for (int i = 0; i < 500; ++i) {
    const uint64_t h = rng();
    const auto got = pool.order(h);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got, expected_walk(pool.backup, h, kAll, 3));
    EXPECT_EQ(got[0], pool.backup.members[pool.backup.table.at(pool.backup.table.slot_of(h))]);
  }
  pool.down.insert(6);
  const auto got = pool.order(9);
  EXPECT_EQ(std::set<uint32_t>(got.begin(), got.end()), (std::set<uint32_t>{5, 7}));
  pool.down.insert({5, 7});
  EXPECT_EQ(pool.order(9).size(), 0u);
}

TEST(Candidates, FullPrimaryDoesNotSpillToBackups) {
  Pool pool;
  pool.down = {0, 1, 2, 3};
  pool.full = {4};  // available but at max_connections
  EXPECT_EQ(pool.order(1).size(), 0u);
  EXPECT_EQ(pool.order(~0ull).size(), 0u);
  pool.full = {};
  pool.down = {0, 1, 2};
  pool.full = {3};
  EXPECT_EQ(pool.order(1), (std::vector<uint32_t>{4}));
}

TEST(Candidates, OrderWithoutPrimariesUsesBackups) {
  Pool pool;
  pool.primary = make_tier({});
  EXPECT_EQ(pool.order(12345), expected_walk(pool.backup, 12345, kAll, 3));
}

TEST(Candidates, OrderAsksOnlyAFewPredicatesWhenFewAreUsable) {
  // One usable primary of ten and retries = 2: the walk must stop once it has found it, not
  // turn the whole 65537-slot table on every new connection.
  Tier primary = make_tier({0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  const Tier backup = make_tier({});
  size_t calls = 0;
  const auto available = [](uint32_t) { return true; };
  const auto usable = [&](uint32_t p) { ++calls; return p == 8; };
  std::array<uint32_t, 3> out{};
  for (uint64_t h : {0ull, 1ull, 99ull}) {
    calls = 0;
    ASSERT_EQ(candidate_order(primary, backup, h, available, usable, std::span<uint32_t>(out)), 1u);
    EXPECT_EQ(out[0], 8u);
    EXPECT_LT(calls, 200u);
  }
}

}  // namespace
}  // namespace ringlb::lb
