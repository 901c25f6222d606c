// Shared helpers of the bench/tools load generators (hold_conns, conn_latency): command-line
// and address parsing, the monotonic clock, nearest-rank percentiles, HTTP/1.1 response framing
// and socket setup. Pure functions except the few that name a syscall; single-threaded tools.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringlb/common/fd.h"

namespace bench {

inline constexpr int kExitFailure = 1;  // the run happened and something failed
inline constexpr int kExitUsage = 2;    // bad command line; nothing was attempted

// Prints "tool: why" (when there is a reason) and the usage text to stderr; returns the usage
// exit status.
inline int usage(const char* tool, const char* text, const std::string& why) {
  if (!why.empty()) std::fprintf(stderr, "%s: %s\n", tool, why.c_str());
  std::fputs(text, stderr);
  return kExitUsage;
}

inline int64_t now_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Command line "--name value" or "--name=value". Values stay views into argv.
struct Args {
  std::map<std::string, std::string_view, std::less<>> values;
  bool help = false;
  std::string error;  // non-empty: the command line is unusable
};

// `known` lists the accepted option names without "--".
inline Args parse_args(int argc, char** argv, const std::vector<std::string_view>& known) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      args.help = true;
      continue;
    }
    if (!arg.starts_with("--")) {
      args.error = "unexpected argument '" + std::string(arg) + "'";
      return args;
    }
    arg.remove_prefix(2);
    std::string_view value;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      args.error = "--" + std::string(arg) + " needs a value";
      return args;
    }
    if (std::find(known.begin(), known.end(), arg) == known.end()) {
      args.error = "unknown option --" + std::string(arg);
      return args;
    }
    args.values[std::string(arg)] = value;
  }
  return args;
}

// Decimal integer in [lo, hi]; nothing else (no sign, no spaces, no suffix).
inline std::optional<uint64_t> parse_uint(std::string_view s, uint64_t lo, uint64_t hi) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || v < lo || v > hi) {
    return std::nullopt;
  }
  return v;
}

// Finite decimal number in [lo, hi] ("0.5", "30", "1e3").
inline std::optional<double> parse_number(std::string_view s, double lo, double hi) {
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || !std::isfinite(v) ||
      v < lo || v > hi) {
    return std::nullopt;
  }
  return v;
}

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;
  int family() const noexcept { return addr.ss_family; }
};

// Numeric "A.B.C.D:PORT" or "[V6]:PORT", port 1-65535. No name resolution: a benchmark must
// not depend on the resolver.
inline std::optional<Endpoint> parse_endpoint(std::string_view s) {
  std::string host;
  std::string_view port;
  if (s.starts_with('[')) {
    auto close = s.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    host = std::string(s.substr(1, close - 1));
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos || s.find(':') != colon) return std::nullopt;
    host = std::string(s.substr(0, colon));
    port = s.substr(colon + 1);
  }
  auto port_num = parse_uint(port, 1, 65535);
  if (!port_num) return std::nullopt;
  Endpoint ep;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ep.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ep.addr);
  if (!s.starts_with('[') && inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(*port_num));
    ep.len = sizeof(sockaddr_in);
  } else if (s.starts_with('[') && inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(*port_num));
    ep.len = sizeof(sockaddr_in6);
  } else {
    return std::nullopt;
  }
  return ep;
}

// IPv4 "FIRST-LAST" (inclusive, FIRST <= LAST, at most 65536 addresses) or a single address;
// each returned with port 0.
inline std::optional<std::vector<Endpoint>> parse_ipv4_range(std::string_view s) {
  auto dash = s.find('-');
  std::string first(s.substr(0, dash));
  std::string last(dash == std::string_view::npos ? first : std::string(s.substr(dash + 1)));
  in_addr a{}, b{};
  if (inet_pton(AF_INET, first.c_str(), &a) != 1 || inet_pton(AF_INET, last.c_str(), &b) != 1) {
    return std::nullopt;
  }
  uint32_t lo = ntohl(a.s_addr), hi = ntohl(b.s_addr);
  if (lo > hi || hi - lo >= 65536) return std::nullopt;
  std::vector<Endpoint> out;
  for (uint64_t ip = lo; ip <= hi; ++ip) {
    Endpoint ep;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ep.addr);
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(static_cast<uint32_t>(ip));
    ep.len = sizeof(sockaddr_in);
    out.push_back(ep);
  }
  return out;
}

