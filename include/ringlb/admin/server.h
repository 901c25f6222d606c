// AdminServer: the admin API (GET /metrics, GET /status, POST /pools/NAME/backends/ADDR/ACTION)
// over HTTP/1.1 with cpp-httplib, on its own control-plane threads (one accept thread and a
// pool of kThreads request threads); never on a worker. Requests are bounded in size and time.
// Owned by the main thread: bind() before privileges drop, serve() once the workers exist,
// stop() (or the destructor) before they are destroyed.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "ringlb/admin/metrics.h"
#include "ringlb/common/address.h"
#include "ringlb/common/result.h"
#include "ringlb/lb/snapshot.h"
#include "ringlb/worker/stats.h"

namespace ringlb::admin {

// What the handlers read (and, for the store, publish to). Everything must outlive stop().
struct Sources {
  lb::SnapshotStore* store = nullptr;
  std::vector<const worker::WorkerStats*> workers;
  std::function<ReloadTotals()> reloads;
  bool sockmap_available = false;  // fixed at startup (app/datapath.h)
};

class AdminServer {
 public:
  AdminServer();
  ~AdminServer();  // stop()
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and listens on `address` (a non-loopback address logs a warning). An error names the
  // address and the reason.
  Status bind(const Address& address);
  // Starts answering on the server's own threads.
  void serve(Sources sources);
  // Stops accepting, finishes the requests in progress, joins the threads. Idempotent.
  void stop() noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringlb::admin
