// hold_conns: opens N keep-alive HTTP connections through a proxy, proves each end to end with
// one full response, then holds them idle so the proxy's per-connection cost can be measured.
// Prints one JSON line when establishment ends and a second when the hold ends. One thread,
// one epoll loop.
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <signal.h>
#include <unistd.h>

#include "common.h"

namespace {

constexpr const char* kTool = "hold_conns";
constexpr const char* kUsage =
    "usage: hold_conns --target HOST:PORT --count N [--concurrency C=256] [--hold SECONDS=30]\n"
    "                  [--path /] [--source-ips FIRST-LAST]\n"
    "  Opens N connections (at most C establishing at once), sends one keep-alive GET on each\n"
    "  and reads the full 2xx Content-Length response, then holds them idle until --hold elapses,\n"
    "  SIGTERM/SIGINT, or EOF on stdin (watched when stdin is a pipe, socket or tty).\n"
    "  --source-ips binds each socket to the next IPv4 address of the range, round-robin.\n"
    "  stdout: {\"requested\",\"established\",\"failed\",\"seconds\",\"p50_ms\",\"p99_ms\",\n"
    "           \"max_ms\"} then {\"held_seconds\",\"closed_by_peer\"}.\n"
    "  Exit 0 iff nothing failed and no held connection was closed by the peer.\n";
constexpr int64_t kStallNs = 10'000'000'000;  // a connection without progress this long fails
constexpr int64_t kScanNs = 250'000'000;      // how often stalls are looked for
constexpr uint64_t kSignalTag = ~uint64_t{0};
constexpr uint64_t kStdinTag = ~uint64_t{0} - 1;
constexpr int kFdReserve = 16;  // epoll, signalfd, stdio and slack beyond the N sockets

enum class Phase { kConnecting, kSending, kReading, kIdle, kDone };

struct Conn {
  ringlb::Fd fd;
  Phase phase = Phase::kDone;
  int64_t start_ns = 0;
  int64_t progress_ns = 0;  // last connect completion, byte sent or byte received
  size_t sent = 0;
  bench::ResponseReader reader;
};

struct Options {
  bench::Endpoint target;
  uint64_t count = 0;
  uint64_t concurrency = 256;
  double hold_s = 30;
  std::string request;
  std::vector<bench::Endpoint> sources;
};

int usage(const std::string& why) { return bench::usage(kTool, kUsage, why); }

// Parses argv into `opt`; returns -1 when usable, else the exit status.
int parse_options(int argc, char** argv, Options& opt) {
  auto args = bench::parse_args(argc, argv,
                                {"target", "count", "concurrency", "hold", "path", "source-ips"});
  if (args.help) return std::fputs(kUsage, stdout), 0;
  if (!args.error.empty()) return usage(args.error);
  auto& v = args.values;
  if (!v.contains("target") || !v.contains("count")) {
    return usage("--target and --count are required");
  }
  auto target = bench::parse_endpoint(v["target"]);
  if (!target) return usage("bad --target (want A.B.C.D:PORT or [V6]:PORT)");
  opt.target = *target;
  auto count = bench::parse_uint(v["count"], 1, 10'000'000);
  if (!count) return usage("bad --count (want an integer >= 1)");
  opt.count = *count;
  if (v.contains("concurrency")) {
    auto c = bench::parse_uint(v["concurrency"], 1, 10'000'000);
    if (!c) return usage("bad --concurrency (want an integer >= 1)");
    opt.concurrency = *c;
  }
  if (v.contains("hold")) {
    auto h = bench::parse_number(v["hold"], 0, 1e7);
    if (!h) return usage("bad --hold (want seconds >= 0)");
    opt.hold_s = *h;
  }
  std::string_view path = v.contains("path") ? v["path"] : "/";
  if (!bench::valid_path(path)) return usage("bad --path (want /..., visible ASCII)");
  opt.request = "GET " + std::string(path) + " HTTP/1.1\r\nHost: bench\r\n\r\n";
  if (v.contains("source-ips")) {
    auto sources = bench::parse_ipv4_range(v["source-ips"]);
    if (!sources) return usage("bad --source-ips (want IPv4 FIRST-LAST, at most 65536)");
    if (opt.target.family() != AF_INET) return usage("--source-ips needs an IPv4 --target");
    opt.sources = std::move(*sources);
  }
  return -1;
}

class Holder {
 public:
  Holder(const Options& opt, int epoll_fd) : opt_(opt), ep_(epoll_fd), conns_(opt.count) {}

