#include "server/gateway.h"

#include "core/log.h"
#include "core/version.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <csignal>
#include <filesystem>
#include <system_error>

namespace forge::server {
namespace {

// Creates the data directory (0700) if needed and checks that it is writable.
core::Status prepareDataDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("cannot create data directory '{}': {}", dir, ec.message())};
  }
  const auto probe = std::filesystem::path(dir) / ".write-test";
  std::FILE* f = std::fopen(probe.c_str(), "w");
  if (!f) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("data directory '{}' is not writable", dir)};
  }
  std::fclose(f);
  std::filesystem::remove(probe, ec);
  return core::Ok{};
}

} // namespace

Gateway::Gateway(GatewayOptions options)
    : options_(std::move(options)), loop_(options_.io_threads),
      started_(std::chrono::steady_clock::now()) {
  addBuiltinRoutes();
  http_ = net::makeHttpServer(
      loop_, options_.http,
      [this](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
        router_.dispatch(request, writer);
      });
}

Gateway::~Gateway() = default;

void Gateway::addBuiltinRoutes() {
  router_.add(net::Method::kGet, "/health",
              [this](const net::RequestPtr&, const net::ResponseWriterPtr& writer) {
                const auto uptime =
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - started_);
                boost::json::object body{{"status", "ok"},
                                         {"version", core::kVersion},
                                         {"uptime_seconds", uptime.count()}};
                writer->send(net::Response::json(200, boost::json::serialize(body)));
              });
  router_.add(net::Method::kGet, "/ready",
              [this](const net::RequestPtr&, const net::ResponseWriterPtr& writer) {
                const bool draining = http_->draining();
                boost::json::object body{{"status", draining ? "draining" : "ready"}};
                writer->send(
                    net::Response::json(draining ? 503 : 200, boost::json::serialize(body)));
              });
}

core::Status Gateway::start() {
  if (auto status = prepareDataDir(options_.data_dir); !status) return status;
  if (auto status = http_->listen(); !status) return status;
  log::info("forge {} gateway listening on http://{}:{} ({} I/O threads, data directory {})",
            core::kVersion, options_.http.host, http_->port(), loop_.threads(), options_.data_dir);
  return core::Ok{};
}

void Gateway::run() {
  loop_.onTerminationSignal([this](int signal_number) {
    if (http_->draining()) {
      log::warn("second signal ({}): stopping now", strsignal(signal_number));
      loop_.stop();
      return;
    }
    log::info("received {}: draining (up to {} ms)", strsignal(signal_number),
              options_.drain_timeout.count());
    shutdown();
  });
  loop_.run();
  log::info("gateway stopped");
}

void Gateway::shutdown() {
  http_->shutdown(options_.drain_timeout, [this] { loop_.stop(); });
}

std::uint16_t Gateway::port() const { return http_->port(); }

} // namespace forge::server
