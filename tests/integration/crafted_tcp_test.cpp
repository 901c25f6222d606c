// A client written segment by segment through a TUN device, to send what no socket API sends:
// retransmissions that partly overlap bytes the receiver already has, a gap that an overlapping
// segment fills, a FIN on an overlapping segment. On the sockmap path the verdict program gets
// whole skbs (tcp_read_skb does not skip a repeated head the way recv and splice do), so it must
// cut each repeated head itself. A lossy network makes such segments too rarely to test with
// (dropped segments come back whole, and TCP discards whole duplicates), so this test makes them
// on purpose. On the splice path the same exchange checks the test itself: on both paths the
// backend must receive every byte once, in order.
//
// It creates a TUN device and gives it an address, so it needs a network namespace of its own:
// meson runs it through lossy-netns (tests/integration/meson.build). Run in the host's
// namespace, it refuses and says so.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "harness.h"
#include "servers.h"
#include "sockets.h"

namespace ringlb::it {
namespace {

// TEST-NET-1 (RFC 5737): the host's end of the TUN device, and the crafted peer behind it.
constexpr const char* kHostIp = "192.0.2.1";
constexpr const char* kPeerIp = "192.0.2.2";
constexpr uint16_t kPeerPort = 40001;  // the crafted peer's own port: no socket of ours holds it
// The peer's initial sequence number sits 4 KiB below the wrap, so the stream's sequence
// numbers wrap past 2^32 in the middle of the test (the program compares them as u32 deltas).
constexpr uint32_t kPeerIss = 0xFFFFF000u;

// A network namespace whose only interface is loopback is one nobody else uses (what
// lossy-netns makes); the host's has its real interfaces.
bool in_private_netns(std::string* why) {
  struct if_nameindex* names = if_nameindex();
  if (names == nullptr) return *why = std::string("if_nameindex: ") + std::strerror(errno), false;
  std::string others;
  for (const struct if_nameindex* i = names; i->if_index != 0; ++i) {
    if (std::strcmp(i->if_name, "lo") != 0) others += std::string(others.empty() ? "" : ", ") + i->if_name;
  }
  if_freenameindex(names);
  if (others.empty()) return true;
  *why = "this network namespace has interfaces besides lo (" + others +
         "); the test adds a TUN device and an address, so it runs only in a namespace of its own: "
         "run it through tests/integration/lossy-netns, as meson does";
  return false;
}

uint16_t checksum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (; n > 1; p += 2, n -= 2) sum += static_cast<uint32_t>(p[0] << 8 | p[1]);
  if (n == 1) sum += static_cast<uint32_t>(p[0] << 8);
  while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

in_addr_t ip4(const char* text) {
  in_addr a{};
  inet_pton(AF_INET, text, &a);
  return a.s_addr;
}

// The TUN device "rlbt<N>" with kHostIp/24, up: what the kernel sends to kPeerIp is read from
// the fd, and what is written to the fd arrives as if from kPeerIp.
Fd open_tun(std::string* err) {
  const auto fail = [err](const char* step) {
    *err = std::string(step) + ": " + std::strerror(errno);
    return Fd();
  };
  Fd tun(open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!tun.valid()) return fail("open /dev/net/tun");
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, "rlbt%d", IFNAMSIZ - 1);
  if (ioctl(tun.get(), TUNSETIFF, &ifr) != 0) return fail("TUNSETIFF");

  Fd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq req{};
  std::memcpy(req.ifr_name, ifr.ifr_name, IFNAMSIZ);
  auto* sin = reinterpret_cast<sockaddr_in*>(&req.ifr_addr);
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = ip4(kHostIp);
  if (ioctl(s.get(), SIOCSIFADDR, &req) != 0) return fail("SIOCSIFADDR");
  sin->sin_addr.s_addr = ip4("255.255.255.0");
  if (ioctl(s.get(), SIOCSIFNETMASK, &req) != 0) return fail("SIOCSIFNETMASK");
  if (ioctl(s.get(), SIOCGIFFLAGS, &req) != 0) return fail("SIOCGIFFLAGS");
  req.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s.get(), SIOCSIFFLAGS, &req) != 0) return fail("SIOCSIFFLAGS");
  return tun;
}

// One TCP connection from kPeerIp:kPeerPort, every segment built by hand. Sequence offsets
// are relative to the first data byte (the peer's ISN + 1).
class CraftedPeer {
 public:
  CraftedPeer(int tun, uint16_t server_port) : tun_(tun), server_port_(server_port) {}

  // SYN (MSS 1400, no timestamps or window scaling: segments stay simple), SYN-ACK, ACK.
  bool connect(Deadline d, std::string* err) {
    send_segment(kPeerIss, TH_SYN, {}, /*mss_option=*/true);
    Received r;
    while (receive(&r, d)) {
      if ((r.flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK) && r.ack == kPeerIss + 1) {
        server_next_ = r.seq + 1;
        send_segment(kPeerIss + 1, TH_ACK, {});
        return true;
      }
    }
    *err = "no SYN-ACK from the listener";
    return false;
  }

