// A bad config is refused whole, before anything binds: exit status 2, one stderr line
// `FILE:LINE:COL: KEY: message`, and the listener port of the (valid) listener above the error
// is never bound. Table-driven over a few kinds of mistakes.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <regex>

#include "harness.h"
#include "sockets.h"

namespace ringlb::it {
namespace {

struct BadCase {
  const char* name;
  const char* find;     // a line of the valid config...
  const char* replace;  // ...replaced by this line, which is the error
  const char* key;      // the key the message must name
};

const BadCase kCases[] = {
    {"wrong_type", "retries = 2", "retries = \"two\"", "retries"},
    {"unknown_key", "retries = 2", "retrys = 2", "retrys"},
    {"bad_duration", "connect_timeout = \"500ms\"", "connect_timeout = \"500 parsecs\"", "connect_timeout"},
    {"weight_out_of_range", "address = \"127.0.0.1:9\"", "address = \"127.0.0.1:9\"\nweight = 0", "weight"},
    {"unknown_pool", "pool = \"p\"", "pool = \"nope\"", "pool"},
};

// The valid config with the listener on `port`; retries and a backend address fixed so the
// cases can find their lines.
std::string valid_config(uint16_t port) {
  ConfigSpec spec = simple_config(port, {"127.0.0.1:9"});
  spec.pools[0].retries = 2;
  return to_toml(spec);
}

// 1-based line number of the first line equal to `line` (after the edit), 0 if none.
int line_of(const std::string& text, const std::string& line) {
  int n = 1;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (text.compare(start, end - start, line) == 0) return n;
    start = end + 1;
    ++n;
  }
  return 0;
}

std::string regex_escape(const std::string& s) {
  static const std::regex special(R"([.^$|()\[\]{}*+?\\])");
  return std::regex_replace(s, special, R"(\$&)");
}

class BadConfigTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfigTest, ExitsTwoNamingFileLineKeyAndBindsNothing) {
  const BadCase& bc = GetParam();
  TempDir dir;
  ReservedPort lp = reserve_port();
  std::string text = valid_config(lp.port);
  const size_t at = text.find(bc.find);
  ASSERT_NE(at, std::string::npos) << "test bug: '" << bc.find << "' not in\n" << text;
  text.replace(at, std::strlen(bc.find), bc.replace);
  const std::string bad_line = std::string(bc.replace).substr(std::string(bc.replace).rfind('\n') + 1);
  const int line = line_of(text, bad_line);
  ASSERT_GT(line, 0);
  const std::string cfg = dir.file("bad.toml");
  write_file(cfg, text);

  RinglbProcess lb(dir, cfg);
  std::string err;
  ASSERT_TRUE(lb.start(&err)) << err;
  const auto status = lb.wait_exit(seconds(5));
  ASSERT_TRUE(status) << "ringlb still running 5 s after a bad config";
  EXPECT_EQ(exit_code(status), 2) << describe_status(status);
  const std::string log = lb.log();
  const std::regex where(fmt::format(R"({}:{}:\d+: [^\n]*{})", regex_escape(cfg), line, bc.key));
  EXPECT_TRUE(std::regex_search(log, where))
      << "stderr must name " << cfg << ":" << line << ":COL and the key '" << bc.key << "'; got:\n" << log;
  int lines = 0;
  for (char c : log) lines += c == '\n';
  EXPECT_EQ(lines, 1) << "a config error is one stderr line; got:\n" << log;

  int cerr = 0;
  Fd probe = connect_to(lp.port, &cerr);
  EXPECT_FALSE(probe.valid()) << "something accepted a connection on the listener port";
  EXPECT_EQ(cerr, -ECONNREFUSED);

  // --check reports the same error the same way.
  const CommandResult check = run_command({ringlb_binary(), "--check", "--config", cfg}, seconds(10));
  EXPECT_EQ(check.code(), 2) << describe_status(check.status) << "\n" << check.out << check.err;
  EXPECT_TRUE(std::regex_search(check.err, where)) << "--check stderr:\n" << check.err;
}

INSTANTIATE_TEST_SUITE_P(Cases, BadConfigTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<BadCase>& i) { return std::string(i.param.name); });

// Validation comes before binding: even when the listener port is taken by another process's
// plain (non-SO_REUSEPORT) listener, a bad config gives the config error (2), not a bind
// error (1).
TEST(BadConfig, ValidatesBeforeBinding) {
  TempDir dir;
  uint16_t port = 0;
  Fd taken(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(taken.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(taken.get(), 4), 0);
    socklen_t len = sizeof a;
    ::getsockname(taken.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  std::string text = valid_config(port);
  text.replace(text.find("retries = 2"), 11, "retries = \"two\"");
  const std::string cfg = dir.file("bad.toml");
  write_file(cfg, text);
  const CommandResult r = run_command({ringlb_binary(), "--config", cfg}, seconds(10));
  EXPECT_EQ(r.code(), 2) << describe_status(r.status) << " (1 would mean it tried to bind first)\n" << r.err;

  // The same port with a good config: a bind failure is a startup error, status 1.
  write_file(cfg, valid_config(port));
  const CommandResult good = run_command({ringlb_binary(), "--config", cfg}, seconds(10));
  EXPECT_EQ(good.code(), 1) << describe_status(good.status) << "\n" << good.err;
}

}  // namespace
}  // namespace ringlb::it
