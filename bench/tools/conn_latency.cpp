// conn_latency: open-loop connection latency. Starts one connection every 1/R s on a fixed
// schedule, sends one "Connection: close" GET and reads to EOF; latency and time to first byte
// are measured from the scheduled start, so a stalled server cannot hide its queueing
// (no coordinated omission). One thread, one epoll loop; prints one JSON line.
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <signal.h>

#include "common.h"

namespace {

constexpr const char* kTool = "conn_latency";
constexpr const char* kUsage =
    "usage: conn_latency --target HOST:PORT --rate R --duration SECONDS [--max-inflight M=1000]\n"
    "                    [--path /] [--timeout SECONDS=5]\n"
    "  Starts ceil(R*SECONDS) connections at fixed 1/R intervals; each sends one\n"
    "  'Connection: close' GET and reads to EOF (the status must be 2xx). A start due while M\n"
    "  are in flight is skipped. Latency and ttfb count from the scheduled start.\n"
    "  stdout: {\"rate\",\"seconds\",\"scheduled\",\"completed\",\"errors\",\"skipped\",\n"
    "           \"p50_us\",\"p90_us\",\"p99_us\",\"p999_us\",\"max_us\",\"ttfb_p50_us\",\n"
    "           \"ttfb_p99_us\"}\n"
    "  Exit 0 iff errors == 0 and skipped == 0.\n";
constexpr int64_t kScanNs = 20'000'000;  // how often in-flight connections are checked for timeout
constexpr int kFdReserve = 16;            // epoll, stdio and slack beyond the M sockets
constexpr size_t kStatusPrefix = 12;      // "HTTP/1.1 200"

enum class Phase { kFree, kConnecting, kReading };

struct Slot {
  ringlb::Fd fd;
  Phase phase = Phase::kFree;
  uint32_t generation = 0;  // tags epoll events so a stale one for a reused slot is ignored
  int64_t scheduled_ns = 0;
  int64_t ttfb_ns = -1;
  uint64_t received = 0;
  char status[kStatusPrefix]{};
};

struct Options {
  bench::Endpoint target;
  double rate = 0;
  double duration_s = 0;
  uint64_t max_inflight = 1000;
  double timeout_s = 5;
  std::string request;
};

int usage(const std::string& why) { return bench::usage(kTool, kUsage, why); }

// Parses argv into `opt`; returns -1 when usable, else the exit status.
int parse_options(int argc, char** argv, Options& opt) {
  auto args = bench::parse_args(argc, argv,
                                {"target", "rate", "duration", "max-inflight", "path", "timeout"});
  if (args.help) return std::fputs(kUsage, stdout), 0;
  if (!args.error.empty()) return usage(args.error);
  auto& v = args.values;
  if (!v.contains("target") || !v.contains("rate") || !v.contains("duration")) {
    return usage("--target, --rate and --duration are required");
  }
  auto target = bench::parse_endpoint(v["target"]);
  if (!target) return usage("bad --target (want A.B.C.D:PORT or [V6]:PORT)");
  opt.target = *target;
  auto rate = bench::parse_number(v["rate"], 1e-3, 1e7);
  if (!rate) return usage("bad --rate (want connections per second, 0.001 to 1e7)");
  opt.rate = *rate;
  auto duration = bench::parse_number(v["duration"], 1e-3, 1e6);
  if (!duration) return usage("bad --duration (want seconds, 0.001 to 1e6)");
  opt.duration_s = *duration;
  if (opt.rate * opt.duration_s > 1e9) return usage("--rate * --duration over 1e9 connections");
  if (v.contains("max-inflight")) {
    auto m = bench::parse_uint(v["max-inflight"], 1, 10'000'000);
    if (!m) return usage("bad --max-inflight (want an integer >= 1)");
    opt.max_inflight = *m;
  }
  if (v.contains("timeout")) {
    auto t = bench::parse_number(v["timeout"], 1e-3, 1e6);
    if (!t) return usage("bad --timeout (want seconds, 0.001 to 1e6)");
    opt.timeout_s = *t;
  }
  std::string_view path = v.contains("path") ? v["path"] : "/";
  if (!bench::valid_path(path)) return usage("bad --path (want /..., visible ASCII)");
  opt.request =
      "GET " + std::string(path) + " HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
  return -1;
}

class Runner {
 public:
  Runner(const Options& opt, int epoll_fd)
      : opt_(opt), ep_(epoll_fd), slots_(opt.max_inflight),
        timeout_ns_(static_cast<int64_t>(opt.timeout_s * 1e9)),
        total_(static_cast<uint64_t>(std::ceil(opt.rate * opt.duration_s - 1e-9))) {
    if (total_ == 0) total_ = 1;
    for (size_t i = slots_.size(); i > 0; --i) free_.push_back(static_cast<uint32_t>(i - 1));
  }

