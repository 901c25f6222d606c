// TLS passes through untouched, with real peers: nginx terminates TLS behind ringlb with a
// certificate for gw.example.test signed by a CA made here; curl and openssl s_client connect
// through ringlb with SNI and verify the chain. Skips (with the reason) where a tool is missing.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "harness.h"
#include "nginx.h"
#include "sockets.h"

namespace ringlb::it {
namespace {

constexpr const char* kSni = "gw.example.test";

// CA + server certificate for kSni in dir: ca.crt, server.crt, server.key.
bool make_certificates(const TempDir& dir, const std::string& openssl, std::string* err) {
  write_file(dir.file("server.ext"), fmt::format("subjectAltName=DNS:{}\nbasicConstraints=CA:FALSE\n"
                                                 "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
                                                 kSni));
  const std::vector<std::vector<std::string>> steps = {
      {openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
       dir.file("ca.key"), "-out", dir.file("ca.crt"), "-days", "2", "-subj", "/CN=ringlb integration test CA",
       "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"},
      {openssl, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
       dir.file("server.key"), "-out", dir.file("server.csr"), "-subj", fmt::format("/CN={}", kSni)},
      {openssl, "x509", "-req", "-in", dir.file("server.csr"), "-CA", dir.file("ca.crt"), "-CAkey",
       dir.file("ca.key"), "-CAcreateserial", "-out", dir.file("server.crt"), "-days", "2", "-extfile",
       dir.file("server.ext")},
  };
  for (const auto& argv : steps) {
    const CommandResult r = run_command(argv, seconds(20));
    if (r.code() != 0) {
      *err = fmt::format("{} {}: {}: {}", argv[0], argv[1], describe_status(r.status), r.err);
      return false;
    }
  }
  return true;
}

std::string tls_server_block(const TempDir& dir, uint16_t port) {
  return fmt::format(R"(  server {{
    listen 127.0.0.1:{1} ssl reuseport;
    server_name {2};
    ssl_certificate {0}/server.crt;
    ssl_certificate_key {0}/server.key;
    location / {{ return 200 "sni=$ssl_server_name\n"; }}
  }})",
                     dir.path(), port, kSni);
}

TEST(TlsPassthrough, CurlAndOpensslThroughRinglbToNginx) {
  const std::string nginx_bin = find_program("nginx");
  const std::string curl = find_program("curl");
  const std::string openssl = find_program("openssl");
  if (nginx_bin.empty() || curl.empty() || openssl.empty()) {
    GTEST_SKIP() << "needs nginx, curl and openssl (scripts/deps installs them)";
  }
  TempDir dir;
  std::string err;
  ASSERT_TRUE(make_certificates(dir, openssl, &err)) << err;

  Nginx nginx;
  ASSERT_TRUE(nginx.start(dir, nginx_bin, tls_server_block(dir, nginx.port()), &err)) << err;

  ReservedPort lp = reserve_port();
  auto lb = start_ringlb(dir, simple_config(lp.port, {address("127.0.0.1", nginx.port())}), &err);
  ASSERT_TRUE(lb) << err;

  // curl: resolves the SNI name to ringlb's port, verifies the chain against our CA.
  const std::string url = fmt::format("https://{}:{}/", kSni, lp.port);
  const CommandResult c = run_command({curl, "-sS", "--noproxy", "*", "--max-time", "10", "--cacert", dir.file("ca.crt"), "--resolve",
                                       fmt::format("{}:{}:127.0.0.1", kSni, lp.port), "-w",
                                       "\\n%{http_code} %{ssl_verify_result}", url},
                                      seconds(15));
  ASSERT_EQ(c.code(), 0) << "curl: " << describe_status(c.status) << ": " << c.err;
  const size_t nl = c.out.rfind('\n');
  ASSERT_NE(nl, std::string::npos) << c.out;
  EXPECT_EQ(c.out.substr(0, nl), fmt::format("sni={}\n", kSni)) << "body";
  EXPECT_EQ(c.out.substr(nl + 1), "200 0") << "HTTP status and ssl_verify_result (0 = verified)";

  // openssl s_client: sees nginx's certificate (subject CN = the SNI name), verified by our CA.
  const CommandResult s = run_command({openssl, "s_client", "-connect", address("127.0.0.1", lp.port),
                                       "-servername", kSni, "-CAfile", dir.file("ca.crt"), "-verify_return_error"},
                                      seconds(15));
  EXPECT_EQ(s.code(), 0) << describe_status(s.status) << "\n" << s.out << s.err;
  EXPECT_NE(s.out.find(fmt::format("subject=CN = {}", kSni)), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("Verify return code: 0 (ok)"), std::string::npos) << s.out;
}

}  // namespace
}  // namespace ringlb::it
