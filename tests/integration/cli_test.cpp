// The command line around the proxy: --version, --help, --check on a good config, and the JSON
// log format that log shippers parse (every line one JSON object with ts, level, event).
#include <gtest/gtest.h>

#include "harness.h"
#include "servers.h"
#include "sockets.h"

namespace ringlb::it {
namespace {

TEST(Cli, VersionAndHelpExitZero) {
  const CommandResult v = run_command({ringlb_binary(), "--version"}, seconds(10));
  EXPECT_EQ(v.code(), 0) << describe_status(v.status) << v.err;
  EXPECT_NE(v.out.find("ringlb"), std::string::npos) << v.out;
  const CommandResult h = run_command({ringlb_binary(), "--help"}, seconds(10));
  EXPECT_EQ(h.code(), 0) << describe_status(h.status) << h.err;
  EXPECT_NE((h.out + h.err).find("--config"), std::string::npos) << h.out << h.err;
}

TEST(Cli, CheckAcceptsAGoodConfigAndBindsNothing) {
  TempDir dir;
  ReservedPort lp = reserve_port();
  const std::string cfg = dir.file("good.toml");
  write_file(cfg, to_toml(simple_config(lp.port, {"127.0.0.1:9", "127.0.0.1:10"})));
  const CommandResult r = run_command({ringlb_binary(), "--check", "--config", cfg}, seconds(10));
  EXPECT_EQ(r.code(), 0) << describe_status(r.status) << "\n" << r.out << r.err;
  EXPECT_FALSE(r.out.empty() && r.err.empty()) << "--check prints a summary";
  int cerr = 0;
  EXPECT_FALSE(connect_to(lp.port, &cerr).valid());
}

TEST(Cli, JsonLogFormat) {
  TempDir dir;
  TcpServer backend(echo_handler());
  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {backend.address()});
  spec.log_format = "json";
  std::string err;
  auto lb = start_ringlb(dir, spec, &err);
  ASSERT_TRUE(lb) << err;
  const std::string log = lb->log();
  int lines = 0;
  size_t start = 0;
  while (start < log.size()) {
    const size_t end = log.find('\n', start);
    if (end == std::string::npos) break;
    const std::string line = log.substr(start, end - start);
    start = end + 1;
    ++lines;
    auto obj = parse_flat_json(line);
    ASSERT_TRUE(obj) << "not a JSON object: " << line;
    EXPECT_TRUE(obj->count("ts") && obj->count("level") && obj->count("event")) << line;
  }
  EXPECT_GE(lines, 2);
  EXPECT_EQ(lb->count_events("ready"), 1);
  EXPECT_EQ(lb->count_events("health", {{"backend", backend.address()}, {"state", "up"}}), 1)
      << "the first health round logs each backend's initial state:\n" << log;
}

}  // namespace
}  // namespace ringlb::it
