#include "net/router.h"

#include <fmt/format.h>

namespace forge::net {
namespace {

std::vector<std::string> splitPath(std::string_view path) {
  std::vector<std::string> segments;
  std::size_t start = path.starts_with('/') ? 1 : 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    segments.emplace_back(
        path.substr(start, slash == std::string_view::npos ? path.npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return segments;
}

bool isPlaceholder(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

bool isRestPlaceholder(std::string_view segment) {
  return isPlaceholder(segment) && segment.ends_with("...}");
}

} // namespace

Router& Router::add(Method method, std::string pattern, Handler handler) {
  auto segments = splitPath(pattern);
  routes_.push_back(Route{method, std::move(pattern), std::move(segments), std::move(handler)});
  return *this;
}

Router& Router::add(std::vector<Method> methods, const std::string& pattern,
                    const Handler& handler) {
  for (Method m : methods)
    add(m, pattern, handler);
  return *this;
}

bool Router::match(const Route& route, std::string_view path,
                   std::map<std::string, std::string, std::less<>>* params) {
  const auto segments = splitPath(path);
  const auto& pattern = route.segments;
  std::size_t i = 0;
  for (; i < pattern.size(); ++i) {
    const std::string& expected = pattern[i];
    if (isRestPlaceholder(expected)) {
      if (params) {
        std::string rest;
        for (std::size_t j = i; j < segments.size(); ++j)
          rest += (j > i ? "/" : "") + segments[j];
        (*params)[expected.substr(1, expected.size() - 5)] = rest;
      }
      return i < segments.size();
    }
    if (i >= segments.size()) return false;
    if (isPlaceholder(expected)) {
      if (segments[i].empty()) return false;
      if (params) (*params)[expected.substr(1, expected.size() - 2)] = segments[i];
    } else if (expected != segments[i]) {
      return false;
    }
  }
  return i == segments.size();
}

void Router::dispatch(const RequestPtr& request, const ResponseWriterPtr& writer) const {
  std::string allowed;
  for (const auto& route : routes_) {
    if (!match(route, request->path, nullptr)) continue;
    const bool head_as_get = request->method == Method::kHead && route.method == Method::kGet;
    if (route.method == request->method || head_as_get) {
      match(route, request->path, &request->params);
      route.handler(request, writer);
      return;
    }
    allowed += allowed.empty() ? "" : ", ";
    allowed += methodName(route.method);
  }
  if (allowed.empty()) {
    writer->send(
        Response::error(core::Errc::kNotFound, fmt::format("no route for {}", request->path)));
    return;
  }
  auto response = Response::error(core::Errc::kMethodNotAllowed,
                                  fmt::format("{} is not allowed on {}; allowed: {}",
                                              methodName(request->method), request->path, allowed));
  response.headers.set("Allow", allowed);
  writer->send(std::move(response));
}

std::vector<std::pair<Method, std::string>> Router::routes() const {
  std::vector<std::pair<Method, std::string>> out;
  for (const auto& r : routes_)
    out.emplace_back(r.method, r.pattern);
  return out;
}

} // namespace forge::net
