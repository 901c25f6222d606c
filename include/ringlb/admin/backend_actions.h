// drain / enable / disable of one backend: an edit of the snapshot's admin flags, published
// through SnapshotStore::update (the same lock as the prober and the reload, so no publisher
// drops another's change). The flags live in BackendView and carry over through health changes
// (the prober edits only `up`) and reloads (build_snapshot copies them). Control plane only.
#pragma once

#include <cstdint>
#include <string_view>

#include "ringlb/admin/request_path.h"
#include "ringlb/lb/snapshot.h"

namespace ringlb::admin {

// "enabled", "drained" or "disabled".
std::string_view admin_state(const lb::BackendView& b) noexcept;

struct ActionResult {
  enum class Status : uint8_t { ok, unknown_pool, unknown_backend };
  Status status = Status::ok;
  std::string_view previous;  // admin_state() before
  std::string_view current;   // and after
  bool changed = false;
  uint64_t generation = 0;  // of the snapshot published, or the current one when unchanged
};

// Pure: applies `req` to `snap` (flags and availability counts). drain and disable replace each
// other; enable clears both.
ActionResult apply_action(lb::Snapshot& snap, const BackendRequest& req) noexcept;

// Applies and publishes when something changed (an action that changes nothing publishes
// nothing, so repeating it does not make every worker reload its snapshot).
ActionResult apply_and_publish(lb::SnapshotStore& store, const BackendRequest& req);

}  // namespace ringlb::admin
