// RestApi: the management REST API, in ContextForge's shapes so that its registration scripts
// keep working:
//   /gateways        upstreams: list, register (connected and discovered at once), read,
//                    update, delete (disconnected), /{id}/state, /{id}/tools/refresh
//   /servers         virtual servers: CRUD, /{id}/state, /{id}/tools|resources|prompts
//   /tools, /resources, /prompts   what upstreams offer; /{id}/state; POST /prompts/{id} renders
//   /tags, /export, /import, /version
// Handlers validate on the I/O thread and hand database work to the catalog's StorageWorker;
// every error is JSON ({"detail", "error"}) with the status of its core::Errc.
#pragma once

#include "api/openapi.h"
#include "catalog/catalog.h"
#include "gateway/registry.h"
#include "net/router.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace forge::api {

class RestApi {
public:
  RestApi(catalog::Catalog& catalog, std::shared_ptr<gateway::UpstreamRegistry> registry,
          std::chrono::steady_clock::time_point started);

  // Registers every route and describes it in `doc`.
  void addRoutes(net::Router& router, OpenApiDocument& doc);

private:
  using Handler = void (RestApi::*)(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void route(net::Router& router, OpenApiDocument& doc, Operation op, Handler handler);

  void listGateways(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void createGateway(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void getGateway(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void updateGateway(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void deleteGateway(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void setGatewayState(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void refreshGateway(const net::RequestPtr&, const net::ResponseWriterPtr&);

  void listServers(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void createServer(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void getServer(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void updateServer(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void deleteServer(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void setServerState(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void serverTools(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void serverResources(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void serverPrompts(const net::RequestPtr&, const net::ResponseWriterPtr&);

  void listTools(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void getTool(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void setToolState(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void listResources(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void getResource(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void setResourceState(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void listPrompts(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void getPrompt(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void renderPrompt(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void setPromptState(const net::RequestPtr&, const net::ResponseWriterPtr&);

  void listTags(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void exportCatalog(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void importCatalog(const net::RequestPtr&, const net::ResponseWriterPtr&);
  void version(const net::RequestPtr&, const net::ResponseWriterPtr&);

  // Checks, on the storage thread, that the caller may change the object named by the path's
  // {id} (`what`: gateway, server, tools, resources, prompts), then runs `then`; answers 404
  // for objects of teams the caller cannot see and 403 for the others.
  void authorize(const net::RequestPtr& request, const net::ResponseWriterPtr& writer,
                 const std::string& what, std::function<void()> then);
  void setItemState(const char* table, const char* singular, const net::RequestPtr&,
                    const net::ResponseWriterPtr&);
  void serverMembers(storage::MemberKind kind, const net::RequestPtr&,
                     const net::ResponseWriterPtr&);

  catalog::Catalog& catalog_;
  std::shared_ptr<gateway::UpstreamRegistry> registry_;
  std::chrono::steady_clock::time_point started_;
};

} // namespace forge::api
