// `forge-fixture`: the conformance fixture MCP server, over stdio or Streamable HTTP. Used by
// the test suite (as an upstream behind the gateway) and by the benchmarks (its `echo` tool).
#include "core/log.h"
#include "fixture/fixture_app.h"
#include "fixture/oauth.h"
#include "net/http_server.h"
#include "transport/stdio_server.h"
#include "transport/streamable_http.h"

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <csignal>
#include <memory>

#include <thread>

int main(int argc, char** argv) {
  using namespace forge;
  std::signal(SIGPIPE, SIG_IGN); // a client that went away is an error value, not a crash
  CLI::App app{"MCP conformance fixture server (tools, resources and prompts the official MCP "
               "conformance suite calls, plus echo/add/slow)",
               "forge-fixture"};
  bool stdio = false;
  std::string host = "127.0.0.1";
  int port = 3099;
  std::size_t threads = 1;
  fixture::FixtureOptions options;
  fixture::OAuthOptions oauth;
  int token_lifetime = 60;
  app.add_flag("--stdio", stdio, "Serve one session on stdin/stdout instead of HTTP");
  app.add_option("--host", host, "HTTP listen address")->capture_default_str();
  app.add_option("--port", port, "HTTP port; the endpoint is /mcp (0 picks one)")
      ->capture_default_str();
  app.add_option("--threads", threads, "I/O threads")->capture_default_str();
  app.add_option("--page-size", options.page_size, "Items per page of every list (0: no paging)");
  app.add_option("--echo-bytes", options.echo_payload_bytes, "Size of echo's default reply")
      ->capture_default_str();
  app.add_option("--oauth-client-secret", oauth.client_secret,
                 "Act as an OAuth-protected upstream: serve POST /oauth/token (client "
                 "credentials), GET /oauth/stats, POST /oauth/revoke, and require a bearer token "
                 "it issued on /mcp");
  app.add_option("--oauth-client-id", oauth.client_id, "The one OAuth client's id")
      ->capture_default_str();
  app.add_option("--oauth-token-lifetime", token_lifetime, "Seconds a token lives (expires_in)")
      ->capture_default_str()
      ->check(CLI::Range(1, 86'400));
  app.footer("Examples:\n  forge-fixture --port 3099        # http://127.0.0.1:3099/mcp\n"
             "  forge-fixture --stdio --page-size 2\n"
             "  forge-fixture --oauth-client-secret s3cret --oauth-token-lifetime 2");
  CLI11_PARSE(app, argc, argv);

  // stdout is the protocol channel in stdio mode: logs go to stderr (the default).
  log::configure(log::Level::kWarn, log::Format::kText);
  net::EventLoop loop(threads);
  auto fixture = fixture::makeFixtureApp(options);
  if (stdio) {
    std::thread io([&loop] { loop.run(); });
    const int code = transport::serveStdio(loop, fixture, STDIN_FILENO, STDOUT_FILENO);
    loop.stop();
    io.join();
    return code;
  }
  net::Router router;
  transport::StreamableHttp mcp(loop, fixture, {});
  mcp.addRoutes(router, "/mcp");
  std::unique_ptr<fixture::OAuthServer> oauth_server;
  if (!oauth.client_secret.empty()) {
    oauth.token_lifetime = std::chrono::seconds(token_lifetime);
    oauth_server = std::make_unique<fixture::OAuthServer>(oauth);
    oauth_server->addRoutes(router);
  }
  net::HttpServerOptions http;
  http.host = host;
  http.port = static_cast<std::uint16_t>(port);
  http.access_log = false;
  auto server = net::makeHttpServer(
      loop, http,
      [&router, &oauth_server](const net::RequestPtr& r, const net::ResponseWriterPtr& w) {
        if (oauth_server && r->path.starts_with("/mcp") && !oauth_server->admit(*r, w)) return;
        router.dispatch(r, w);
      });
  if (auto status = server->listen(); !status) {
    std::fprintf(stderr, "forge-fixture: %s\n", status.error().message.c_str());
    return 1;
  }
  std::fprintf(stderr, "forge-fixture listening on http://%s:%u/mcp\n", host.c_str(),
               server->port());
  loop.onTerminationSignal(
      [&](int) { server->shutdown(std::chrono::seconds(2), [&] { loop.stop(); }); });
  loop.run();
  return 0;
}
