// The admin API against the real binary, with curl (README "Admin API"): /metrics parses and
// reconciles after real traffic, /status, drain / disable / enable with a live connection kept
// byte-exact, 405 / 404 / 400 / 413, admin = "" serves nothing, a bind failure is a startup
// error, and the admin state survives a SIGHUP reload and a health flap.
#include <gtest/gtest.h>
#include <signal.h>

#include <sstream>
#include <thread>

#include "admin_client.h"
#include "cluster.h"
#include "harness.h"
#include "sockets.h"

namespace ringlb::it {
namespace {

struct AdminFixture {
  TempDir dir;
  NamedBackends backends{2};
  ReservedPort lp = reserve_port();
  uint16_t admin_port = free_admin_port();
  ConfigSpec spec;
  std::string cfg;
  std::unique_ptr<RinglbProcess> lb;

  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(admin_port) + path; }
  std::string backend_url(int i, const std::string& action) const {
    return url("/pools/p/backends/" + backends.addresses()[static_cast<size_t>(i)] + "/" + action);
  }
  bool start(std::string* err) {
    spec = simple_config(lp.port, backends.addresses());
    spec.admin = "127.0.0.1:" + std::to_string(admin_port);
    lb = start_ringlb(dir, spec, err, &cfg);
    return lb != nullptr;
  }
  std::map<std::string, double> metrics() {
    const HttpReply r = http("GET", url("/metrics"));
    EXPECT_EQ(r.status, 200) << r.error;
    return parse_metrics(r.body);
  }
  std::string admin_state_of(int i) {
    const HttpReply r = http("GET", url("/status"));
    const std::string needle = "\"address\":\"" + backends.addresses()[static_cast<size_t>(i)] + "\"";
    const size_t at = r.body.find(needle);
    if (at == std::string::npos) return "missing";
    const size_t a = r.body.find("\"admin\":\"", at);
    if (a == std::string::npos) return "missing";
    const size_t from = a + 9;
    return r.body.substr(from, r.body.find('"', from) - from);
  }
};

// A client IP whose backend (all healthy) is backend `want` (0-based), by trying 127.0.0.N.
std::string ip_served_by(AdminFixture& f, int want) {
  for (int n = 2; n < 200; ++n) {
    if (who_serves(f.lp.port, loopback_ip(n)) == f.backends.name(want)) return loopback_ip(n);
  }
  return "";
}

TEST(Admin, MetricsParseAndReconcileAfterTraffic) {
  AdminFixture f;
  std::string err;
  ASSERT_TRUE(f.start(&err)) << err;
  ASSERT_EQ(f.lb->count_events("admin_listening"), 1);
  constexpr int kClients = 12;
  for (int n = 10; n < 10 + kClients; ++n) {
    std::string why;
    ASSERT_NE(who_serves(f.lp.port, loopback_ip(n), &why), "") << why;
  }
  // A worker counts a close once both sockets are gone: wait until nothing is active.
  std::map<std::string, double> m;
  for (int i = 0; i < 50; ++i) {
    m = f.metrics();
    if (m["ringlb_connections_active"] == 0 && m["ringlb_connections_closed_total"] == kClients) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  EXPECT_EQ(m["ringlb_connections_accepted_total"], kClients);
  EXPECT_EQ(m["ringlb_connections_accepted_total"], m["ringlb_connections_active"] + m["ringlb_connections_closed_total"]);
  EXPECT_EQ(metric_sum(m, "ringlb_backend_connections_total"), kClients) << "per-backend totals must sum to the total";
  EXPECT_EQ(metric_sum(m, "ringlb_backend_connections_active"), 0);
  EXPECT_EQ(metric_sum(m, "ringlb_connections_rejected_total"), 0);
  // Each backend sent its name and a newline ("backend-N\n", 10 bytes) to each client.
  EXPECT_EQ(m["ringlb_bytes_total{direction=\"b2c\"}"], 10 * kClients);
  EXPECT_EQ(m["ringlb_bytes_total{direction=\"c2b\"}"], 0);
  EXPECT_GE(m["ringlb_health_checks_total{pool=\"p\",backend=\"" + f.backends.addresses()[0] + "\",result=\"success\"}"], 1);
  EXPECT_EQ(m["ringlb_backend_up{pool=\"p\",backend=\"" + f.backends.addresses()[1] + "\"}"], 1);
  EXPECT_EQ(m["ringlb_sockmap_connections_active"], 0);
  EXPECT_EQ(m["ringlb_config_reloads_total{result=\"success\"}"], 0);
  EXPECT_EQ(m["ringlb_listener_info{listener=\"main\",pool=\"p\",bind=\"127.0.0.1:" + std::to_string(f.lp.port) + "\"}"], 1);

  const HttpReply status = http("GET", f.url("/status"));
  ASSERT_EQ(status.status, 200);
  EXPECT_NE(status.body.find("\"listeners\":[{\"name\":\"main\""), std::string::npos) << status.body;
  EXPECT_NE(status.body.find("\"address\":\"" + f.backends.addresses()[0] + "\",\"health\":\"up\",\"admin\":\"enabled\""),
            std::string::npos)
      << status.body;
  EXPECT_NE(status.body.find("\"accepted\":" + std::to_string(kClients)), std::string::npos) << status.body;
}

TEST(Admin, DrainDisableEnableMoveNewClientsOnlyLiveConnectionKept) {
  AdminFixture f;
  std::string err;
  ASSERT_TRUE(f.start(&err)) << err;
  const std::string ip = ip_served_by(f, 0);
  ASSERT_NE(ip, "") << "no client IP maps to backend-1";

  // A live connection on backend-1.
  int cerr = 0;
  Fd live = connect_to(f.lp.port, ConnectOptions{"127.0.0.1", ip}, &cerr);
  ASSERT_TRUE(live.valid()) << cerr;
  std::string name;
  ASSERT_EQ(read_line(live.get(), &name, deadline_in(seconds(5))), Outcome::kOk);
  ASSERT_EQ(name, "backend-1");
  std::string payload(64 * 1024, '\0');
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131 + 7);

  for (const std::string action : {"drain", "disable"}) {
    HttpReply r = http("POST", f.backend_url(0, action));
    ASSERT_EQ(r.status, 200) << action << ": " << r.body << r.error;
    EXPECT_NE(r.body.find("\"changed\":true"), std::string::npos) << r.body;
    EXPECT_EQ(f.admin_state_of(0), action == "drain" ? "drained" : "disabled");
    EXPECT_EQ(who_serves(f.lp.port, ip), "backend-2") << "after " << action << " new clients leave backend-1";
    EXPECT_EQ(echo_round(live.get(), payload, deadline_in(seconds(5))), Outcome::kOk)
        << "the live connection must continue byte-exact after " << action;
    auto m = f.metrics();
    EXPECT_EQ(m["ringlb_backend_" + std::string(action == "drain" ? "drained" : "disabled") + "{pool=\"p\",backend=\"" +
                f.backends.addresses()[0] + "\"}"],
              1);
    EXPECT_EQ(m["ringlb_backend_connections_active{pool=\"p\",backend=\"" + f.backends.addresses()[0] + "\"}"], 1);

    r = http("POST", f.backend_url(0, "enable"));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(f.admin_state_of(0), "enabled");
    EXPECT_EQ(who_serves(f.lp.port, ip), "backend-1") << "enable brings the client back (Maglev keeps its slot)";
  }
  EXPECT_EQ(f.lb->count_events("admin_action"), 4) << "one log line per mutation";
  EXPECT_EQ(f.lb->count_events("admin_action", {{"action", "disable"}, {"state", "disabled"}}), 1);
}

TEST(Admin, BadRequestsChangeNothingAndNeverHurtTheServer) {
  AdminFixture f;
  std::string err;
  ASSERT_TRUE(f.start(&err)) << err;
  const std::string addr = f.backends.addresses()[0];

  HttpReply r = http("GET", f.backend_url(0, "drain"));
  EXPECT_EQ(r.status, 405) << "a GET on a mutation";
  EXPECT_NE(r.body.find("\"error\""), std::string::npos) << r.body;
  EXPECT_EQ(f.admin_state_of(0), "enabled") << "a GET must change nothing";
  EXPECT_EQ(http("PUT", f.backend_url(0, "disable")).status, 405);
  EXPECT_EQ(f.admin_state_of(0), "enabled");

  r = http("POST", f.url("/pools/p/backends/127.0.0.1:1/drain"));
  EXPECT_EQ(r.status, 404) << "unknown backend";
  EXPECT_NE(r.body.find("has no backend 127.0.0.1:1"), std::string::npos) << r.body;
  r = http("POST", f.url("/pools/nope/backends/" + addr + "/drain"));
  EXPECT_EQ(r.status, 404) << "unknown pool";
  EXPECT_NE(r.body.find("no pool named 'nope'"), std::string::npos) << r.body;
  EXPECT_EQ(http("POST", f.url("/pools/p/backends/" + addr + "/reboot")).status, 404);
  EXPECT_EQ(http("GET", f.url("/nothing-here")).status, 404);
  EXPECT_EQ(http("POST", f.url("/pools/p/backends/not-an-address/drain")).status, 400);
  EXPECT_EQ(http("POST", f.url("/pools/p/backends/%zz/drain")).status, 400);
  EXPECT_EQ(http("POST", f.url("/metrics")).status, 405);

  // Oversized: a 1 MiB body, and 16 KiB of header.
  const std::string body_file = f.dir.file("big.bin");
  write_file(body_file, std::string(1 << 20, 'x'));
  r = http("POST", f.backend_url(0, "drain"), {"--data-binary", "@" + body_file});
  EXPECT_EQ(r.status, 413) << r.body << r.error;
  r = http("GET", f.url("/status"), {"-H", "X-Big: " + std::string(16 * 1024, 'h')});
  EXPECT_TRUE(r.status == 400 || r.status == 431 || r.status == 0) << "16 KiB header got " << r.status;
  EXPECT_EQ(f.admin_state_of(0), "enabled");

  // A percent-encoded address (what a client that escapes ':' sends) works like the plain one.
  const size_t colon = addr.find(':');
  r = http("POST", f.url("/pools/p/backends/" + addr.substr(0, colon) + "%3A" + addr.substr(colon + 1) + "/drain"));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(f.admin_state_of(0), "drained");

  // Still serving traffic and admin requests after all that.
  std::string why;
  EXPECT_NE(who_serves(f.lp.port, "127.0.0.9", &why), "") << why;
  EXPECT_EQ(http("GET", f.url("/metrics")).status, 200);
  EXPECT_TRUE(f.lb->running());
}

TEST(Admin, StateSurvivesReloadAndHealthFlap) {
  AdminFixture f;
  std::string err;
  ASSERT_TRUE(f.start(&err)) << err;
  const std::string ip = ip_served_by(f, 0);
  ASSERT_NE(ip, "");
  ASSERT_EQ(http("POST", f.backend_url(0, "drain")).status, 200);
  ASSERT_EQ(http("POST", f.backend_url(1, "disable")).status, 200);
  ASSERT_EQ(http("POST", f.backend_url(1, "enable")).status, 200);

  // A reload that changes a weight: the drain is carried over.
  ConfigSpec next = f.spec;
  next.pools[0].backends[1].weight = 200;
  write_file(f.cfg, to_toml(next));
  f.lb->signal(SIGHUP);
  ASSERT_TRUE(f.lb->wait_event("reloaded", {}, seconds(5)));
  EXPECT_EQ(f.admin_state_of(0), "drained") << "a reload dropped the admin state";
  EXPECT_EQ(who_serves(f.lp.port, ip), "backend-2");
  EXPECT_EQ(f.metrics()["ringlb_config_reloads_total{result=\"success\"}"], 1);

  // A health flap of the drained backend: down, then up again; still drained.
  f.backends.server(0).stop_listening();
  ASSERT_TRUE(f.lb->wait_event("health", {{"backend", f.backends.addresses()[0]}, {"state", "down"}}, seconds(5)));
  f.backends.server(0).start_listening();
  // The second "up" line: the first was the startup probe.
  ASSERT_TRUE(f.lb->wait_event("health", {{"backend", f.backends.addresses()[0]}, {"state", "up"}}, seconds(5), 2));
  EXPECT_EQ(f.admin_state_of(0), "drained") << "a health change dropped the admin state";
  EXPECT_EQ(who_serves(f.lp.port, ip), "backend-2");
  auto m = f.metrics();
  EXPECT_EQ(m["ringlb_backend_up{pool=\"p\",backend=\"" + f.backends.addresses()[0] + "\"}"], 1);
  EXPECT_GE(m["ringlb_health_checks_total{pool=\"p\",backend=\"" + f.backends.addresses()[0] + "\",result=\"failure\"}"], 1);

  // A bad reload is counted as an error and keeps everything.
  write_file(f.cfg, "this is not toml");
  f.lb->signal(SIGHUP);
  ASSERT_TRUE(f.lb->wait_event("reload_failed", {}, seconds(5)));
  EXPECT_EQ(f.metrics()["ringlb_config_reloads_total{result=\"error\"}"], 1);
  EXPECT_EQ(f.admin_state_of(0), "drained");
}

TEST(Admin, EmptyAddressServesNothing) {
  TempDir dir;
  NamedBackends backends(1);
  ReservedPort lp = reserve_port();
  std::string err;
  auto lb = start_ringlb(dir, simple_config(lp.port, backends.addresses()), &err);  // admin = ""
  ASSERT_TRUE(lb) << err;
  EXPECT_EQ(lb->count_events("admin_listening"), 0);
  // The only listening socket ringlb holds is its one listener (ss: root sees every process).
  const CommandResult ss = run_command({"ss", "-Hltnp"});
  ASSERT_EQ(ss.code(), 0) << ss.err;
  int mine = 0;
  std::istringstream lines(ss.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("pid=" + std::to_string(lb->pid()) + ",") != std::string::npos) ++mine;
  }
  EXPECT_EQ(mine, 1) << ss.out;
}

