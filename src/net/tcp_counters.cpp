// socket_cookie, bytes_queued_ever and settle_receive (see socket.h). A translation unit of
// its own because it needs <linux/tcp.h>'s struct tcp_info (tcpi_bytes_acked and friends are
// newer than glibc's copy), which cannot be included next to <netinet/tcp.h>.
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <sys/ioctl.h>
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

namespace {

// tcpi_bytes_acked (snd_una minus the initial sequence) from one TCP_INFO snapshot.
bool bytes_acked(int fd, uint64_t& acked, bool* established) noexcept {
  struct tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 ||
      len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof info.tcpi_bytes_acked) {
    return false;
  }
  acked = info.tcpi_bytes_acked;
  if (established != nullptr) *established = info.tcpi_state == 1;  // TCP_ESTABLISHED
  return true;
}

}  // namespace

int64_t bytes_queued_ever(int fd, bool* established) noexcept {
  // write_seq = snd_una + the send queue (SIOCOUTQ: write_seq - snd_una). The two come from
  // separate calls and an ACK landing between them would shift the sum, so snd_una is read on
  // both sides of the queue and the reading kept only if it did not move. (TCP_INFO's
  // bytes_sent - bytes_retrans + notsent_bytes looks like one snapshot of the same, but a tail
  // loss probe's retransmission counts as sent and not as retransmitted: on a lossy path it
  // ran one or two segments ahead for good, and a FIN waiting for it was never forwarded.)
  constexpr int kAttempts = 16;
  for (int i = 0; i < kAttempts; ++i) {
    uint64_t before = 0;
    uint64_t after = 0;
    int queued = 0;
    if (!bytes_acked(fd, before, nullptr) || ::ioctl(fd, SIOCOUTQ, &queued) != 0 ||
        !bytes_acked(fd, after, established)) {
      return -1;
    }
    if (before == after && queued >= 0) return static_cast<int64_t>(after) + queued;
  }
  return -1;  // acknowledgements kept arriving: the caller looks again later
}

int settle_receive(int fd) noexcept {
  struct tcp_info info{};  // tcp_get_info() reads under lock_sock_fast()
  socklen_t len = sizeof info;
  return ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 ? 0 : -1;
}

}  // namespace ringlb::net
