#include "manager/manager.h"

#include "api/openapi.h"
#include "api/respond.h"
#include "core/log.h"
#include "core/version.h"
#include "identity/identity.h"
#include "manager/log_files.h"
#include "manager/proc_stats.h"
#include "manager/supervisor.h"
#include "net/http_proxy.h"
#include "server/admin_routes.h"
#include "storage/database.h"
#include "storage/migrations.h"
#include "storage/worker.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <charconv>
#include <filesystem>
#include <fstream>

namespace forge::manager {
namespace {

namespace json = boost::json;
using api::sendError;
using api::sendJson;
using net::Method;

constexpr int kDefaultTail = 100;
constexpr int kMaxTail = 10'000;

// Reads need catalog.read; operations are for platform admins.
bool permitted(const net::Request& request, const net::ResponseWriterPtr& writer,
               auth::Permission permission) {
  if (!request.principal || request.principal->may(permission)) return true;
  sendError(writer, core::Error{core::Errc::kForbidden,
                                fmt::format("forbidden: requires {} (platform admins)",
                                            auth::permissionName(permission))});
  return false;
}

core::Result<int> intParam(const std::optional<std::string>& text, const char* name, int fallback,
                           int min, int max) {
  if (!text || text->empty()) return fallback;
  int value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size() || value < min || value > max) {
    return core::Error{core::Errc::kUnprocessable,
                       fmt::format("{}: must be an integer from {} to {}", name, min, max)};
  }
  return value;
}

// Answers an operation: the service's status after it, or the error.
std::function<void(core::Status)> answerWith(Supervisor& supervisor, std::string name,
                                             net::ResponseWriterPtr writer) {
  return [&supervisor, name = std::move(name), writer](core::Status status) {
    if (!status) return sendError(writer, status.error());
    sendJson(writer, 200, supervisor.status(name));
  };
}

} // namespace

Manager::Manager(ManagerOptions options)
    : options_(std::move(options)), loop_(options_.io_threads),
      started_(std::chrono::steady_clock::now()) {
  http_ = net::makeHttpServer(
      loop_, options_.http,
      [this](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
        identity_->handle(request, writer,
                          [this](const net::RequestPtr& r, const net::ResponseWriterPtr& w) {
                            router_.dispatch(r, w);
                          });
      });
  if (options_.bluegreen.port != 0) {
    net::HttpServerOptions front;
    front.host = options_.bluegreen.host;
    front.port = options_.bluegreen.port;
    front.access_log = false;
    front_ = net::makeHttpServer(
        loop_, front, [this](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
          forwardToLive(request, writer);
        });
  }
}

Manager::~Manager() {
  if (supervisor_) supervisor_->shutdown();
  proxy_.reset();
  if (identity_) identity_->stop();
  if (storage_) storage_->stop();
}

core::Status Manager::start() {
  std::error_code ec;
  std::filesystem::create_directories(options_.data_dir, ec);
  if (ec) {
    return core::Error{
        core::Errc::kUnavailable,
        fmt::format("cannot create data directory '{}': {}", options_.data_dir, ec.message())};
  }
  auto identity =
      identity::Identity::prepare(options_.security, options_.data_dir, options_.http.host, loop_);
  if (!identity) return identity.error();
  identity_ = std::move(*identity);
  auto db = storage::openDatabase(options_.database_url.reveal(), options_.data_dir);
  if (!db) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("cannot open the database: {} (check database.url / "
                                   "DATABASE_URL)",
                                   db.error().message)};
  }
  storage_ = std::make_unique<storage::StorageWorker>(std::move(*db));
  auto version =
      storage_->call([](storage::Store& store) { return storage::migrate(store.database()); });
  if (!version) return version.error();
  if (auto status = identity_->start(*storage_); !status) return status;
  proxy_ = std::make_unique<net::HttpProxy>(loop_);
  supervisor_ = std::make_unique<Supervisor>(loop_, options_);
  addRoutes();
  if (auto status = http_->listen(); !status) return status;
  if (auto status = supervisor_->start(); !status) return status;
  if (front_) {
    std::ifstream saved(liveFile());
    std::string colour;
    if (saved >> colour && (colour == "blue" || colour == "green")) live_ = colour;
    if (auto status = front_->listen(); !status) return status;
    log::info("blue-green: serving {}:{}, live colour {} ({})", options_.bluegreen.host,
              front_->port(), live_,
              live_ == "blue" ? options_.bluegreen.blue : options_.bluegreen.green);
  }
  log::info("forge {} manager listening on http://{}:{} ({} service(s), logs in {}/logs)",
            core::kVersion, options_.http.host, http_->port(), options_.services.size(),
            options_.data_dir);
  return core::Ok{};
}