TEST(Admin, BindFailureIsAStartupErrorAndNonLoopbackWarns) {
  TempDir dir;
  NamedBackends backends(1);
  ReservedPort lp = reserve_port();
  uint16_t taken = 0;
  Fd holder = listen_tcp("127.0.0.1", 0, &taken);
  ASSERT_TRUE(holder.valid());
  ConfigSpec spec = simple_config(lp.port, backends.addresses());
  spec.admin = "127.0.0.1:" + std::to_string(taken);
  const std::string cfg = dir.file("ringlb.toml");
  write_file(cfg, to_toml(spec));
  RinglbProcess lb(dir, cfg);
  ASSERT_TRUE(lb.start());
  EXPECT_EQ(exit_code(lb.wait_exit(seconds(10))), 1) << lb.log_tail();
  EXPECT_EQ(lb.count_events("startup_failed"), 1);
  EXPECT_NE(lb.log().find("admin: cannot listen on 127.0.0.1:" + std::to_string(taken)), std::string::npos)
      << lb.log_tail();

  TempDir dir2;
  spec.admin = "0.0.0.0:" + std::to_string(free_admin_port());
  std::string err;
  auto open = start_ringlb(dir2, spec, &err);
  ASSERT_TRUE(open) << err;
  EXPECT_EQ(open->count_events("admin_exposed"), 1) << "a non-loopback admin bind must warn";
}

}  // namespace
}  // namespace ringlb::it
