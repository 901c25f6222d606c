// Admin overrides of backends (see backend_actions.h).
#include "ringlb/admin/backend_actions.h"

namespace ringlb::admin {

std::string_view admin_state(const lb::BackendView& b) noexcept {
  if (b.disabled) return "disabled";
  if (b.drained) return "drained";
  return "enabled";
}

ActionResult apply_action(lb::Snapshot& snap, const BackendRequest& req) noexcept {
  ActionResult r;
  const int pi = snap.find_pool(req.pool);
  if (pi < 0) {
    r.status = ActionResult::Status::unknown_pool;
    return r;
  }
  lb::PoolView& pool = snap.pools[static_cast<size_t>(pi)];
  const int bi = pool.find_backend(req.backend);
  if (bi < 0) {
    r.status = ActionResult::Status::unknown_backend;
    return r;
  }
  lb::BackendView& b = pool.backends[static_cast<size_t>(bi)];
  r.previous = admin_state(b);
  b.drained = req.action == BackendAction::drain;
  b.disabled = req.action == BackendAction::disable;
  r.current = admin_state(b);
  r.changed = r.previous != r.current;
  if (r.changed) lb::refresh_availability(pool);
  return r;
}

ActionResult apply_and_publish(lb::SnapshotStore& store, const BackendRequest& req) {
  ActionResult result;
  const auto published = store.update([&](lb::Snapshot& snap) {
    result = apply_action(snap, req);
    return result.status == ActionResult::Status::ok && result.changed;
  });
  result.generation = published ? published->generation : store.generation();
  return result;
}

}  // namespace ringlb::admin
