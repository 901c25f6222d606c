// AccessLog: one line per closed client connection (global.access_log), text or JSON in the
// format of the event log ("access" event). Each worker owns one and buffers its lines; they
// are written with one write(2) on the worker's tick or once the buffer passes kFlushBytes, so
// the event loop never waits per line. The file descriptor is opened by the main thread
// (O_APPEND) and outlives the workers; a SIGHUP reopens the file onto the same descriptor
// number (dup3), so a worker never writes to a closed or reused descriptor. Worker thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ringlb/common/address.h"

namespace ringlb::worker {

// Why a connection ended. Exactly one per line.
enum class EndCause : uint8_t {
  fin,                       // both directions ended with a FIN
  idle_timeout,
  client_reset,              // the client reset (or vanished): forwarded to the backend as a reset
  backend_reset,
  connect_failed,            // every candidate backend refused or timed out
  rejected_max_connections,  // closed at accept
  rejected_no_backend,
  rejected_fd_limit,         // out of descriptors (at accept, for the backend socket or a pipe)
  drain_timeout,             // still open when the drain deadline passed
};
std::string_view end_cause_name(EndCause c) noexcept;

// How the bytes moved; the sockmap path sets its own.
enum class DatapathKind : uint8_t { splice, sockmap };

struct AccessRecord {
  Address client;
  std::string_view listener;
  std::string_view pool;     // "-" when unknown
  std::string_view backend;  // "-" when no backend was connected
  DatapathKind datapath = DatapathKind::splice;
  uint64_t bytes_c2b = 0;
  uint64_t bytes_b2c = 0;
  uint64_t duration_ms = 0;
  EndCause cause = EndCause::fin;
};

// Pure: the line for `r` at wall-clock time `unix_ms`, newline included.
std::string render_access_line(bool json, uint64_t unix_ms, const AccessRecord& r);

class AccessLog {
 public:
  // Lines are buffered up to this many bytes before a write(2) outside the tick.
  static constexpr size_t kFlushBytes = 64 * 1024;

  // fd < 0: off (enabled() is false and nothing is ever buffered). The fd is not owned.
  AccessLog(int fd, bool json) : fd_(fd), json_(json) {}
  bool enabled() const noexcept { return fd_ >= 0; }
  void append(const AccessRecord& r) noexcept;
  // Writes what is buffered. A failed or short write drops the rest of the buffer: a full disk
  // must not grow a worker's memory without bound.
  void flush() noexcept;

 private:
  int fd_;
  bool json_;
  std::string buffer_;
};

}  // namespace ringlb::worker