  // Opens every connection and returns when each is established or failed, or at a signal
  // (then the unfinished ones count as failed). Returns false when interrupted by a signal.
  bool establish(int signal_fd) {
    int64_t next_scan = bench::now_ns() + kScanNs;
    while (launched_ < opt_.count || active_ > 0) {
      while (launched_ < opt_.count && active_ < opt_.concurrency) launch(launched_++);
      if (active_ == 0) continue;
      int n = ::epoll_wait(ep_, events_, kMaxEvents, 100);
      if (n < 0 && errno != EINTR) return fatal("epoll_wait"), false;
      for (int i = 0; i < n; ++i) {
        if (events_[i].data.u64 == kSignalTag) {
          drain_signal(signal_fd);
          abort_rest();
          return false;
        }
        on_event(events_[i].data.u64, events_[i].events);
      }
      int64_t now = bench::now_ns();
      if (now >= next_scan) {
        for (uint64_t i = 0; i < launched_; ++i) {
          Phase p = conns_[i].phase;
          bool pending = p == Phase::kConnecting || p == Phase::kSending || p == Phase::kReading;
          if (pending && now - conns_[i].progress_ns >= kStallNs) {
            fail(i, "timeout (10 s without progress)");
          }
        }
        next_scan = now + kScanNs;
      }
    }
    return true;
  }

  // Holds the established connections until `deadline_ns`, a signal or EOF on stdin.
  void hold(int64_t deadline_ns, int signal_fd) {
    for (;;) {
      int64_t left = deadline_ns - bench::now_ns();
      if (left <= 0) return;
      int timeout_ms = static_cast<int>(std::min<int64_t>((left + 999'999) / 1'000'000, 3'600'000));
      int n = ::epoll_wait(ep_, events_, kMaxEvents, timeout_ms);
      if (n < 0 && errno != EINTR) return fatal("epoll_wait");
      for (int i = 0; i < n; ++i) {
        uint64_t tag = events_[i].data.u64;
        if (tag == kSignalTag) return drain_signal(signal_fd);
        if (tag == kStdinTag) {
          ssize_t got = ::read(STDIN_FILENO, buf_, sizeof buf_);
          if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) return;
          continue;
        }
        on_event(tag, events_[i].events);
      }
    }
  }

  void print_establish(double seconds) {
    std::sort(latencies_.begin(), latencies_.end());
    std::printf("{\"requested\":%llu,\"established\":%llu,\"failed\":%llu,\"seconds\":%.3f,"
                "\"p50_ms\":%s,\"p99_ms\":%s,\"max_ms\":%s}\n",
                static_cast<unsigned long long>(opt_.count),
                static_cast<unsigned long long>(established_),
                static_cast<unsigned long long>(failed_), seconds,
                bench::json_stat(latencies_, 500, 1e6, 3).c_str(),
                bench::json_stat(latencies_, 990, 1e6, 3).c_str(),
                bench::json_stat(latencies_, 1000, 1e6, 3).c_str());
    std::fflush(stdout);
    bench::print_reasons(kTool, "failed", failed_, reasons_);
  }

  uint64_t established() const { return established_; }
  uint64_t failed() const { return failed_; }
  uint64_t closed_by_peer() const { return closed_by_peer_; }
  bool broken() const { return broken_; }

 private:
  static constexpr int kMaxEvents = 1024;

  void launch(uint64_t i) {
    Conn& c = conns_[i];
    c.start_ns = c.progress_ns = bench::now_ns();
    const bench::Endpoint* source =
        opt_.sources.empty() ? nullptr : &opt_.sources[i % opt_.sources.size()];
    bench::Dial d = bench::dial(opt_.target, source);
    if (!d.fd) {
      ++failed_;
      ++reasons_[bench::errno_reason(d.stage, d.err)];
      return;
    }
    c.fd = std::move(d.fd);
    c.phase = Phase::kConnecting;
    ++active_;
    // Writability reports both an immediate and an asynchronous connect() completion.
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u64 = i;
    if (::epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd.get(), &ev) != 0) {
      fail(i, bench::errno_reason("epoll_ctl", errno));
    }
  }

  void on_event(uint64_t i, uint32_t events) {
    Conn& c = conns_[i];
    switch (c.phase) {
      case Phase::kConnecting:
        if (int err = bench::socket_error(c.fd.get()); err != 0) {
          return fail(i, bench::errno_reason("connect", err));
        }
        c.phase = Phase::kSending;
        c.progress_ns = bench::now_ns();
        [[fallthrough]];
      case Phase::kSending:
        return send_request(i);
      case Phase::kReading:
        return read_response(i);
      case Phase::kIdle:
        return watch_idle(i, events);
      case Phase::kDone:
        return;
    }
  }

  void send_request(uint64_t i) {
    Conn& c = conns_[i];
    while (c.sent < opt_.request.size()) {
      ssize_t n = ::send(c.fd.get(), opt_.request.data() + c.sent, opt_.request.size() - c.sent,
                         MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        return fail(i, bench::errno_reason("send", errno));
      }
      c.sent += static_cast<size_t>(n);
      c.progress_ns = bench::now_ns();
    }
    c.phase = Phase::kReading;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = i;
    if (::epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd.get(), &ev) != 0) {
      fail(i, bench::errno_reason("epoll_ctl", errno));
    }
  }

