// Half-close through ringlb (DESIGN.md "Behaviour that tests rely on"): a FIN from one side
// reaches the other as a FIN after the last byte, while the other direction keeps flowing,
// and a clean FIN never turns into a reset. 32 MiB flow after the FIN in each case.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include "harness.h"
#include "servers.h"
#include "sockets.h"
#include "stream.h"

namespace ringlb::it {
namespace {

constexpr uint64_t kAfterFin = 32ull << 20;
constexpr uint64_t kSeedBeforeFin = 11;
constexpr uint64_t kSeedAfterFin = 12;

std::unique_ptr<RinglbProcess> front(const TempDir& dir, const TcpServer& backend, uint16_t port, std::string* err) {
  ConfigSpec spec = simple_config(port, {backend.address()});
  spec.pools[0].health_interval = "1s";
  return start_ringlb(dir, spec, err);
}

class HalfCloseClientFirst : public ::testing::TestWithParam<uint64_t> {};

// Client sends N bytes (after the prologue byte) and its FIN; the backend must read exactly N bytes, then EOF, and only
// then sends 32 MiB, which the client must receive whole, then EOF (not a reset).
TEST_P(HalfCloseClientFirst, BackendSeesFinThenStillSends32MiB) {
  const uint64_t n = GetParam();
  TempDir dir;
  HandlerReport report;
  TcpServer backend([&](int fd, const std::atomic<bool>&) {
    if (!await_prologue(fd)) return;
    DuplexLeg in;  // read to EOF, send nothing yet
    in.fd = fd;
    in.shutdown_after_send = false;
    in.recv_seed = kSeedBeforeFin;
    in.recv_len = n;
    auto r = run_duplex({in}, deadline_in(seconds(30)));
    if (!r[0].ok(in)) return report.set(false, "before FIN: " + r[0].describe(in));
    DuplexLeg out;  // then send 32 MiB and FIN; the read side is at EOF already
    out.fd = fd;
    out.send_seed = kSeedAfterFin;
    out.send_len = kAfterFin;
    r = run_duplex({out}, deadline_in(seconds(60)));
    if (!r[0].ok(out)) return report.set(false, "after FIN: " + r[0].describe(out));
    report.set(true, "ok");
  });
  ReservedPort lp = reserve_port();
  std::string err;
  auto lb = front(dir, backend, lp.port, &err);
  ASSERT_TRUE(lb) << err;

  int cerr = 0;
  Fd c = connect_with_prologue(lp.port, &cerr);
  ASSERT_TRUE(c.valid()) << "errno " << -cerr;
  DuplexLeg leg;
  leg.fd = c.get();
  leg.send_seed = kSeedBeforeFin;
  leg.send_len = n;
  leg.shutdown_after_send = true;
  leg.recv_seed = kSeedAfterFin;
  leg.recv_len = kAfterFin;
  const auto r = run_duplex({leg}, deadline_in(seconds(60)));
  EXPECT_TRUE(r[0].ok(leg)) << "client: " << r[0].describe(leg);
  ASSERT_TRUE(report.wait(seconds(10))) << "backend never finished (FIN not forwarded?)";
  EXPECT_TRUE(report.ok()) << "backend: " << report.what();
}

INSTANTIATE_TEST_SUITE_P(Sizes, HalfCloseClientFirst, ::testing::Values(0, 3 * 1024 * 1024 + 17),
                         [](const ::testing::TestParamInfo<uint64_t>& i) { return fmt::format("bytes{}", i.param); });

// The reverse: on the client's prologue byte, the backend sends M bytes and its FIN; the client reads to EOF, then sends
// 32 MiB, which the backend must receive whole, then EOF.
TEST(HalfCloseBackendFirst, ClientSeesFinThenStillSends32MiB) {
  constexpr uint64_t kM = 2 * 1024 * 1024 + 5;
  TempDir dir;
  HandlerReport report;
  TcpServer backend([&](int fd, const std::atomic<bool>&) {
    if (!await_prologue(fd)) return;
    DuplexLeg out;
    out.fd = fd;
    out.send_seed = kSeedBeforeFin;
    out.send_len = kM;
    out.shutdown_after_send = true;
    out.recv_seed = kSeedAfterFin;
    out.recv_len = kAfterFin;
    const auto r = run_duplex({out}, deadline_in(seconds(60)));
    report.set(r[0].ok(out), r[0].describe(out));
  });
  ReservedPort lp = reserve_port();
  std::string err;
  auto lb = front(dir, backend, lp.port, &err);
  ASSERT_TRUE(lb) << err;

  int cerr = 0;
  Fd c = connect_with_prologue(lp.port, &cerr);
  ASSERT_TRUE(c.valid()) << "errno " << -cerr;
  DuplexLeg in;  // read the backend's bytes to its FIN first, send nothing
  in.fd = c.get();
  in.shutdown_after_send = false;
  in.recv_seed = kSeedBeforeFin;
  in.recv_len = kM;
  auto r = run_duplex({in}, deadline_in(seconds(30)));
  ASSERT_TRUE(r[0].ok(in)) << "client before FIN: " << r[0].describe(in);
  DuplexLeg out;  // then 32 MiB and our FIN
  out.fd = c.get();
  out.send_seed = kSeedAfterFin;
  out.send_len = kAfterFin;
  r = run_duplex({out}, deadline_in(seconds(60)));
  EXPECT_TRUE(r[0].ok(out)) << "client after FIN: " << r[0].describe(out);
  ASSERT_TRUE(report.wait(seconds(10))) << "backend never finished (FIN not forwarded?)";
  EXPECT_TRUE(report.ok()) << "backend: " << report.what();
  // Both directions ended with FINs: the connection must end cleanly, never with a reset.
  size_t extra = 0;
  EXPECT_EQ(wait_closed(c.get(), deadline_in(seconds(3)), &extra), Outcome::kEof);
  EXPECT_EQ(extra, 0u);
}

}  // namespace
}  // namespace ringlb::it
