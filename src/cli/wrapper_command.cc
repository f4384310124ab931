// `forge wrapper --url URL [--token T]`: for IDEs and clients that only speak stdio. Reads MCP
// from stdin and relays it to a Forge endpoint over Streamable HTTP (with the token as a Bearer
// credential), writing everything the gateway sends to stdout. Logs go to stderr only.
#include "cli/commands.h"
#include "core/log.h"
#include "gateway/gateway_app.h"
#include "transport/stdio_server.h"

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstdlib>
#include <thread>

namespace forge::cli {
namespace {

class WrapperCommand final : public Command {
public:
  std::string name() const override { return "wrapper"; }
  std::string synopsis() const override { return "Relay a stdio MCP client to a Forge endpoint"; }

  void setup(CLI::App& app) override {
    app.add_option("--url", url_, "The gateway's MCP endpoint, e.g. http://127.0.0.1:8000/mcp")
        ->required();
    app.add_option("--token", token_, "Bearer token (default: $FORGE_TOKEN)");
    app.add_option("--log-level", level_, "Logged to stderr")->capture_default_str();
    app.footer("Example (an IDE's MCP server entry):\n"
               "  {\"command\": \"forge\", \"args\": [\"wrapper\", \"--url\", "
               "\"http://127.0.0.1:8000/mcp\"]}");
  }

  int run() override {
    const auto level = log::parseLevel(level_);
    if (!level) {
      std::fprintf(stderr, "forge wrapper: unknown --log-level '%s'\n", level_.c_str());
      return kExitUsage;
    }
    log::configure(*level, log::Format::kText); // stderr: stdout carries the protocol
    if (token_.empty()) {
      if (const char* env = std::getenv("FORGE_TOKEN")) token_ = env;
    }
    net::EventLoop loop(1);
    auto registry = std::make_shared<gateway::UpstreamRegistry>(loop);
    upstream::UpstreamConfig gateway;
    gateway.name = "gateway";
    gateway.transport = "streamable-http";
    gateway.url = url_;
    if (!token_.empty()) gateway.headers["Authorization"] = "Bearer " + token_;
    registry->add(gateway);
    gateway::GatewayAppOptions options;
    options.server_name = "forge-wrapper";
    options.prefix_names = false;
    auto app = gateway::makeGatewayApp(registry, options);
    registry->startAll();
    std::thread io([&loop] { loop.run(); });
    const int code = transport::serveStdio(loop, app, STDIN_FILENO, STDOUT_FILENO);
    registry->stopAll();
    loop.stop();
    io.join();
    return code;
  }

private:
  std::string url_;
  std::string token_;
  std::string level_ = "warn";
};

} // namespace

CommandPtr makeWrapperCommand() { return std::make_unique<WrapperCommand>(); }

} // namespace forge::cli
