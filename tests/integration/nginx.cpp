// A real nginx backend: config, start, readiness.
#include "nginx.h"

#include <thread>

#include <fmt/format.h>

namespace ringlb::it {

bool Nginx::start(const TempDir& dir, const std::string& nginx_bin, const std::string& server_blocks,
                  std::string* err) {
  const std::string conf = fmt::format(R"(worker_processes 1;
master_process off;
events {{ worker_connections 128; }}
http {{
  access_log off;
  client_body_temp_path {0}/client_body;
  proxy_temp_path {0}/proxy;
  fastcgi_temp_path {0}/fastcgi;
  uwsgi_temp_path {0}/uwsgi;
  scgi_temp_path {0}/scgi;
  default_type text/plain;
{1}
}}
)",
                                       dir.path(), server_blocks);
  write_file(dir.file("nginx.conf"), conf);
  const std::string log = dir.file("nginx-error.log");
  if (!proc_.spawn({nginx_bin, "-e", log, "-p", dir.path(), "-c", dir.file("nginx.conf"), "-g",
                    fmt::format("daemon off; pid {}; error_log {};", dir.file("nginx.pid"), log)},
                   dir.file("nginx.stdout"), dir.file("nginx.stderr"), err)) {
    return false;
  }
  const Deadline up = deadline_in(seconds(10));
  while (Clock::now() < up && proc_.running()) {
    if (connect_to(port()).valid()) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  *err = fmt::format("nginx did not come up ({}):\n{}{}", describe_status(proc_.running() ? std::nullopt : proc_.status()),
                     read_file(dir.file("nginx.stderr")), read_file(log));
  return false;
}

}  // namespace ringlb::it
