// Table-driven tests for config durations and sizes (units.h): accepted spellings, every
// rejection class (sign, fraction, space, case, unknown unit, overflow), and formatting.
#include "ringlb/common/units.h"

#include <gtest/gtest.h>

#include <limits>

namespace ringlb {
namespace {

using namespace std::chrono_literals;

TEST(UnitsDuration, Accepts) {
  const struct {
    const char* text;
    Duration want;
  } cases[] = {
      {"250ms", 250ms}, {"0ms", 0ms},   {"2s", 2s},          {"5m", 5min},
      {"1h", 1h},       {"1500ms", 1500ms}, {"168h", 168h},  {"007s", 7s},
      {"9223372036854775807ms", Duration::max()},
  };
  for (const auto& c : cases) {
    auto d = parse_duration(c.text);
    ASSERT_TRUE(d.ok()) << c.text << ": " << d.error().message;
    EXPECT_EQ(*d, c.want) << c.text;
  }
}

TEST(UnitsDuration, Rejects) {
  const char* cases[] = {
      "",       "2",     "s",        "-1s",   "+1s",       "1.5s",  " 2s",   "2s ",
      "2 s",    "2S",    "2MS",      "2sec",  "2d",        "2us",   "1m30s", "ms",
      "2mss",   "0x10s", "9223372036854775808ms",          "9223372036854776s",
      "2562047788016h",  // x 3,600,000 ms is just past INT64_MAX
      "99999999999999999999999s",  // overflows uint64 while reading digits
  };
  for (const char* text : cases) {
    auto d = parse_duration(text);
    EXPECT_FALSE(d.ok()) << "accepted \"" << text << "\"";
    if (!d.ok()) {
      EXPECT_FALSE(d.error().message.empty());
    }
  }
}

TEST(UnitsDuration, ErrorNamesTheInput) {
  auto d = parse_duration("2sec");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("\"2sec\""), std::string::npos) << d.error().message;
  EXPECT_TRUE(d.error().file.empty());
  EXPECT_TRUE(d.error().key.empty());
}

TEST(UnitsSize, Accepts) {
  const struct {
    const char* text;
    uint64_t want;
  } cases[] = {
      {"512B", 512},
      {"0B", 0},
      {"64KiB", 64 * 1024},
      {"4MiB", 4 * 1024 * 1024},
      {"1GiB", uint64_t{1} << 30},
      {"10KB", 10'000},
      {"1MB", 1'000'000},
      {"1GB", 1'000'000'000},
      {"17179869183GiB", uint64_t{17179869183} << 30},  // largest GiB count that fits
      {"18446744073709551615B", std::numeric_limits<uint64_t>::max()},
  };
  for (const auto& c : cases) {
    auto s = parse_size(c.text);
    ASSERT_TRUE(s.ok()) << c.text << ": " << s.error().message;
    EXPECT_EQ(*s, c.want) << c.text;
  }
}

TEST(UnitsSize, Rejects) {
  const char* cases[] = {
      "",      "64",     "KiB",   "-1KiB", "1.5MiB", "64 KiB", "64kib", "64kB",
      "64K",   "64Ki",   "1TiB",  "1b",    " 1B",    "1B ",    "17179869184GiB",
      "18446744073709551616B",
  };
  for (const char* text : cases) {
    EXPECT_FALSE(parse_size(text).ok()) << "accepted \"" << text << "\"";
  }
}

TEST(UnitsFormat, ShortestExactUnit) {
  const struct {
    Duration d;
    const char* want;
  } cases[] = {
      {0ms, "0s"},        {1ms, "1ms"},       {250ms, "250ms"},  {1000ms, "1s"},
      {1500ms, "1500ms"}, {2s, "2s"},         {90s, "90s"},      {60s, "1m"},
      {300s, "5m"},       {3600s, "1h"},      {5400s, "90m"},    {168h, "168h"},
      {-1500ms, "-1500ms"}, {-2h, "-2h"},     {3601s, "3601s"},
  };
  for (const auto& c : cases) EXPECT_EQ(format_duration(c.d), c.want) << c.d.count();
}

TEST(UnitsFormat, RoundTripsThroughParse) {
  for (int64_t ms : {1LL, 999LL, 1000LL, 61000LL, 3600000LL, 86400000LL, 123456789LL}) {
    const Duration d{ms};
    auto back = parse_duration(format_duration(d));
    ASSERT_TRUE(back.ok()) << format_duration(d);
    EXPECT_EQ(*back, d);
  }
  // The extremes must not overflow while formatting.
  EXPECT_EQ(format_duration(Duration::max()), "9223372036854775807ms");
  EXPECT_EQ(format_duration(Duration::min()), "-9223372036854775808ms");
}

}  // namespace
}  // namespace ringlb
