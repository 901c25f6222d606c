// The admin API from the outside, as an operator reaches it: curl for every request (a real
// HTTP client), a free port for global.admin, and a reader for the Prometheus text it returns.
// Test thread only; every call is bounded by curl's --max-time.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ringlb::it {

// A port on 127.0.0.1 that nothing listens on right now (bound to port 0 and closed; the
// kernel does not hand it out again at once).
uint16_t free_admin_port();

struct HttpReply {
  int status = 0;    // 0: curl failed (no answer); see `error`
  std::string body;
  std::string error;  // curl's stderr
};

// curl -g -X METHOD URL (plus extra args), status and body.
HttpReply http(const std::string& method, const std::string& url, const std::vector<std::string>& extra = {});

// "name{labels}" -> value for every sample line; the test fails on a line it cannot read.
std::map<std::string, double> parse_metrics(const std::string& text);
// Sum of every sample of family `name` (exactly that name, any labels).
double metric_sum(const std::map<std::string, double>& m, const std::string& name);

}  // namespace ringlb::it
