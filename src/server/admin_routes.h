// Routes every long-running Forge process (gateway, manager) serves for its operators:
//   GET /admin/log-level   {"level", "pid"}: the level lines are written at now
//   PUT /admin/log-level   {"level": "debug"}: changes it at once, no restart; answers
//                          {"level", "previous", "pid"}. Platform admins only; the change is
//                          logged, and audited by the AccessGuard like every change.
// The pid says which process answered: replicas sharing one port are separate processes.
#pragma once

#include "net/router.h"

namespace forge::api {
class OpenApiDocument;
}

namespace forge::server {

void addLogLevelRoutes(net::Router& router, api::OpenApiDocument& doc);

} // namespace forge::server
