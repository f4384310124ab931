// `forge translate --stdio "CMD ARGS" --port N`: one stdio MCP server (one process) exposed to
// many clients over Streamable HTTP (/mcp) and HTTP+SSE (/sse, /message), under its own names.
#include "cli/commands.h"
#include "cli/split_command.h"
#include "core/log.h"
#include "gateway/gateway_app.h"
#include "net/http_server.h"
#include "net/router.h"
#include "transport/legacy_sse.h"
#include "transport/streamable_http.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace forge::cli {
namespace {

class TranslateCommand final : public Command {
public:
  std::string name() const override { return "translate"; }
  std::string synopsis() const override {
    return "Expose one stdio MCP server over Streamable HTTP and SSE";
  }

  void setup(CLI::App& app) override {
    app.add_option("--stdio", command_, "The server's command line, quoted")->required();
    app.add_option("--port", port_, "HTTP port")->capture_default_str();
    app.add_option("--host", host_, "Listen address")->capture_default_str();
    app.add_option("--allowed-host", allowed_hosts_, "Extra Host names to accept (repeatable)");
    app.add_option("--log-level", level_, "trace|debug|info|warn|error")->capture_default_str();
    app.footer(
        "Endpoints: http://HOST:PORT/mcp (Streamable HTTP), /sse + /message (HTTP+SSE).\n"
        "Example:\n"
        "  forge translate --stdio \"npx -y @modelcontextprotocol/server-everything\" --port 3101");
  }

  int run() override {
    auto argv = splitCommand(command_);
    if (argv.empty()) {
      std::fprintf(stderr,
                   "forge translate: --stdio needs a command, e.g. --stdio \"node server.js\"\n");
      return kExitUsage;
    }
    const auto level = log::parseLevel(level_);
    if (!level) {
      std::fprintf(stderr, "forge translate: unknown --log-level '%s'\n", level_.c_str());
      return kExitUsage;
    }
    log::configure(*level, log::Format::kText);

    net::EventLoop loop(0);
    auto registry = std::make_shared<gateway::UpstreamRegistry>(loop);
    upstream::UpstreamConfig server;
    server.name = "server";
    server.command = argv.front();
    server.args.assign(argv.begin() + 1, argv.end());
    registry->add(server);
    gateway::GatewayAppOptions options;
    options.server_name = "forge-translate";
    options.prefix_names = false;
    auto app = gateway::makeGatewayApp(registry, options);

    transport::HttpTransportOptions transport;
    transport.origin.allowed_hosts = allowed_hosts_;
    net::Router router;
    transport::StreamableHttp streamable(loop, app, transport);
    streamable.addRoutes(router, "/mcp");
    transport::LegacySse sse(loop, app, transport);
    sse.addRoutes(router, "/sse", "/message");

    net::HttpServerOptions http;
    http.host = host_;
    http.port = port_;
    http.access_log = false;
    auto server_ = net::makeHttpServer(
        loop, http, [&router](const net::RequestPtr& r, const net::ResponseWriterPtr& w) {
          router.dispatch(r, w);
        });
    if (auto status = server_->listen(); !status) {
      log::error("cannot start: {}", status.error().message);
      return kExitFailure;
    }
    registry->startAll();
    log::info("forge translate listening on http://{}:{}/mcp (and /sse) for '{}'", host_,
              server_->port(), command_);
    loop.onTerminationSignal([&](int) {
      streamable.endStreams();
      sse.endStreams();
      server_->shutdown(std::chrono::seconds(5), [&] {
        registry->stopAll();
        loop.stop();
      });
    });
    loop.run();
    return kExitOk;
  }

private:
  std::string command_;
  std::string host_ = "127.0.0.1";
  std::uint16_t port_ = 8100;
  std::vector<std::string> allowed_hosts_;
  std::string level_ = "info";
};

} // namespace

CommandPtr makeTranslateCommand() { return std::make_unique<TranslateCommand>(); }

} // namespace forge::cli
