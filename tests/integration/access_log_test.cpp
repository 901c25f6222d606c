// The access log (README "Access log"): one line per closed client connection with the client,
// listener, pool, backend, datapath, bytes each way, duration and why it ended; here fin,
// client_reset, idle_timeout, connect_failed and rejected_no_backend, each with its byte counts,
// in text, and a fin line in JSON.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <cstdio>

#include <thread>

#include "harness.h"
#include "servers.h"
#include "sockets.h"

namespace ringlb::it {
namespace {

// Lines of event "access" in `path`, waiting (bounded) until at least `n` are there: a worker
// writes its buffered lines at its next tick (100 ms).
std::vector<LogEvent> access_lines(const std::string& path, size_t n) {
  std::vector<LogEvent> out;
  for (int i = 0; i < 50; ++i) {
    out.clear();
    for (const LogEvent& e : parse_log(read_file(path))) {
      if (e.event == "access") out.push_back(e);
    }
    if (out.size() >= n) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  return out;
}

// The one line whose cause is `cause`; fails the test when there is not exactly one.
LogEvent line_with(const std::vector<LogEvent>& lines, const std::string& cause) {
  std::vector<LogEvent> found;
  for (const LogEvent& e : lines) {
    if (e.kv.count("cause") && e.kv.at("cause") == cause) found.push_back(e);
  }
  EXPECT_EQ(found.size(), 1u) << "lines with cause=" << cause;
  return found.empty() ? LogEvent{} : found.front();
}

// Sends `msg` and reads the echo back.
void echo_once(int fd, const std::string& msg) {
  ASSERT_EQ(echo_round(fd, msg, deadline_in(seconds(3))), Outcome::kOk);
}

TEST(AccessLog, OneLinePerConnectionWithBytesAndCause) {
  TempDir dir;
  TcpServer echo(echo_handler());
  TcpServer doomed(echo_handler());  // up at the first probe, then stops listening
  ReservedPort main_port = reserve_port();
  ReservedPort idle_port = reserve_port();
  ReservedPort dead_port = reserve_port();
  ConfigSpec spec;
  spec.access_log = dir.file("access.log");
  spec.listeners = {ListenerSpec{"main", "127.0.0.1", main_port.port, "p"},
                    ListenerSpec{"idle", "127.0.0.1", idle_port.port, "i"},
                    ListenerSpec{"dead", "127.0.0.1", dead_port.port, "d"}};
  // The lines' fields are what is tested, on the splice path: in the sockmap run a connection
  // that goes quiet before its FIN may or may not be promoted first (timing), which would make
  // its `datapath` either.
  spec.listeners[0].datapath = "splice";
  PoolSpec p;
  p.backends = {BackendSpec{echo.address()}};
  PoolSpec i = p;
  i.name = "i";
  i.idle_timeout = "300ms";
  PoolSpec d;
  d.name = "d";
  d.retries = 0;
  d.health_interval = "1h";  // only passive failures can take it down
  d.backends = {BackendSpec{doomed.address()}};
  spec.pools = {d, i, p};
  std::string err;
  auto lb = start_ringlb(dir, spec, &err);
  ASSERT_TRUE(lb) << err;

  // fin: 5 bytes each way, then FIN from the client, FIN back from the echo backend.
  {
    Fd c = connect_to(main_port.port);
    ASSERT_TRUE(c.valid());
    echo_once(c.get(), "hello");
    ::shutdown(c.get(), SHUT_WR);
    ASSERT_EQ(wait_closed(c.get(), deadline_in(seconds(3))), Outcome::kEof);
  }
  // client_reset: 3 bytes each way, then the client resets.
  {
    Fd c = connect_to(main_port.port);
    ASSERT_TRUE(c.valid());
    echo_once(c.get(), "abc");
    set_linger_reset(c.get());
  }
  // idle_timeout: 4 bytes each way, then silence until ringlb closes it.
  {
    Fd c = connect_to(idle_port.port);
    ASSERT_TRUE(c.valid());
    echo_once(c.get(), "idle");
    const Outcome o = wait_closed(c.get(), deadline_in(seconds(3)));
    ASSERT_TRUE(o == Outcome::kEof || o == Outcome::kReset) << to_string(o);
  }
  // connect_failed: the only backend stopped listening after its probe said up.
  doomed.stop_listening();
  {
    Fd c = connect_to(dead_port.port);
    ASSERT_TRUE(c.valid());
    wait_closed(c.get(), deadline_in(seconds(3)));
  }
  // rejected_no_backend: once that failure has marked it down.
  ASSERT_TRUE(lb->wait_event("health", {{"pool", "d"}, {"state", "down"}}, seconds(5)));
  {
    Fd c = connect_to(dead_port.port);
    ASSERT_TRUE(c.valid());
    wait_closed(c.get(), deadline_in(seconds(3)));
  }

  const auto lines = access_lines(spec.access_log, 5);
  ASSERT_EQ(lines.size(), 5u) << read_file(spec.access_log);
  const LogEvent fin = line_with(lines, "fin");
  EXPECT_EQ(fin.kv.at("listener"), "main");
  EXPECT_EQ(fin.kv.at("pool"), "p");
  EXPECT_EQ(fin.kv.at("backend"), echo.address());
  EXPECT_EQ(fin.kv.at("datapath"), "splice");
  EXPECT_EQ(fin.kv.at("bytes_c2b"), "5");
  EXPECT_EQ(fin.kv.at("bytes_b2c"), "5");
  EXPECT_EQ(fin.kv.at("client").rfind("127.0.0.1:", 0), 0u) << fin.raw;
  EXPECT_TRUE(fin.kv.count("duration_ms")) << fin.raw;

  const LogEvent reset = line_with(lines, "client_reset");
  EXPECT_EQ(reset.kv.at("bytes_c2b"), "3");
  EXPECT_EQ(reset.kv.at("bytes_b2c"), "3");

  const LogEvent idle = line_with(lines, "idle_timeout");
  EXPECT_EQ(idle.kv.at("listener"), "idle");
  EXPECT_EQ(idle.kv.at("bytes_c2b"), "4");
  EXPECT_EQ(idle.kv.at("bytes_b2c"), "4");
  EXPECT_GE(std::stoi(idle.kv.at("duration_ms")), 250) << idle.raw;

  const LogEvent failed = line_with(lines, "connect_failed");
  EXPECT_EQ(failed.kv.at("pool"), "d");
  EXPECT_EQ(failed.kv.at("backend"), "-");
  EXPECT_EQ(failed.kv.at("bytes_c2b"), "0");
  EXPECT_EQ(failed.kv.at("bytes_b2c"), "0");

  const LogEvent refused = line_with(lines, "rejected_no_backend");
  EXPECT_EQ(refused.kv.at("listener"), "dead");
  EXPECT_EQ(refused.kv.at("backend"), "-");
}

TEST(AccessLog, JsonLinesAndSighupReopen) {
  TempDir dir;
  TcpServer echo(echo_handler());
  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {echo.address()});
  spec.access_log = dir.file("access.json");
  spec.access_log_format = "json";
  std::string err, cfg;
  auto lb = start_ringlb(dir, spec, &err, &cfg);
  ASSERT_TRUE(lb) << err;
  auto one_connection = [&](const std::string& msg) {
    Fd c = connect_to(lp.port);
    ASSERT_TRUE(c.valid());
    echo_once(c.get(), msg);
    ::shutdown(c.get(), SHUT_WR);
    ASSERT_EQ(wait_closed(c.get(), deadline_in(seconds(3))), Outcome::kEof);
  };
  one_connection("json!");
  auto lines = access_lines(spec.access_log, 1);
  ASSERT_EQ(lines.size(), 1u) << read_file(spec.access_log);
  EXPECT_EQ(lines[0].raw.front(), '{') << lines[0].raw;
  EXPECT_EQ(lines[0].kv.at("cause"), "fin");
  EXPECT_EQ(lines[0].kv.at("bytes_c2b"), "5");

  // logrotate: move the file away, SIGHUP, and the next line lands in a new file.
  ASSERT_EQ(::rename(spec.access_log.c_str(), (spec.access_log + ".1").c_str()), 0);
  lb->signal(SIGHUP);
  ASSERT_TRUE(lb->wait_event("reloaded", {}, seconds(5)));
  one_connection("rotated");
  lines = access_lines(spec.access_log, 1);
  ASSERT_EQ(lines.size(), 1u) << "no line in the reopened file";
  EXPECT_EQ(lines[0].kv.at("bytes_b2c"), "7");
  EXPECT_EQ(access_lines(spec.access_log + ".1", 1).size(), 1u) << "the rotated file got more lines";
}

}  // namespace
}  // namespace ringlb::it
