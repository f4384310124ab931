#include "identity/access_guard.h"

#include "core/log.h"
#include "net/url.h"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>

namespace forge::identity {
namespace {

using net::Method;

bool isPublic(const net::Request& request, bool public_metrics) {
  const std::string_view path = request.path;
  if (path.starts_with("/.well-known/")) return true;
  if (request.method == Method::kPost) return path == "/auth/email/login";
  if (request.method != Method::kGet && request.method != Method::kHead) return false;
  if (public_metrics && path == "/metrics") return true;
  return path == "/health" || path == "/ready" || path == "/openapi.json";
}

// The token of "Authorization: Bearer <token>"; empty if absent or another scheme.
std::string bearerToken(const net::Request& request) {
  const auto header = request.header("Authorization");
  if (!header || !net::startsWithIgnoreCase(*header, "bearer ")) return {};
  std::string_view token = header->substr(7);
  while (!token.empty() && token.front() == ' ')
    token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ')
    token.remove_suffix(1);
  return std::string(token);
}

// A Host header fit to be copied into a URL and a quoted header value: a name or address and an
// optional port, nothing else.
bool isPlainHost(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' ||
           c == '[' || c == ']';
  });
}

// "/servers/<id>/..." -> "<id>"; empty for other paths.
std::string_view serverIdOf(std::string_view path) {
  if (!path.starts_with("/servers/")) return {};
  path.remove_prefix(9);
  return path.substr(0, path.find('/'));
}

// Remembers the status a handler answered with, and records it in the audit log when the
// request was a change or was refused.
class AuditingWriter final : public net::ForwardingWriter {
public:
  AuditingWriter(net::ResponseWriterPtr inner, net::RequestPtr request, AuditLog& audit,
                 bool is_change)
      : ForwardingWriter(std::move(inner)), request_(std::move(request)), audit_(audit),
        is_change_(is_change) {}

  void send(net::Response response) override {
    note(response.status, response.status >= 400 ? response.body : std::string());
    inner_->send(std::move(response));
  }
  void startStream(int status, net::Headers headers) override {
    note(status, {});
    inner_->startStream(status, std::move(headers));
  }

private:
  void note(int status, std::string detail) {
    const bool denied = status == 401 || status == 403;
    if (!is_change_ && !denied) return;
    // Why a change was made (?reason=..., e.g. `forge security isolate --reason`) is kept with it.
    if (detail.empty()) detail = request_->queryParam("reason").value_or("");
    if (detail.size() > 300) detail.resize(300);
    audit_.record(auditRecordOf(*request_, request_->principal.get(), status, std::move(detail)));
  }

  net::RequestPtr request_;
  AuditLog& audit_;
  const bool is_change_;
};

} // namespace

bool isMcpPath(std::string_view path) {
  if (path == "/mcp" || path == "/sse" || path == "/message" || path == "/rpc") return true;
  // /services/<name>/mcp: an MCP server behind the service manager.
  if (path.starts_with("/upstreams/") || path.starts_with("/services/"))
    return path.ends_with("/mcp");
  if (path.starts_with("/servers/")) {
    return path.ends_with("/mcp") || path.ends_with("/sse") || path.ends_with("/message");
  }
  return false;
}

