// A reload's listener changes inside a worker (see listener_mailbox.h): the main thread has
// bound the added sockets and published the snapshot that names them before it posts, so
// everything here is local to the worker's ring.
//
// Removing a listener: shutdown(2) takes the socket out of the listening hash at once (new
// SYNs get a RST or go to a sibling), then the multishot accept is cancelled and the socket
// is closed when its last accept completion arrives (the ring holds a file reference until
// then). Connections already accepted are untouched and run to their end. Connections still
// in the socket's accept queue are reset by the kernel: net.ipv4.tcp_migrate_req (5.14+,
// 0 by default) would move them to a sibling, but a removed listener has none.
#include <errno.h>

#include <algorithm>

#include "ringlb/common/log.h"
#include "ringlb/net/socket.h"
#include "ringlb/worker/worker.h"

namespace ringlb::worker {

void Worker::arm_mailbox() noexcept {
  io_uring_sqe* sqe = ring_.get_sqe();
  io_uring_prep_read(sqe, mailbox_.eventfd(), &mailbox_buf_, sizeof mailbox_buf_, 0);
  io_uring_sqe_set_data64(sqe, encode(Op::mailbox, 0));
}

void Worker::on_mailbox(int res) noexcept {
  if (res < 0 && res != -EINTR && res != -EAGAIN) {
    // Cannot happen with a valid eventfd; re-arming would spin. Reloads then reach this
    // worker's listeners no more, which the main thread reports (reload_slow).
    log::error("mailbox_error", {{"worker", id_}, {"error", log::errno_name(-res)}});
    return;
  }
  uint64_t seq = 0;
  ListenerChange change;
  try {
    change = mailbox_.take(&seq);
  } catch (...) {  // a moved vector does not throw; the lock cannot fail short of a bug
    arm_mailbox();
    return;
  }
  for (const std::string& name : change.removed) {
    for (uint32_t li = 0; li < listeners_.size(); ++li) {
      if (listeners_[li].socket.name == name && !listeners_[li].closing) close_listener(li);
    }
  }
  for (ListenerSocket& s : change.added) add_listener(std::move(s));
  // Backlogs and the new listeners' snapshot indexes: the snapshot was published before the post.
  snapshot_.reset();
  refresh_snapshot();
  mailbox_.mark_applied(seq);
  arm_mailbox();
}

void Worker::close_listener(uint32_t li) noexcept {
  ListenerState& l = listeners_[li];
  if (l.closing || !l.socket.fd.valid()) {
    l.closing = true;
    return;
  }
  l.closing = true;
  net::stop_listening(l.socket.fd.get());
  if (l.armed) {
    io_uring_sqe* sqe = ring_.get_sqe();
    io_uring_prep_cancel64(sqe, encode(Op::accept, li), 0);
    io_uring_sqe_set_data64(sqe, encode(Op::listener_cancel, li));
  } else {
    l.socket.fd.reset();
  }
}

void Worker::add_listener(ListenerSocket socket) noexcept {
  if (!accepting_) return;  // draining: the socket closes here, unaccepted
  // Reuse a slot whose socket is closed and which no completion can name any more (no accept
  // in flight, no backoff timer pending), so reloads do not grow the table without bound.
  uint32_t li = 0;
  while (li < listeners_.size() &&
         (listeners_[li].socket.fd.valid() || listeners_[li].armed || listeners_[li].paused)) {
    ++li;
  }
  ListenerState s;
  s.socket = std::move(socket);
  try {
    if (li == listeners_.size()) {
      listeners_.push_back(std::move(s));
    } else {
      listeners_[li] = std::move(s);
    }
  } catch (...) {
    log::error("listener_add_failed", {{"worker", id_}, {"error", "out of memory"}});
    return;
  }
  arm_accept(li);
}

// A listener whose backlog changed keeps its socket: listen(2) on a listening socket only
// updates the backlog (inet_listen), so nothing queued is lost.
void Worker::apply_backlogs() noexcept {
  for (ListenerState& l : listeners_) {
    if (l.snapshot_index < 0 || l.closing || !l.socket.fd.valid()) continue;
    const uint32_t backlog = snapshot_->listeners[static_cast<size_t>(l.snapshot_index)].backlog;
    if (backlog == l.socket.backlog) continue;
    if (const int rc = net::relisten(l.socket.fd.get(), backlog); rc != 0) {
      log::warn("listener_backlog", {{"worker", id_}, {"listener", l.socket.name}, {"error", log::errno_name(-rc)}});
    }
    l.socket.backlog = backlog;
  }
}

}  // namespace ringlb::worker