  void send_data(uint32_t offset, std::string_view bytes, bool fin = false) {
    send_segment(kPeerIss + 1 + offset, static_cast<uint8_t>(TH_ACK | TH_PUSH | (fin ? TH_FIN : 0)), bytes);
  }

  // Reads until the server's FIN (the proxy forwarding the backend's close), then ACKs it so
  // the proxy's socket closes cleanly.
  bool await_fin(Deadline d) {
    Received r;
    while (receive(&r, d)) {
      if (r.flags & TH_RST) return false;
      if (!(r.flags & TH_FIN)) continue;
      server_next_ = r.seq + r.payload + 1;
      send_segment(fin_seq_ + 1, TH_ACK, {});
      return true;
    }
    return false;
  }

 private:
  struct Received {
    uint32_t seq = 0, ack = 0, payload = 0;
    uint8_t flags = 0;
  };

  void send_segment(uint32_t seq, uint8_t flags, std::string_view payload, bool mss_option = false) {
    if (flags & TH_FIN) fin_seq_ = seq;
    const size_t tcp_len = sizeof(tcphdr) + (mss_option ? 4 : 0);
    alignas(8) uint8_t pkt[sizeof(iphdr) + sizeof(tcphdr) + 4 + 2048] = {};
    ASSERT_LE(payload.size(), 2048u);
    auto* ip = reinterpret_cast<iphdr*>(pkt);
    auto* tcp = reinterpret_cast<tcphdr*>(pkt + sizeof(iphdr));
    const size_t total = sizeof(iphdr) + tcp_len + payload.size();
    ip->version = 4;
    ip->ihl = sizeof(iphdr) / 4;
    ip->tot_len = htons(static_cast<uint16_t>(total));
    ip->id = htons(ip_id_++);
    ip->frag_off = htons(IP_DF);
    ip->ttl = 64;
    ip->protocol = IPPROTO_TCP;
    ip->saddr = ip4(kPeerIp);
    ip->daddr = ip4(kHostIp);
    ip->check = htons(checksum(pkt, sizeof(iphdr)));
    tcp->source = htons(kPeerPort);
    tcp->dest = htons(server_port_);
    tcp->seq = htonl(seq);
    tcp->ack_seq = htonl(flags & TH_ACK ? server_next_ : 0);
    tcp->doff = static_cast<uint16_t>(tcp_len / 4);
    tcp->th_flags = flags;
    tcp->window = htons(65535);
    uint8_t* opt = pkt + sizeof(iphdr) + sizeof(tcphdr);
    if (mss_option) {
      opt[0] = TCPOPT_MAXSEG;
      opt[1] = TCPOLEN_MAXSEG;
      opt[2] = 1400 >> 8;
      opt[3] = 1400 & 0xFF;
    }
    std::copy(payload.begin(), payload.end(), pkt + sizeof(iphdr) + tcp_len);  // not memcpy: UB with an empty view's null data()
    // Pseudo-header: source, destination, protocol, TCP length.
    uint32_t sum = 0;
    for (const in_addr_t a : {ip->saddr, ip->daddr}) {
      const uint32_t h = ntohl(a);
      sum += (h >> 16) + (h & 0xFFFF);
    }
    sum += IPPROTO_TCP + static_cast<uint32_t>(tcp_len + payload.size());
    tcp->check = htons(checksum(pkt + sizeof(iphdr), tcp_len + payload.size(), sum));
    ASSERT_EQ(write(tun_, pkt, total), static_cast<ssize_t>(total)) << std::strerror(errno);
  }

  // The next segment from the listener's port to the peer; false at the deadline.
  bool receive(Received* out, Deadline d) {
    alignas(8) uint8_t buf[65536];
    for (;;) {
      const ssize_t n = read(tun_, buf, sizeof buf);
      if (n < 0) {
        if (errno != EAGAIN) return false;
        pollfd p{tun_, POLLIN, 0};
        if (poll(&p, 1, poll_ms(d, 100)) == 0 && Clock::now() >= d) return false;
        continue;
      }
      const auto* ip = reinterpret_cast<const iphdr*>(buf);
      if (static_cast<size_t>(n) < sizeof(iphdr) + sizeof(tcphdr) || ip->version != 4 || ip->protocol != IPPROTO_TCP) {
        continue;  // IPv6 router solicitations and the like
      }
      const size_t ihl = ip->ihl * 4u;
      if (static_cast<size_t>(n) < ihl + sizeof(tcphdr)) continue;
      const auto* tcp = reinterpret_cast<const tcphdr*>(buf + ihl);
      if (ntohs(tcp->source) != server_port_ || ntohs(tcp->dest) != kPeerPort) continue;
      out->seq = ntohl(tcp->seq);
      out->ack = ntohl(tcp->ack_seq);
      out->flags = tcp->th_flags;
      out->payload = static_cast<uint32_t>(ntohs(ip->tot_len) - ihl - tcp->doff * 4u);
      return true;
    }
  }

