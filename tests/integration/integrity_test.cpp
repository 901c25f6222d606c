// Byte-exact forwarding under concurrency: 200 connections at once, 64 KiB to 4 MiB each way,
// both directions moving at the same time; half the backends echo, half send their own stream.
// Both ends check every byte against the seeded pattern (stream.h). Run for 1 and 2 workers.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <thread>

#include "harness.h"
#include "servers.h"
#include "sockets.h"
#include "stream.h"

namespace ringlb::it {
namespace {

constexpr int kConnections = 200;
constexpr uint64_t kMinSize = 64 * 1024;
constexpr uint64_t kMaxSize = 4 * 1024 * 1024;

// Log-uniform in [kMinSize, kMaxSize], deterministic in `key`: as many small transfers as large.
uint64_t size_for(uint64_t key) {
  std::string one = pattern_string(key, 0, 8);
  uint64_t r = 0;
  std::memcpy(&r, one.data(), 8);
  const double u = static_cast<double>(r >> 11) / static_cast<double>(1ULL << 53);
  const double lo = std::log(static_cast<double>(kMinSize));
  const double hi = std::log(static_cast<double>(kMaxSize));
  return static_cast<uint64_t>(std::exp(lo + u * (hi - lo)));
}

class IntegrityTest : public ::testing::TestWithParam<int> {};

TEST_P(IntegrityTest, ConcurrentBidirectionalTransfersAreByteExact) {
  const int workers = GetParam();
  TempDir dir;
  auto stats1 = std::make_shared<IntegrityStats>();
  auto stats2 = std::make_shared<IntegrityStats>();
  TcpServer b1(integrity_handler(stats1));
  TcpServer b2(integrity_handler(stats2));
  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {b1.address(), b2.address()});
  spec.workers = workers;
  spec.pools[0].hash = "client_ip_port";  // spread over both backends and both workers
  spec.pools[0].health_interval = "1s";
  const std::string cfg = dir.file("ringlb.toml");
  write_file(cfg, to_toml(spec));
  RinglbProcess lb(dir, cfg);
  std::string err;
  ASSERT_TRUE(lb.start_and_wait_ready(&err)) << err;

  std::vector<Fd> fds;
  std::vector<DuplexLeg> legs;
  uint64_t total = 0;
  for (int i = 0; i < kConnections; ++i) {
    int cerr = 0;
    Fd fd = connect_to(lp.port, &cerr);
    ASSERT_TRUE(fd.valid()) << "connect " << i << ": errno " << -cerr;
    const uint64_t key = static_cast<uint64_t>(workers) * 100000 + static_cast<uint64_t>(i) * 4;
    StreamHeader h;
    h.mode = i % 2 == 0 ? StreamHeader::kEcho : StreamHeader::kStream;
    h.c2b_seed = key + 1;
    h.c2b_len = size_for(key + 2);
    h.b2c_seed = key + 3;
    h.b2c_len = h.mode == StreamHeader::kEcho ? h.c2b_len : size_for(key + 4);
    const DuplexLeg leg = leg_for(fd.get(), h);
    total += h.c2b_len + h.b2c_len;
    legs.push_back(leg);
    fds.push_back(std::move(fd));
  }

  const auto started = Clock::now();
  const auto results = run_duplex(legs, deadline_in(seconds(150)));
  const DuplexFailures bad = failures(legs, results);
  EXPECT_EQ(bad.count, 0) << bad.count << " of " << kConnections << " client-side transfers failed:" << bad.first;

  // The backends finish their checks when the client's FIN arrives: wait for all reports.
  auto done = [&] { return stats1->ok + stats1->failed + stats2->ok + stats2->failed; };
  const Deadline d = deadline_in(seconds(10));
  while (done() < kConnections && Clock::now() < d) std::this_thread::sleep_for(milliseconds(20));
  std::string backend_failures;
  for (auto* s : {stats1.get(), stats2.get()}) {
    std::lock_guard lock(s->mu);
    for (const auto& f : s->failures) backend_failures += "\n  " + f;
  }
  EXPECT_EQ(stats1->ok + stats2->ok, kConnections)
      << "backend-side checks: " << stats1->failed + stats2->failed << " failed" << backend_failures;
  EXPECT_GT(stats1->ok.load(), 0) << "backend 1 served nothing";
  EXPECT_GT(stats2->ok.load(), 0) << "backend 2 served nothing";
  std::fprintf(stderr, "[integrity] workers=%d: %d connections, %.1f MiB in %.2f s\n", workers, kConnections,
               static_cast<double>(total) / (1 << 20), seconds_since(started));
}

// One stream past 4 GiB: a 32-bit byte counter anywhere on the path (pipe fill, direction
// totals) would wrap here (pitfalls §2.9). Checked byte for byte at the backend.
TEST(Integrity, SingleStreamPast4GiB) {
  constexpr uint64_t kBig = (4ull << 30) + (256ull << 20) + 3;
  TempDir dir;
  auto stats = std::make_shared<IntegrityStats>();
  TcpServer backend(integrity_handler(stats));
  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {backend.address()});
  spec.pools[0].health_interval = "1s";
  std::string err;
  auto lb = start_ringlb(dir, spec, &err);
  ASSERT_TRUE(lb) << err;
  int cerr = 0;
  Fd c = connect_to(lp.port, &cerr);
  ASSERT_TRUE(c.valid()) << "errno " << -cerr;
  StreamHeader h;
  h.mode = StreamHeader::kStream;
  h.c2b_seed = 77;
  h.c2b_len = kBig;
  h.b2c_seed = 78;
  h.b2c_len = 64ull << 20;
  const DuplexLeg leg = leg_for(c.get(), h);
  const auto t0 = Clock::now();
  const auto r = run_duplex({leg}, deadline_in(seconds(120)));
  EXPECT_TRUE(r[0].ok(leg)) << r[0].describe(leg);
  const Deadline d = deadline_in(seconds(10));
  while (stats->ok + stats->failed < 1 && Clock::now() < d) std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(stats->ok.load(), 1) << (stats->failures.empty() ? "backend did not finish" : stats->failures[0]);
  std::fprintf(stderr, "[integrity] 4.25 GiB stream in %.2f s\n", seconds_since(t0));
}

INSTANTIATE_TEST_SUITE_P(Workers, IntegrityTest, ::testing::Values(1, 2),
                         [](const ::testing::TestParamInfo<int>& p) { return fmt::format("workers{}", p.param); });

}  // namespace
}  // namespace ringlb::it
