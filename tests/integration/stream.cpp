// Seeded byte streams and the poll() engine that moves and checks them.
#include "stream.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include <fmt/format.h>

namespace ringlb::it {
namespace {

constexpr size_t kChunk = 256 * 1024;  // per send/recv call: fewer syscalls on multi-GiB streams

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct LegState {
  size_t prefix_sent = 0;
  bool send_done = false;
  bool recv_done = false;
};

// ", first wrong byte at N: ..." naming where the bytes found there come from.
std::string mismatch_origin(const DuplexLeg& leg, const DuplexResult& r);

}  // namespace

void pattern_fill(uint64_t seed, uint64_t offset, uint8_t* out, size_t n) {
  const uint64_t key = splitmix64(seed);
  auto block = [key](uint64_t index) { return splitmix64(key ^ index * 0x2545f4914f6cdd1dULL); };
  size_t i = 0;
  // Head: up to the next 8-byte boundary of the stream.
  for (; i < n && (offset + i) % 8 != 0; ++i) {
    const uint64_t pos = offset + i;
    out[i] = static_cast<uint8_t>(block(pos / 8) >> (8 * (pos % 8)));
  }
  // Whole blocks: byte k of a block is bits 8k..8k+7, i.e. the little-endian layout.
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "pattern blocks are stored little-endian");
  for (; i + 8 <= n; i += 8) {
    const uint64_t b = block((offset + i) / 8);
    std::memcpy(out + i, &b, 8);
  }
  for (; i < n; ++i) {
    const uint64_t pos = offset + i;
    out[i] = static_cast<uint8_t>(block(pos / 8) >> (8 * (pos % 8)));
  }
}

bool pattern_matches(uint64_t seed, uint64_t offset, const uint8_t* data, size_t n) {
  thread_local std::vector<uint8_t> expect(kChunk);
  for (size_t done = 0; done < n;) {
    const size_t len = std::min(kChunk, n - done);
    pattern_fill(seed, offset + done, expect.data(), len);
    if (std::memcmp(expect.data(), data + done, len) != 0) return false;
    done += len;
  }
  return true;
}

std::string pattern_string(uint64_t seed, uint64_t offset, size_t n) {
  std::string s(n, '\0');
  pattern_fill(seed, offset, reinterpret_cast<uint8_t*>(s.data()), n);
  return s;
}

std::string DuplexResult::describe(const DuplexLeg& leg) const {
  std::string s = fmt::format("sent {}/{} ({}), received {}/{} ending {}", sent, leg.send_len, to_string(send_end),
                              received, leg.recv_len, to_string(end));
  if (mismatch) s += ", DATA MISMATCH" + mismatch_origin(leg, *this);
  return s;
}

