// Loopback socket helpers for the integration tests: port reservation, listeners, clients with
// an optional source address, and I/O calls that are all bounded by a Deadline (poll() on
// non-blocking sockets: no call here can block past its deadline). Any thread.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "fd.h"

namespace ringlb::it {

// How a read or a wait on a socket ended.
enum class Outcome {
  kOk,       // got what was asked for
  kEof,      // orderly end of stream (FIN)
  kReset,    // ECONNRESET (or EPIPE on send): the peer reset
  kTimeout,  // the deadline passed first
  kError,    // any other errno, or a protocol mismatch
};
const char* to_string(Outcome o);
// So that gtest prints "reset", not the enum's bytes.
inline void PrintTo(Outcome o, std::ostream* os) { *os << to_string(o); }

// A port held for the test's life: a socket with SO_REUSEADDR|SO_REUSEPORT bound to ip:0 but
// not listening. ringlb (same uid, SO_REUSEPORT) binds the same port; while only this socket
// holds it, connects to it are refused, never accepted by someone else.
struct ReservedPort {
  Fd fd;
  uint16_t port = 0;
};
ReservedPort reserve_port(const std::string& ip = "127.0.0.1");
// The same kind of holder for a port already known (a stopped backend keeps its port this way).
Fd hold_port(const std::string& ip, uint16_t port);

// "ip:port", or "[ip]:port" for IPv6. Every helper here takes IPv4 or IPv6 text addresses.
std::string address(const std::string& ip, uint16_t port);
// The local port of a bound or connected socket.
uint16_t local_port(int fd);

// A listening socket on ip:port (0: any), SO_REUSEADDR|SO_REUSEPORT, O_NONBLOCK|CLOEXEC.
// Returns an invalid Fd (and fills *err) on failure. *bound_port gets the port.
Fd listen_tcp(const std::string& ip, uint16_t port, uint16_t* bound_port, int* err = nullptr, int backlog = 1024);

struct ConnectOptions {
  std::string ip = "127.0.0.1";
  std::string source_ip;  // empty: let the kernel choose; else bound first (IP_BIND_ADDRESS_NO_PORT)
  milliseconds timeout{3000};
};
// A connected non-blocking socket, or an invalid Fd with *err = -errno (ECONNREFUSED, ETIMEDOUT).
Fd connect_to(uint16_t port, const ConnectOptions& opt, int* err = nullptr);
inline Fd connect_to(uint16_t port, int* err = nullptr) { return connect_to(port, ConnectOptions{}, err); }

void set_nonblocking(int fd);
// SO_LINGER {1, 0}: the next close() sends a RST.
void set_linger_reset(int fd);

Outcome send_all(int fd, const void* data, size_t len, Deadline d);
inline Outcome send_all(int fd, std::string_view s, Deadline d) { return send_all(fd, s.data(), s.size(), d); }
// Exactly `len` bytes into `out`. kEof if the stream ended first (*got says how far it came).
Outcome recv_exact(int fd, void* out, size_t len, Deadline d, size_t* got = nullptr);
Outcome recv_exact(int fd, std::string* out, size_t len, Deadline d);
// Everything up to the end of stream; kEof is the success value. Stops with kError past `max`.
Outcome read_to_eof(int fd, std::string* out, Deadline d, size_t max = 1 << 20);
// Reads bytes until '\n' (not included) in at most 256 bytes.
Outcome read_line(int fd, std::string* line, Deadline d);
// Discards bytes until the stream ends; returns kEof, kReset, kTimeout or kError and counts
// the bytes seen in *bytes.
Outcome wait_closed(int fd, Deadline d, size_t* bytes = nullptr);
// Sends `msg`, reads back exactly as many bytes and compares: kOk, or what went wrong.
Outcome echo_round(int fd, std::string_view msg, Deadline d);
// Connects to 127.0.0.1:port until refused, up to 2 s (a listener closing on drain or reload
// takes a ring batch). True once refused.
bool connects_refused(uint16_t port);

}  // namespace ringlb::it
