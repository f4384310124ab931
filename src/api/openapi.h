// OpenApiDocument: the OpenAPI 3 description of every route a gateway serves. Routes are
// described where they are registered (the REST API, the MCP endpoints, health), so the
// document and the route table cannot drift apart unnoticed: a test compares them.
#pragma once

#include "net/http.h"

#include <boost/json/object.hpp>

#include <string>
#include <vector>

namespace forge::api {

struct Operation {
  net::Method method = net::Method::kGet;
  std::string path; // router pattern: "/gateways/{id}"
  std::string summary;
  std::string tag;
  std::string request_schema;  // component name of the JSON body, or empty
  std::string response_schema; // component name; "[Name]" for an array; empty: free-form
  int success_status = 200;
  std::vector<int> errors;          // documented error statuses
  std::vector<std::string> queries; // query parameter names
};

class OpenApiDocument {
public:
  void add(Operation operation) { operations_.push_back(std::move(operation)); }
  const std::vector<Operation>& operations() const { return operations_; }
  // The OpenAPI 3.0.3 document.
  boost::json::object render(const std::string& title, const std::string& version) const;

private:
  std::vector<Operation> operations_;
};

} // namespace forge::api