namespace {

// Records the first wrong byte of a received chunk `data[0..got)` whose first `checked` bytes
// were compared with stream `seed` at r.received (bytes past `checked` are beyond the stream).
void note_first_bad(uint64_t seed, DuplexResult& r, const uint8_t* data, size_t got, size_t checked) {
  std::vector<uint8_t> expect(checked);
  pattern_fill(seed, r.received, expect.data(), checked);
  size_t j = 0;
  while (j < checked && expect[j] == data[j]) ++j;  // j == checked: the extra bytes past the end
  r.first_bad = r.received + j;
  r.bad_sample.assign(reinterpret_cast<const char*>(data) + j, std::min<size_t>(32, got - j));
}

// Where in stream `seed` [from, to) the sample occurs, searching a generated copy.
std::optional<uint64_t> find_in_stream(uint64_t seed, uint64_t from, uint64_t to, const std::string& sample) {
  if (to <= from || sample.size() < 16) return std::nullopt;
  std::string hay = pattern_string(seed, from, static_cast<size_t>(to - from));
  const size_t at = hay.find(sample);
  if (at == std::string::npos) return std::nullopt;
  return from + at;
}

std::string mismatch_origin(const DuplexLeg& leg, const DuplexResult& r) {
  if (r.first_bad == UINT64_MAX) return "";
  std::string s = fmt::format(", first wrong byte at {}", r.first_bad);
  if (r.bad_sample.size() < 16) return s + " (too few bytes after it to trace)";
  constexpr uint64_t kWindow = 64ull << 20;  // how far around it, and into the other stream, to look
  const uint64_t lo = r.first_bad > kWindow ? r.first_bad - kWindow : 0;
  if (auto at = find_in_stream(leg.recv_seed, lo, std::min(leg.recv_len, r.first_bad + kWindow), r.bad_sample)) {
    if (*at < r.first_bad) return s + fmt::format(": a repeat of this stream's bytes from {} ({} back)", *at, r.first_bad - *at);
    return s + fmt::format(": this stream's bytes from {} ({} skipped)", *at, *at - r.first_bad);
  }
  if (leg.send_seed != leg.recv_seed) {
    if (auto at = find_in_stream(leg.send_seed, 0, std::min(leg.send_len, 4 * kWindow), r.bad_sample)) {
      return s + fmt::format(": the bytes this side sent, from offset {}", *at);
    }
  }
  return s + ": bytes from neither stream near there";
}

}  // namespace

