// In-process backends for the integration tests: a TCP server on loopback running one thread per
// connection with a handler, plus the stock handlers (echo, named, integrity stream). The server
// owns every socket it accepts: a handler gets the fd, the server closes it when the handler
// returns (after SO_LINGER {1,0} the close is a reset). Construction, stop/start and destruction
// belong to the test thread; handlers run on their own threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fd.h"

namespace ringlb::it {

class TcpServer {
 public:
  // Runs on the connection's own thread. `stopping` turns true when the server is destroyed:
  // long handlers should watch it (all socket helpers are deadline-bounded anyway).
  using Handler = std::function<void(int fd, const std::atomic<bool>& stopping)>;

  explicit TcpServer(Handler handler, uint16_t port = 0, std::string ip = "127.0.0.1");
  ~TcpServer();
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const;  // "127.0.0.1:PORT" or "[::1]:PORT"

  // Closes the listening socket but keeps the port held by a bound, non-listening socket:
  // connects are refused, and nobody else can take the port. Live connections continue.
  void stop_listening();
  // Listens again on the same port.
  void start_listening();

  int accepted() const { return accepted_.load(); }
  int active() const { return active_.load(); }

 private:
  void accept_loop(int listen_fd);
  void start_accept_thread();
  void stop_accept_thread();

  Handler handler_;
  std::string ip_;
  uint16_t port_ = 0;
  Fd listener_;
  Fd holder_;  // holds the port while stopped
  Fd wake_;    // eventfd that ends accept_loop
  std::thread accept_thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::atomic<int> active_{0};
  std::mutex mu_;
  std::set<int> live_fds_;
  std::vector<std::thread> conn_threads_;
};

// What a test-specific handler found, handed to the test thread.
class HandlerReport {
 public:
  void set(bool ok, std::string what);
  // True once set() was called; false at the timeout.
  bool wait(milliseconds timeout);
  bool ok() const;
  std::string what() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool ok_ = false;
  std::string what_;
};

// Health probes connect and close without sending a byte. Test-specific handlers tell them apart
// from the test's own clients by this first byte, which those clients send before anything else.
inline constexpr char kPrologue = 'P';
// Reads the prologue byte; false if the connection ended (or 10 s passed) first: not a test
// client, so the handler returns without reporting anything.
bool await_prologue(int fd);
// connect_to() followed by sending the prologue; invalid Fd and *err on failure.
Fd connect_with_prologue(uint16_t port, int* err);

// Echoes every byte until the client's FIN, then sends its own FIN.
void echo_until_eof(int fd, const std::atomic<bool>& stopping);
TcpServer::Handler echo_handler();
// Sends "NAME\n" first, then echoes.
TcpServer::Handler named_handler(std::string name);

// Integrity backend: reads a StreamHeader, then either echoes c2b_len bytes back or sends its
// own b2c stream while checking the client's; records how each connection went.
struct IntegrityStats {
  std::atomic<int> ok{0};
  std::atomic<int> failed{0};
  std::mutex mu;
  std::vector<std::string> failures;  // first few, for the test's message
};
TcpServer::Handler integrity_handler(std::shared_ptr<IntegrityStats> stats);

}  // namespace ringlb::it
