// govconsole's HTTP server (server.h): routes, the bearer token, the Host
// check, and the refresher that re-verifies the log when it changes.
#include "console/server/server.h"

#include <fcntl.h>
#include <httplib.h>
#include <sodium.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "console/server/lineage_index.h"
#include "console/server/views.h"
#include "console/viewer/inclusion.h"
#include "console/web/page.h"
#include "runtime/lineage/format.h"
#include "runtime/lineage/log_io.h"
#include "runtime/service/client.h"
#include "runtime/support/clock.h"

namespace gov::console {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxPage = 500;
constexpr auto kLongPoll = std::chrono::seconds(20);

void SendJson(httplib::Response& response, const Json& body, int status = 200) {
  response.status = status;
  response.set_content(body.dump(-1, ' ', false, Json::error_handler_t::replace), "application/json");
}

void SendError(httplib::Response& response, int status, const std::string& message) {
  SendJson(response, {{"error", message}}, status);
}

bool TokenMatches(const std::string& header, const std::string& token) {
  const std::string expected = "Bearer " + token;
  return header.size() == expected.size() && sodium_memcmp(header.data(), expected.data(), expected.size()) == 0;
}

// The filter of a runs request, or an error naming the bad parameter.
ErrorOr<RunFilter> FilterOf(const httplib::Request& request) {
  RunFilter filter;
  filter.verdict = request.get_param_value("verdict");
  if (!filter.verdict.empty() && filter.verdict != "allow" && filter.verdict != "deny" && filter.verdict != "ask") {
    return Error{"verdict is allow, deny or ask"};
  }
  filter.program = request.get_param_value("program");
  filter.user = request.get_param_value("user");
  filter.rule = request.get_param_value("rule");
  filter.text = request.get_param_value("text");
  const std::int64_t now = UnixNowNs() / 1000000000;
  for (const char* name : {"since", "until"}) {
    const std::string value = request.get_param_value(name);
    if (value.empty()) continue;
    auto time = ParseTimeArgument(value, now);
    if (!time.ok()) return Error{std::string(name) + ": " + time.error().message};
    (std::string(name) == "since" ? filter.since : filter.until) = time.value();
  }
  const std::string exit = request.get_param_value("exit");
  if (!exit.empty()) {
    char* end = nullptr;
    const long status = std::strtol(exit.c_str(), &end, 10);
    if (*end != '\0' || status < 0 || status > 255) return Error{"exit is a status from 0 to 255"};
    filter.exit_status = static_cast<int>(status);
  }
  return filter;
}

std::size_t NumberParam(const httplib::Request& request, const char* name, std::size_t fallback, std::size_t max) {
  const std::string value = request.get_param_value(name);
  if (value.empty()) return fallback;
  char* end = nullptr;
  const unsigned long long number = std::strtoull(value.c_str(), &end, 10);
  if (*end != '\0') return fallback;
  return static_cast<std::size_t>(std::min<unsigned long long>(number, max));
}

// The Host header names this server (a page on another name — DNS rebinding —
// gets nothing even before the token is checked).
bool HostAllowed(const httplib::Request& request, const std::string& bound_host, int port) {
  const std::string host = request.get_header_value("Host");
  const std::string suffix = ":" + std::to_string(port);
  for (const std::string& name :
       {bound_host, std::string("127.0.0.1"), std::string("localhost"), std::string("[::1]")}) {
    if (host == name + suffix) return true;
  }
  return false;
}

// govd's metrics file in the lineage directory (docs/govd.md "Metrics"), at
// most 64 KiB; empty when there is none (govd not used, or --no-metrics).
std::string ReadServiceMetrics(const std::string& lineage_dir) {
  const int fd = open((lineage_dir + "/govd-metrics.prom").c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return "";
  struct stat st {};
  std::string text;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size <= 64 * 1024) {
    text.resize(static_cast<std::size_t>(st.st_size));
    const ssize_t got = read(fd, text.data(), text.size());
    text.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  }
  close(fd);
  return text;
}

// Makes `path` free for a new Unix socket: nothing there, or a socket no
// server answers on any more (removed). A live socket or any other file is
// an error and is left as it is.
ErrorOr<void> FreeSocketPath(const std::string& path) {
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return Error{"cannot listen on " + path + ": a Unix socket path has at most " +
                 std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes"};
  }
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return Error{"cannot listen on " + path + ": " + std::strerror(errno)};
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Error{"cannot listen on " + path + ": it exists and is not a socket (it was left as it is)"};
  }
  const int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe < 0) return Error{"cannot listen on " + path + ": " + std::strerror(errno)};
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const bool live = connect(probe, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  const int connect_errno = errno;
  close(probe);
  if (live) return Error{"cannot listen on " + path + ": another server answers on it"};
  if (connect_errno != ECONNREFUSED) {
    return Error{"cannot listen on " + path + ": " + std::strerror(connect_errno)};
  }
  if (unlink(path.c_str()) != 0) return Error{"cannot listen on " + path + ": " + std::strerror(errno)};
  return {};
}

}  // namespace

