// The splice path's byte mover for one direction of a connection (c2b or b2c):
// src socket -> pipe -> dst socket with splice(2, SPLICE_F_NONBLOCK | SPLICE_F_MOVE), called
// inline after a ring POLL reported readiness. Worker thread only; never blocks.
//
// Kernel facts it is built on (Linux 6.18, kernel-datapath-findings §1.2, §2):
//  - EAGAIN from socket->pipe can mean "no free pipe slot" (each skb fragment takes one), not
//    "socket drained". The pump therefore only reads into an EMPTY pipe, where EAGAIN can only
//    mean the socket has nothing, and always flushes the pipe before reading again.
//  - The FIN is forwarded (shutdown(dst, SHUT_WR)) only once the pipe is empty.
#pragma once

#include <cstdint>

#include "ringlb/splice/pipe_pool.h"

namespace ringlb::splice {

struct Direction {
  Pipe pipe;             // held only while bytes are in flight
  uint32_t in_pipe = 0;  // bytes spliced into the pipe and not yet out of it
  bool src_eof = false;  // src returned 0 (peer's FIN seen)
  bool done = false;     // FIN forwarded to dst: this direction is finished
  // The last read from src may have stopped inside an skb: only a read that found src empty
  // (EAGAIN), or one shorter than what it asked for from a plain recv, proves otherwise. The
  // sockmap promotion needs that proof: the kernel hands a socket's queued skbs to the verdict
  // program whole, so the read part of a partly read skb would be forwarded twice.
  bool partial = false;
};

enum class Want : uint8_t {
  readable,  // src has nothing more now: wait for src to become readable
  more,      // the fairness budget ran out with src likely not drained: poll src for POLLIN
  writable,  // dst's send buffer is full: poll dst for POLLOUT
  pipe,      // no pipe could be had (EMFILE...): retry later
  done,      // FIN forwarded
  error,     // a socket error: the connection must be reset (err holds the errno)
};

struct PumpResult {
  Want want;
  int err = 0;         // positive errno when want == error
  uint64_t bytes = 0;  // bytes that reached dst during this call
};

// Moves as much as it can without blocking, up to a fairness budget (kMaxBytesPerCall),
// and says what it is waiting for. When it stops on `readable`, `more` or `done`, the pipe is
// back in the pool. A read shorter than the pipe normally ends the call (src very likely has
// no more, and the wait costs less than the EAGAIN); with `prove_drained` it reads on until
// src says EAGAIN, so that `readable` leaves dir.partial false.
PumpResult pump(Direction& dir, int src, int dst, PipePool& pool, bool prove_drained = false) noexcept;

// 1 MiB per call, then the direction yields to the other connections (HAProxy's tune.bufsize
// x tune.maxpollevents spirit: one connection cannot monopolise a worker).
constexpr uint64_t kMaxBytesPerCall = 1024 * 1024;

}  // namespace ringlb::splice
