#include "transport/legacy_sse.h"

#include "core/log.h"

#include <fmt/format.h>

namespace forge::transport {

struct LegacySse::Impl : HttpTransportState {
  using HttpTransportState::HttpTransportState;

  void open(const net::RequestPtr& request, const net::ResponseWriterPtr& writer,
            const std::string& message_path) {
    if (auto status = checkOrigin(*request, options.origin); !status) {
      return writer->send(net::Response::error(status.error()));
    }
    auto session = sessions->make();
    session->owner = ownerOf(*request);
    session->stream = writer;
    if (auto status = sessions->insert(session); !status) {
      return writer->send(net::Response::error(status.error()));
    }
    writer->startStream(200, sseHeaders());
    writer->write(
        fmt::format("event: endpoint\ndata: {}?sessionId={}\n\n", message_path, session->id));
    writer->onClose([table = std::weak_ptr<SessionTable>(sessions), id = session->id] {
      if (auto t = table.lock()) t->close(id);
    });
    attachStream(loop, session, writer, options.keepalive_interval);
    log::emit(log::Level::kInfo, request->request_id, "sse session opened",
              {{"session", session->id}});
  }

  void message(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
    if (auto status = checkOrigin(*request, options.origin); !status) {
      return writer->send(net::Response::error(status.error()));
    }
    const auto id = request->queryParam("sessionId");
    if (!id || id->empty()) {
      return writer->send(net::Response::error(core::Errc::kBadRequest, "sessionId is required"));
    }
    auto session = sessions->findFor(*id, *request);
    if (!session) {
      return writer->send(net::Response::error(core::Errc::kNotFound, "unknown or ended session"));
    }
    auto parsed = mcp::parse(request->body);
    if (!parsed) {
      return writer->send(
          net::Response::json(400, mcp::serialize(mcp::makeError(nullptr, parsed.error()))));
    }
    ExchangeSink sink = streamSink(session);
    sink.principal = request->principal;
    for (const auto& m : parsed->messages) {
      if (m.isRequest() && m.method == "initialize") {
        initialize(*request, session, m, sink);
      } else {
        session->core->dispatch(m, sink);
      }
    }
    writer->send(net::Response{202, {}, "Accepted"});
  }

  // Every message of a legacy session goes on its event stream.
  static ExchangeSink streamSink(const HttpSessionPtr& session) {
    std::weak_ptr<HttpSession> weak = session;
    auto send = [weak](const mcp::Message& m) {
      auto s = weak.lock();
      if (!s) return false;
      std::lock_guard lock(s->mutex);
      return s->stream && s->stream->write(sseEvent(m));
    };
    return ExchangeSink{send, [send](const mcp::Message* answer) {
                          if (answer) send(*answer);
                        }};
  }

  void initialize(const net::Request& request, const HttpSessionPtr& session,
                  const mcp::Message& message, const ExchangeSink& sink) {
    auto result = initializeSession(*app, *session, request, "sse", message);
    const auto answer = result ? mcp::makeResult(message.id, std::move(*result))
                               : mcp::makeError(message.id, result.error());
    sink.finish(&answer);
  }
};

LegacySse::LegacySse(net::EventLoop& loop, std::shared_ptr<mcp::Application> app,
                     HttpTransportOptions options)
    : impl_(std::make_shared<Impl>(loop, std::move(app), std::move(options))) {
  impl_->sessions->startSweeping();
}

LegacySse::~LegacySse() { impl_->sessions->closeAll(); }

void LegacySse::addRoutes(net::Router& router, const std::string& sse_path,
                          const std::string& message_path) {
  router.add(
      net::Method::kGet, sse_path,
      [impl = impl_, message_path](const net::RequestPtr& r, const net::ResponseWriterPtr& w) {
        impl->open(r, w, message_path);
      });
  router.add(net::Method::kPost, message_path,
             [impl = impl_](const net::RequestPtr& r, const net::ResponseWriterPtr& w) {
               impl->message(r, w);
             });
}

void LegacySse::openStream(const net::RequestPtr& request, const net::ResponseWriterPtr& writer,
                           const std::string& message_path) {
  impl_->open(request, writer, message_path);
}

void LegacySse::postMessage(const net::RequestPtr& request, const net::ResponseWriterPtr& writer) {
  impl_->message(request, writer);
}

std::size_t LegacySse::sessionCount() const { return impl_->sessions->size(); }
void LegacySse::closeAll() { impl_->sessions->closeAll(); }
void LegacySse::endStreams() { impl_->sessions->endStreams(); }

} // namespace forge::transport
