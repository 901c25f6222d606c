// SIGHUP reload (DESIGN.md "Signals"; README: `reloaded` / `reload_failed` events): a bad new
// config is logged, naming file:line and key, and ignored while the old one keeps serving; a
// good one replacing the backends sends new clients to the new set while a live connection to
// a removed backend keeps working.
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "cluster.h"
#include "harness.h"
#include "sockets.h"

namespace ringlb::it {
namespace {

TEST(Reload, BadConfigIsIgnoredGoodConfigSwapsBackendsLiveConnectionsKept) {
  TempDir dir;
  NamedBackends backends(3);
  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {backends.server(0).address()});
  spec.pools[0].health_interval = "1s";
  std::string err, cfg;
  auto lb = start_ringlb(dir, spec, &err, &cfg);
  ASSERT_TRUE(lb) << err;

  // A live connection to backend-1, kept across both reloads.
  int cerr = 0;
  Fd live = connect_to(lp.port, &cerr);
  ASSERT_TRUE(live.valid()) << "errno " << -cerr;
  std::string name;
  ASSERT_EQ(read_line(live.get(), &name, deadline_in(seconds(5))), Outcome::kOk);
  ASSERT_EQ(name, "backend-1");

  // 1. A bad config: logged and ignored.
  std::string bad = to_toml(spec);
  bad.replace(bad.find("connect_timeout = "), 0, "retries = \"two\"\n");
  write_file(cfg, bad);
  lb->signal(SIGHUP);
  ASSERT_TRUE(lb->wait_event("reload_failed", {}, seconds(5))) << "no reload_failed event for a bad config";
  EXPECT_NE(lb->log().find(cfg + ":"), std::string::npos) << "the reload error must name the file:\n"
                                                          << lb->log_tail();
  EXPECT_NE(lb->log().find("retries"), std::string::npos) << "the reload error must name the key";
  EXPECT_TRUE(lb->running());
  std::string why;
  EXPECT_EQ(who_serves(lp.port, "127.0.0.20", &why), "backend-1") << why << " (old config must keep serving)";

  // 2. A good config: backend-1 removed, backend-2 and backend-3 added.
  ConfigSpec next = spec;
  next.pools[0].backends = {BackendSpec{backends.server(1).address()}, BackendSpec{backends.server(2).address()}};
  write_file(cfg, to_toml(next));
  lb->signal(SIGHUP);
  ASSERT_TRUE(lb->wait_event("reloaded", {}, seconds(5))) << "no reloaded event for a good config";
  // New clients go to the new set (a worker takes the new snapshot at its next accept).
  int on_new = 0;
  for (int n = 20; n < 30; ++n) {
    const std::string got = who_serves(lp.port, loopback_ip(n), &why);
    EXPECT_TRUE(got == "backend-2" || got == "backend-3") << loopback_ip(n) << ": " << got << " " << why;
    on_new += got == "backend-2" || got == "backend-3";
  }
  EXPECT_EQ(on_new, 10);
  // The route command reads the new file and agrees with the data path.
  const auto route = ringlb_route(cfg, "127.0.0.21", "", &why);
  ASSERT_TRUE(route) << why;
  EXPECT_EQ(backends.name_of(route->backend), who_serves(lp.port, "127.0.0.21", &why));
  // The live connection to the removed backend still works both ways.
  EXPECT_EQ(echo_round(live.get(), "still here", deadline_in(seconds(3))), Outcome::kOk)
      << "a reload dropped a live connection";
}

}  // namespace
}  // namespace ringlb::it
