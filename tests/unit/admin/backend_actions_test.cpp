// drain / disable / enable on a snapshot, and that the flags survive the other publishers: a
// health change (the prober's edit of `up`) and a reload (build_snapshot from the previous one).
#include "ringlb/admin/backend_actions.h"

#include <gtest/gtest.h>

#include "ringlb/admin/status.h"
#include "snapshot_fixture.h"

namespace ringlb::admin {
namespace {

BackendRequest req(std::string pool, std::string_view address, BackendAction a) {
  return BackendRequest{std::move(pool), *parse_address(address), a};
}

TEST(BackendActions, DrainDisableEnableChangeFlagsAndAvailability) {
  auto snap = test::make_snapshot();
  lb::PoolView& p = snap->pools[0];
  ASSERT_EQ(p.primary_available, 3u);

  ActionResult r = apply_action(*snap, req("p", "10.0.0.1:443", BackendAction::drain));
  ASSERT_EQ(r.status, ActionResult::Status::ok);
  EXPECT_EQ(r.previous, "enabled");
  EXPECT_EQ(r.current, "drained");
  EXPECT_TRUE(r.changed);
  EXPECT_TRUE(p.backends[0].drained);
  EXPECT_FALSE(p.backends[0].available());
  EXPECT_EQ(p.primary_available, 2u);

  r = apply_action(*snap, req("p", "10.0.0.1:443", BackendAction::drain));
  EXPECT_FALSE(r.changed) << "draining twice changes nothing";

  r = apply_action(*snap, req("p", "10.0.0.1:443", BackendAction::disable));
  EXPECT_EQ(r.previous, "drained");
  EXPECT_EQ(r.current, "disabled");
  EXPECT_FALSE(p.backends[0].drained);
  EXPECT_TRUE(p.backends[0].disabled);
  EXPECT_EQ(p.primary_available, 2u);

  r = apply_action(*snap, req("p", "[::1]:8080", BackendAction::disable));
  EXPECT_EQ(p.primary_available, 1u);

  r = apply_action(*snap, req("p", "10.0.0.1:443", BackendAction::enable));
  EXPECT_EQ(r.current, "enabled");
  EXPECT_TRUE(p.backends[0].available());
  EXPECT_EQ(p.primary_available, 2u);
}

TEST(BackendActions, UnknownPoolOrBackend) {
  auto snap = test::make_snapshot();
  EXPECT_EQ(apply_action(*snap, req("nope", "10.0.0.1:443", BackendAction::drain)).status,
            ActionResult::Status::unknown_pool);
  EXPECT_EQ(apply_action(*snap, req("q", "10.0.0.1:443", BackendAction::drain)).status,
            ActionResult::Status::unknown_backend);
  EXPECT_EQ(apply_action(*snap, req("p", "10.0.0.1:444", BackendAction::drain)).status,
            ActionResult::Status::unknown_backend);
}

TEST(BackendActions, PublishesOnlyChangesAndSurvivesHealthAndReload) {
  lb::SnapshotStore store(test::make_snapshot());
  const uint64_t g0 = store.generation();
  ActionResult r = apply_and_publish(store, req("p", "10.0.0.2:443", BackendAction::disable));
  EXPECT_EQ(r.generation, g0 + 1);
  r = apply_and_publish(store, req("p", "10.0.0.2:443", BackendAction::disable));
  EXPECT_EQ(r.generation, g0 + 1) << "an action that changes nothing publishes nothing";
  apply_and_publish(store, req("p", "10.0.0.1:443", BackendAction::drain));

  // A health change, as the prober publishes it: only `up` is edited.
  store.update([](lb::Snapshot& s) {
    s.pools[0].backends[1].up = false;
    lb::refresh_availability(s.pools[0]);
    return true;
  });
  EXPECT_TRUE(store.load()->pools[0].backends[1].disabled);
  EXPECT_TRUE(store.load()->pools[0].backends[0].drained);

  // A reload: the builder carries the admin flags over by (pool, address).
  const config::Config next = test::load_config();
  store.rebuild([&](const lb::Snapshot& current) { return lb::build_snapshot(next, &current); });
  const lb::PoolView& p = store.load()->pools[0];
  EXPECT_TRUE(p.backends[0].drained);
  EXPECT_TRUE(p.backends[1].disabled);
  EXPECT_FALSE(p.backends[1].up);
  EXPECT_EQ(p.primary_available, 1u);

  const std::string status = render_status(*store.load(), WorkerTotals{});
  EXPECT_NE(status.find(R"("address":"10.0.0.1:443","health":"up","admin":"drained","routable":false)"),
            std::string::npos)
      << status;
  EXPECT_NE(status.find(R"("address":"10.0.0.2:443","health":"down","admin":"disabled","routable":false,"weight":50)"),
            std::string::npos)
      << status;
  EXPECT_NE(status.find(R"("listeners":[{"name":"l","bind":"127.0.0.1:1443","pool":"p"}])"), std::string::npos)
      << status;
}

}  // namespace
}  // namespace ringlb::admin