ErrorOr<void> ServeConsole(const ConsoleOptions& options, const std::function<void(int port)>& listening,
                           const std::function<bool()>& stop) {
  if (sodium_init() < 0) return Error{"libsodium cannot start"};
  LineageIndex index(options.lineage_dir, options.keys, options.index_path);
  if (auto started = index.Start(options.index_progress); !started.ok()) return started.error();
  const Json host = HostMechanisms();
  std::mutex refresh_mutex;
  std::string refresh_error;

  httplib::Server server;
  int port = 0;
  server.set_default_headers({{"X-Content-Type-Options", "nosniff"},
                              {"Referrer-Policy", "no-referrer"},
                              {"Cache-Control", "no-store"},
                              {"X-Frame-Options", "DENY"},
                              {"Cross-Origin-Resource-Policy", "same-origin"},
                              {"Cross-Origin-Opener-Policy", "same-origin"}});
  server.set_payload_max_length(64 * 1024);
  const bool on_unix_socket = !options.unix_socket.empty();
  server.set_pre_routing_handler([&](const httplib::Request& request, httplib::Response& response) {
    // No browser reaches a Unix socket by a name it resolved itself (only
    // through a proxy its operator set up), so DNS rebinding does not apply
    // there and the Host is whatever name the proxy serves.
    if (!on_unix_socket && !HostAllowed(request, options.host, port)) {
      SendError(response, 421, "this server answers only to its own address");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (request.path == "/") return httplib::Server::HandlerResponse::Unhandled;  // the page holds no lineage
    if (!TokenMatches(request.get_header_value("Authorization"), options.token)) {
      response.set_header("WWW-Authenticate", "Bearer realm=\"govconsole\"");
      SendError(response, 401, "a bearer token is required (govconsole prints where it is kept)");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  const WebPage page = ConsolePage();
  server.Get("/", [&page](const httplib::Request&, httplib::Response& response) {
    response.set_header("Content-Security-Policy", page.csp);
    response.set_content(page.html, "text/html; charset=utf-8");
  });
  server.Get("/api/overview", [&](const httplib::Request&, httplib::Response& response) {
    auto overview = Overview(index, host, UnixNowNs());
    if (!overview.ok()) return SendError(response, 503, overview.error().message);
    std::lock_guard<std::mutex> lock(refresh_mutex);
    overview.value()["refresh_error"] = refresh_error;
    SendJson(response, overview.value());
  });
  server.Get("/api/runs", [&](const httplib::Request& request, httplib::Response& response) {
    auto filter = FilterOf(request);
    if (!filter.ok()) return SendError(response, 400, filter.error().message);
    auto runs = RunsPage(index, filter.value(), NumberParam(request, "offset", 0, SIZE_MAX),
                         NumberParam(request, "limit", 100, kMaxPage));
    if (!runs.ok()) return SendError(response, 503, runs.error().message);
    SendJson(response, runs.value());
  });
  server.Get(R"(/api/runs/([0-9a-f]{32}))", [&](const httplib::Request& request, httplib::Response& response) {
    auto found = RunPage(index, request.matches[1]);
    if (!found.ok()) return SendError(response, 503, found.error().message);
    Json& run = found.value();
    if (run.is_null()) return SendError(response, 404, "no such run in the log");
    const std::uint64_t seq = run["run"].value("seq", std::uint64_t{0});
    const std::uint64_t published = run.value("published", std::uint64_t{0});
    if (run["run"].value("certified", false) && seq < published) {
      auto proof = InclusionProofJson(options.lineage_dir, seq, published);
      run["inclusion_proof"] = proof.ok() ? proof.value() : Json(nullptr);
      if (!proof.ok()) run["inclusion_proof_error"] = proof.error().message;
    }
    SendJson(response, run);
  });
  server.Get(R"(/api/runs/([0-9a-f]{32})/bundle)", [&](const httplib::Request& request, httplib::Response& response) {
    const std::string run = request.matches[1];
    char dir_template[] = "/tmp/govconsole-export-XXXXXX";
    if (mkdtemp(dir_template) == nullptr) return SendError(response, 500, "cannot make a temporary directory");
    const std::string out = std::string(dir_template) + "/run.lineage";
    auto exported =
        lineage::ExportBundleFromLog(options.lineage_dir + "/" + std::string(lineage::kLogFileName), run, out);
    std::string bytes;
    if (exported.ok()) {
      std::ifstream in(out, std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      bytes = text.str();
    }
    std::filesystem::remove_all(dir_template);
    if (!exported.ok()) return SendError(response, 404, exported.error().message);
    response.set_header("Content-Disposition", "attachment; filename=\"" + run + ".lineage\"");
    response.set_content(bytes, "application/octet-stream");
  });
  server.Get("/api/policies", [&](const httplib::Request&, httplib::Response& response) {
    auto policies = Policies(index, options.policies);
    if (!policies.ok()) return SendError(response, 503, policies.error().message);
    SendJson(response, policies.value());
  });
  // Live updates: answered as soon as the log's verified state is newer
  // than `after` (or after 20 s with the same generation).
  server.Get("/api/changes", [&](const httplib::Request& request, httplib::Response& response) {
    const std::uint64_t after = NumberParam(request, "after", 0, UINT64_MAX);
    index.WaitForChange(after, kLongPoll, stop);
    SendJson(response, {{"generation", index.generation()}});
  });
  // Approvals: govd's waiting asks, answered as this console's uid (govd
  // checks it; an approver never answers an ask of their own uid).
  server.Get("/api/approvals", [&](const httplib::Request&, httplib::Response& response) {
    if (options.approvals_socket.empty()) {
      SendJson(response, {{"version", 1},
                          {"available", false},
                          {"reason", "govconsole was started without --approvals-socket"},
                          {"asks", Json::array()}});
      return;
    }
    auto approver = service::ConnectApprover(options.approvals_socket, 5000);
    auto asks = approver.ok() ? approver.value()->Pending() : ErrorOr<Json>(approver.error());
    if (!asks.ok()) {
      SendError(response, 502, asks.error().message);
      return;
    }
    SendJson(response, {{"version", 1}, {"available", true}, {"uid", geteuid()}, {"asks", asks.value()}});
  });
  server.Post(R"(/api/approvals/([0-9a-f]{32}))", [&](const httplib::Request& request, httplib::Response& response) {
    Json body;
    try {
      body = Json::parse(request.body);
    } catch (const Json::exception&) {
      SendError(response, 400, "the body must be JSON: {\"approve\": true|false}");
      return;
    }
    if (!body.is_object() || !body.contains("approve") || !body["approve"].is_boolean()) {
      SendError(response, 400, "the body must be JSON: {\"approve\": true|false}");
      return;
    }
    if (options.approvals_socket.empty()) {
      SendError(response, 404, "govconsole was started without --approvals-socket");
      return;
    }
    auto approver = service::ConnectApprover(options.approvals_socket, 5000);
    if (!approver.ok()) {
      SendError(response, 502, approver.error().message);
      return;
    }
    auto answered = approver.value()->Answer(request.matches[1].str(), body["approve"].get<bool>());
    if (!answered.ok()) {
      SendError(response, 409, answered.error().message);
      return;
    }
    SendJson(response, {{"ok", true}});
  });
  server.Get("/metrics", [&](const httplib::Request&, httplib::Response& response) {
    auto metrics = Metrics(index, UnixNowNs(), ReadServiceMetrics(options.lineage_dir));
    if (!metrics.ok()) return SendError(response, 503, metrics.error().message);
    response.set_content(metrics.value(), "text/plain; version=0.0.4; charset=utf-8");
  });

  struct stat socket_file {};
  if (on_unix_socket) {
    if (auto freed = FreeSocketPath(options.unix_socket); !freed.ok()) return freed.error();
    server.set_address_family(AF_UNIX);
    // The socket file is created 0600: only this user may connect (the
    // token is still required on every API request).
    const mode_t previous = umask(0177);
    const bool bound = server.bind_to_port(options.unix_socket, 80);
    const int bind_errno = errno;
    umask(previous);
    if (!bound || lstat(options.unix_socket.c_str(), &socket_file) != 0) {
      return Error{"cannot listen on " + options.unix_socket + ": " + std::strerror(bind_errno)};
    }
  } else {
    if (options.port == 0) {
      port = server.bind_to_any_port(options.host);
    } else {
      port = server.bind_to_port(options.host, options.port) ? options.port : -1;
    }
    if (port <= 0) return Error{"cannot listen on " + options.host + ":" + std::to_string(options.port)};
  }
  // The socket file goes when the console does (unless something else
  // replaced it meanwhile).
  struct RemoveSocket {
    const std::string& path;
    const struct stat& made;
    ~RemoveSocket() {
      struct stat now {};
      if (!path.empty() && lstat(path.c_str(), &now) == 0 && now.st_dev == made.st_dev && now.st_ino == made.st_ino) {
        unlink(path.c_str());
      }
    }
  } remove_socket{options.unix_socket, socket_file};
  std::atomic<bool> served_out{false};
  std::thread refresher([&] {
    while (!stop() && !served_out) {
      std::this_thread::sleep_for(std::chrono::milliseconds(options.refresh_ms));
      auto refreshed = index.Refresh();
      std::lock_guard<std::mutex> lock(refresh_mutex);
      refresh_error = refreshed.ok() ? "" : refreshed.error().message;
    }
    server.stop();
  });
  listening(port);
  const bool served = server.listen_after_bind();
  served_out = true;
  refresher.join();
  if (!served && !stop()) return Error{"the server stopped"};
  return {};
}

}  // namespace gov::console
