// socket_cookie, bytes_queued_ever and settle_receive (see socket.h). A translation unit of
// its own because it needs <linux/tcp.h>'s struct tcp_info (tcpi_bytes_sent and friends are
// newer than glibc's copy), which cannot be included next to <netinet/tcp.h>.
#include <linux/tcp.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

#include "ringlb/net/socket.h"

namespace ringlb::net {

uint64_t socket_cookie(int fd) noexcept {
  uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  if (::getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) != 0) return 0;
  return cookie;
}

int64_t bytes_queued_ever(int fd, bool* established) noexcept {
  // One TCP_INFO snapshot, taken under the socket lock: first-time-sent bytes plus the bytes
  // not sent yet is write_seq minus the initial sequence. (bytes_acked + SIOCOUTQ says the
  // same but takes two calls, and an ACK landing between them shifts the sum.)
  struct tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 ||
      len < offsetof(struct tcp_info, tcpi_bytes_retrans) + sizeof info.tcpi_bytes_retrans) {
    return -1;
  }
  if (established != nullptr) *established = info.tcpi_state == 1;  // TCP_ESTABLISHED
  return static_cast<int64_t>(info.tcpi_bytes_sent - info.tcpi_bytes_retrans + info.tcpi_notsent_bytes);
}

int settle_receive(int fd) noexcept {
  struct tcp_info info{};  // tcp_get_info() reads under lock_sock_fast()
  socklen_t len = sizeof info;
  return ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 ? 0 : -1;
}

}  // namespace ringlb::net
