// A real nginx as a backend peer for the integration tests: one process (master_process off,
// so the PID held is all there is to stop), its prefix, config and logs in the test's temp dir,
// listening on a port reserved the race-free way (the server block must `listen ...
// reuseport`). Test thread only; stopped by PID (SIGTERM, then SIGKILL) in the destructor.
#pragma once

#include <cstdint>
#include <string>

#include "harness.h"
#include "process.h"
#include "sockets.h"

namespace ringlb::it {

class Nginx {
 public:
  Nginx() { proc_.set_stop(15 /* SIGTERM */, seconds(3)); }

  // The port nginx will listen on; write it into the server block before start().
  uint16_t port() const { return port_.port; }

  // Writes DIR/nginx.conf with `server_blocks` inside http {}, starts nginx and waits until it
  // accepts connections. false with the reason (nginx's own logs included) otherwise.
  bool start(const TempDir& dir, const std::string& nginx_bin, const std::string& server_blocks, std::string* err);

 private:
  ReservedPort port_ = reserve_port();
  ChildProcess proc_;
};

}  // namespace ringlb::it
