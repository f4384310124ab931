// HttpServer: Forge's HTTP/1.1 server. Keep-alive, bounded header and body sizes (431/413),
// per-phase timeouts so that slow clients cannot hold it (slowloris), a connection cap (503),
// chunked streaming for Server-Sent Events, and graceful shutdown: stop accepting, close idle
// connections, let in-flight requests finish, force-close what is left after the drain time.
// HTTPS when given a certificate and key, which can be replaced without a restart.
#pragma once

#include "core/error.h"
#include "net/event_loop.h"
#include "net/http.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace forge::net {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8000; // 0 picks a free port (see HttpServer::port())
  bool reuse_port = false;   // SO_REUSEPORT: several processes share one port
  // A listening socket to serve instead of binding host:port (handed down by `forge manager`,
  // which shares one socket between a service's replicas: a replica that closes its copy resets
  // no queued connection, the others accept them). -1: none.
  int listen_fd = -1;
  // A second inherited listening socket served alongside (a replica's port of its own, which
  // `forge manager` hands down so that each replica of a shared port can be reached). -1: none.
  int own_listen_fd = -1;
  std::uint64_t max_body_bytes = 4 * 1024 * 1024;
  std::uint64_t max_header_bytes = 16 * 1024;
  std::chrono::milliseconds header_timeout{10'000};    // from first byte to end of headers
  std::chrono::milliseconds body_timeout{30'000};      // to receive the body
  std::chrono::milliseconds idle_timeout{60'000};      // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{30'000};     // for each write to the client
  std::chrono::milliseconds response_timeout{300'000}; // a handler must start answering by then
  std::size_t max_connections = 10'000;
  std::size_t max_stream_buffer = 8 * 1024 * 1024; // unread bytes per stream before it is cut
  bool access_log = true;
  // HTTPS when both are set: PEM certificate chain and private key, TLS 1.2 or newer. They are
  // read again (see HttpServer::reloadTls) on SIGHUP and when either file changes (checked every
  // tls_watch_interval; 0: not watched).
  std::string tls_cert_file;
  std::string tls_key_file;
  std::chrono::milliseconds tls_watch_interval{2'000};
};

class HttpServer {
public:
  virtual ~HttpServer() = default;

  // Binds, listens and starts accepting on the event loop. An error names the address.
  virtual core::Status listen() = 0;
  // The bound port (useful with port 0).
  virtual std::uint16_t port() const = 0;
  // Starts a graceful shutdown; `on_drained` runs (on a loop thread) once every connection has
  // closed, at the latest shortly after `drain_timeout`. Thread-safe; later calls are ignored.
  virtual void shutdown(std::chrono::milliseconds drain_timeout,
                        std::function<void()> on_drained) = 0;
  virtual bool draining() const = 0;
  // Reads the TLS certificate and key again: new connections present the new certificate,
  // open ones keep theirs. A pair that does not load (or match) is refused and the current one
  // kept; the error says why. kInvalidParams when the server does not serve TLS.
  virtual core::Status reloadTls() = 0;
  bool tls() const { return tls_; }
  virtual std::size_t connections() const = 0;

protected:
  bool tls_ = false;
};

std::unique_ptr<HttpServer> makeHttpServer(EventLoop& loop, HttpServerOptions options,
                                           Handler handler);

} // namespace forge::net
