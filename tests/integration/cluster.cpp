// Named backends and the who_serves() probe.
#include "cluster.h"

#include <fmt/format.h>

#include "sockets.h"

namespace ringlb::it {

NamedBackends::NamedBackends(int n) {
  for (int i = 0; i < n; ++i) {
    names_.push_back(fmt::format("backend-{}", i + 1));
    servers_.push_back(std::make_unique<TcpServer>(named_handler(names_.back())));
  }
}

std::vector<std::string> NamedBackends::addresses() const {
  std::vector<std::string> out;
  for (const auto& s : servers_) out.push_back(s->address());
  return out;
}

int NamedBackends::index_of_address(const std::string& address) const {
  for (size_t i = 0; i < servers_.size(); ++i) {
    if (servers_[i]->address() == address) return static_cast<int>(i);
  }
  return -1;
}

std::string NamedBackends::name_of(const std::string& address) const {
  const int i = index_of_address(address);
  return i < 0 ? std::string() : names_[static_cast<size_t>(i)];
}

std::string who_serves(uint16_t port, const std::string& source_ip, std::string* why) {
  ConnectOptions opt;
  opt.source_ip = source_ip;
  int err = 0;
  Fd fd = connect_to(port, opt, &err);
  if (!fd.valid()) {
    if (why) *why = fmt::format("connect from {}: errno {}", source_ip, -err);
    return "";
  }
  std::string name;
  const Outcome o = read_line(fd.get(), &name, deadline_in(seconds(5)));
  if (o != Outcome::kOk) {
    if (why) *why = fmt::format("from {}: no backend name ({})", source_ip, to_string(o));
    return "";
  }
  return name;
}

std::string loopback_ip(int n) { return fmt::format("127.0.0.{}", n); }

}  // namespace ringlb::it
