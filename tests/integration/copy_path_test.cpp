// The copy path's buffer limit (global.copy_buffers per worker): a direction holds a buffer from
// its RECV's completion until its SEND's. With 4 buffers and 64 busy streams most reads find
// none and fall back to the splice path; directions switch between the two paths all the time.
// Every byte must arrive, in order, both ways. Also the copy path disabled (0) and the default.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <thread>

#include "harness.h"
#include "servers.h"
#include "sockets.h"
#include "stream.h"

namespace ringlb::it {
namespace {

constexpr int kConnections = 64;

class CopyPathTest : public ::testing::TestWithParam<int> {};

TEST_P(CopyPathTest, StreamsAreByteExactWhateverTheBufferSupply) {
  TempDir dir;
  auto stats = std::make_shared<IntegrityStats>();
  TcpServer backend(integrity_handler(stats));
  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {backend.address()});
  spec.workers = 1;  // one worker: one buffer ring for every connection
  spec.copy_buffers = GetParam();
  std::string err;
  auto lb = start_ringlb(dir, spec, &err);
  ASSERT_TRUE(lb) << err;

  std::vector<Fd> fds;
  std::vector<DuplexLeg> legs;
  for (int i = 0; i < kConnections; ++i) {
    int cerr = 0;
    Fd fd = connect_to(lp.port, &cerr);
    ASSERT_TRUE(fd.valid()) << "connect " << i << ": errno " << -cerr;
    StreamHeader h;
    h.mode = i % 2 == 0 ? StreamHeader::kEcho : StreamHeader::kStream;
    h.c2b_seed = 5000 + static_cast<uint64_t>(i) * 2;
    // 1 byte to ~2 MiB: single small messages (copy path only), and bulk (copy, then splice).
    h.c2b_len = i % 4 == 0 ? 1 + static_cast<uint64_t>(i) : (64ull << 10) * static_cast<uint64_t>(1 + i % 32);
    h.b2c_seed = h.c2b_seed + 1;
    h.b2c_len = h.mode == StreamHeader::kEcho ? h.c2b_len : 7 + (32ull << 10) * static_cast<uint64_t>(i % 64);
    const DuplexLeg leg = leg_for(fd.get(), h);
    legs.push_back(leg);
    fds.push_back(std::move(fd));
  }
  const auto results = run_duplex(legs, deadline_in(seconds(120)));
  const DuplexFailures bad = failures(legs, results);
  EXPECT_EQ(bad.count, 0) << bad.count << " of " << kConnections << " client-side transfers failed:" << bad.first;
  const Deadline d = deadline_in(seconds(10));
  while (stats->ok + stats->failed < kConnections && Clock::now() < d) std::this_thread::sleep_for(milliseconds(20));
  EXPECT_EQ(stats->ok.load(), kConnections) << stats->failed.load() << " backend-side checks failed";
  EXPECT_TRUE(lb->running()) << "ringlb exited";
}

// 4: reads mostly find no buffer (the fallback); 0: copy path off; -1: the default (256).
INSTANTIATE_TEST_SUITE_P(CopyBuffers, CopyPathTest, ::testing::Values(4, 0, -1),
                         [](const ::testing::TestParamInfo<int>& p) {
                           return p.param < 0 ? std::string("default") : fmt::format("n{}", p.param);
                         });

}  // namespace
}  // namespace ringlb::it
