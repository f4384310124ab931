#include "transport/streamable_http.h"

#include "core/log.h"
#include "mcp/protocol.h"

#include <fmt/format.h>

namespace forge::transport {
namespace {

namespace json = mcp::json;

constexpr std::string_view kSessionHeader = "Mcp-Session-Id";
constexpr std::string_view kVersionHeader = "MCP-Protocol-Version";

// Whether an Accept header admits `type` ("application/json"): exact, "type/*" or "*/*".
bool accepts(std::string_view accept, std::string_view type) {
  const std::string_view major = type.substr(0, type.find('/'));
  std::size_t start = 0;
  while (start < accept.size()) {
    auto end = accept.find(',', start);
    if (end == std::string_view::npos) end = accept.size();
    std::string_view item = accept.substr(start, end - start);
    item = item.substr(0, item.find(';'));
    while (!item.empty() && item.front() == ' ')
      item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ')
      item.remove_suffix(1);
    if (item == type || item == "*/*" ||
        (item.size() == major.size() + 2 && item.starts_with(major) && item.ends_with("/*"))) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

bool isJsonContentType(std::string_view value) {
  value = value.substr(0, value.find(';'));
  while (!value.empty() && value.back() == ' ')
    value.remove_suffix(1);
  return net::equalsIgnoreCase(value, "application/json");
}

// An HTTP error whose body is a JSON-RPC error (what MCP clients parse).
net::Response jsonRpcHttpError(int status, int code, std::string message) {
  return net::Response::json(status,
                             mcp::serialize(mcp::makeError(nullptr, code, std::move(message))));
}

net::Response jsonRpcHttpError(const core::Error& error) {
  return jsonRpcHttpError(core::httpStatus(error.code), core::jsonRpcCode(error.code),
                          error.message);
}

// The answer to one POST: the responses to its requests, as one JSON body, or as an SSE stream
// once a related message has to go out before them.
class PostStream : public std::enable_shared_from_this<PostStream> {
public:
  PostStream(net::ResponseWriterPtr writer, std::size_t requests, bool batch)
      : writer_(std::move(writer)), outstanding_(requests), batch_(batch) {}

  ExchangeSink sink() {
    auto self = shared_from_this();
    return ExchangeSink{[self](const mcp::Message& m) { return self->send(m); },
                        [self](const mcp::Message* answer) { self->finish(answer); }};
  }

  // A related message: switches to SSE (writing answers collected so far first).
  bool send(const mcp::Message& message) {
    std::lock_guard lock(mutex_);
    if (done_) return false;
    startStreamLocked();
    return writer_->write(sseEvent(message));
  }

  void finish(const mcp::Message* answer) {
    std::lock_guard lock(mutex_);
    if (done_) return;
    if (answer) {
      if (streaming_) {
        writer_->write(sseEvent(*answer));
      } else {
        answers_.push_back(mcp::serialize(*answer));
      }
    }
    if (--outstanding_ > 0) return;
    done_ = true;
    if (streaming_) {
      writer_->end();
    } else if (answers_.empty()) {
      writer_->send(net::Response{202, {}, {}}); // every request was cancelled
    } else if (batch_) {
      writer_->send(net::Response::json(200, batchBody()));
    } else {
      writer_->send(net::Response::json(200, std::move(answers_[0])));
    }
  }

private:
  void startStreamLocked() {
    if (streaming_) return;
    streaming_ = true;
    writer_->startStream(200, sseHeaders());
    for (const auto& answer : answers_) {
      writer_->write("event: message\ndata: " + answer + "\n\n");
    }
    answers_.clear();
  }

  // The answers as one JSON array.
  std::string batchBody() const {
    std::string body(1, '[');
    for (const auto& answer : answers_) {
      if (body.size() > 1) body += ',';
      body += answer;
    }
    body += ']';
    return body;
  }

  net::ResponseWriterPtr writer_;
  std::mutex mutex_;
  std::size_t outstanding_;
  const bool batch_;
  bool streaming_ = false;
  bool done_ = false;
  std::vector<std::string> answers_; // serialised, until the last one is in
};

} // namespace

struct StreamableHttp::Impl : HttpTransportState {
  using HttpTransportState::HttpTransportState;

  // Checks shared by every method: Origin/Host, then the version header.
  core::Status checkCommon(const net::Request& request) {
    if (auto status = checkOrigin(request, options.origin); !status) return status;
    if (auto version = request.header(kVersionHeader);
        version && !mcp::isSupportedVersion(*version)) {
      return core::Error{core::Errc::kBadRequest,
                         fmt::format("unsupported MCP-Protocol-Version '{}'", *version)};
    }
    return core::Ok{};
  }

  // The session named by the request's Mcp-Session-Id: 400 without one, 404 when unknown. An id
  // another process of this gateway sealed is taken over here (session_seal.h).
  core::Result<HttpSessionPtr> sessionOf(const net::Request& request) {
    const auto id = request.header(kSessionHeader);
    if (!id || id->empty()) {
      return core::Error{core::Errc::kBadRequest, "the Mcp-Session-Id header is required"};
    }
    auto session = sessions->findFor(std::string(*id), request);
    if (!session) session = takeOver(std::string(*id), request);
    if (!session) {
      return core::Error{core::Errc::kNotFound, "unknown or ended session; initialize a new one"};
    }
    return session;
  }

  // Opens here a session whose id was sealed for this endpoint and this caller, as initialize
  // had opened it; null when the id is not such a session.
  HttpSessionPtr takeOver(const std::string& id, const net::Request& request) {
    if (!options.sealer || sessions->ended(id)) return nullptr;
    const auto sealed = options.sealer->open(id);
    if (!sealed || sealed->endpoint != request.path || sealed->owner != ownerOf(request))
      return nullptr;
    json::object params{{"protocolVersion", sealed->protocol_version},
                        {"capabilities", sealed->client_capabilities},
                        {"clientInfo", sealed->client_info}};
    auto opened = open(request, id, mcp::makeRequest(0, "initialize", std::move(params)));
    auto admitted = opened ? admit(opened->session) : core::Result<HttpSessionPtr>(opened.error());
    if (!admitted) {
      log::emit(log::Level::kWarn, request.request_id, "session take-over failed",
                {{"error", admitted.error().message}});
      return nullptr;
    }
    log::emit(log::Level::kInfo, request.request_id, "session taken over", {{"session", id}});
    return *admitted;
  }

  struct Opened {
    HttpSessionPtr session;
    json::object result; // initialize's
  };

  // Opens the application session for an initialize request under `id` (empty: a random one).
  core::Result<Opened> open(const net::Request& request, std::string id,
                            const mcp::Message& message) {
    auto session = sessions->make(std::move(id));
    session->owner = ownerOf(request);
    auto result = initializeSession(*app, *session, request, "streamable-http", message);
    if (!result) return result.error();
    return Opened{std::move(session), std::move(*result)};
  }

  // Adds an opened session to the table. When a concurrent take-over added the same id first,
  // that one is the session and this one is closed.
  core::Result<HttpSessionPtr> admit(const HttpSessionPtr& session) {
    auto adopted = sessions->adopt(session);
    if (!adopted || *adopted != session) session->core->close();
    return adopted;
  }

  // The id of a new session: sealed when ids are portable.
  std::string newId(const net::Request& request, const mcp::Message& message) const {
    if (!options.sealer) return {};
    const auto& params = message.paramsObject();
    SealedSession sealed;
    sealed.endpoint = request.path;
    sealed.owner = ownerOf(request);
    if (const auto* v = params.if_contains("protocolVersion"); v && v->is_string())
      sealed.protocol_version = mcp::negotiateVersion(v->get_string());
    if (const auto* caps = params.if_contains("capabilities"); caps && caps->is_object())
      sealed.client_capabilities = caps->get_object();
    if (const auto* client = params.if_contains("clientInfo"); client && client->is_object())
      sealed.client_info = client->get_object();
    return options.sealer->seal(sealed);
  }

  void post(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
    if (auto status = checkCommon(*request); !status)
      return writer->send(jsonRpcHttpError(status.error()));
    const auto content_type = request->header("Content-Type");
    if (!content_type || !isJsonContentType(*content_type)) {
      return writer->send(
          jsonRpcHttpError(415, mcp::kInvalidRequest, "Content-Type must be application/json"));
    }
    const auto accept = request->header("Accept").value_or("");
    if (!accepts(accept, "application/json") || !accepts(accept, "text/event-stream")) {
      return writer->send(jsonRpcHttpError(
          406, mcp::kInvalidRequest, "Accept must list application/json and text/event-stream"));
    }
    auto parsed = mcp::parse(request->body);
    if (!parsed)
      return writer->send(
          jsonRpcHttpError(400, core::jsonRpcCode(parsed.error().code), parsed.error().message));
    const auto& messages = parsed->messages;
    if (messages.size() == 1 && messages[0].isRequest() && messages[0].method == "initialize") {
      return initialize(request, messages[0], writer);
    }
    auto session = sessionOf(*request);
    if (!session) return writer->send(jsonRpcHttpError(session.error()));
    const auto& core = (*session)->core;
    if (parsed->batch && !mcp::allowsBatches(core->info().protocol_version)) {
      return writer->send(
          jsonRpcHttpError(400, mcp::kInvalidRequest,
                           fmt::format("JSON-RPC batches are not allowed in protocol version {}",
                                       core->info().protocol_version)));
    }
    std::size_t requests = 0;
    for (const auto& m : messages)
      requests += m.isRequest() ? 1 : 0;
    if (requests == 0) {
      for (const auto& m : messages)
        core->dispatch(m, {});
      return writer->send(net::Response{202, {}, {}});
    }
    auto stream = std::make_shared<PostStream>(writer, requests, parsed->batch);
    ExchangeSink sink = stream->sink();
    sink.principal = request->principal;
    for (const auto& m : messages)
      core->dispatch(m, sink);
  }

  void initialize(const net::RequestPtr& request, const mcp::Message& message,
                  const net::ResponseWriterPtr& writer) {
    if (request->header(kSessionHeader)) {
      return writer->send(jsonRpcHttpError(400, mcp::kInvalidRequest,
                                           "initialize must not carry an Mcp-Session-Id"));
    }
    auto opened = open(*request, newId(*request, message), message);
    if (!opened) {
      return writer->send(
          net::Response::json(200, mcp::serialize(mcp::makeError(message.id, opened.error()))));
    }
    auto admitted = admit(opened->session);
    if (!admitted) return writer->send(jsonRpcHttpError(admitted.error()));
    const auto& session = *admitted;
    auto response = net::Response::json(
        200, mcp::serialize(mcp::makeResult(message.id, std::move(opened->result))));
    response.headers.set(std::string(kSessionHeader), session->id);
    log::emit(
        log::Level::kInfo, request->request_id, "session opened",
        {{"session", session->id}, {"protocol_version", session->core->info().protocol_version}});
    writer->send(std::move(response));
  }

  void get(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
    if (auto status = checkCommon(*request); !status)
      return writer->send(jsonRpcHttpError(status.error()));
    if (!accepts(request->header("Accept").value_or(""), "text/event-stream")) {
      return writer->send(
          jsonRpcHttpError(406, mcp::kInvalidRequest, "Accept must list text/event-stream"));
    }
    auto found = sessionOf(*request);
    if (!found) return writer->send(jsonRpcHttpError(found.error()));
    HttpSessionPtr session = *found;
    {
      std::lock_guard lock(session->mutex);
      if (session->stream && !session->stream->closed()) {
        return writer->send(jsonRpcHttpError(409, mcp::kInvalidRequest,
                                             "this session already has an open GET stream"));
      }
      session->stream = writer;
    }
    writer->startStream(200, sseHeaders());
    writer->write(": stream open\n\n");
    std::weak_ptr<net::ResponseWriter> weak_writer = writer;
    attachStream(loop, session, writer, options.keepalive_interval);
    writer->onClose([weak_session = std::weak_ptr<HttpSession>(session), weak_writer] {
      auto s = weak_session.lock();
      if (!s) return;
      std::lock_guard lock(s->mutex);
      if (s->stream == weak_writer.lock()) {
        s->stream.reset();
        s->link->setSink(nullptr);
      }
    });
  }

  void del(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
    if (auto status = checkCommon(*request); !status)
      return writer->send(jsonRpcHttpError(status.error()));
    auto session = sessionOf(*request);
    if (!session) return writer->send(jsonRpcHttpError(session.error()));
    sessions->close((*session)->id);
    log::emit(log::Level::kInfo, request->request_id, "session closed",
              {{"session", (*session)->id}});
    writer->send(net::Response{204, {}, {}});
  }
};

StreamableHttp::StreamableHttp(net::EventLoop& loop, std::shared_ptr<mcp::Application> app,
                               HttpTransportOptions options)
    : impl_(std::make_shared<Impl>(loop, std::move(app), std::move(options))) {
  impl_->sessions->startSweeping();
}

StreamableHttp::~StreamableHttp() { impl_->sessions->closeAll(); }

void StreamableHttp::addRoutes(net::Router& router, const std::string& path) {
  auto handler = [impl = impl_](const net::RequestPtr& r, const net::ResponseWriterPtr& w) {
    switch (r->method) {
    case net::Method::kPost:
      return impl->post(r, w);
    case net::Method::kGet:
      return impl->get(r, w);
    default:
      return impl->del(r, w);
    }
  };
  router.add({net::Method::kPost, net::Method::kGet, net::Method::kDelete}, path, handler);
}

void StreamableHttp::handle(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  switch (request->method) {
  case net::Method::kPost:
    return impl_->post(request, writer);
  case net::Method::kGet:
    return impl_->get(request, writer);
  case net::Method::kDelete:
    return impl_->del(request, writer);
  default: {
    auto response = net::Response::error(core::Errc::kMethodNotAllowed, "use POST, GET or DELETE");
    response.headers.set("Allow", "POST, GET, DELETE");
    writer->send(std::move(response));
  }
  }
}

std::size_t StreamableHttp::sessionCount() const { return impl_->sessions->size(); }
void StreamableHttp::closeAll() { impl_->sessions->closeAll(); }
void StreamableHttp::endStreams() { impl_->sessions->endStreams(); }

} // namespace forge::transport