std::vector<DuplexResult> run_duplex(const std::vector<DuplexLeg>& legs, Deadline d) {
  const size_t n = legs.size();
  std::vector<DuplexResult> res(n);
  std::vector<LegState> st(n);
  std::vector<pollfd> pfds;
  std::vector<size_t> idx;
  std::vector<uint8_t> buf(kChunk);
  for (const auto& leg : legs) set_nonblocking(leg.fd);

  auto finish_send = [&](size_t i, Outcome o) {
    st[i].send_done = true;
    res[i].send_end = o;
    if (o == Outcome::kOk && legs[i].shutdown_after_send) ::shutdown(legs[i].fd, SHUT_WR);
  };
  for (size_t i = 0; i < n; ++i) {
    if (legs[i].prefix.empty() && legs[i].send_len == 0) finish_send(i, Outcome::kOk);
  }

  for (;;) {
    pfds.clear();
    idx.clear();
    for (size_t i = 0; i < n; ++i) {
      short ev = 0;
      if (!st[i].send_done) ev |= POLLOUT;
      if (!st[i].recv_done) ev |= POLLIN;
      if (ev == 0) continue;
      pfds.push_back(pollfd{legs[i].fd, ev, 0});
      idx.push_back(i);
    }
    if (pfds.empty()) break;
    if (Clock::now() >= d) {
      for (size_t i : idx) {
        if (!st[i].send_done) res[i].send_end = Outcome::kTimeout;
        if (!st[i].recv_done) res[i].end = Outcome::kTimeout;
      }
      break;
    }
    const int ready = ::poll(pfds.data(), pfds.size(), poll_ms(d, 200));
    if (ready <= 0) continue;
    for (size_t k = 0; k < pfds.size(); ++k) {
      const size_t i = idx[k];
      const DuplexLeg& leg = legs[i];
      const short re = pfds[k].revents;
      if (re == 0) continue;
      // Receive first: a reset is then reported as the receive side's end.
      if (!st[i].recv_done && (re & (POLLIN | POLLHUP | POLLERR))) {
        for (int loops = 0; loops < 16; ++loops) {
          const ssize_t got = ::recv(leg.fd, buf.data(), buf.size(), MSG_DONTWAIT);
          if (got > 0) {
            const auto g = static_cast<uint64_t>(got);
            const uint64_t want = leg.recv_len > res[i].received ? leg.recv_len - res[i].received : 0;
            const uint64_t check = std::min(g, want);
            if (!pattern_matches(leg.recv_seed, res[i].received, buf.data(), check) || g > want) {
              if (!res[i].mismatch) note_first_bad(leg.recv_seed, res[i], buf.data(), g, check);
              res[i].mismatch = true;
            }
            res[i].received += g;
            continue;
          }
          if (got == 0) {
            st[i].recv_done = true;
            res[i].end = Outcome::kEof;
          } else if (errno != EAGAIN && errno != EINTR) {
            st[i].recv_done = true;
            res[i].end = errno == ECONNRESET ? Outcome::kReset : Outcome::kError;
          }
          break;
        }
      }
      if (!st[i].send_done && (re & (POLLOUT | POLLERR | POLLHUP))) {
        for (int loops = 0; loops < 16 && !st[i].send_done; ++loops) {
          const uint8_t* p;
          size_t len;
          const bool in_prefix = st[i].prefix_sent < leg.prefix.size();
          if (in_prefix) {
            p = reinterpret_cast<const uint8_t*>(leg.prefix.data()) + st[i].prefix_sent;
            len = leg.prefix.size() - st[i].prefix_sent;
          } else {
            len = static_cast<size_t>(std::min<uint64_t>(kChunk, leg.send_len - res[i].sent));
            pattern_fill(leg.send_seed, res[i].sent, buf.data(), len);
            p = buf.data();
          }
          const ssize_t put = ::send(leg.fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
          if (put > 0) {
            if (in_prefix) {
              st[i].prefix_sent += static_cast<size_t>(put);
            } else {
              res[i].sent += static_cast<uint64_t>(put);
            }
            if (st[i].prefix_sent == leg.prefix.size() && res[i].sent == leg.send_len) {
              finish_send(i, Outcome::kOk);
            }
            continue;
          }
          if (put < 0 && (errno == EAGAIN || errno == EINTR)) break;
          finish_send(i, put < 0 && (errno == EPIPE || errno == ECONNRESET) ? Outcome::kReset : Outcome::kError);
        }
      }
    }
  }
  return res;
}

DuplexLeg leg_for(int fd, const StreamHeader& h) {
  DuplexLeg leg;
  leg.fd = fd;
  leg.prefix = h.encode();
  leg.send_seed = h.c2b_seed;
  leg.send_len = h.c2b_len;
  leg.recv_seed = h.mode == StreamHeader::kEcho ? h.c2b_seed : h.b2c_seed;
  leg.recv_len = h.mode == StreamHeader::kEcho ? h.c2b_len : h.b2c_len;
  return leg;
}

std::string StreamHeader::encode() const {
  std::string s(kSize, '\0');
  char* p = s.data();
  std::memcpy(p + 0, &magic, 4);
  std::memcpy(p + 4, &mode, 4);
  std::memcpy(p + 8, &c2b_seed, 8);
  std::memcpy(p + 16, &c2b_len, 8);
  std::memcpy(p + 24, &b2c_seed, 8);
  std::memcpy(p + 32, &b2c_len, 8);
  return s;
}

bool StreamHeader::decode(const std::string& bytes, StreamHeader* out) {
  if (bytes.size() != kSize) return false;
  const char* p = bytes.data();
  std::memcpy(&out->magic, p + 0, 4);
  std::memcpy(&out->mode, p + 4, 4);
  std::memcpy(&out->c2b_seed, p + 8, 8);
  std::memcpy(&out->c2b_len, p + 16, 8);
  std::memcpy(&out->b2c_seed, p + 24, 8);
  std::memcpy(&out->b2c_len, p + 32, 8);
  return out->magic == kMagic && (out->mode == kEcho || out->mode == kStream);
}

DuplexFailures failures(const std::vector<DuplexLeg>& legs, const std::vector<DuplexResult>& results) {
  DuplexFailures f;
  for (size_t i = 0; i < legs.size(); ++i) {
    if (results[i].ok(legs[i])) continue;
    if (f.count++ < 5) f.first += fmt::format("\n  conn {}: {}", i, results[i].describe(legs[i]));
  }
  return f;
}

}  // namespace ringlb::it
