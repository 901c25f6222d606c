// curl-based admin client and metrics reader (see admin_client.h).
#include "admin_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>

#include "process.h"

namespace ringlb::it {

uint16_t free_admin_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ADD_FAILURE() << "cannot find a free port";
  }
  if (fd >= 0) ::close(fd);
  return ntohs(a.sin_port);
}

HttpReply http(const std::string& method, const std::string& url, const std::vector<std::string>& extra) {
  // -g: no URL globbing, so "[::1]" is sent as written; the status goes last on its own line.
  std::vector<std::string> argv = {"curl", "-sS", "-g", "--max-time", "5", "-X", method, "-w", "\n%{http_code}"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  const CommandResult r = run_command(argv, milliseconds(10000));
  HttpReply reply;
  reply.error = r.err;
  const size_t nl = r.out.rfind('\n');
  if (r.code() != 0 || nl == std::string::npos) return reply;
  reply.status = std::atoi(r.out.c_str() + nl + 1);
  reply.body = r.out.substr(0, nl);
  return reply;
}

std::map<std::string, double> parse_metrics(const std::string& text) {
  std::map<std::string, double> m;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) {
      ADD_FAILURE() << "not a sample line: " << line;
      continue;
    }
    m[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return m;
}

double metric_sum(const std::map<std::string, double>& m, const std::string& name) {
  double sum = 0;
  for (const auto& [key, value] : m) {
    if (key == name || key.rfind(name + "{", 0) == 0) sum += value;
  }
  return sum;
}

}  // namespace ringlb::it
