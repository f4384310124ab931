#include "cli/api_client.h"

#include "net/http_client.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

namespace forge::cli {

namespace json = boost::json;

core::Result<Answer> ApiClient::call(net::Method method, const std::string& path,
                                     const json::value* body) const {
  net::HttpRequestSpec spec;
  spec.method = method;
  spec.url = base_ + path;
  spec.timeout = timeout_;
  spec.verify_peer = verify_peer_;
  spec.headers.set("Accept", "application/json");
  if (!token_.empty()) spec.headers.set("Authorization", "Bearer " + token_);
  if (body) {
    spec.headers.set("Content-Type", "application/json");
    spec.body = json::serialize(*body);
  }
  auto response = net::fetch(spec);
  if (!response) return response.error();
  Answer answer;
  answer.status = response->status;
  answer.text = std::move(response->body);
  boost::system::error_code ec;
  auto parsed = json::parse(answer.text, ec);
  if (!ec) answer.body = std::move(parsed);
  return answer;
}

std::string ApiClient::detail(const Answer& answer) {
  std::string text;
  if (answer.body.is_object()) {
    if (const auto* d = answer.body.get_object().if_contains("detail")) {
      text = d->is_string() ? std::string(d->get_string()) : json::serialize(*d);
    }
  }
  if (text.empty()) text = answer.text.substr(0, 200);
  return text.empty() ? fmt::format("HTTP {}", answer.status)
                      : fmt::format("HTTP {}: {}", answer.status, text);
}

} // namespace forge::cli
