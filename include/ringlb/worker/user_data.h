// The one encoder of io_uring user_data for worker rings: {op, generation, slot}. A connection
// slot is reused after its generation is bumped, so a completion that names an old generation is
// recognized as stale instead of being applied to the new occupant. Pure.
#pragma once

#include <cstdint>

namespace ringlb::worker {

enum class Op : uint8_t {
  accept = 1,       // multishot accept; slot = worker listener index
  accept_resume,    // backoff timer after EMFILE/ENFILE; slot = worker listener index
  listener_cancel,  // cancel of a listener's accept during drain; slot = worker listener index
  tick,             // the worker's periodic timer
  connect,          // backend connect; slot = connection
  connect_timeout,  // the connect's linked timeout
  poll_c2b_in,      // client readable
  poll_c2b_out,     // backend writable
  poll_b2c_in,      // backend readable
  poll_b2c_out,     // client writable
  cancel,           // cancel of a connection's in-flight operations
  recv_c2b,         // copy path: RECV from the client into a provided buffer
  recv_b2c,         // copy path: RECV from the backend
  send_c2b,         // copy path: SEND of that buffer to the backend
  send_b2c,         // copy path: SEND to the client
  watch_client,     // sockmap path: POLL for RDHUP/ERR on the client
  watch_backend,    // sockmap path: POLL for RDHUP/ERR on the backend
  sockmap_check,    // sockmap path: re-check a backlog that is still draining
  mailbox,          // read of the listener mailbox's eventfd (a reload changed listeners)
  notices,          // sockmap path: multishot POLL on the worker's notice ring
};

struct UserData {
  Op op;
  uint32_t generation;  // 24 bits used
  uint32_t slot;
};

constexpr uint32_t kGenerationMask = 0xFFFFFF;

constexpr uint64_t encode(Op op, uint32_t slot, uint32_t generation = 0) noexcept {
  return (static_cast<uint64_t>(op) << 56) | (static_cast<uint64_t>(generation & kGenerationMask) << 32) | slot;
}

constexpr UserData decode(uint64_t v) noexcept {
  return UserData{static_cast<Op>(v >> 56), static_cast<uint32_t>((v >> 32) & kGenerationMask),
                  static_cast<uint32_t>(v)};
}

}  // namespace ringlb::worker