// A path that can go verbatim into a request line: starts with '/', visible ASCII only.
inline bool valid_path(std::string_view p) {
  if (!p.starts_with('/') || p.size() > 4096) return false;
  return std::all_of(p.begin(), p.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// Nearest-rank percentile of ascending `sorted`, per_mille in [1, 1000] (p99.9 = 999).
// Precondition: !sorted.empty().
inline int64_t percentile(const std::vector<int64_t>& sorted, uint64_t per_mille) {
  uint64_t rank = (per_mille * sorted.size() + 999) / 1000;  // ceil(p * n), >= 1 for n >= 1
  return sorted[std::max<uint64_t>(rank, 1) - 1];
}

// A JSON value for a sample statistic in ns shown in `unit_ns` units with `decimals`;
// "null" when there were no samples.
inline std::string json_stat(const std::vector<int64_t>& sorted, uint64_t per_mille,
                             double unit_ns, int decimals) {
  if (sorted.empty()) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals,
                static_cast<double>(percentile(sorted, per_mille)) / unit_ns);
  return buf;
}

// Status code of an HTTP/1.x status line prefix ("HTTP/1.1 200 OK"), or -1 when `line` does not
// start with one.
inline int parse_status_code(std::string_view line) {
  if (line.size() < 12 || !line.starts_with("HTTP/1.") || line[8] != ' ') return -1;
  auto code = parse_uint(line.substr(9, 3), 100, 999);
  return code ? static_cast<int>(*code) : -1;
}

// Frames one HTTP/1.1 response delimited by Content-Length (what nginx sends for `return 200`).
// Chunked or unframed responses and non-2xx statuses are errors: the tools need proof that a
// request reached the backend and came back whole.
class ResponseReader {
 public:
  enum class State { kIncomplete, kComplete, kBad };
  static constexpr size_t kMaxHead = 16 * 1024;

  State feed(std::string_view data) {
    if (state_ != State::kIncomplete) return state_;
    if (!in_body_) {
      size_t from = head_.size() >= 3 ? head_.size() - 3 : 0;
      head_.append(data);
      auto end = head_.find("\r\n\r\n", from);
      if (end == std::string::npos) {
        if (head_.size() > kMaxHead) return fail("response head over 16 KiB");
        return state_;
      }
      if (!parse_head(std::string_view(head_).substr(0, end + 2))) return state_;
      size_t body_here = head_.size() - (end + 4);
      std::string().swap(head_);
      in_body_ = true;
      data = {};
      body_left_ -= std::min<uint64_t>(body_left_, body_here);
    }
    body_left_ -= std::min<uint64_t>(body_left_, data.size());
    if (body_left_ == 0) state_ = State::kComplete;
    return state_;
  }
  const std::string& error() const { return error_; }

 private:
  State fail(std::string why) {
    error_ = std::move(why);
    std::string().swap(head_);
    return state_ = State::kBad;
  }
  // `head` ends with "\r\n" after the last header line.
  bool parse_head(std::string_view head) {
    int code = parse_status_code(head);
    if (code < 0) return fail("malformed status line"), false;
    if (code < 200 || code > 299) return fail("HTTP status " + std::to_string(code)), false;
    bool have_length = false;
    for (size_t pos = head.find("\r\n") + 2; pos < head.size();) {
      size_t eol = head.find("\r\n", pos);
      std::string_view line = head.substr(pos, eol - pos);
      pos = eol + 2;
      auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string name(line.substr(0, colon));
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
      }
      if (name == "transfer-encoding") return fail("Transfer-Encoding is not supported"), false;
      if (name == "content-length") {
        auto len = parse_uint(value, 0, uint64_t{1} << 40);
        if (!len) return fail("bad Content-Length"), false;
        body_left_ = *len;
        have_length = true;
      }
    }
    if (!have_length) return fail("response without Content-Length"), false;
    return true;
  }

  std::string head_;
  uint64_t body_left_ = 0;
  bool in_body_ = false;
  State state_ = State::kIncomplete;
  std::string error_;
};

