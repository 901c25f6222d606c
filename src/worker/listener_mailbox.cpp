// The reload mailbox (see listener_mailbox.h).
#include "ringlb/worker/listener_mailbox.h"

#include <sys/eventfd.h>
#include <unistd.h>

namespace ringlb::worker {

bool ListenerMailbox::init() noexcept {
  // Blocking on purpose: io_uring hands -EAGAIN back for a read of an O_NONBLOCK file instead
  // of waiting for it; the main thread's write never blocks (the counter cannot reach 2^64-1).
  wake_.reset(::eventfd(0, EFD_CLOEXEC));
  return wake_.valid();
}

uint64_t ListenerMailbox::post(ListenerChange change) {
  uint64_t seq;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (std::string& n : change.removed) pending_.removed.push_back(std::move(n));
    for (ListenerSocket& s : change.added) pending_.added.push_back(std::move(s));
    seq = posted_.fetch_add(1, std::memory_order_acq_rel) + 1;
  }
  // The counter only needs to become non-zero to complete the worker's armed read; a failed
  // write (EAGAIN at 2^64-2) cannot happen at one write per reload.
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof one);
  return seq;
}

ListenerChange ListenerMailbox::take(uint64_t* seq) {
  std::lock_guard<std::mutex> lock(mu_);
  *seq = posted_.load(std::memory_order_relaxed);
  ListenerChange out = std::move(pending_);
  pending_ = ListenerChange{};
  return out;
}

}  // namespace ringlb::worker