  // Runs the whole schedule and waits for the last connection; false on a broken event loop.
  bool run() {
    t0_ = bench::now_ns();
    int64_t next_scan = t0_ + kScanNs;
    for (;;) {
      int64_t now = bench::now_ns();
      for (; next_ < total_ && scheduled(next_) <= now; ++next_) {
        if (free_.empty()) {
          ++skipped_;
        } else {
          start(scheduled(next_));
        }
      }
      if (now >= next_scan) {
        for (uint32_t i = 0; i < slots_.size(); ++i) {
          if (slots_[i].phase != Phase::kFree && now - slots_[i].scheduled_ns >= timeout_ns_) {
            error(i, "timeout");
          }
        }
        next_scan = now + kScanNs;
      }
      bool inflight = free_.size() < slots_.size();
      if (next_ >= total_ && !inflight) return true;
      int64_t wake = next_ < total_ ? scheduled(next_) : next_scan;
      if (inflight) wake = std::min(wake, next_scan);
      int64_t wait_ns = std::max<int64_t>(wake - bench::now_ns(), 0);
      timespec ts{wait_ns / 1'000'000'000, wait_ns % 1'000'000'000};
      int n = ::epoll_pwait2(ep_, events_, kMaxEvents, &ts, nullptr);
      if (n < 0 && errno != EINTR) {
        std::fprintf(stderr, "%s: epoll_pwait2: %s\n", kTool, std::strerror(errno));
        return false;
      }
      for (int i = 0; i < n; ++i) on_event(events_[i].data.u64);
    }
  }

  // Prints the JSON result line; returns whether the run was clean.
  bool report() {
    std::sort(latency_.begin(), latency_.end());
    std::sort(ttfb_.begin(), ttfb_.end());
    auto us = [](const std::vector<int64_t>& v, uint64_t per_mille) {
      return bench::json_stat(v, per_mille, 1e3, 0);
    };
    std::printf("{\"rate\":%g,\"seconds\":%g,\"scheduled\":%llu,\"completed\":%zu,\"errors\":%llu,"
                "\"skipped\":%llu,\"p50_us\":%s,\"p90_us\":%s,\"p99_us\":%s,\"p999_us\":%s,"
                "\"max_us\":%s,\"ttfb_p50_us\":%s,\"ttfb_p99_us\":%s}\n",
                opt_.rate, opt_.duration_s, static_cast<unsigned long long>(total_),
                latency_.size(), static_cast<unsigned long long>(errors_),
                static_cast<unsigned long long>(skipped_), us(latency_, 500).c_str(),
                us(latency_, 900).c_str(), us(latency_, 990).c_str(), us(latency_, 999).c_str(),
                us(latency_, 1000).c_str(), us(ttfb_, 500).c_str(), us(ttfb_, 990).c_str());
    std::fflush(stdout);
    bench::print_reasons(kTool, "errors", errors_, reasons_);
    return errors_ == 0 && skipped_ == 0;
  }

 private:
  static constexpr int kMaxEvents = 1024;

  // Start time of connection k: t0 + k/R, computed from k so rounding never accumulates.
  int64_t scheduled(uint64_t k) const {
    return t0_ + static_cast<int64_t>(std::llround(static_cast<double>(k) * 1e9 / opt_.rate));
  }

