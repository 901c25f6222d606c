// The admin API's HTTP glue (see server.h). cpp-httplib may throw (std::bad_alloc, std::regex):
// handlers run under its exception handler, which answers 500; nothing escapes this file.
#include "ringlb/admin/server.h"

#include <errno.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <chrono>
#include <thread>

#include "ringlb/admin/backend_actions.h"
#include "ringlb/admin/request_path.h"
#include "ringlb/admin/status.h"
#include "ringlb/common/log.h"

namespace ringlb::admin {
namespace {

// Request threads: a scrape and an operator's curl at once, no more. Connections queue beyond.
constexpr size_t kThreads = 2;
// Admin requests carry no body worth having; a mutation is a bare POST.
constexpr size_t kMaxBody = 4096;
// Headers and the request line are capped by the packaged library at 8 KiB each
// (CPPHTTPLIB_HEADER_MAX_LENGTH, CPPHTTPLIB_REQUEST_URI_MAX_LENGTH, fixed at its build).
constexpr time_t kReadTimeoutS = 2;   // a client that stalls mid-request frees its thread
constexpr time_t kWriteTimeoutS = 2;
constexpr time_t kKeepAliveS = 2;
constexpr size_t kKeepAliveMax = 8;  // requests per connection, so one client cannot hold a thread
// serve() waits this long for the accept loop to run, so stop() can always end it.
constexpr auto kStartWait = std::chrono::seconds(2);

constexpr const char* kJson = "application/json";

std::string json_error(std::string_view message) {
  std::string out = "{\"error\":";
  log::append_json_string(out, message);
  out += "}\n";
  return out;
}

void reply_error(httplib::Response& res, int status, std::string_view message) {
  res.status = status;
  res.set_content(json_error(message), kJson);
}

// The library's own status texts are not exported by the packaged build: ours, for the statuses
// it sets by itself.
std::string_view status_text(int status) noexcept {
  switch (status) {
    case 400: return "bad request";
    case 404: return "no such endpoint";
    case 405: return "method not allowed";
    case 413: return "request body too large";
    case 414: return "request target too long";
    case 500: return "internal error";
    default: return "request failed";
  }
}

WorkerTotals totals(const Sources& s) { return sum_workers(s.workers); }

// Reads (and discards) a POST body, at most kMaxBody bytes. POST handlers take the body
// themselves because cpp-httplib 0.11 waits until the read timeout for the body of a POST that
// announces none (a bare `curl -X POST` sends no Content-Length): here a body is read only when
// Content-Length or chunked encoding announces one. False (reply already set) when too large.
bool consume_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
  if (!req.has_header("Content-Length") && req.get_header_value("Transfer-Encoding").empty()) return true;
  size_t got = 0;
  const bool ok = read([&got](const char*, size_t n) {
    got += n;
    return got <= kMaxBody;
  });
  if (ok) return true;
  if (res.status == 413 || got > kMaxBody) {
    reply_error(res, 413, "request body too large");
  } else {
    reply_error(res, 400, "could not read the request body");
  }
  res.set_header("Connection", "close");  // the rest of the body is never read
  return false;
}

void handle_mutation(const Sources& s, const httplib::Request& req, httplib::Response& res) {
  const ParsedPath parsed = parse_backend_path(req.target);
  if (parsed.status == ParsedPath::Status::not_found) return reply_error(res, 404, parsed.error);
  if (parsed.status == ParsedPath::Status::bad_request) return reply_error(res, 400, parsed.error);
  const BackendRequest& r = parsed.request;
  const ActionResult result = apply_and_publish(*s.store, r);
  if (result.status == ActionResult::Status::unknown_pool) return reply_error(res, 404, "no pool named '" + r.pool + "'");
  if (result.status == ActionResult::Status::unknown_backend) {
    return reply_error(res, 404, "pool '" + r.pool + "' has no backend " + r.backend.to_string());
  }
  log::info("admin_action", {{"action", action_name(r.action)}, {"pool", r.pool}, {"backend", r.backend.to_string()},
                             {"previous", result.previous}, {"state", result.current}, {"changed", result.changed},
                             {"generation", result.generation}, {"client", req.remote_addr}});
  std::string body = "{";
  body += "\"pool\":";
  log::append_json_string(body, r.pool);
  body += ",\"backend\":";
  log::append_json_string(body, r.backend.to_string());
  body += fmt::format(",\"action\":\"{}\",\"previous\":\"{}\",\"state\":\"{}\",\"changed\":{},\"generation\":{}}}\n",
                      action_name(r.action), result.previous, result.current, result.changed, result.generation);
  res.set_content(body, kJson);
}

void method_not_allowed(httplib::Response& res, const char* allow) {
  res.set_header("Allow", allow);
  reply_error(res, 405, std::string("method not allowed; use ") + allow);
}

void routes(httplib::Server& svr, const Sources& s) {
  svr.Get("/metrics", [&s](const httplib::Request&, httplib::Response& res) {
    const auto snap = s.store->load();
    res.set_content(render_metrics(totals(s), s.reloads(), *snap, s.sockmap_available), "text/plain; version=0.0.4; charset=utf-8");
  });
  svr.Get("/status", [&s](const httplib::Request&, httplib::Response& res) {
    const auto snap = s.store->load();
    res.set_content(render_status(*snap, totals(s)), kJson);
  });
  svr.Post(R"(/pools/.*)", httplib::Server::HandlerWithContentReader(
                               [&s](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
                                 if (consume_body(req, res, read)) handle_mutation(s, req, res);
                               }));
  // Mutations are POST only: any other method changes nothing.
  svr.Get(R"(/pools/.*)", [](const httplib::Request&, httplib::Response& res) { method_not_allowed(res, "POST"); });
  const httplib::Server::HandlerWithContentReader post_only = [](const httplib::Request& req, httplib::Response& res,
                                                                  const httplib::ContentReader& read) {
    if (consume_body(req, res, read)) method_not_allowed(res, "POST");
  };
  svr.Put(R"(/pools/.*)", post_only);
  svr.Delete(R"(/pools/.*)", post_only);
  svr.Patch(R"(/pools/.*)", post_only);
  const httplib::Server::HandlerWithContentReader get_only = [](const httplib::Request& req, httplib::Response& res,
                                                                 const httplib::ContentReader& read) {
    if (consume_body(req, res, read)) method_not_allowed(res, "GET");
  };
  svr.Post("/metrics", get_only);
  svr.Post("/status", get_only);
}

}  // namespace

