// In-process TCP backends: accept thread, one thread per connection, stock handlers.
#include "servers.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "sockets.h"
#include "stream.h"

namespace ringlb::it {
namespace {

constexpr auto kHandlerDeadline = seconds(120);  // no test keeps a backend connection longer

void note_failure(IntegrityStats& stats, std::string what) {
  stats.failed++;
  std::lock_guard lock(stats.mu);
  if (stats.failures.size() < 8) stats.failures.push_back(std::move(what));
}

// Echo mode of the integrity protocol: echo and check the client's stream, then expect its FIN.
void integrity_echo(int fd, const StreamHeader& h, IntegrityStats& stats) {
  const Deadline d = deadline_in(kHandlerDeadline);
  std::vector<uint8_t> buf(64 * 1024);
  uint64_t got = 0;
  bool mismatch = false;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, poll_ms(d, 200)) == 0) {
      if (Clock::now() >= d) return note_failure(stats, fmt::format("echo: timeout after {} bytes", got));
      continue;
    }
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n > 0) {
      const auto len = static_cast<size_t>(n);
      if (got + len > h.c2b_len || !pattern_matches(h.c2b_seed, got, buf.data(), len)) mismatch = true;
      got += len;
      if (send_all(fd, buf.data(), len, d) != Outcome::kOk) {
        return note_failure(stats, fmt::format("echo: send failed after {} bytes", got));
      }
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) return note_failure(stats, fmt::format("echo: recv error {} after {} bytes", errno, got));
    break;  // EOF
  }
  ::shutdown(fd, SHUT_WR);
  if (mismatch || got != h.c2b_len) {
    return note_failure(stats, fmt::format("echo: got {}/{} bytes{}", got, h.c2b_len, mismatch ? ", mismatch" : ""));
  }
  stats.ok++;
}

}  // namespace

TcpServer::TcpServer(Handler handler, uint16_t port, std::string ip) : handler_(std::move(handler)), ip_(std::move(ip)) {
  int err = 0;
  listener_ = listen_tcp(ip_, port, &port_, &err);
  if (!listener_.valid()) throw std::runtime_error(fmt::format("backend listen on port {}: {}", port, std::strerror(-err)));
  wake_ = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  start_accept_thread();
}

TcpServer::~TcpServer() {
  stopping_ = true;
  stop_accept_thread();
  {
    std::lock_guard lock(mu_);
    for (int fd : live_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& t : conn_threads_) t.join();
}

std::string TcpServer::address() const { return it::address(ip_, port_); }

void TcpServer::start_accept_thread() {
  accept_thread_ = std::thread([this, fd = listener_.get()] { accept_loop(fd); });
}

void TcpServer::stop_accept_thread() {
  if (!accept_thread_.joinable()) return;
  const uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  accept_thread_.join();
  uint64_t drained = 0;
  (void)!::read(wake_.get(), &drained, sizeof drained);
}

void TcpServer::stop_listening() {
  if (!listener_.valid()) return;
  holder_ = hold_port(ip_, port_);
  stop_accept_thread();
  listener_.reset();
}

void TcpServer::start_listening() {
  if (listener_.valid()) return;
  int err = 0;
  listener_ = listen_tcp(ip_, port_, nullptr, &err);
  if (!listener_.valid()) throw std::runtime_error(fmt::format("backend relisten on {}: {}", port_, std::strerror(-err)));
  start_accept_thread();
  holder_.reset();
}

void TcpServer::accept_loop(int listen_fd) {
  for (;;) {
    pollfd p[2] = {{listen_fd, POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(p, 2, 1000) < 0 && errno != EINTR) return;
    if (p[1].revents) return;
    if (!(p[0].revents & POLLIN)) continue;
    for (;;) {
      const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) break;
      accepted_++;
      active_++;
      std::lock_guard lock(mu_);
      live_fds_.insert(fd);
      conn_threads_.emplace_back([this, fd] {
        handler_(fd, stopping_);
        {
          std::lock_guard inner(mu_);
          live_fds_.erase(fd);
          ::close(fd);
        }
        active_--;
      });
    }
  }
}

void HandlerReport::set(bool ok, std::string what) {
  {
    std::lock_guard lock(mu_);
    done_ = true;
    ok_ = ok;
    what_ = std::move(what);
  }
  cv_.notify_all();
}

bool HandlerReport::wait(milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return done_; });
}

bool HandlerReport::ok() const {
  std::lock_guard lock(mu_);
  return ok_;
}

std::string HandlerReport::what() const {
  std::lock_guard lock(mu_);
  return done_ ? what_ : "handler did not report";
}

bool await_prologue(int fd) {
  char c = 0;
  return recv_exact(fd, &c, 1, deadline_in(seconds(10))) == Outcome::kOk && c == kPrologue;
}

Fd connect_with_prologue(uint16_t port, int* err) {
  Fd fd = connect_to(port, err);
  if (!fd.valid()) return fd;
  const char p = kPrologue;
  if (send_all(fd.get(), &p, 1, deadline_in(seconds(3))) != Outcome::kOk) {
    if (err) *err = -EPIPE;
    return Fd();
  }
  return fd;
}

void echo_until_eof(int fd, const std::atomic<bool>& stopping) {
  char buf[65536];
  const Deadline d = deadline_in(kHandlerDeadline);
  while (!stopping && Clock::now() < d) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      if (send_all(fd, buf, static_cast<size_t>(n), deadline_in(seconds(30))) != Outcome::kOk) return;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n == 0) ::shutdown(fd, SHUT_WR);
    return;
  }
}

TcpServer::Handler echo_handler() {
  return [](int fd, const std::atomic<bool>& stopping) { echo_until_eof(fd, stopping); };
}

TcpServer::Handler named_handler(std::string name) {
  return [name = std::move(name)](int fd, const std::atomic<bool>& stopping) {
    if (send_all(fd, name + "\n", deadline_in(seconds(5))) != Outcome::kOk) return;
    echo_until_eof(fd, stopping);
  };
}

TcpServer::Handler integrity_handler(std::shared_ptr<IntegrityStats> stats) {
  return [stats](int fd, const std::atomic<bool>&) {
    std::string raw;
    const Outcome o = recv_exact(fd, &raw, StreamHeader::kSize, deadline_in(seconds(30)));
    if (raw.empty() && (o == Outcome::kEof || o == Outcome::kReset)) return;  // a health probe
    StreamHeader h;
    if (o != Outcome::kOk || !StreamHeader::decode(raw, &h)) {
      return note_failure(*stats, fmt::format("header: {} ({} bytes)", to_string(o), raw.size()));
    }
    if (h.mode == StreamHeader::kEcho) return integrity_echo(fd, h, *stats);
    DuplexLeg leg;
    leg.fd = fd;
    leg.send_seed = h.b2c_seed;
    leg.send_len = h.b2c_len;
    leg.recv_seed = h.c2b_seed;
    leg.recv_len = h.c2b_len;
    const auto r = run_duplex({leg}, deadline_in(kHandlerDeadline));
    if (!r[0].ok(leg)) return note_failure(*stats, "stream: " + r[0].describe(leg));
    stats->ok++;
  };
}

}  // namespace ringlb::it
