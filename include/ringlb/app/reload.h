// A SIGHUP reload, hitless: load and validate the file; refuse what needs a restart; bind the
// added listeners' sockets (one per worker) before anything is published, so a bind failure
// fails the reload with nothing changed; publish the new snapshot; hand each worker its new
// sockets and the names of the removed listeners (ListenerMailbox); wait (bounded) until every
// worker applied them. Live connections are never touched: they keep their snapshot. A failed
// reload is logged once (`reload_failed`) and counted; the old config keeps serving.
// Main thread only.
#pragma once

#include <cstdint>
#include <vector>

#include "ringlb/app/control_stats.h"
#include "ringlb/common/result.h"
#include "ringlb/config/config.h"
#include "ringlb/lb/snapshot.h"
#include "ringlb/sockmap/sockmap.h"
#include "ringlb/worker/listener_mailbox.h"

namespace ringlb::app {

struct ReloadTarget {
  config::Config& config;  // the running config: replaced when the reload applies
  lb::SnapshotStore& store;
  std::vector<worker::ListenerMailbox*> mailboxes;  // one per worker
  ControlStats& control;
  const sockmap::Sockmap* sockmap;  // loaded at startup, or nullptr (splice only)
};

// Applies the file at target.config.path; true when it did.
bool reload(ReloadTarget& target);

}  // namespace ringlb::app