  int tun_;
  uint16_t server_port_;
  uint32_t server_next_ = 0;
  uint32_t fin_seq_ = 0;
  uint16_t ip_id_ = 1;
};

// The bytes the peer sends: the prologue byte, then pseudo-random bytes, so that a range
// repeated or skipped shows as a mismatch.
std::string pattern(size_t n) {
  std::string s(n, '\0');
  s[0] = kPrologue;
  uint32_t x = 2463534242u;
  for (size_t i = 1; i < n; ++i) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;  // xorshift32
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

TEST(CraftedTcp, OverlappingRetransmissionsReachTheBackendOnce) {
  std::string why;
  if (!in_private_netns(&why)) GTEST_SKIP() << why;
  const char* env_datapath = std::getenv("RINGLB_IT_DATAPATH");
  const bool sockmap = env_datapath != nullptr && std::string(env_datapath) == "sockmap";

  std::string err;
  Fd tun = open_tun(&err);
  ASSERT_TRUE(tun.valid()) << err;

  TempDir dir;
  HandlerReport report;
  auto received = std::make_shared<std::string>();
  TcpServer backend([&report, received](int fd, const std::atomic<bool>&) {
    if (!await_prologue(fd)) return;  // a health probe
    std::string rest;
    const Outcome o = read_to_eof(fd, &rest, deadline_in(seconds(20)));
    *received = std::string(1, kPrologue) + rest;
    report.set(o == Outcome::kEof, to_string(o));
  });
  ReservedPort lp = reserve_port(kHostIp);
  ConfigSpec spec = simple_config(lp.port, {backend.address()});
  spec.listeners[0].ip = kHostIp;
  spec.pools[0].health_interval = "1s";
  const std::string cfg = dir.file("ringlb.toml");
  write_file(cfg, to_toml(spec));
  RinglbProcess lb(dir, cfg, {"env", "RINGLB_LOG_LEVEL=debug"});  // promotion and cut counts are debug lines
  ASSERT_TRUE(lb.start_and_wait_ready(&err)) << err;

  CraftedPeer peer(tun.get(), lp.port);
  ASSERT_TRUE(peer.connect(deadline_in(seconds(5)), &err)) << err;
  if (sockmap) {
    // RINGLB_IT_PROMOTE_AFTER=0B (meson): promoted as soon as the backend is connected, so
    // every segment below goes through the verdict program.
    ASSERT_TRUE(lb.wait_event("sockmap_promoted", {}, seconds(5))) << lb.log_tail();
  }

  // Offsets of the first data byte; the comments give what the receiver already has.
  const std::string data = pattern(7600);
  const auto send = [&](uint32_t from, uint32_t to, bool fin = false) {
    peer.send_data(from, std::string_view(data).substr(from, to - from), fin);
  };
  send(0, 1000);
  send(500, 1500);   // has [0,1000): repeats 500 bytes
  send(1500, 2500);
  send(1000, 2000);  // all of it repeated: TCP drops it before anything sees it
  send(2400, 3400);  // has [0,2500): repeats 100
  send(3400, 3401);
  send(3000, 4500);  // has [0,3401): repeats 401; the sequence numbers wrap at offset 4095
  send(4500, 6000);
  send(6500, 7500);  // out of order: waits in TCP's out-of-order queue
  send(6000, 7000);  // fills the gap; the queued [6500,7500) then repeats 500 bytes
  send(7000, 7600, /*fin=*/true);  // has [0,7500): repeats 500, and carries the FIN
  constexpr uint64_t kRepeated = 500 + 100 + 401 + 500 + 500;

  ASSERT_TRUE(report.wait(seconds(20))) << "the backend never saw the end of the stream";
  EXPECT_TRUE(report.ok()) << "backend: " << report.what();
  ASSERT_EQ(received->size(), data.size()) << "bytes lost or repeated";
  const auto mismatch = std::mismatch(data.begin(), data.end(), received->begin());
  EXPECT_TRUE(mismatch.first == data.end()) << "first wrong byte at offset " << (mismatch.first - data.begin());

  // The backend's close comes back as a FIN, and the proxy frees the connection.
  EXPECT_TRUE(peer.await_fin(deadline_in(seconds(10)))) << "no FIN back from the proxy";
  if (sockmap) {
    EXPECT_TRUE(lb.wait_event("sockmap_repeated_bytes", {{"direction", "c2b"}, {"bytes", std::to_string(kRepeated)}},
                              seconds(5)))
        << "the program did not report cutting exactly " << kRepeated << " repeated bytes\n"
        << lb.log_tail();
  }
}

}  // namespace
}  // namespace ringlb::it
