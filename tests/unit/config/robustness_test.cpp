// Arbitrary input never crashes the loader (ENGINEERING.md rule 6): truncations, byte edits,
// line deletions/duplications of a valid config, and random bytes all end in a Result. When
// a mutant still loads, the Config's invariants hold. Deterministic: fixed PRNG seed.
#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "ringlb/config/load.h"

namespace ringlb::config {
namespace {

std::string read_text(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Checks one input; returns true when it loaded.
bool check(const std::string& text) {
  auto c = load_string(text, "fuzz.toml");
  if (!c.ok()) {
    EXPECT_FALSE(c.error().message.empty());
    EXPECT_EQ(c.error().file, "fuzz.toml");
    EXPECT_GE(c.error().line, 0);
    return false;
  }
  EXPECT_FALSE(c->listeners.empty());
  EXPECT_FALSE(c->pools.empty());
  for (const Listener& l : c->listeners) EXPECT_NE(c->find_pool(l.pool), nullptr);
  for (const Pool& p : c->pools) {
    EXPECT_FALSE(p.backends.empty());
    EXPECT_GE(p.table_size, p.backends.size());
    EXPECT_LE(p.health.timeout, p.health.interval);
  }
  EXPECT_FALSE(summary(*c).empty());
  return true;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream ss(text);
  for (std::string line; std::getline(ss, line);) lines.push_back(line + "\n");
  return lines;
}

class ConfigRobustness : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = read_text("conf/ringlb.toml");
    ASSERT_FALSE(base_.empty()) << "conf/ringlb.toml not found (run from the project root)";
    ASSERT_TRUE(check(base_));
  }
  std::string base_;
  std::mt19937 rng_{20240607};
};

TEST_F(ConfigRobustness, EveryTruncation) {
  int loaded = 0;
  for (size_t n = 0; n < base_.size(); ++n) loaded += check(base_.substr(0, n));
  // Cutting inside the backend list still leaves a valid config: proof the loop got far.
  EXPECT_GT(loaded, 0);
}

TEST_F(ConfigRobustness, ByteEdits) {
  static constexpr char kNasty[] = {'"', '\'', '[', ']', '{', '}', '=', ',', '.', '\n',
                                    '\0', '#', '0', '9', '-', ':', '\\', ' ', '\x7f',
                                    static_cast<char>(0xff), static_cast<char>(0xc3)};
  std::uniform_int_distribution<size_t> pos(0, base_.size() - 1);
  std::uniform_int_distribution<size_t> pick(0, sizeof kNasty - 1);
  for (int i = 0; i < 3000; ++i) {
    std::string text = base_;
    const int edits = 1 + i % 4;
    for (int e = 0; e < edits; ++e) {
      const size_t at = pos(rng_);
      switch ((i + e) % 3) {
        case 0: text[at % text.size()] = kNasty[pick(rng_)]; break;
        case 1: text.insert(at % (text.size() + 1), 1, kNasty[pick(rng_)]); break;
        default: text.erase(at % text.size(), 1); break;
      }
    }
    check(text);
  }
}

TEST_F(ConfigRobustness, LineEdits) {
  const auto lines = split_lines(base_);
  std::uniform_int_distribution<size_t> line(0, lines.size() - 1);
  int loaded = 0;
  for (int i = 0; i < 2000; ++i) {
    std::vector<std::string> mutated = lines;
    const size_t a = line(rng_), b = line(rng_);
    switch (i % 3) {
      case 0: mutated.erase(mutated.begin() + static_cast<long>(a)); break;
      case 1: mutated.insert(mutated.begin() + static_cast<long>(a), lines[b]); break;
      default: std::swap(mutated[a], mutated[b]); break;
    }
    std::string text;
    for (const auto& l : mutated) text += l;
    loaded += check(text);
  }
  EXPECT_GT(loaded, 0);  // deleting a comment line keeps it valid: the mutants are realistic
}

TEST_F(ConfigRobustness, RandomBytes) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> len(0, 512);
  for (int i = 0; i < 1000; ++i) {
    std::string text(len(rng_), '\0');
    for (char& c : text) c = static_cast<char>(byte(rng_));
    check(text);
  }
}

// Headers that violate a toml++ 3.3.0 parser precondition (aborted in debug builds before
// load.cpp compiled its assertions out): each must be an ordinary syntax error.
TEST_F(ConfigRobustness, MalformedHeaders) {
  for (const char* text : {"[=]", "[:a]", "[?a]", "[ :a]", "[[:a]]", "[[[1]]]", "[[[a]]]",
                           "[[[]]", "[[=", "[listeners.public]\n[:pools]\n"}) {
    auto c = load_string(text, "hdr.toml");
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_NE(c.error().message.find("TOML syntax error"), std::string::npos) << text;
    EXPECT_GE(c.error().line, 1) << text;
  }
}

TEST_F(ConfigRobustness, DeepNestingAndHugeValues) {
  check("a = " + std::string(10000, '[') + std::string(10000, ']'));
  check("a = " + std::string(10000, '{'));
  check("[global]\nuser = \"" + std::string(100000, 'x') + "\"\n");
  check("[listeners." + std::string(100000, 'k') + "]\n");
  check("[" + std::string(5000, 'a') + std::string(5000, '.') + "]");
}

}  // namespace
}  // namespace ringlb::config
