// Log line rendering: the text and JSON shapes that operators and tests parse.
#include "ringlb/common/log.h"

#include <gtest/gtest.h>

namespace ringlb::log {
namespace {

constexpr uint64_t kTs = 1795431540123;  // 2026-11-23T10:59:00.123Z

TEST(Log, TextLine) {
  EXPECT_EQ(render(Format::text, kTs, Level::info, "health",
                   {{"pool", "gw"}, {"backend", "10.0.1.11:443"}, {"state", "down"}, {"checks", 3}}),
            "2026-11-23T10:59:00.123Z info health pool=gw backend=10.0.1.11:443 state=down checks=3\n");
}

TEST(Log, TextQuotesValuesThatWouldBreakTheLine) {
  EXPECT_EQ(render(Format::text, kTs, Level::warn, "e", {{"reason", "two words"}, {"k", "a=b"}, {"empty", ""}}),
            "2026-11-23T10:59:00.123Z warn e reason=\"two words\" k=\"a=b\" empty=\"\"\n");
  EXPECT_EQ(render(Format::text, kTs, Level::error, "e", {{"msg", "line\nbreak \"q\""}}),
            "2026-11-23T10:59:00.123Z error e msg=\"line\\nbreak \\\"q\\\"\"\n");
}

TEST(Log, JsonLine) {
  EXPECT_EQ(render(Format::json, kTs, Level::info, "ready", {{"workers", 2}, {"ok", true}, {"name", "a\"b\x01"}}),
            "{\"ts\":\"2026-11-23T10:59:00.123Z\",\"level\":\"info\",\"event\":\"ready\",\"workers\":2,"
            "\"ok\":true,\"name\":\"a\\\"b\\u0001\"}\n");
}

TEST(Log, ErrnoName) {
  EXPECT_EQ(errno_name(ECONNREFUSED), "ECONNREFUSED");
  EXPECT_EQ(errno_name(EMFILE), "EMFILE");
}

}  // namespace
}  // namespace ringlb::log
