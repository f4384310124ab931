#include "server/admin_routes.h"

#include "api/openapi.h"
#include "api/respond.h"
#include "core/log.h"

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <unistd.h>

namespace forge::server {
namespace {

namespace json = boost::json;
using net::Method;

json::object levelBody(log::Level level) {
  return json::object{{"level", log::levelName(level)}, {"pid", static_cast<int>(::getpid())}};
}

bool mayChange(const net::Request& request) {
  const auto& caller = request.principal;
  return !caller || caller->isPlatformAdmin() || caller->development;
}

// The level a PUT asks for: {"level": "debug"} or ?level=debug.
core::Result<log::Level> requestedLevel(const net::Request& request) {
  std::string name = request.queryParam("level").value_or("");
  if (name.empty() && !request.body.empty()) {
    boost::system::error_code ec;
    const auto body = json::parse(request.body, ec);
    if (!ec && body.is_object()) {
      if (const auto* level = body.as_object().if_contains("level"); level && level->is_string())
        name = std::string(level->as_string());
    }
  }
  if (auto level = log::parseLevel(name)) return *level;
  return core::Error{
      core::Errc::kUnprocessable,
      fmt::format("level: '{}' is not one of trace, debug, info, warn, error, off", name)};
}

} // namespace

void addLogLevelRoutes(net::Router& router, api::OpenApiDocument& doc) {
  router.add(Method::kGet, "/admin/log-level",
             [](const net::RequestPtr&, const net::ResponseWriterPtr& writer) {
               api::sendJson(writer, 200, levelBody(log::currentLevel()));
             });
  router.add(Method::kPut, "/admin/log-level",
             [](const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
               if (!mayChange(*request)) {
                 return api::sendError(
                     writer, core::Error{core::Errc::kForbidden,
                                         "forbidden: changing the log level needs platform_admin"});
               }
               auto level = requestedLevel(*request);
               if (!level) return api::sendError(writer, level.error());
               const log::Level previous = log::currentLevel();
               const std::string line =
                   fmt::format("log level changed from {} to {} by {}", log::levelName(previous),
                               log::levelName(*level),
                               request->principal ? request->principal->actor() : "local");
               // The log shows when its level changed: written before a change that hides
               // warnings, after any other.
               const bool quieter = *level > log::Level::kWarn;
               if (quieter) log::emit(log::Level::kWarn, request->request_id, line);
               log::setLevel(*level);
               if (!quieter) log::emit(log::Level::kWarn, request->request_id, line);
               json::object body = levelBody(*level);
               body["previous"] = log::levelName(previous);
               api::sendJson(writer, 200, body);
             });
  doc.add({Method::kGet, "/admin/log-level", "The process's current log level and pid", "admin"});
  doc.add({Method::kPut,
           "/admin/log-level",
           "Change the log level at run time ({\"level\": \"debug\"}; platform admins)",
           "admin",
           "",
           "",
           200,
           {403, 422}});
}

} // namespace forge::server