// Non-blocking TCP socket toward `target` with TCP_NODELAY, bound to `source` (port 0) when
// given, connect() started. Returns the socket and 0 or EINPROGRESS; on failure an invalid Fd
// and the errno, with `stage` naming the call that failed.
struct Dial {
  ringlb::Fd fd;
  int err = 0;
  const char* stage = "";
};

inline Dial dial(const Endpoint& target, const Endpoint* source) {
  Dial d;
  d.fd.reset(::socket(target.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!d.fd) return {ringlb::Fd(), errno, "socket"};
  int one = 1;
  ::setsockopt(d.fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (source != nullptr) {
    // Defer the port choice to connect() (Linux 4.2+) so the 4-tuple, not the (ip, port)
    // pair, must be unique: ~28k connections per source IP per target, not per source IP.
    ::setsockopt(d.fd.get(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (::bind(d.fd.get(), reinterpret_cast<const sockaddr*>(&source->addr), source->len) != 0) {
      return {ringlb::Fd(), errno, "bind"};
    }
  }
  if (::connect(d.fd.get(), reinterpret_cast<const sockaddr*>(&target.addr), target.len) != 0) {
    if (errno != EINPROGRESS) return {ringlb::Fd(), errno, "connect"};
    d.err = EINPROGRESS;
  }
  return d;
}

// Pending error of a socket whose non-blocking connect() finished (SO_ERROR), 0 on success.
inline int socket_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

// Raises the RLIMIT_NOFILE soft limit to the hard limit; returns the resulting soft limit or
// -errno.
inline int64_t raise_nofile_limit() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return -errno;
  if (rl.rlim_cur != rl.rlim_max) {
    rlimit want = rl;
    want.rlim_cur = rl.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  return rl.rlim_cur == RLIM_INFINITY ? int64_t{1} << 20 : static_cast<int64_t>(rl.rlim_cur);
}

// Raises RLIMIT_NOFILE and checks that `wanted` descriptors fit; otherwise prints
// "tool: --option N needs M file descriptors, RLIMIT_NOFILE allows L" and returns false.
inline bool require_fds(const char* tool, const char* option, uint64_t n, uint64_t wanted) {
  const int64_t limit = raise_nofile_limit();
  if (limit >= 0 && static_cast<uint64_t>(limit) >= wanted) return true;
  std::fprintf(stderr, "%s: %s %llu needs %llu file descriptors, RLIMIT_NOFILE allows %lld\n", tool, option,
               static_cast<unsigned long long>(n), static_cast<unsigned long long>(wanted),
               static_cast<long long>(limit));
  return false;
}

// Error tally by reason, printed once to stderr as "tool: N failed: 3 connect: ..., 1 timeout".
using Reasons = std::map<std::string, uint64_t>;

inline void print_reasons(const char* tool, const char* what, uint64_t total,
                          const Reasons& reasons) {
  if (total == 0) return;
  std::fprintf(stderr, "%s: %llu %s:", tool, static_cast<unsigned long long>(total), what);
  const char* sep = " ";
  for (const auto& [reason, n] : reasons) {
    std::fprintf(stderr, "%s%llu %s", sep, static_cast<unsigned long long>(n), reason.c_str());
    sep = ", ";
  }
  std::fputc('\n', stderr);
}

inline std::string errno_reason(const char* stage, int err) {
  return std::string(stage) + ": " + std::strerror(err);
}

}  // namespace bench