  void start(int64_t scheduled_ns) {
    bench::Dial d = bench::dial(opt_.target, nullptr);
    if (!d.fd) {
      ++errors_;
      ++reasons_[bench::errno_reason(d.stage, d.err)];
      return;
    }
    uint32_t i = free_.back();
    free_.pop_back();
    Slot& s = slots_[i];
    s.fd = std::move(d.fd);
    s.phase = Phase::kConnecting;
    s.scheduled_ns = scheduled_ns;
    s.ttfb_ns = -1;
    s.received = 0;
    ++s.generation;
    // Writability reports both an immediate and an asynchronous connect() completion.
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u64 = tag(i);
    if (::epoll_ctl(ep_, EPOLL_CTL_ADD, s.fd.get(), &ev) != 0) {
      error(i, bench::errno_reason("epoll_ctl", errno));
    }
  }

  uint64_t tag(uint32_t i) const { return uint64_t{slots_[i].generation} << 32 | i; }

  void on_event(uint64_t t) {
    auto i = static_cast<uint32_t>(t);
    if (i >= slots_.size() || slots_[i].phase == Phase::kFree || tag(i) != t) return;
    Slot& s = slots_[i];
    if (s.phase == Phase::kConnecting) {
      if (int err = bench::socket_error(s.fd.get()); err != 0) {
        return error(i, bench::errno_reason("connect", err));
      }
      // The request is far below any socket buffer: a fresh connection takes it whole.
      ssize_t n = ::send(s.fd.get(), opt_.request.data(), opt_.request.size(), MSG_NOSIGNAL);
      if (n < 0) return error(i, bench::errno_reason("send", errno));
      if (static_cast<size_t>(n) != opt_.request.size()) return error(i, "send: short write");
      s.phase = Phase::kReading;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.u64 = t;
      if (::epoll_ctl(ep_, EPOLL_CTL_MOD, s.fd.get(), &ev) != 0) {
        return error(i, bench::errno_reason("epoll_ctl", errno));
      }
      return;
    }
    for (;;) {
      ssize_t n = ::recv(s.fd.get(), buf_, sizeof buf_, 0);
      int64_t now = bench::now_ns();
      if (n > 0) {
        if (s.ttfb_ns < 0) s.ttfb_ns = now - s.scheduled_ns;
        if (s.received < kStatusPrefix) {
          size_t take = std::min<size_t>(kStatusPrefix - s.received, static_cast<size_t>(n));
          std::memcpy(s.status + s.received, buf_, take);
        }
        s.received += static_cast<uint64_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      if (n < 0) return error(i, bench::errno_reason("recv", errno));
      if (s.received == 0) return error(i, "EOF with no response bytes");
      size_t status_len = std::min<uint64_t>(s.received, kStatusPrefix);
      int code = bench::parse_status_code(std::string_view(s.status, status_len));
      if (code < 0) return error(i, "malformed status line");
      if (code < 200 || code > 299) return error(i, "HTTP status " + std::to_string(code));
      latency_.push_back(now - s.scheduled_ns);
      ttfb_.push_back(s.ttfb_ns);
      return release(i);
    }
  }

  void error(uint32_t i, const std::string& reason) {
    ++errors_;
    ++reasons_[reason];
    release(i);
  }

  void release(uint32_t i) {
    slots_[i].fd.reset();
    slots_[i].phase = Phase::kFree;
    free_.push_back(i);
  }

  const Options& opt_;
  int ep_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
  int64_t timeout_ns_;
  uint64_t total_;
  int64_t t0_ = 0;
  uint64_t next_ = 0, errors_ = 0, skipped_ = 0;
  std::vector<int64_t> latency_, ttfb_;
  bench::Reasons reasons_;
  epoll_event events_[kMaxEvents]{};
  char buf_[16 * 1024]{};
};

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (int rc = parse_options(argc, argv, opt); rc >= 0) return rc;

  if (!bench::require_fds(kTool, "--max-inflight", opt.max_inflight, opt.max_inflight + kFdReserve)) {
    return bench::kExitFailure;
  }
  ::signal(SIGPIPE, SIG_IGN);
  // Timer slack (default 50 us) would delay every scheduled start by up to that much.
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  ringlb::Fd epoll_fd(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_fd) {
    std::fprintf(stderr, "%s: epoll_create1: %s\n", kTool, std::strerror(errno));
    return bench::kExitFailure;
  }
  auto runner = std::make_unique<Runner>(opt, epoll_fd.get());
  bool loop_ok = runner->run();
  bool clean = runner->report();
  return loop_ok && clean ? 0 : bench::kExitFailure;
}
