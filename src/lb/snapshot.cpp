// Snapshot lookups and the SnapshotStore publication protocol (see snapshot.h).
#include "ringlb/lb/snapshot.h"

namespace ringlb::lb {

size_t PoolView::candidates(uint64_t flow_hash, std::span<uint32_t> out) const noexcept {
  return candidate_order(
      *primary, *backup, flow_hash, [this](uint32_t i) noexcept { return backends[i].available(); },
      [this](uint32_t i) noexcept { return backends[i].usable(); }, out);
}

int PoolView::find_backend(const Address& address) const noexcept {
  for (size_t i = 0; i < backends.size(); ++i) {
    if (backends[i].address == address) return static_cast<int>(i);
  }
  return -1;
}

void refresh_availability(PoolView& pool) noexcept {
  pool.primary_available = 0;
  pool.backup_available = 0;
  for (const BackendView& b : pool.backends) {
    if (!b.available()) continue;
    (b.backup ? pool.backup_available : pool.primary_available) += 1;
  }
}

int Snapshot::find_pool(std::string_view name) const noexcept {
  for (size_t i = 0; i < pools.size(); ++i) {
    if (pools[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

int Snapshot::find_listener(std::string_view name) const noexcept {
  for (size_t i = 0; i < listeners.size(); ++i) {
    if (listeners[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

SnapshotStore::SnapshotStore(std::shared_ptr<const Snapshot> initial)
    : current_(std::move(initial)), generation_(current_.load()->generation) {}

std::shared_ptr<const Snapshot> SnapshotStore::replace(std::shared_ptr<Snapshot> next) {
  std::lock_guard lock(write_mutex_);
  return publish_locked(std::move(next));
}

std::shared_ptr<const Snapshot> SnapshotStore::publish_locked(std::shared_ptr<Snapshot> next) {
  next->generation = generation_.load(std::memory_order_relaxed) + 1;
  std::shared_ptr<const Snapshot> published = std::move(next);
  current_.store(published, std::memory_order_release);
  generation_.store(published->generation, std::memory_order_release);
  return published;
}

}  // namespace ringlb::lb
