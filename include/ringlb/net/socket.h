// Socket helpers shared by the workers and the prober: listener setup (control plane, returns
// Result) and the small per-connection calls the data plane makes (return -errno, noexcept).
#pragma once

#include <sys/resource.h>

#include <cstdint>

#include "ringlb/common/address.h"
#include "ringlb/common/fd.h"
#include "ringlb/common/result.h"

namespace ringlb::net {

// A non-blocking listening socket with SO_REUSEADDR and SO_REUSEPORT, one per worker per
// listener: the kernel spreads SYNs across them by 4-tuple hash.
Result<Fd> open_listener(const Address& bind, uint32_t backlog);

// Stops a listening socket from accepting, now: shutdown(SHUT_RDWR) on a listener disconnects
// it (inet_shutdown -> tcp_disconnect), resetting what waits in its accept queue, while the
// fd stays open for in-flight ring operations. Returns 0 or -errno.
int stop_listening(int fd) noexcept;
// listen(2) again with a new backlog; on a listening socket that only updates the backlog.
// Returns 0 or -errno.
int relisten(int fd, uint32_t backlog) noexcept;

// A non-blocking, close-on-exec TCP socket for connecting to a backend, with TCP_NODELAY:
// a passthrough proxy must not add Nagle delay on its own hop. Returns the fd or -errno.
int open_stream_socket(sa_family_t family) noexcept;

// TCP_NODELAY on an accepted client socket (backend sockets get it from open_stream_socket).
void set_nodelay(int fd) noexcept;

// Makes the next close() send RST instead of FIN (SO_LINGER {1, 0}): how a reset is forwarded.
void set_linger_reset(int fd) noexcept;

// Fixes fd's receive buffer at `bytes` of kernel memory (SO_RCVBUF, which also turns the
// kernel's autotuning off for this socket; the kernel caps it at 2 x net.core.rmem_max).
// Returns 0 or -errno.
int set_receive_buffer(int fd, uint32_t bytes) noexcept;

// Sets RLIMIT_NOFILE's soft limit to its hard limit; returns the new soft limit.
rlim_t raise_nofile_limit() noexcept;

// The peer / local address of a connected socket, or -errno.
// The kernel's cookie of a socket (SO_COOKIE): unique for the socket's life. 0 on error.
uint64_t socket_cookie(int fd) noexcept;

// Bytes that ever entered fd's send queue, counted from an arbitrary origin fixed for the
// socket's life (write_seq minus a constant: bytes acknowledged plus SIOCOUTQ, read so that
// no ACK lands in between). Comparing two readings tells how much was written in between, by
// anyone (the kernel's sockmap included). Returns -1 on error, or if acknowledgements kept
// moving while it read (look again later). `established`, if given, says whether the socket is still ESTABLISHED
// (no FIN received or sent), which is what a SOCKHASH insert requires.
int64_t bytes_queued_ever(int fd, bool* established = nullptr) noexcept;

// Returns once the kernel has finished with every segment fd has received so far, the sockmap
// verdict program run from its data_ready included: it takes and drops the socket lock (one
// TCP_INFO read), which the receive softirq, or the owner processing its backlog, holds from
// queueing a segment to data_ready. A FIN wakes RDHUP pollers in tcp_fin(), before
// data_ready hands that segment's bytes to the program, so a worker woken by it can otherwise
// read the program's counters short of the FIN's own data. 0, or -1 on error.
int settle_receive(int fd) noexcept;

int peer_address(int fd, Address& out) noexcept;
int local_address(int fd, Address& out) noexcept;

}  // namespace ringlb::net