  void read_response(uint64_t i) {
    Conn& c = conns_[i];
    for (;;) {
      ssize_t n = ::recv(c.fd.get(), buf_, sizeof buf_, 0);
      if (n == 0) return fail(i, "EOF before the full response");
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        return fail(i, bench::errno_reason("recv", errno));
      }
      c.progress_ns = bench::now_ns();
      auto state = c.reader.feed(std::string_view(buf_, static_cast<size_t>(n)));
      if (state == bench::ResponseReader::State::kBad) return fail(i, c.reader.error());
      if (state == bench::ResponseReader::State::kComplete) {
        c.phase = Phase::kIdle;
        c.reader = bench::ResponseReader();
        latencies_.push_back(c.progress_ns - c.start_ns);
        ++established_;
        --active_;
        return;  // more bytes or EOF are reported again (level-triggered) and seen as idle
      }
    }
  }

  // An established connection must stay silent and open; stray bytes are discarded.
  void watch_idle(uint64_t i, uint32_t events) {
    Conn& c = conns_[i];
    for (;;) {
      ssize_t n = ::recv(c.fd.get(), buf_, sizeof buf_, 0);
      if (n > 0) continue;
      if (n < 0 && (errno == EAGAIN || errno == EINTR) && !(events & (EPOLLERR | EPOLLHUP))) return;
      ++closed_by_peer_;
      c.phase = Phase::kDone;
      c.fd.reset();
      return;
    }
  }

  void fail(uint64_t i, const std::string& reason) {
    Conn& c = conns_[i];
    ++failed_;
    ++reasons_[reason];
    --active_;
    c.phase = Phase::kDone;
    c.fd.reset();
  }

  void abort_rest() {
    for (uint64_t i = 0; i < launched_; ++i) {
      Phase p = conns_[i].phase;
      if (p == Phase::kConnecting || p == Phase::kSending || p == Phase::kReading) {
        fail(i, "interrupted by a signal");
      }
    }
    failed_ += opt_.count - launched_;
    if (opt_.count > launched_) reasons_["not started (signal)"] += opt_.count - launched_;
    launched_ = opt_.count;
  }

  void drain_signal(int signal_fd) {
    signalfd_siginfo info{};
    if (::read(signal_fd, &info, sizeof info) == sizeof info) {
      std::fprintf(stderr, "%s: signal %u, stopping\n", kTool, info.ssi_signo);
    }
  }

  void fatal(const char* what) {
    std::fprintf(stderr, "%s: %s: %s\n", kTool, what, std::strerror(errno));
    broken_ = true;
    abort_rest();
  }

  const Options& opt_;
  int ep_;
  std::vector<Conn> conns_;
  uint64_t launched_ = 0, active_ = 0, established_ = 0, failed_ = 0, closed_by_peer_ = 0;
  bool broken_ = false;
  std::vector<int64_t> latencies_;
  bench::Reasons reasons_;
  epoll_event events_[kMaxEvents]{};
  char buf_[64 * 1024]{};
};

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (int rc = parse_options(argc, argv, opt); rc >= 0) return rc;

  if (!bench::require_fds(kTool, "--count", opt.count, opt.count + kFdReserve)) return bench::kExitFailure;
  // Decided before any socket exists: a closed fd 0 would otherwise be reused by a socket.
  bool stdin_open = ::fcntl(STDIN_FILENO, F_GETFD) != -1;

  ::signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  ringlb::Fd signal_fd(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  ringlb::Fd epoll_fd(::epoll_create1(EPOLL_CLOEXEC));
  if (!signal_fd || !epoll_fd) {
    std::fprintf(stderr, "%s: signalfd/epoll_create1: %s\n", kTool, std::strerror(errno));
    return bench::kExitFailure;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kSignalTag;
  ::epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, signal_fd.get(), &ev);

  auto holder = std::make_unique<Holder>(opt, epoll_fd.get());
  int64_t t0 = bench::now_ns();
  bool go_on = holder->establish(signal_fd.get());
  holder->print_establish(static_cast<double>(bench::now_ns() - t0) / 1e9);

  int64_t hold_start = bench::now_ns();
  if (go_on && !holder->broken() && holder->established() > 0) {
    // A pipe, socket or tty is watched for EOF; epoll refuses regular files and /dev/null
    // (EPERM), which then never release the hold early.
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = kStdinTag;
    if (stdin_open) ::epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, STDIN_FILENO, &ev);
    holder->hold(hold_start + static_cast<int64_t>(opt.hold_s * 1e9), signal_fd.get());
  }
  std::printf("{\"held_seconds\":%.3f,\"closed_by_peer\":%llu}\n",
              static_cast<double>(bench::now_ns() - hold_start) / 1e9,
              static_cast<unsigned long long>(holder->closed_by_peer()));
  std::fflush(stdout);
  bool ok = holder->failed() == 0 && holder->closed_by_peer() == 0 && !holder->broken();
  return ok ? 0 : bench::kExitFailure;
}