void Manager::run() {
  loop_.onTerminationSignal([this](int signal_number) {
    log::info("received {}: stopping the services", strsignal(signal_number));
    shutdown();
  });
  loop_.run();
  log::info("manager stopped");
}

void Manager::shutdown() {
  // Stopping services waits for their grace periods: not on an I/O thread.
  std::thread([this] {
    if (front_) front_->shutdown(std::chrono::milliseconds(2'000), [] {});
    supervisor_->shutdown();
    http_->shutdown(std::chrono::milliseconds(2'000), [this] { loop_.stop(); });
  }).detach();
}

std::uint16_t Manager::port() const { return http_->port(); }

void Manager::proxy(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  const std::string name(request->param("name"));
  if (!permitted(*request, writer, auth::Permission::kToolsExecute)) return;
  // The client's credentials are for the manager, never for the service behind it.
  request->headers.remove("Authorization");
  supervisor_->acquire(
      name, [this, name, request, writer](const core::Result<std::uint16_t>& port) {
        if (!port) return sendError(writer, port.error());
        const auto config = supervisor_->config(name);
        std::string target = config ? config->mcp_path : "/mcp";
        if (!request->query.empty()) target += "?" + request->query;
        proxy_->forward(request, writer, net::HttpProxy::Target{"127.0.0.1", *port, target},
                        [this, name](int) { supervisor_->release(name); });
      });
}

void Manager::addRoutes() {
  router_.add(Method::kGet, "/health",
              [this](const net::RequestPtr&, const net::ResponseWriterPtr& writer) {
                const auto [running, total] = supervisor_->counts();
                const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::steady_clock::now() - started_);
                sendJson(writer, 200,
                         json::object{{"status", running == total ? "ok" : "degraded"},
                                      {"services_running", running},
                                      {"services_total", total},
                                      {"version", core::kVersion},
                                      {"uptime_seconds", uptime.count()}});
              });
  router_.add(Method::kGet, "/services",
              [this](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
                if (!permitted(*request, writer, auth::Permission::kCatalogRead)) return;
                sendJson(writer, 200, supervisor_->statusAll());
              });
  auto known = [this](const net::Request& request, const net::ResponseWriterPtr& writer) {
    const std::string name(request.param("name"));
    if (supervisor_->has(name)) return true;
    sendError(writer, core::Error{core::Errc::kNotFound, fmt::format("no service named {}", name)});
    return false;
  };
  router_.add(Method::kGet, "/services/{name}",
              [this, known](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
                if (!permitted(*request, writer, auth::Permission::kCatalogRead)) return;
                if (!known(*request, writer)) return;
                sendJson(writer, 200, supervisor_->status(std::string(request->param("name"))));
              });
  using Operation = void (Supervisor::*)(const std::string&, Supervisor::Done);
  for (const auto& [verb, operation] :
       std::vector<std::pair<std::string, Operation>>{{"start", &Supervisor::startService},
                                                      {"stop", &Supervisor::stopService},
                                                      {"restart", &Supervisor::restartService},
                                                      {"sleep", &Supervisor::sleepService},
                                                      {"wake", &Supervisor::wakeService}}) {
    router_.add(Method::kPost, "/services/{name}/" + verb,
                [this, known, operation = operation](const net::RequestPtr& request,
                                                     const net::ResponseWriterPtr& writer) {
                  if (!permitted(*request, writer, auth::Permission::kUsersManage)) return;
                  if (!known(*request, writer)) return;
                  const std::string name(request->param("name"));
                  ((*supervisor_).*operation)(name, answerWith(*supervisor_, name, writer));
                });
  }
  router_.add(Method::kPost, "/services/{name}/scale",
              [this, known](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
                if (!permitted(*request, writer, auth::Permission::kUsersManage)) return;
                if (!known(*request, writer)) return;
                std::optional<std::string> replicas = request->queryParam("replicas");
                if (!replicas && !request->body.empty()) {
                  boost::system::error_code ec;
                  auto body = json::parse(request->body, ec);
                  if (!ec && body.is_object() && body.as_object().contains("replicas") &&
                      body.as_object().at("replicas").is_int64())
                    replicas = std::to_string(body.as_object().at("replicas").as_int64());
                }
                if (!replicas) {
                  return sendError(writer, core::Error{core::Errc::kUnprocessable,
                                                       "replicas: required ({\"replicas\": N} or "
                                                       "?replicas=N)"});
                }
                auto n = intParam(replicas, "replicas", 0, 0, 64);
                if (!n) return sendError(writer, n.error());
                const std::string name(request->param("name"));
                supervisor_->scale(name, *n, answerWith(*supervisor_, name, writer));
              });
  router_.add(Method::kGet, "/services/{name}/logs",
              [this, known](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
                if (!permitted(*request, writer, auth::Permission::kCatalogRead)) return;
                if (!known(*request, writer)) return;
                auto tail =
                    intParam(request->queryParam("tail"), "tail", kDefaultTail, 1, kMaxTail);
                if (!tail) return sendError(writer, tail.error());
                auto replica = intParam(request->queryParam("replica"), "replica", 0, 0, 63);
                if (!replica) return sendError(writer, replica.error());
                const std::string name(request->param("name"));
                json::array lines;
                for (auto& line : tailLines(supervisor_->logPath(name, *replica),
                                            static_cast<std::size_t>(*tail)))
                  lines.emplace_back(std::move(line));
                sendJson(writer, 200,
                         json::object{{"service", name}, {"replica", *replica}, {"lines", lines}});
              });
  router_.add(Method::kGet, "/services/{name}/metrics",
              [this, known](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
                if (!permitted(*request, writer, auth::Permission::kCatalogRead)) return;
                if (!known(*request, writer)) return;
                sendJson(writer, 200, supervisor_->metrics(std::string(request->param("name"))));
              });
  router_.add(Method::kGet, "/system/resources",
              [this](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
                if (!permitted(*request, writer, auth::Permission::kCatalogRead)) return;
                const auto sys = systemSample(options_.data_dir);
                sendJson(
                    writer, 200,
                    json::object{{"cpus", sys.cpus},
                                 {"load_average", json::array{sys.load1, sys.load5, sys.load15}},
                                 {"memory_total_bytes", sys.memory_total},
                                 {"memory_available_bytes", sys.memory_available},
                                 {"disk_total_bytes", sys.disk_total},
                                 {"disk_free_bytes", sys.disk_free}});
              });
  router_.add(Method::kGet, "/metrics",
              [this](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
                if (!permitted(*request, writer, auth::Permission::kCatalogRead)) return;
                net::Response response{200, {}, supervisor_->prometheus()};
                response.headers.set("Content-Type", "text/plain; version=0.0.4");
                writer->send(std::move(response));
              });
  router_.add({Method::kPost, Method::kGet, Method::kDelete}, "/services/{name}/mcp",
              [this](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
                proxy(request, writer);
              });
  router_.add(Method::kPost, "/reload",
              [this](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
                if (!permitted(*request, writer, auth::Permission::kUsersManage)) return;
                if (!options_.reload) {
                  return sendError(writer, core::Error{core::Errc::kUnavailable,
                                                       "this manager cannot reload its "
                                                       "configuration"});
                }
                auto services = options_.reload();
                if (!services) return sendError(writer, services.error());
                auto summary = supervisor_->reload(*services);
                if (!summary) return sendError(writer, summary.error());
                sendJson(writer, 200, *summary);
              });
  addBlueGreenRoutes();
  api::OpenApiDocument unused;
  server::addLogLevelRoutes(router_, unused);
  identity_->addRoutes(router_, unused);
}

// ---- blue-green ---------------------------------------------------------------------------------

std::string Manager::liveFile() const {
  return (std::filesystem::path(options_.data_dir) / "manager" / "bluegreen-live").string();
}

std::string Manager::liveColour() const {
  std::lock_guard lock(live_mutex_);
  return live_;
}

void Manager::forwardToLive(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  const auto& pair = options_.bluegreen;
  const std::string service = liveColour() == "blue" ? pair.blue : pair.green;
  supervisor_->acquire(service, [this, service, request,
                                 writer](const core::Result<std::uint16_t>& port) {
    if (!port) return sendError(writer, port.error());
    proxy_->forward(request, writer, net::HttpProxy::Target{"127.0.0.1", *port, request->target},
                    [this, service](int) { supervisor_->release(service); });
  });
}

void Manager::addBlueGreenRoutes() {
  auto configured = [this](const net::ResponseWriterPtr& writer) {
    if (front_) return true;
    sendError(writer, core::Error{core::Errc::kNotFound,
                                  "no blue-green pair: set bluegreen.port, bluegreen.blue and "
                                  "bluegreen.green in services.yml"});
    return false;
  };
  auto view = [this] {
    const auto& pair = options_.bluegreen;
    const std::string live = liveColour();
    json::object out{{"live", live},
                     {"live_service", live == "blue" ? pair.blue : pair.green},
                     {"port", front_->port()}};
    for (const auto& [colour, service] : {std::pair{"blue", pair.blue}, {"green", pair.green}})
      out[colour] = supervisor_->status(service);
    return out;
  };
  router_.add(Method::kGet, "/bluegreen",
              [this, configured, view](const net::RequestPtr& request,
                                       const net::ResponseWriterPtr& writer) {
                if (!permitted(*request, writer, auth::Permission::kCatalogRead)) return;
                if (!configured(writer)) return;
                sendJson(writer, 200, view());
              });
  // {"to": "green"} (or ?to=green); without it, the colour that is not live.
  router_.add(
      Method::kPost, "/bluegreen/switch",
      [this, configured, view](const net::RequestPtr& request,
                               const net::ResponseWriterPtr& writer) {
        const auto& pair = options_.bluegreen;
        if (!permitted(*request, writer, auth::Permission::kUsersManage)) return;
        if (!configured(writer)) return;
        std::string to = request->queryParam("to").value_or("");
        if (to.empty() && !request->body.empty()) {
          boost::system::error_code ec;
          auto body = json::parse(request->body, ec);
          if (!ec && body.is_object() && body.as_object().contains("to") &&
              body.as_object().at("to").is_string())
            to = body.as_object().at("to").as_string().c_str();
        }
        if (to.empty()) to = liveColour() == "blue" ? "green" : "blue";
        if (to != "blue" && to != "green") {
          return sendError(writer,
                           core::Error{core::Errc::kUnprocessable, "to: must be blue or green"});
        }
        const std::string service = to == "blue" ? pair.blue : pair.green;
        const auto status = supervisor_->status(service);
        if (status.at("state").as_string() != "running") {
          return sendError(
              writer,
              core::Error{core::Errc::kConflict,
                          fmt::format("{} ({}) is {}, not running: start it and test it "
                                      "before switching (forge bluegreen deploy)",
                                      to, service, status.at("state").as_string().c_str())});
        }
        {
          std::lock_guard lock(live_mutex_);
          live_ = to;
          std::ofstream(liveFile(), std::ios::trunc) << to << "\n";
        }
        log::info("blue-green: live colour is now {} ({})", to, service);
        sendJson(writer, 200, view());
      });
}

} // namespace forge::manager
