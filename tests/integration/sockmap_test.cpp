// The sockmap path's own guarantees (issue 4). The shared datapath tests (integrity,
// half-close, reset, TLS, idle timeout...) run on it too: meson's integration-sockmap suite.
//  - promotion in the middle of a stream loses, duplicates and reorders nothing;
//  - without CAP_BPF and CAP_NET_ADMIN, "auto" falls back to splice and serves, and
//    "sockmap" refuses to start with a clear message;
//  - a slow reader cannot make the kernel hold more than the lag bound: 20 clients reading
//    10 KiB/s from backends pushing as fast as they can, for 60 s, cost the host less than
//    256 MiB, and every byte arrives.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "harness.h"
#include "servers.h"
#include "sockets.h"
#include "stream.h"

namespace ringlb::it {
namespace {

// A shell wrapper that runs ringlb with debug logging (the promotion lines are debug).
std::vector<std::string> with_debug_log() { return {"env", "RINGLB_LOG_LEVEL=debug"}; }

TEST(Sockmap, PromotionInTheMiddleOfStreamsIsByteExact) {
  constexpr int kConnections = 8;
  constexpr uint64_t kBytes = 8ull << 20;  // each way, per connection
  TempDir dir;
  TcpServer backend(echo_handler());
  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {backend.address()});
  spec.listeners[0].datapath = "sockmap";
  spec.listeners[0].sockmap_promote_after = "256KiB";  // well inside the 16 MiB each moves
  const std::string cfg = dir.file("ringlb.toml");
  write_file(cfg, to_toml(spec));
  RinglbProcess lb(dir, cfg, with_debug_log());
  std::string err;
  ASSERT_TRUE(lb.start_and_wait_ready(&err)) << err;
  ASSERT_EQ(lb.count_events("datapath", {{"selected", "sockmap"}}), 1) << lb.log_tail();

  std::vector<Fd> fds;
  std::vector<DuplexLeg> legs;
  for (int i = 0; i < kConnections; ++i) {
    int cerr = 0;
    Fd fd = connect_to(lp.port, &cerr);  // the echo backend needs no prologue
    ASSERT_TRUE(fd.valid()) << "errno " << -cerr;
    DuplexLeg leg;
    leg.fd = fd.get();
    leg.send_seed = leg.recv_seed = 100 + static_cast<uint64_t>(i);
    leg.send_len = leg.recv_len = kBytes;
    legs.push_back(leg);
    fds.push_back(std::move(fd));
  }
  const auto results = run_duplex(legs, deadline_in(seconds(60)));
  const DuplexFailures bad = failures(legs, results);
  EXPECT_EQ(bad.count, 0) << bad.first;
  // Whatever was promoted, was promoted in the middle of its streams, after its first 256 KiB
  // went through user space. How many is timing: a connection is promoted only at a moment
  // when both directions are quiet with their sources proven drained, and two streams that
  // never pause together stay in user space to the end, which is correct too (usually all 8
  // are promoted; the lockstep test below requires promotion).
  int n = 0;
  for (const LogEvent& e : lb.events()) {
    if (e.event != "sockmap_promoted") continue;
    ++n;
    EXPECT_GE(std::stoull(e.kv.at("moved")), 256u * 1024) << "promoted before sockmap_promote_after";
    EXPECT_LT(std::stoull(e.kv.at("moved")), 2 * kBytes) << "promoted after the streams ended: not mid-stream";
  }
  std::fprintf(stderr, "[promotion] %d of %d connections promoted mid-stream\n", n, kConnections);
}

// Request/response in lockstep: each connection sends a chunk, reads its echo, and goes on.
// Every exchange ends with both directions quiet, so once the first 256 KiB went through user
// space each connection must be promoted at its next pause, and the rest must arrive intact.
TEST(Sockmap, LockstepConnectionsArePromotedAtTheirFirstPauseAndStayExact) {
  constexpr int kConnections = 4;
  constexpr int kRounds = 24;
  constexpr size_t kChunk = 192 * 1024;
  TempDir dir;
  TcpServer backend(echo_handler());
  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {backend.address()});
  spec.listeners[0].datapath = "sockmap";
  spec.listeners[0].sockmap_promote_after = "256KiB";
  const std::string cfg = dir.file("ringlb.toml");
  write_file(cfg, to_toml(spec));
  RinglbProcess lb(dir, cfg, with_debug_log());
  std::string err;
  ASSERT_TRUE(lb.start_and_wait_ready(&err)) << err;

