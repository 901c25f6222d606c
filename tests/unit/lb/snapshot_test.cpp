// Snapshot building: backends sorted by address whatever the file order, primary and backup
// tiers, health and counters carried over by address on reload, and candidate order through
// the snapshot (the path workers and `ringlb route` share).
#include "ringlb/lb/snapshot_builder.h"

#include <gtest/gtest.h>

#include "ringlb/config/load.h"

namespace ringlb::lb {
namespace {

config::Config load(std::string_view text) {
  auto c = config::load_string(text, "test.toml");
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().to_string());
  return std::move(c).value();
}

constexpr std::string_view kBase = R"(
[listeners.l]
bind = "127.0.0.1:1443"
pool = "p"
[pools.p]
retries = 3
table_size = 1009
)";

std::string with_backends(std::string_view backends) { return std::string(kBase) + std::string(backends); }

constexpr std::string_view kThree = R"(
[[pools.p.backends]]
address = "10.0.0.3:443"
[[pools.p.backends]]
address = "10.0.0.1:443"
[[pools.p.backends]]
address = "10.0.0.2:443"
backup = true
)";

TEST(Snapshot, BackendsSortedAndSplitIntoTiers) {
  const auto snap = build_snapshot(load(with_backends(kThree)), nullptr);
  ASSERT_EQ(snap->pools.size(), 1u);
  const PoolView& p = snap->pools[0];
  ASSERT_EQ(p.backends.size(), 3u);
  EXPECT_EQ(p.backends[0].key, "10.0.0.1:443");
  EXPECT_EQ(p.backends[1].key, "10.0.0.2:443");
  EXPECT_EQ(p.backends[2].key, "10.0.0.3:443");
  EXPECT_EQ(p.primary->members, (std::vector<uint32_t>{0, 2}));
  EXPECT_EQ(p.backup->members, (std::vector<uint32_t>{1}));
  EXPECT_EQ(p.primary_available, 2u);
  EXPECT_EQ(p.backup_available, 1u);
  EXPECT_EQ(snap->listeners[0].pool, 0u);
}

TEST(Snapshot, FileOrderDoesNotChangeTheTable) {
  const auto a = build_snapshot(load(with_backends(kThree)), nullptr);
  const auto b = build_snapshot(load(with_backends(R"(
[[pools.p.backends]]
address = "10.0.0.2:443"
backup = true
[[pools.p.backends]]
address = "10.0.0.1:443"
[[pools.p.backends]]
address = "10.0.0.3:443"
)")),
                                nullptr);
  EXPECT_EQ(a->pools[0].primary->table.fingerprint(), b->pools[0].primary->table.fingerprint());
  for (uint64_t h = 0; h < 5000; h += 7) {
    uint32_t x[4];
    uint32_t y[4];
    ASSERT_EQ(a->pools[0].candidates(h, x), b->pools[0].candidates(h, y));
    EXPECT_EQ(a->pools[0].backends[x[0]].key, b->pools[0].backends[y[0]].key);
  }
}

TEST(Snapshot, CandidatesUseBackupsOnlyWhenNoPrimaryIsAvailable) {
  auto snap = build_snapshot(load(with_backends(kThree)), nullptr);
  PoolView& p = snap->pools[0];
  uint32_t out[4];
  ASSERT_EQ(p.candidates(12345, out), 2u);  // the two primaries; the backup is not offered
  EXPECT_FALSE(p.backends[out[0]].backup);
  EXPECT_FALSE(p.backends[out[1]].backup);
  p.backends[0].up = false;
  p.backends[2].drained = true;
  refresh_availability(p);
  ASSERT_EQ(p.candidates(12345, out), 1u);
  EXPECT_EQ(p.backends[out[0]].key, "10.0.0.2:443");
}

TEST(Snapshot, FullBackendIsSkipped) {
  auto snap = build_snapshot(load(with_backends(R"(
[[pools.p.backends]]
address = "10.0.0.1:443"
max_connections = 1
[[pools.p.backends]]
address = "10.0.0.3:443"
)")),
                             nullptr);
  PoolView& p = snap->pools[0];
  p.backends[0].counters->active = 1;
  for (uint64_t h = 0; h < 1000; ++h) {
    uint32_t out[4];
    ASSERT_EQ(p.candidates(h, out), 1u);
    EXPECT_EQ(p.backends[out[0]].key, "10.0.0.3:443");
  }
}

TEST(Snapshot, ReloadKeepsHealthAndCountersByAddress) {
  auto first = build_snapshot(load(with_backends(kThree)), nullptr);
  first->pools[0].backends[0].up = false;  // 10.0.0.1
  first->pools[0].backends[2].counters->active = 7;  // 10.0.0.3
  const auto second = build_snapshot(load(with_backends(R"(
[[pools.p.backends]]
address = "10.0.0.3:443"
weight = 50
[[pools.p.backends]]
address = "10.0.0.1:443"
[[pools.p.backends]]
address = "10.0.0.9:443"
)")),
                                     first.get());
  const PoolView& p = second->pools[0];
  ASSERT_EQ(p.backends.size(), 3u);
  EXPECT_FALSE(p.backends[0].up);                     // 10.0.0.1 stays down
  EXPECT_EQ(p.backends[1].counters->active.load(), 7u);  // 10.0.0.3 keeps its counters
  EXPECT_EQ(p.backends[1].weight, 50u);
  EXPECT_TRUE(p.backends[2].up);                      // new backend
  EXPECT_EQ(p.backends[2].counters->active.load(), 0u);
  EXPECT_EQ(p.primary_available, 2u);
}

TEST(SnapshotStore, UpdatePublishesANewGeneration) {
  SnapshotStore store(build_snapshot(load(with_backends(kThree)), nullptr));
  const uint64_t g0 = store.generation();
  const auto before = store.load();
  auto next = store.update([](Snapshot& s) {
    s.pools[0].backends[0].up = false;
    refresh_availability(s.pools[0]);
    return true;
  });
  ASSERT_NE(next, nullptr);
  EXPECT_EQ(store.generation(), g0 + 1);
  EXPECT_TRUE(before->pools[0].backends[0].up);  // the old snapshot is immutable
  EXPECT_FALSE(store.load()->pools[0].backends[0].up);
  EXPECT_EQ(store.update([](Snapshot&) { return false; }), nullptr);
  EXPECT_EQ(store.generation(), g0 + 1);
}

}  // namespace
}  // namespace ringlb::lb