storage::AuditRecord auditRecordOf(const net::Request& request, const auth::Principal* caller,
                                   int status, std::string detail) {
  storage::AuditRecord r;
  r.actor = caller ? caller->actor() : "anonymous";
  r.action = fmt::format("{} {}", net::methodName(request.method), request.path);
  // "/gateways/<id>/state" -> target type "gateways", target id "<id>".
  std::string_view rest = request.path;
  if (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  const auto slash = rest.find('/');
  r.target_type = std::string(rest.substr(0, slash));
  if (slash != std::string_view::npos) {
    auto id = rest.substr(slash + 1);
    r.target_id = std::string(id.substr(0, id.find('/')));
  }
  r.status = status;
  r.result = status == 401 || status == 403 || status == 429 ? "denied"
             : status >= 400                                 ? "failed"
                                                             : "allowed";
  r.detail = std::move(detail);
  r.remote = request.remote_address;
  r.request_id = request.request_id;
  return r;
}

AccessGuard::AccessGuard(const SecurityOptions& options, Authenticator& authenticator,
                         AuditLog& audit)
    : options_(options), authenticator_(authenticator), audit_(audit),
      limiter_(options.rate_limit_keys) {}

PrincipalPtr AccessGuard::developmentPrincipal() {
  static const PrincipalPtr principal = [] {
    auto p = std::make_shared<auth::Principal>();
    p->role = auth::Role::kPlatformAdmin;
    p->development = true;
    return p;
  }();
  return principal;
}

void AccessGuard::handle(const net::RequestPtr& request, const net::ResponseWriterPtr& writer,
                         const net::Handler& next) {
  if (isPublic(*request, options_.public_metrics)) return next(request, writer);
  if (!options_.auth_required) return admit(request, writer, next, developmentPrincipal());
  std::string token = bearerToken(*request);
  if (token.empty()) {
    const bool in_url = request->queryParam("access_token") || request->queryParam("token");
    return refuse(*request, writer, nullptr,
                  core::Error{core::Errc::kUnauthorized,
                              in_url ? "send the token in the Authorization header, never in the "
                                       "URL"
                                     : "authentication required: send Authorization: Bearer "
                                       "<token>"});
  }
  authenticator_.authenticate(
      std::move(token), request->remote_address,
      [this, request, writer, next](const core::Result<PrincipalPtr>& principal) {
        if (!principal) return refuse(*request, writer, nullptr, principal.error());
        admit(request, writer, next, *principal);
      });
}

void AccessGuard::admit(const net::RequestPtr& request, const net::ResponseWriterPtr& writer,
                        const net::Handler& next, PrincipalPtr principal) {
  const auth::Principal& caller = *principal;
  if (caller.servers) {
    const auto id = serverIdOf(request->path);
    const bool in_scope =
        isMcpPath(request->path) && !id.empty() &&
        std::find(caller.servers->begin(), caller.servers->end(), id) != caller.servers->end();
    if (!in_scope) {
      return refuse(*request, writer, &caller,
                    core::Error{core::Errc::kForbidden,
                                "this token is limited to the MCP endpoints of its virtual "
                                "servers (/servers/<id>/mcp)"});
    }
  }
  if (!caller.development) {
    const auto decision = limiter_.take(caller.key(), options_.per_identity);
    if (!decision.allowed) {
      auto error =
          core::Error{core::Errc::kRateLimited,
                      fmt::format("rate limit exceeded ({} requests/s); retry after {} ms",
                                  options_.per_identity.per_second, decision.retry_after.count())};
      auto response = net::Response::error(error);
      response.headers.set("Retry-After",
                           std::to_string(static_cast<long long>(std::ceil(
                               static_cast<double>(decision.retry_after.count()) / 1000.0))));
      audit_.record(auditRecordOf(*request, &caller, 429, error.message));
      return writer->send(std::move(response));
    }
  }
  request->principal = std::move(principal);
  if (isMcpPath(request->path)) return next(request, writer);
  const bool is_change = request->method != Method::kGet && request->method != Method::kHead;
  next(request, std::make_shared<AuditingWriter>(writer, request, audit_, is_change));
}

void AccessGuard::refuse(const net::Request& request, const net::ResponseWriterPtr& writer,
                         const auth::Principal* caller, const core::Error& error) {
  auto response = net::Response::error(error);
  if (error.code == core::Errc::kForbidden) {
    // RFC 6750 §3.1: valid token, not enough rights for this.
    response.headers.set(
        "WWW-Authenticate",
        fmt::format("Bearer error=\"insufficient_scope\", resource_metadata=\"{}\"",
                    metadataUrl(request)));
  }
  if (error.code == core::Errc::kUnauthorized) {
    // RFC 6750 §3 and RFC 9728 §5.1: say where the metadata is, and why the token failed.
    std::string challenge = fmt::format("Bearer resource_metadata=\"{}\"", metadataUrl(request));
    if (bearerToken(request).empty()) {
      challenge += ", realm=\"forge\"";
    } else {
      std::string description = error.message;
      std::erase(description, '"');
      challenge += fmt::format(", error=\"invalid_token\", error_description=\"{}\"", description);
    }
    response.headers.set("WWW-Authenticate", std::move(challenge));
  }
  audit_.record(auditRecordOf(request, caller, response.status, error.message));
  log::emit(log::Level::kInfo, request.request_id, "request refused",
            {{"status", std::to_string(response.status)},
             {"path", request.path},
             {"remote", request.remote_address},
             {"reason", error.message}});
  writer->send(std::move(response));
}

std::string AccessGuard::baseUrl(const net::Request& request) const {
  if (!options_.public_url.empty()) return options_.public_url;
  const auto host = request.header("Host");
  if (!host || !isPlainHost(*host)) return "http://localhost";
  return fmt::format("http://{}", *host);
}

std::string AccessGuard::metadataUrl(const net::Request& request) const {
  const std::string base = baseUrl(request) + "/.well-known/oauth-protected-resource";
  return isMcpPath(request.path) ? base + request.path : base;
}

void AccessGuard::addRoutes(net::Router& router, api::OpenApiDocument& doc) {
  auto metadata = [this](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
    constexpr std::string_view kPrefix = "/.well-known/oauth-protected-resource";
    const std::string base = baseUrl(*request);
    boost::json::array servers;
    for (const auto& s : options_.authorization_servers)
      servers.emplace_back(s);
    if (servers.empty()) servers.emplace_back(base);
    boost::json::object body{
        {"resource", base + std::string(std::string_view(request->path).substr(kPrefix.size()))},
        {"authorization_servers", std::move(servers)},
        {"bearer_methods_supported", boost::json::array{"header"}},
        {"resource_name", "Forge MCP gateway"},
        {"scopes_supported", boost::json::array{"tools.execute", "catalog.read"}}};
    writer->send(net::Response::json(200, boost::json::serialize(body)));
  };
  router.add(Method::kGet, "/.well-known/oauth-protected-resource", metadata);
  router.add(Method::kGet, "/.well-known/oauth-protected-resource/{path...}", metadata);
  doc.add({Method::kGet, "/.well-known/oauth-protected-resource",
           "OAuth protected-resource metadata (RFC 9728)", "auth"});
  doc.add({Method::kGet, "/.well-known/oauth-protected-resource/{path...}",
           "Protected-resource metadata of one MCP endpoint (RFC 9728)", "auth"});
}

} // namespace forge::identity
