// Verifiable byte streams: a seeded pseudo-random pattern that either side can regenerate at any
// offset (so multi-MiB transfers are checked byte for byte without keeping them in memory), and a
// poll() engine that moves many such streams both ways at once. Any thread; no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fd.h"
#include "sockets.h"

namespace ringlb::it {

// Byte i of stream `seed` is byte (i % 8) of splitmix64(seed, i / 8): random access, no state.
void pattern_fill(uint64_t seed, uint64_t offset, uint8_t* out, size_t n);
// True when data[0..n) equals the stream at `offset`.
bool pattern_matches(uint64_t seed, uint64_t offset, const uint8_t* data, size_t n);
std::string pattern_string(uint64_t seed, uint64_t offset, size_t n);

// One connection's work for run_duplex: send `send_len` bytes of stream `send_seed` (after
// `prefix`), then shutdown(SHUT_WR) if asked; meanwhile receive and check exactly `recv_len`
// bytes of stream `recv_seed`, then expect EOF.
struct DuplexLeg {
  int fd = -1;
  std::string prefix;
  uint64_t send_seed = 0;
  uint64_t send_len = 0;
  bool shutdown_after_send = true;
  uint64_t recv_seed = 0;
  uint64_t recv_len = 0;
};

struct DuplexResult {
  uint64_t sent = 0;       // pattern bytes sent (prefix excluded)
  uint64_t received = 0;   // bytes received
  bool mismatch = false;   // a received byte differed from the stream, or too many came
  Outcome end = Outcome::kTimeout;  // how the receive side ended: kEof is the good end
  Outcome send_end = Outcome::kTimeout;  // kOk once everything was sent
  // The first received byte that was wrong (offset in the receive stream), and up to 32 bytes
  // from there, so describe() can tell where they came from.
  uint64_t first_bad = UINT64_MAX;
  std::string bad_sample;
  bool ok(const DuplexLeg& leg) const {
    return !mismatch && end == Outcome::kEof && send_end == Outcome::kOk && sent == leg.send_len &&
           received == leg.recv_len;
  }
  // One line; for a mismatch it names the first wrong byte and where its bytes came from (a
  // repeat or skip of this stream, or the stream going the other way).
  std::string describe(const DuplexLeg& leg) const;
};

// Runs all legs until each has finished both directions or the deadline passes. The fds are
// made non-blocking; they stay open (the caller owns them).
std::vector<DuplexResult> run_duplex(const std::vector<DuplexLeg>& legs, Deadline d);

// How many legs failed, and the first few described, for a test's failure message.
struct DuplexFailures {
  int count = 0;
  std::string first;
};
DuplexFailures failures(const std::vector<DuplexLeg>& legs, const std::vector<DuplexResult>& results);

// The 40-byte request header of the integrity protocol (StreamServer in servers.h): the client
// says what it will send and what it wants back. Little-endian on the wire (both ends are here).
struct StreamHeader {
  static constexpr uint32_t kMagic = 0x524c4249;  // "IBLR"
  enum Mode : uint32_t { kEcho = 1, kStream = 2 };
  uint32_t magic = kMagic;
  uint32_t mode = kStream;
  uint64_t c2b_seed = 0;
  uint64_t c2b_len = 0;  // in echo mode: also what comes back
  uint64_t b2c_seed = 0;
  // b2c_len is c2b_len in echo mode; in stream mode the backend sends b2c_len of b2c_seed.
  uint64_t b2c_len = 0;
  std::string encode() const;
  static bool decode(const std::string& bytes, StreamHeader* out);
  static constexpr size_t kSize = 40;
};

// The client's leg of an integrity-protocol connection on `fd`: the header as its prefix, then
// c2b_len bytes of c2b_seed out; back comes the echo (echo mode) or b2c_len of b2c_seed.
DuplexLeg leg_for(int fd, const StreamHeader& h);

}  // namespace ringlb::it
