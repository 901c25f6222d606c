// Socket helpers (see socket.h).
#include "ringlb/net/socket.h"

#include <algorithm>
#include <errno.h>
#include <fmt/format.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

namespace ringlb::net {

Result<Fd> open_listener(const Address& bind, uint32_t backlog) {
  Fd fd(::socket(bind.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return Error{fmt::format("socket: {}", strerror(errno))};
  const int one = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    return Error{fmt::format("setsockopt SO_REUSEPORT: {}", strerror(errno))};
  }
  // An IPv6 listener takes only IPv6: "[::]:443" beside "0.0.0.0:443" would otherwise share the
  // IPv4 traffic through SO_REUSEPORT. Dual stack is two listeners, written out.
  if (bind.family == AF_INET6 && ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) {
    return Error{fmt::format("setsockopt IPV6_V6ONLY: {}", strerror(errno))};
  }
  sockaddr_storage ss;
  const socklen_t len = bind.to_sockaddr(ss);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return Error{fmt::format("bind {}: {}", bind.to_string(), strerror(errno))};
  }
  if (::listen(fd.get(), static_cast<int>(backlog)) != 0) {
    return Error{fmt::format("listen {}: {}", bind.to_string(), strerror(errno))};
  }
  return fd;
}

int stop_listening(int fd) noexcept { return ::shutdown(fd, SHUT_RDWR) == 0 ? 0 : -errno; }

int relisten(int fd, uint32_t backlog) noexcept {
  return ::listen(fd, static_cast<int>(backlog)) == 0 ? 0 : -errno;
}

int open_stream_socket(sa_family_t family) noexcept {
  const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  set_nodelay(fd);
  return fd;
}

void set_nodelay(int fd) noexcept {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void set_linger_reset(int fd) noexcept {
  const linger lg{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

int set_receive_buffer(int fd, uint32_t bytes) noexcept {
  const int half = static_cast<int>(std::max<uint32_t>(bytes / 2, 1));  // the kernel doubles it
  return ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &half, sizeof half) == 0 ? 0 : -errno;
}

rlim_t raise_nofile_limit() noexcept {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &rl);
    ::getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

int peer_address(int fd, Address& out) noexcept {
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return -errno;
  out = Address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
  return 0;
}

int local_address(int fd, Address& out) noexcept {
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return -errno;
  out = Address::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
  return 0;
}

}  // namespace ringlb::net