  std::vector<std::string> errors(kConnections);
  std::vector<std::thread> threads;
  for (int i = 0; i < kConnections; ++i) {
    threads.emplace_back([&, i] {
      int cerr = 0;
      Fd fd = connect_to(lp.port, &cerr);
      if (!fd.valid()) {
        errors[i] = fmt::format("connect: errno {}", -cerr);
        return;
      }
      const uint64_t seed = 500 + static_cast<uint64_t>(i);
      std::vector<uint8_t> out(kChunk), in(kChunk);
      const Deadline d = deadline_in(seconds(60));
      for (int r = 0; r < kRounds; ++r) {
        const uint64_t offset = static_cast<uint64_t>(r) * kChunk;
        pattern_fill(seed, offset, out.data(), kChunk);
        size_t got = 0;
        if (send_all(fd.get(), out.data(), kChunk, d) != Outcome::kOk ||
            recv_exact(fd.get(), in.data(), kChunk, d, &got) != Outcome::kOk) {
          errors[i] = fmt::format("round {}: stream cut ({} of {} echoed)", r, got, kChunk);
          return;
        }
        if (!pattern_matches(seed, offset, in.data(), kChunk)) {
          errors[i] = fmt::format("round {}: echoed bytes differ", r);
          return;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kConnections; ++i) EXPECT_EQ(errors[i], "") << "connection " << i;
  int n = 0;
  for (const LogEvent& e : lb.events()) {
    if (e.event != "sockmap_promoted") continue;
    ++n;
    EXPECT_GE(std::stoull(e.kv.at("moved")), 256u * 1024) << "promoted before sockmap_promote_after";
  }
  EXPECT_EQ(n, kConnections) << lb.log_tail();
}

// capsh drops the two capabilities from the bounding set; the exec'd shell and ringlb then lack
// them even as root.
std::vector<std::string> without_bpf_caps() {
  return {"capsh", "--drop=cap_bpf,cap_net_admin,cap_sys_admin", "--", "-c", "exec \"$0\" \"$@\""};
}

TEST(Sockmap, AutoFallsBackToSpliceWithoutBpfCapabilitiesAndServes) {
  TempDir dir;
  TcpServer backend(echo_handler());
  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {backend.address()});
  spec.listeners[0].datapath = "auto";
  const std::string cfg = dir.file("ringlb.toml");
  write_file(cfg, to_toml(spec));
  RinglbProcess lb(dir, cfg, without_bpf_caps());
  std::string err;
  ASSERT_TRUE(lb.start_and_wait_ready(&err)) << err;
  EXPECT_EQ(lb.count_events("datapath", {{"selected", "splice"}}), 1) << lb.log_tail();
  EXPECT_NE(lb.log().find("CAP_BPF"), std::string::npos) << "the fallback line should say why: " << lb.log_tail();

  int cerr = 0;
  Fd fd = connect_to(lp.port, &cerr);
  ASSERT_TRUE(fd.valid()) << "errno " << -cerr;
  DuplexLeg leg;
  leg.fd = fd.get();
  leg.send_seed = leg.recv_seed = 7;
  leg.send_len = leg.recv_len = 4ull << 20;
  const auto results = run_duplex({leg}, deadline_in(seconds(30)));
  EXPECT_TRUE(results[0].ok(leg)) << results[0].describe(leg);
}

TEST(Sockmap, ExplicitSockmapWithoutBpfCapabilitiesRefusesToStart) {
  TempDir dir;
  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {"127.0.0.1:9"});
  spec.listeners[0].datapath = "sockmap";
  const std::string cfg = dir.file("ringlb.toml");
  write_file(cfg, to_toml(spec));
  RinglbProcess lb(dir, cfg, without_bpf_caps());
  std::string err;
  ASSERT_TRUE(lb.start(&err)) << err;
  const auto status = lb.wait_exit(seconds(10));
  ASSERT_TRUE(status.has_value()) << "still running: " << lb.log_tail();
  EXPECT_EQ(exit_code(status), 1) << describe_status(status) << lb.log_tail();
  EXPECT_EQ(lb.count_events("startup_failed"), 1) << lb.log_tail();
  EXPECT_NE(lb.log().find("datapath \\\"sockmap\\\" is not available"), std::string::npos) << lb.log_tail();
}

// --- the slow-reader bound ---------------------------------------------------------------

uint64_t mem_available_kib() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  uint64_t value = 0;
  std::string unit;
  while (f >> key >> value >> unit) {
    if (key == "MemAvailable:") return value;
  }
  return 0;
}

// How long the slow phase lasts: 60 s as the issue asks; RINGLB_IT_SLOW_READER_SECONDS
// shortens it (the sanitizer build's meson test sets 20).
int slow_phase_seconds() {
  const char* v = std::getenv("RINGLB_IT_SLOW_READER_SECONDS");
  return v != nullptr && std::atoi(v) > 0 ? std::atoi(v) : 60;
}

// Pushes the pattern as fast as the socket takes it until `stop_at`, then FIN. Records how
// many bytes went out so the client can check it got exactly those.
struct Pusher {
  std::mutex mu;
  std::vector<uint64_t> sent;  // by seed - kSeedBase
  int finished = 0;
};
constexpr uint64_t kSeedBase = 1000;

TEST(SockmapSlowReader, TwentyClientsAt10KiBpsCannotPinKernelMemory) {
  constexpr int kClients = 20;
  constexpr size_t kReadPer100ms = 1024;  // 10 KiB/s
  const int slow_seconds = slow_phase_seconds();
  TempDir dir;
  auto pushed = std::make_shared<Pusher>();
  pushed->sent.assign(kClients, 0);
  const Deadline stop_at = deadline_in(seconds(slow_seconds));
  TcpServer backend([pushed, stop_at](int fd, const std::atomic<bool>& stopping) {
    if (!await_prologue(fd)) return;
    uint8_t id = 0;
    if (::recv(fd, &id, 1, MSG_WAITALL) != 1 || id >= kClients) return;
    set_nonblocking(fd);
    std::vector<uint8_t> chunk(256 * 1024);
    uint64_t offset = 0;
    while (!stopping && Clock::now() < stop_at) {
      pattern_fill(kSeedBase + id, offset, chunk.data(), chunk.size());
      const ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
      if (n > 0) {
        offset += static_cast<uint64_t>(n);
        continue;
      }
      if (n < 0 && errno != EAGAIN) break;
      pollfd p{fd, POLLOUT, 0};
      ::poll(&p, 1, 100);
    }
    ::shutdown(fd, SHUT_WR);
    std::lock_guard lock(pushed->mu);
    pushed->sent[id] = offset;
    ++pushed->finished;
  });
  ReservedPort lp = reserve_port();
  ConfigSpec spec = simple_config(lp.port, {backend.address()});
  spec.listeners[0].datapath = "sockmap";
  spec.listeners[0].sockmap_promote_after = "0B";
  spec.pools[0].idle_timeout = "5m";
  std::string err;
  auto lb = start_ringlb(dir, spec, &err);
  ASSERT_TRUE(lb) << err;

  const uint64_t mem_before = mem_available_kib();
  std::vector<Fd> clients;
  for (int i = 0; i < kClients; ++i) {
    int cerr = 0;
    Fd fd = connect_with_prologue(lp.port, &cerr);
    ASSERT_TRUE(fd.valid()) << "errno " << -cerr;
    const uint8_t id = static_cast<uint8_t>(i);
    ASSERT_EQ(send_all(fd.get(), &id, 1, deadline_in(seconds(5))), Outcome::kOk);
    set_nonblocking(fd.get());
    clients.push_back(std::move(fd));
  }

  // Slow phase: 1 KiB per client every 100 ms, checked against the pattern.
  std::vector<uint64_t> received(kClients, 0);
  std::vector<bool> eof(kClients, false);
  bool mismatch = false;
  uint64_t mem_min = mem_before;
  std::vector<uint8_t> buf(256 * 1024);
  auto read_some = [&](int i, size_t cap) {
    const ssize_t n = ::recv(clients[i].get(), buf.data(), std::min(cap, buf.size()), 0);
    if (n == 0) eof[i] = true;
    if (n <= 0) return n;
    if (!pattern_matches(kSeedBase + static_cast<uint64_t>(i), received[i], buf.data(), static_cast<size_t>(n))) {
      mismatch = true;
    }
    received[i] += static_cast<uint64_t>(n);
    return n;
  };
  int ticks = 0;
  while (Clock::now() < stop_at) {
    for (int i = 0; i < kClients; ++i) read_some(i, kReadPer100ms);
    if (++ticks % 10 == 0) mem_min = std::min(mem_min, mem_available_kib());
    std::this_thread::sleep_for(milliseconds(100));
  }
  mem_min = std::min(mem_min, mem_available_kib());
  const uint64_t slow_received = [&] {
    uint64_t s = 0;
    for (uint64_t r : received) s += r;
    return s;
  }();

  // Drain phase: everything that was pushed must arrive, in order, then EOF.
  const Deadline drain_by = deadline_in(seconds(120));
  while (Clock::now() < drain_by) {
    bool all = true;
    for (int i = 0; i < kClients; ++i) {
      if (eof[i]) continue;
      all = false;
      while (read_some(i, buf.size()) > 0) {
      }
    }
    if (all) break;
    std::this_thread::sleep_for(milliseconds(5));
  }
  std::lock_guard lock(pushed->mu);
  ASSERT_EQ(pushed->finished, kClients);
  uint64_t total = 0;
  for (int i = 0; i < kClients; ++i) {
    EXPECT_TRUE(eof[i]) << "client " << i << " got no EOF after " << received[i] << " bytes";
    EXPECT_EQ(received[i], pushed->sent[i]) << "client " << i;
    total += pushed->sent[i];
  }
  EXPECT_FALSE(mismatch) << "a byte differed from the backend's stream";
  // What the slow readers pinned: bytes the backends got rid of but the clients had not read
  // when the slow phase ended, all of it in kernel buffers along the way (the backends' send
  // queues, ringlb's sockets and psock queues, the clients' receive queues). Measured: ~10-13
  // MiB a connection, flat from 20 s to 60 s; without the bound the backends push at loopback
  // speed (GiB a minute). MemAvailable is the yardstick, noisier but including
  // everything the kernel spends on those bytes.
  const uint64_t pinned_mib = (total - slow_received) >> 20;
  const uint64_t drop_mib = (mem_before > mem_min ? mem_before - mem_min : 0) / 1024;
  std::fprintf(stderr,
               "[slow-reader] %d clients, %d s: backends pushed %.1f MiB, clients read %.1f MiB in the slow phase, "
               "%llu MiB held in flight; MemAvailable dropped at most %llu MiB\n",
               kClients, slow_seconds, static_cast<double>(total) / (1 << 20),
               static_cast<double>(slow_received) / (1 << 20), static_cast<unsigned long long>(pinned_mib),
               static_cast<unsigned long long>(drop_mib));
  EXPECT_LT(pinned_mib, 20u * 24) << "slow readers let the backends push into kernel memory: the lag bound did not hold";
  EXPECT_LT(drop_mib, 256u) << "MemAvailable fell by more than 256 MiB while the slow readers ran";
}

}  // namespace
}  // namespace ringlb::it
