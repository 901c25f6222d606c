// Loopback socket helpers: every wait is a poll() bounded by the caller's deadline.
#include "sockets.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

namespace ringlb::it {
namespace {

// An IPv4 or IPv6 (if `ip` has a ':') socket address.
struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family() const { return ss.ss_family; }
  sockaddr* get() { return reinterpret_cast<sockaddr*>(&ss); }
  uint16_t port() const {
    return ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port
                                          : reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
  }
};

SockAddr make_addr(const std::string& ip, uint16_t port) {
  SockAddr a;
  if (ip.find(':') != std::string::npos) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&a.ss);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    if (::inet_pton(AF_INET6, ip.c_str(), &a6->sin6_addr) != 1) throw std::invalid_argument("not an address: " + ip);
    a.len = sizeof(sockaddr_in6);
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&a.ss);
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    if (::inet_pton(AF_INET, ip.c_str(), &a4->sin_addr) != 1) throw std::invalid_argument("not an address: " + ip);
    a.len = sizeof(sockaddr_in);
  }
  return a;
}


void set_int_opt(int fd, int level, int name, int value) {
  if (::setsockopt(fd, level, name, &value, sizeof value) != 0) {
    throw std::runtime_error(fmt::format("setsockopt({}, {}): {}", level, name, std::strerror(errno)));
  }
}

// Waits for `events` on fd until d. Returns revents, or 0 on timeout.
short wait_for(int fd, short events, Deadline d) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, poll_ms(d, 200));
    if (n > 0) return p.revents;
    if (n < 0 && errno != EINTR) return POLLERR;
    if (Clock::now() >= d) return 0;
  }
}

Outcome errno_outcome(int e) {
  if (e == ECONNRESET || e == EPIPE) return Outcome::kReset;
  if (e == ETIMEDOUT) return Outcome::kTimeout;
  return Outcome::kError;
}

}  // namespace

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::kOk: return "ok";
    case Outcome::kEof: return "eof";
    case Outcome::kReset: return "reset";
    case Outcome::kTimeout: return "timeout";
    case Outcome::kError: return "error";
  }
  return "?";
}

uint16_t local_port(int fd) {
  SockAddr a;
  a.len = sizeof a.ss;
  ::getsockname(fd, a.get(), &a.len);
  return a.port();
}

std::string address(const std::string& ip, uint16_t port) {
  return ip.find(':') != std::string::npos ? fmt::format("[{}]:{}", ip, port) : fmt::format("{}:{}", ip, port);
}

Fd hold_port(const std::string& ip, uint16_t port) {
  SockAddr a = make_addr(ip, port);
  Fd fd(::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) throw std::runtime_error(fmt::format("socket: {}", std::strerror(errno)));
  set_int_opt(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1);
  set_int_opt(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1);
  if (::bind(fd.get(), a.get(), a.len) != 0) {
    throw std::runtime_error(fmt::format("bind {}:{}: {}", ip, port, std::strerror(errno)));
  }
  return fd;
}

ReservedPort reserve_port(const std::string& ip) {
  Fd fd = hold_port(ip, 0);
  const uint16_t port = local_port(fd.get());
  return ReservedPort{std::move(fd), port};
}

Fd listen_tcp(const std::string& ip, uint16_t port, uint16_t* bound_port, int* err, int backlog) {
  SockAddr a = make_addr(ip, port);
  Fd fd(::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) throw std::runtime_error(fmt::format("socket: {}", std::strerror(errno)));
  set_int_opt(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1);
  set_int_opt(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1);
  if (::bind(fd.get(), a.get(), a.len) != 0 || ::listen(fd.get(), backlog) != 0) {
    if (err) *err = -errno;
    return Fd();
  }
  if (bound_port) *bound_port = local_port(fd.get());
  return fd;
}

