// `ringlb diff [--json] OLD NEW` as an operator runs it before a reload: the real binary on two
// config files. Exit status like diff(1): 0 the same, 1 different, 2 a config or usage error
// (printed exactly as `ringlb --check` prints it); the text table and the JSON object.
// Nothing binds: the listener port is reserved only so no config names a fixed port.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "harness.h"
#include "sockets.h"

namespace ringlb::it {
namespace {

std::vector<std::string> backends(int count) {
  std::vector<std::string> out;
  for (int i = 1; i <= count; ++i) out.push_back(fmt::format("10.0.1.{}:443", i));
  return out;
}

struct TwoConfigs {
  TempDir dir;
  ReservedPort lp = reserve_port();
  std::string old_path = dir.file("old.toml");
  std::string new_path = dir.file("new.toml");

  // OLD: 10 backends; NEW: the same minus 10.0.1.10.
  TwoConfigs() {
    write_file(old_path, to_toml(simple_config(lp.port, backends(10))));
    write_file(new_path, to_toml(simple_config(lp.port, backends(9))));
  }
};

CommandResult diff(const std::vector<std::string>& args) {
  std::vector<std::string> argv{ringlb_binary(), "diff"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, seconds(20));
}

// The table row of `address` in the text output ("" if none).
std::string row(const std::string& text, const std::string& address) {
  const size_t at = text.find("\n  " + address + " ");
  if (at == std::string::npos) return "";
  return text.substr(at + 1, text.find('\n', at + 1) - at - 1);
}

TEST(DiffCli, IdenticalConfigsExitZero) {
  TwoConfigs c;
  const CommandResult r = diff({c.old_path, c.old_path});
  EXPECT_EQ(r.code(), 0) << describe_status(r.status) << "\n" << r.out << r.err;
  EXPECT_NE(r.out.find("pool p: unchanged"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("same: the configs route identically"), std::string::npos) << r.out;
  const CommandResult j = diff({"--json", c.old_path, c.old_path});
  EXPECT_EQ(j.code(), 0) << j.out << j.err;
  auto obj = parse_flat_json(j.out.substr(0, j.out.find_last_not_of('\n') + 1));
  ASSERT_TRUE(obj) << "not one JSON object: " << j.out;
  EXPECT_EQ((*obj)["same"].scalar, "true");
}

TEST(DiffCli, RemovedBackendTextExitsOne) {
  TwoConfigs c;
  const CommandResult r = diff({c.old_path, c.new_path});
  EXPECT_EQ(r.code(), 1) << describe_status(r.status) << "\n" << r.out << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;
  EXPECT_NE(r.out.find("pool p: changed"), std::string::npos) << r.out;
  // 10.00% must move (the removed backend's clients); Maglev keeps the rest under 1%.
  const size_t moved = r.out.find("  moved ");
  ASSERT_NE(moved, std::string::npos) << r.out;
  const double percent = std::stod(r.out.substr(r.out.find_first_not_of(' ', moved + 8)));
  EXPECT_GE(percent, 9.99) << r.out;
  EXPECT_LT(percent, 11.0) << r.out;
  const std::string gone = row(r.out, "10.0.1.10:443");
  EXPECT_NE(gone.find("10.00% ->   0.00%"), std::string::npos) << gone;
  EXPECT_NE(gone.find("removed"), std::string::npos) << gone;
  const std::string kept = row(r.out, "10.0.1.2:443");
  EXPECT_NE(kept.find("10.00% ->  11.11%"), std::string::npos) << kept;
  EXPECT_EQ(kept.find("removed"), std::string::npos) << kept;
  EXPECT_NE(r.out.find("reload: SIGHUP applies NEW"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\ndifferent\n"), std::string::npos) << r.out;
}

TEST(DiffCli, JsonOutput) {
  TwoConfigs c;
  const CommandResult r = diff({"--json", c.old_path, c.new_path});
  EXPECT_EQ(r.code(), 1) << describe_status(r.status) << "\n" << r.out << r.err;
  ASSERT_FALSE(r.out.empty());
  EXPECT_EQ(r.out.find('\n'), r.out.size() - 1) << "one line: " << r.out;
  auto obj = parse_flat_json(r.out.substr(0, r.out.size() - 1));
  ASSERT_TRUE(obj) << "not one JSON object: " << r.out;
  EXPECT_EQ((*obj)["same"].scalar, "false");
  for (const char* key : {"pools", "listeners", "global", "restart_reasons"}) {
    EXPECT_TRUE(obj->count(key) && (*obj)[key].is_array) << key << ": " << r.out;
  }
  for (const char* part : {"\"name\":\"p\",\"status\":\"changed\",\"moved\":0.10",
                           "\"table_size\":{\"old\":65537,\"new\":65537}",
                           "{\"address\":\"10.0.1.10:443\",\"weight_old\":100,\"weight_new\":null,\"share_old\":10.00,"
                           "\"share_new\":0.00,\"change\":\"removed\"",
                           "{\"address\":\"10.0.1.2:443\",\"weight_old\":100,\"weight_new\":100,\"share_old\":10.00,"
                           "\"share_new\":11.11,\"change\":\"\"",
                           "\"listeners\":[{\"name\":\"main\",\"status\":\"unchanged\""}) {
    EXPECT_NE(r.out.find(part), std::string::npos) << part << "\n" << r.out;
  }
  // Backends sorted by address (10.0.1.2 before 10.0.1.10), not as text.
  EXPECT_LT(r.out.find("10.0.1.2:443"), r.out.find("10.0.1.10:443"));

  // A strict parser, where one is installed, agrees that it is JSON with these values.
  const std::string python = find_program("python3");
  if (python.empty()) return;
  const std::string json_path = c.dir.file("diff.json");
  write_file(json_path, r.out);
  const CommandResult py = run_command(
      {python, "-c",
       "import json,sys; d=json.load(open(sys.argv[1])); p=d['pools'][0]; b={x['address']:x for x in p['backends']};"
       "s=sum(x['share_new'] for x in p['backends']);"
       "print(p['name'], p['status'], 0.0999 <= p['moved'] < 0.11, b['10.0.1.10:443']['share_new'],"
       " b['10.0.1.10:443']['change'], round(s), p['fingerprint']['old'] != p['fingerprint']['new'])",
       json_path},
      seconds(20));
  EXPECT_EQ(py.code(), 0) << py.err;
  EXPECT_EQ(py.out, "p changed True 0.0 removed 100 True\n") << r.out;
}

TEST(DiffCli, ConfigErrorExitsTwoAsCheckPrintsIt) {
  TwoConfigs c;
  const std::string bad = c.dir.file("bad.toml");
  write_file(bad, to_toml(simple_config(c.lp.port, backends(2))) + "bogus_key = 1\n");
  const CommandResult check = run_command({ringlb_binary(), "--check", "--config", bad}, seconds(10));
  ASSERT_EQ(check.code(), 2) << check.out << check.err;
  ASSERT_FALSE(check.err.empty());

  const CommandResult bad_new = diff({c.old_path, bad});
  EXPECT_EQ(bad_new.code(), 2) << bad_new.out << bad_new.err;
  EXPECT_EQ(bad_new.err, check.err);
  EXPECT_TRUE(bad_new.out.empty()) << bad_new.out;
  const CommandResult bad_old = diff({"--json", bad, c.new_path});
  EXPECT_EQ(bad_old.code(), 2) << bad_old.out << bad_old.err;
  EXPECT_EQ(bad_old.err, check.err);

  const CommandResult missing = diff({c.dir.file("nope.toml"), c.new_path});
  EXPECT_EQ(missing.code(), 2) << missing.out << missing.err;
  EXPECT_NE(missing.err.find("nope.toml"), std::string::npos) << missing.err;
  const CommandResult usage = diff({c.old_path});
  EXPECT_EQ(usage.code(), 2) << usage.out << usage.err;
  EXPECT_NE(usage.err.find("diff needs OLD.toml and NEW.toml"), std::string::npos) << usage.err;
}

TEST(DiffCli, HelpDocumentsDiffAndItsExitStatus) {
  const CommandResult h = run_command({ringlb_binary(), "--help"}, seconds(10));
  EXPECT_EQ(h.code(), 0) << h.err;
  EXPECT_NE(h.out.find("ringlb diff [--json] OLD.toml NEW.toml"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("exit 0 when"), std::string::npos) << h.out;
}

}  // namespace
}  // namespace ringlb::it
