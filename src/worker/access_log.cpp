// Access log lines and their per-worker buffer (see access_log.h).
#include "ringlb/worker/access_log.h"

#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "ringlb/common/log.h"

namespace ringlb::worker {

std::string_view end_cause_name(EndCause c) noexcept {
  switch (c) {
    case EndCause::fin: return "fin";
    case EndCause::idle_timeout: return "idle_timeout";
    case EndCause::client_reset: return "client_reset";
    case EndCause::backend_reset: return "backend_reset";
    case EndCause::connect_failed: return "connect_failed";
    case EndCause::rejected_max_connections: return "rejected_max_connections";
    case EndCause::rejected_no_backend: return "rejected_no_backend";
    case EndCause::rejected_fd_limit: return "rejected_fd_limit";
    case EndCause::drain_timeout: return "drain_timeout";
  }
  return "fin";
}

std::string render_access_line(bool json, uint64_t unix_ms, const AccessRecord& r) {
  return log::render(json ? log::Format::json : log::Format::text, unix_ms, log::Level::info, "access",
                     {{"client", r.client.to_string()},
                      {"listener", r.listener},
                      {"pool", r.pool},
                      {"backend", r.backend},
                      {"datapath", r.datapath == DatapathKind::sockmap ? "sockmap" : "splice"},
                      {"bytes_c2b", r.bytes_c2b},
                      {"bytes_b2c", r.bytes_b2c},
                      {"duration_ms", r.duration_ms},
                      {"cause", end_cause_name(r.cause)}});
}

void AccessLog::append(const AccessRecord& r) noexcept {
  if (!enabled()) return;
  timespec ts{};
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  const uint64_t unix_ms = static_cast<uint64_t>(ts.tv_sec) * 1000u + static_cast<uint64_t>(ts.tv_nsec) / 1000000u;
  try {
    buffer_ += render_access_line(json_, unix_ms, r);
  } catch (...) {
    return;  // out of memory: the line is lost, the connection is not
  }
  if (buffer_.size() >= kFlushBytes) flush();
}

void AccessLog::flush() noexcept {
  size_t off = 0;
  while (off < buffer_.size()) {
    const ssize_t n = ::write(fd_, buffer_.data() + off, buffer_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  buffer_.clear();
}

}  // namespace ringlb::worker
