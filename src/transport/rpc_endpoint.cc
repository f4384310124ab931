#include "transport/rpc_endpoint.h"

#include "core/version.h"
#include "mcp/protocol.h"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include <mutex>

namespace forge::transport {
namespace {

namespace json = mcp::json;

// Collects the answers of one POST and sends them when the last one is in.
class Collector : public std::enable_shared_from_this<Collector> {
public:
  Collector(net::ResponseWriterPtr writer, std::size_t expected, bool batch,
            std::shared_ptr<SessionCore> session)
      : writer_(std::move(writer)), expected_(expected), batch_(batch),
        session_(std::move(session)) {}

  ExchangeSink sink() {
    auto self = shared_from_this();
    return ExchangeSink{[](const mcp::Message&) { return false; },
                        [self](const mcp::Message* answer) { self->add(answer); }};
  }

  void add(const mcp::Message* answer) {
    std::unique_lock lock(mutex_);
    if (answer) answers_.push_back(mcp::toJson(*answer));
    if (--expected_ > 0) return;
    lock.unlock();
    if (session_) session_->close();
    if (answers_.empty()) return writer_->send(net::Response{202, {}, {}});
    writer_->send(
        net::Response::json(200, json::serialize(batch_ ? json::value(answers_) : answers_[0])));
  }

private:
  net::ResponseWriterPtr writer_;
  std::mutex mutex_;
  std::size_t expected_;
  const bool batch_;
  std::shared_ptr<SessionCore> session_;
  json::array answers_;
};

// The initialize request a /rpc session is opened with.
mcp::Message syntheticInitialize() {
  return mcp::makeRequest(0, "initialize",
                          json::object{{"protocolVersion", mcp::kLatestProtocolVersion},
                                       {"capabilities", json::object{}},
                                       {"clientInfo", json::object{{"name", "forge-rpc"},
                                                                   {"version", core::kVersion}}}});
}

} // namespace

RpcEndpoint::RpcEndpoint(net::EventLoop& loop, std::shared_ptr<mcp::Application> app,
                         HttpTransportOptions options)
    : loop_(loop), app_(std::move(app)), options_(std::move(options)) {}

void RpcEndpoint::addRoutes(net::Router& router, const std::string& path) {
  router.add(net::Method::kPost, path,
             [this](const net::RequestPtr& r, const net::ResponseWriterPtr& w) { handle(r, w); });
}

void RpcEndpoint::handle(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  if (auto status = checkOrigin(*request, options_.origin); !status) {
    return writer->send(net::Response::error(status.error()));
  }
  auto parsed = mcp::parse(request->body);
  if (!parsed) {
    return writer->send(
        net::Response::json(400, mcp::serialize(mcp::makeError(nullptr, parsed.error()))));
  }
  std::size_t requests = 0;
  for (const auto& m : parsed->messages)
    requests += m.isRequest() ? 1 : 0;
  if (requests == 0) return writer->send(net::Response{202, {}, {}});

  auto session = std::make_shared<SessionCore>(loop_, options_.ask_timeout);
  mcp::SessionInfo info;
  info.id = newSessionId();
  info.transport = "rpc";
  info.principal = request->principal;
  info.remote = request->remote_address;
  auto link = std::make_shared<SinkLink>(session); // no sink: asks fail, notifications drop
  auto collector = std::make_shared<Collector>(writer, requests, parsed->batch, session);
  ExchangeSink sink = collector->sink();
  sink.principal = request->principal;
  for (const auto& m : parsed->messages) {
    const bool explicit_initialize = m.isRequest() && m.method == "initialize";
    if (!session->initialized()) {
      auto result =
          session->initialize(*app_, info, explicit_initialize ? m : syntheticInitialize(), link);
      if (!result) {
        const auto error = mcp::makeError(m.id, result.error());
        if (m.isRequest()) sink.finish(&error);
        continue;
      }
      if (explicit_initialize) {
        const auto answer = mcp::makeResult(m.id, std::move(*result));
        sink.finish(&answer);
        continue;
      }
    }
    session->dispatch(m, sink);
  }
}

} // namespace forge::transport
