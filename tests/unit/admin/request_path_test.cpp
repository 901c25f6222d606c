// Mutation targets: the shapes accepted, percent-encoded IPv6 brackets, 404 vs 400.
#include "ringlb/admin/request_path.h"

#include <gtest/gtest.h>

namespace ringlb::admin {
namespace {

using S = ParsedPath::Status;

TEST(RequestPath, ParsesEachAction) {
  for (const auto& [text, action] : {std::pair{"drain", BackendAction::drain}, std::pair{"enable", BackendAction::enable},
                                     std::pair{"disable", BackendAction::disable}}) {
    const ParsedPath p = parse_backend_path(std::string("/pools/gw-1/backends/10.0.0.1:443/") + text);
    ASSERT_EQ(p.status, S::ok) << p.error;
    EXPECT_EQ(p.request.pool, "gw-1");
    EXPECT_EQ(p.request.backend.to_string(), "10.0.0.1:443");
    EXPECT_EQ(p.request.action, action);
    EXPECT_EQ(action_name(action), text);
  }
}

TEST(RequestPath, Ipv6PlainOrPercentEncodedAndQueryIgnored) {
  for (const char* t : {"/pools/p/backends/[::1]:8080/drain", "/pools/p/backends/%5B::1%5D:8080/drain",
                        "/pools/p/backends/%5b%3A%3a1%5d%3A8080/drain?x=1"}) {
    const ParsedPath p = parse_backend_path(t);
    ASSERT_EQ(p.status, S::ok) << t << ": " << p.error;
    EXPECT_EQ(p.request.backend.to_string(), "[::1]:8080") << t;
  }
}

TEST(RequestPath, WrongShapesAreNotFound) {
  for (const char* t : {"", "/", "/pools", "/pools/p", "/pools/p/backends/10.0.0.1:443",
                        "/pools/p/backends/10.0.0.1:443/drain/", "/pools/p/servers/10.0.0.1:443/drain",
                        "/pool/p/backends/10.0.0.1:443/drain", "/pools/p/backends/10.0.0.1:443/DRAIN",
                        "/pools/p/backends/10.0.0.1:443/reboot", "pools/p/backends/10.0.0.1:443/drain"}) {
    EXPECT_EQ(parse_backend_path(t).status, S::not_found) << "'" << t << "'";
  }
}

TEST(RequestPath, MalformedPartsAreBadRequests) {
  for (const char* t : {"/pools/p/backends/10.0.0.1/drain", "/pools/p/backends/host.example:443/drain",
                        "/pools/p/backends/::1:80/drain", "/pools//backends/10.0.0.1:443/drain",
                        "/pools/p/backends/%zz/drain", "/pools/p/backends/10.0.0.1:443%/drain",
                        "/pools/p/backends/10.0.0.1:70000/drain", "/pools/p/backends/%2F/drain"}) {
    const ParsedPath p = parse_backend_path(t);
    EXPECT_EQ(p.status, S::bad_request) << "'" << t << "'";
    EXPECT_FALSE(p.error.empty());
  }
}

TEST(RequestPath, PercentDecode) {
  EXPECT_EQ(percent_decode("a%20b+c"), "a b+c");
  EXPECT_EQ(percent_decode("%41%4a%4A"), "AJJ");
  EXPECT_FALSE(percent_decode("%4"));
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("%g0"));
}

}  // namespace
}  // namespace ringlb::admin
