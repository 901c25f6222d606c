// Every bad config in tests/fixtures/bad/ must fail to load with the error its first line
// declares: '# expect: LINE:COL KEY "MESSAGE FRAGMENT"' (COL may be *; KEY "-" means none;
// the fragment is optional). Paths are relative to the project root, the test workdir.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "ringlb/config/load.h"

namespace ringlb::config {
namespace {

namespace fs = std::filesystem;

constexpr const char* kBadDir = "tests/fixtures/bad";
constexpr size_t kMinFixtures = 25;

std::vector<std::string> bad_fixtures() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kBadDir, ec)) {
    if (e.path().extension() == ".toml") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct Expect {
  int line = 0;
  int column = -1;  // -1: any
  std::string key;
  std::string fragment;
};

// Reads a decimal number at the front of `s` and drops it; false when there is none.
bool take_int(std::string_view& s, int& out) {
  size_t n = 0;
  out = 0;
  while (n < s.size() && n < 6 && std::isdigit(static_cast<unsigned char>(s[n]))) {
    out = out * 10 + (s[n++] - '0');
  }
  s.remove_prefix(n);
  return n > 0;
}

bool take(std::string_view& s, std::string_view prefix) {
  if (s.substr(0, prefix.size()) != prefix) return false;
  s.remove_prefix(prefix.size());
  return true;
}

// Parses the first line; returns false when it is not a well-formed expectation.
bool parse_expect(const std::string& path, Expect& out) {
  std::ifstream in(path);
  std::string first;
  if (!std::getline(in, first)) return false;
  std::string_view s = first;
  if (!take(s, "# expect: ") || !take_int(s, out.line) || !take(s, ":")) return false;
  if (!take(s, "*") && !take_int(s, out.column)) return false;
  if (!take(s, " ")) return false;
  // KEY runs to the next space outside double quotes.
  bool quoted = false;
  size_t n = 0;
  for (; n < s.size() && (quoted || s[n] != ' '); ++n) {
    if (s[n] == '"') quoted = !quoted;
  }
  if (n == 0 || quoted) return false;
  out.key = s.substr(0, n) == "-" ? "" : std::string(s.substr(0, n));
  s.remove_prefix(n);
  if (s.empty()) return true;
  if (!take(s, " \"") || s.size() < 1 || s.back() != '"') return false;
  out.fragment = std::string(s.substr(0, s.size() - 1));
  return true;
}

TEST(BadConfigFixture, DirectoryHoldsEnoughFixtures) {
  const auto files = bad_fixtures();
  EXPECT_GE(files.size(), kMinFixtures)
      << "expected >= " << kMinFixtures << " bad configs in " << kBadDir << " (cwd "
      << fs::current_path() << "; run from the project root)";
}

class BadConfigFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(BadConfigFixture, FailsWithDeclaredError) {
  const std::string& path = GetParam();
  Expect want;
  ASSERT_TRUE(parse_expect(path, want)) << path << ": first line must be "
                                        << "# expect: LINE:COL KEY \"fragment\"";
  auto config = load_file(path);
  ASSERT_FALSE(config.ok()) << path << " loaded without error";
  const Error& e = config.error();
  SCOPED_TRACE(e.to_string());
  EXPECT_EQ(e.file, path);
  EXPECT_EQ(e.line, want.line);
  if (want.column >= 0) {
    EXPECT_EQ(e.column, want.column);
  }
  EXPECT_EQ(e.key, want.key);
  EXPECT_NE(e.message.find(want.fragment), std::string::npos)
      << "message lacks \"" << want.fragment << "\"";
  EXPECT_EQ(e.to_string().rfind(path + ":", 0), 0u) << "to_string must start with the path";
}

std::string test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = fs::path(info.param).stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Bad, BadConfigFixture, ::testing::ValuesIn(bad_fixtures()), test_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(BadConfigFixture);

}  // namespace
}  // namespace ringlb::config
