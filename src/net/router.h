// Router: maps (method, path pattern) to a handler. Patterns are literal segments and
// "{name}" placeholders, e.g. "/servers/{id}/mcp"; a trailing "{name...}" matches the rest of the
// path. Unknown paths answer 404, known paths with another method 405 with an Allow header.
#pragma once

#include "net/http.h"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace forge::net {

class Router {
public:
  Router& add(Method method, std::string pattern, Handler handler);
  Router& add(std::vector<Method> methods, const std::string& pattern, const Handler& handler);

  // Matches the request, fills its params and runs the handler, or answers 404/405.
  void dispatch(const RequestPtr& request, const ResponseWriterPtr& writer) const;

  // The route patterns, for documentation checks (e.g. the OpenAPI test).
  std::vector<std::pair<Method, std::string>> routes() const;

private:
  struct Route {
    Method method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  static bool match(const Route& route, std::string_view path,
                    std::map<std::string, std::string, std::less<>>* params);
  // The routes that may match `path`, in the order they were added: those whose first segment
  // is the path's, and those that start with a placeholder.
  template <class Visit>
  void forEachCandidate(std::string_view path, Visit visit) const;

  std::vector<Route> routes_;
  // Route indexes by literal first segment, so that a request tries a handful of routes, not all.
  std::map<std::string, std::vector<std::size_t>, std::less<>> by_first_segment_;
  std::vector<std::size_t> placeholder_first_; // routes whose first segment is a placeholder
};

} // namespace forge::net