void set_nonblocking(int fd) {
  const int fl = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void set_linger_reset(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

Fd connect_to(uint16_t port, const ConnectOptions& opt, int* err) {
  if (err) *err = 0;
  SockAddr dst = make_addr(opt.ip, port);
  Fd fd(::socket(dst.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) {
    if (err) *err = -errno;
    return Fd();
  }
  if (!opt.source_ip.empty()) {
    // Bind the source address only; the port is chosen at connect (Linux 4.2+), which avoids
    // EADDRINUSE from bind(port 0) when many connections share one source address.
    const int one = 1;  // (IPv4 sources are the many-per-address case; harmless if refused)
    ::setsockopt(fd.get(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    SockAddr src = make_addr(opt.source_ip, 0);
    if (::bind(fd.get(), src.get(), src.len) != 0) {
      if (err) *err = -errno;
      return Fd();
    }
  }
  if (::connect(fd.get(), dst.get(), dst.len) == 0) return fd;
  if (errno != EINPROGRESS) {
    if (err) *err = -errno;
    return Fd();
  }
  const short ev = wait_for(fd.get(), POLLOUT, deadline_in(opt.timeout));
  if (ev == 0) {
    if (err) *err = -ETIMEDOUT;
    return Fd();
  }
  int so_error = 0;
  socklen_t len = sizeof so_error;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &so_error, &len);
  if (so_error != 0) {
    if (err) *err = -so_error;
    return Fd();
  }
  return fd;
}

Outcome send_all(int fd, const void* data, size_t len, Deadline d) {
  const auto* p = static_cast<const char*>(data);
  size_t done = 0;
  while (done < len) {
    const ssize_t n = ::send(fd, p + done, len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return errno_outcome(errno);
    if (wait_for(fd, POLLOUT, d) == 0) return Outcome::kTimeout;
  }
  return Outcome::kOk;
}

Outcome recv_exact(int fd, void* out, size_t len, Deadline d, size_t* got) {
  auto* p = static_cast<char*>(out);
  size_t done = 0;
  Outcome result = Outcome::kOk;
  while (done < len) {
    const ssize_t n = ::recv(fd, p + done, len - done, MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) {
      result = Outcome::kEof;
      break;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      result = errno_outcome(errno);
      break;
    }
    if (wait_for(fd, POLLIN, d) == 0) {
      result = Outcome::kTimeout;
      break;
    }
  }
  if (got) *got = done;
  return result;
}

Outcome recv_exact(int fd, std::string* out, size_t len, Deadline d) {
  out->assign(len, '\0');
  size_t got = 0;
  const Outcome o = recv_exact(fd, out->data(), len, d, &got);
  out->resize(got);
  return o;
}

Outcome read_to_eof(int fd, std::string* out, Deadline d, size_t max) {
  char buf[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      out->append(buf, static_cast<size_t>(n));
      if (out->size() > max) return Outcome::kError;
      continue;
    }
    if (n == 0) return Outcome::kEof;
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return errno_outcome(errno);
    if (wait_for(fd, POLLIN, d) == 0) return Outcome::kTimeout;
  }
}

Outcome read_line(int fd, std::string* line, Deadline d) {
  line->clear();
  while (line->size() < 256) {
    char c = 0;
    size_t got = 0;
    const Outcome o = recv_exact(fd, &c, 1, d, &got);
    if (o != Outcome::kOk) return o;
    if (c == '\n') return Outcome::kOk;
    line->push_back(c);
  }
  return Outcome::kError;
}

Outcome wait_closed(int fd, Deadline d, size_t* bytes) {
  char buf[65536];
  size_t total = 0;
  Outcome result = Outcome::kError;
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      total += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) {
      result = Outcome::kEof;
      break;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) {
      result = errno_outcome(errno);
      break;
    }
    if (wait_for(fd, POLLIN, d) == 0) {
      result = Outcome::kTimeout;
      break;
    }
  }
  if (bytes) *bytes = total;
  return result;
}

Outcome echo_round(int fd, std::string_view msg, Deadline d) {
  const Outcome s = send_all(fd, msg, d);
  if (s != Outcome::kOk) return s;
  std::string back;
  const Outcome r = recv_exact(fd, &back, msg.size(), d);
  if (r != Outcome::kOk) return r;
  return back == msg ? Outcome::kOk : Outcome::kError;
}

bool connects_refused(uint16_t port) {
  const Deadline d = deadline_in(seconds(2));
  while (Clock::now() < d) {
    int err = 0;
    Fd fd = connect_to(port, &err);
    if (!fd.valid() && err == -ECONNREFUSED) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

}  // namespace ringlb::it
