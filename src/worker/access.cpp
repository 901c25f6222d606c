// The worker's access-log hooks: one record per closed connection or refused client (see
// access_log.h). Called only when the log is on: the hot path pays one branch when it is off.
#include "ringlb/net/socket.h"
#include "ringlb/worker/worker.h"

namespace ringlb::worker {

void Worker::log_access(const Connection& c) noexcept {
  const lb::PoolView& pool = c.pool_view();
  AccessRecord r;
  r.client = c.client_address;
  r.listener = c.snapshot->listeners[c.listener].name;
  r.pool = pool.name;
  r.backend = c.routed ? std::string_view(c.backend_view().key) : std::string_view("-");
  r.datapath = c.datapath;
  r.bytes_c2b = c.bytes_c2b;
  r.bytes_b2c = c.bytes_b2c;
  r.duration_ms = now_ms_ - c.started_ms;
  r.cause = c.end_cause;
  access_log_.append(r);
}

void Worker::log_rejected(int client_fd, uint32_t li, EndCause cause) noexcept {
  if (!access_log_.enabled()) return;
  AccessRecord r;
  (void)net::peer_address(client_fd, r.client);  // unspecified if the client is already gone
  const ListenerState& l = listeners_[li];
  r.listener = l.socket.name;
  r.pool = l.snapshot_index >= 0 ? std::string_view(snapshot_->pools[snapshot_->listeners[static_cast<size_t>(l.snapshot_index)].pool].name)
                                 : std::string_view("-");
  r.backend = "-";
  r.cause = cause;
  access_log_.append(r);
}

}  // namespace ringlb::worker
