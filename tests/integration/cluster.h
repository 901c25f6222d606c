// Named backends for the routing tests (stickiness, retries, health): N in-process servers that
// each send their name first, then echo; and who_serves(), which asks ringlb's data path which
// backend a client from a given source address reaches. Test thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "servers.h"

namespace ringlb::it {

class NamedBackends {
 public:
  explicit NamedBackends(int n);  // names backend-1 .. backend-n

  std::vector<std::string> addresses() const;
  std::string name_of(const std::string& address) const;  // "" if unknown
  TcpServer& server(int i) { return *servers_.at(i); }
  const std::string& name(int i) const { return names_.at(i); }
  int size() const { return static_cast<int>(servers_.size()); }
  int index_of_address(const std::string& address) const;  // -1 if unknown

 private:
  std::vector<std::unique_ptr<TcpServer>> servers_;
  std::vector<std::string> names_;
};

// Connects to 127.0.0.1:port from source_ip, reads the first line (the backend's name), closes
// cleanly. Returns the name, or "" with the reason in *why.
std::string who_serves(uint16_t port, const std::string& source_ip, std::string* why = nullptr);

// "127.0.0.N".
std::string loopback_ip(int n);

}  // namespace ringlb::it
