// Access log lines: every field in both formats, each cause's name, and the buffer that writes
// whole lines with one write(2).
#include "ringlb/worker/access_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <set>

namespace ringlb::worker {
namespace {

AccessRecord record() {
  AccessRecord r;
  r.client = *parse_address("[2001:db8::7]:40000");
  r.listener = "public";
  r.pool = "gw";
  r.backend = "10.0.1.11:443";
  r.bytes_c2b = 517;
  r.bytes_b2c = 4096;
  r.duration_ms = 1234;
  r.cause = EndCause::backend_reset;
  return r;
}

TEST(AccessLogLine, Text) {
  EXPECT_EQ(render_access_line(false, 0, record()),
            "1970-01-01T00:00:00.000Z info access client=[2001:db8::7]:40000 listener=public pool=gw "
            "backend=10.0.1.11:443 datapath=splice bytes_c2b=517 bytes_b2c=4096 duration_ms=1234 cause=backend_reset\n");
}

TEST(AccessLogLine, Json) {
  AccessRecord r = record();
  r.datapath = DatapathKind::sockmap;
  r.backend = "-";
  r.cause = EndCause::rejected_no_backend;
  EXPECT_EQ(render_access_line(true, 0, r),
            R"({"ts":"1970-01-01T00:00:00.000Z","level":"info","event":"access","client":"[2001:db8::7]:40000",)"
            R"("listener":"public","pool":"gw","backend":"-","datapath":"sockmap","bytes_c2b":517,"bytes_b2c":4096,)"
            R"("duration_ms":1234,"cause":"rejected_no_backend"})"
            "\n");
}

TEST(AccessLogLine, CauseNamesAreDistinct) {
  std::set<std::string_view> names;
  for (int c = 0; c <= static_cast<int>(EndCause::drain_timeout); ++c) {
    names.insert(end_cause_name(static_cast<EndCause>(c)));
  }
  EXPECT_EQ(names, (std::set<std::string_view>{"fin", "idle_timeout", "client_reset", "backend_reset", "connect_failed",
                                                "rejected_max_connections", "rejected_no_backend", "rejected_fd_limit",
                                                "drain_timeout"}));
}

TEST(AccessLogBuffer, OffBuffersNothingOnBuffersUntilFlush) {
  AccessLog off(-1, false);
  EXPECT_FALSE(off.enabled());
  off.append(record());
  off.flush();

  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  AccessLog on(p[1], false);
  on.append(record());
  on.append(record());
  char buf[4096];
  on.flush();
  const ssize_t n = ::read(p[0], buf, sizeof buf);
  ASSERT_GT(n, 0);
  const std::string got(buf, static_cast<size_t>(n));
  // The timestamp has a fixed width: two whole lines, written by the one flush.
  EXPECT_EQ(got.size(), 2 * render_access_line(false, 0, record()).size()) << got;
  EXPECT_EQ(std::count(got.begin(), got.end(), '\n'), 2);
  ::close(p[0]);
  ::close(p[1]);
}

}  // namespace
}  // namespace ringlb::worker