struct AdminServer::Impl {
  httplib::Server http;
  Sources sources;
  std::thread thread;
  bool bound = false;
  bool stopped = false;
};

AdminServer::AdminServer() : impl_(std::make_unique<Impl>()) {}

AdminServer::~AdminServer() { stop(); }

Status AdminServer::bind(const Address& address) {
  httplib::Server& svr = impl_->http;
  svr.new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  svr.set_payload_max_length(kMaxBody);
  svr.set_read_timeout(kReadTimeoutS, 0);
  svr.set_write_timeout(kWriteTimeoutS, 0);
  svr.set_keep_alive_timeout(kKeepAliveS);
  svr.set_keep_alive_max_count(kKeepAliveMax);
  // SO_REUSEADDR only (the library's default adds SO_REUSEPORT on some versions): a second
  // ringlb on the same admin port must fail to start, not share it.
  svr.set_socket_options([](int fd) {
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  });
  svr.set_address_family(address.family);
  // Wrapped explicitly: a lambda converts to both error-handler overloads.
  svr.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& res) -> httplib::Server::HandlerResponse {
    // Statuses the library sets itself (404 no route, 413 body too large, 400, 414) get a JSON
    // body too; bodies our handlers wrote are kept.
    if (res.body.empty()) res.set_content(json_error(status_text(res.status)), kJson);
    return httplib::Server::HandlerResponse::Handled;
      }));
  svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    reply_error(res, 500, "internal error");
  });
  errno = 0;
  try {
    if (!svr.bind_to_port(address.ip_string(), address.port)) {
      const int err = errno;
      return Error{fmt::format("admin: cannot listen on {}: {}", address.to_string(),
                               err != 0 ? log::errno_name(err) : "bind failed")};
    }
  } catch (const std::exception& e) {
    return Error{fmt::format("admin: cannot listen on {}: {}", address.to_string(), e.what())};
  }
  impl_->bound = true;
  if (!address.is_loopback()) {
    log::warn("admin_exposed", {{"admin", address.to_string()},
                                {"reason", "the admin API has no authentication; bind it to loopback or firewall it"}});
  }
  return Ok{};
}

void AdminServer::serve(Sources sources) {
  if (!impl_->bound || impl_->thread.joinable()) return;
  impl_->sources = std::move(sources);
  routes(impl_->http, impl_->sources);
  impl_->thread = std::thread([this] {
    try {
      impl_->http.listen_after_bind();
    } catch (...) {
      log::error("admin_failed", {{"error", "the admin API's accept loop ended with an exception"}});
    }
  });
  // httplib::Server::stop() only ends a loop that is already running: wait for it.
  const auto deadline = std::chrono::steady_clock::now() + kStartWait;
  while (!impl_->http.is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void AdminServer::stop() noexcept {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace ringlb::admin
