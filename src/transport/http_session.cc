#include "transport/http_session.h"

#include "core/log.h"

#include <algorithm>

namespace forge::transport {

SessionTable::SessionTable(net::EventLoop& loop, const HttpTransportOptions& options)
    : loop_(loop), options_(options) {}

core::Result<mcp::json::object> initializeSession(mcp::Application& app, HttpSession& session,
                                                  const net::Request& request,
                                                  std::string transport,
                                                  const mcp::Message& message) {
  mcp::SessionInfo info;
  info.id = session.id;
  info.transport = std::move(transport);
  info.principal = request.principal;
  info.remote = request.remote_address;
  return session.core->initialize(app, std::move(info), message, session.link);
}

HttpSessionPtr SessionTable::make(std::string id) {
  auto session = std::make_shared<HttpSession>();
  session->id = id.empty() ? newSessionId() : std::move(id);
  session->core = std::make_shared<SessionCore>(loop_, options_.ask_timeout);
  session->link = std::make_shared<SinkLink>(session->core);
  return session;
}

core::Status SessionTable::insert(const HttpSessionPtr& session) {
  auto adopted = adopt(session); // a fresh random id is in no table yet
  if (!adopted) return adopted.error();
  return core::Ok{};
}

core::Result<HttpSessionPtr> SessionTable::adopt(const HttpSessionPtr& session) {
  std::lock_guard lock(mutex_);
  if (const auto it = sessions_.find(session->id); it != sessions_.end()) return it->second;
  if (sessions_.size() >= options_.max_sessions && !evictOne()) {
    return core::Error{core::Errc::kUnavailable,
                       "too many active sessions; end unused ones (DELETE) or try later"};
  }
  sessions_[session->id] = session;
  return session;
}

bool SessionTable::evictOne() {
  HttpSessionPtr oldest;
  for (auto& [id, s] : sessions_) {
    if (s->core->inFlight() > 0 || s->hasOpenStream()) continue;
    if (!oldest || s->core->lastActivity() < oldest->core->lastActivity()) oldest = s;
  }
  if (!oldest) return false;
  sessions_.erase(oldest->id);
  log::info("session {} evicted to make room", oldest->id);
  oldest->core->close();
  return true;
}

std::string ownerOf(const net::Request& request) {
  return request.principal ? request.principal->key() : std::string();
}

HttpSessionPtr SessionTable::findFor(const std::string& id, const net::Request& request) {
  auto session = find(id);
  if (session && session->owner != ownerOf(request)) return nullptr;
  return session;
}

HttpSessionPtr SessionTable::find(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second;
}

bool SessionTable::close(const std::string& id) {
  HttpSessionPtr session;
  {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return false;
    session = std::move(it->second);
    sessions_.erase(it);
    if (ended_.insert(id).second) ended_order_.push_back(id);
    if (ended_order_.size() > options_.max_sessions) {
      ended_.erase(ended_order_.front());
      ended_order_.pop_front();
    }
  }
  session->core->close();
  endStream(*session);
  return true;
}

bool SessionTable::ended(const std::string& id) const {
  std::lock_guard lock(mutex_);
  return ended_.count(id) > 0;
}

void SessionTable::closeAll() {
  std::unordered_map<std::string, HttpSessionPtr> all;
  {
    std::lock_guard lock(mutex_);
    all.swap(sessions_);
  }
  for (auto& [id, session] : all) {
    session->core->close();
    endStream(*session);
  }
}

void SessionTable::endStreams() {
  std::vector<HttpSessionPtr> all;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, session] : sessions_)
      all.push_back(session);
  }
  for (auto& session : all)
    endStream(*session);
}

std::size_t SessionTable::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

void SessionTable::startSweeping() {
  const auto interval =
      std::clamp(options_.session_idle_timeout / 4, std::chrono::milliseconds(100),
                 std::chrono::milliseconds(60'000));
  loop_.postAfter(interval, [weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      self->sweep();
      self->startSweeping();
    }
  });
}

void SessionTable::sweep() {
  const auto cutoff = std::chrono::steady_clock::now() - options_.session_idle_timeout;
  std::vector<HttpSessionPtr> expired;
  {
    std::lock_guard lock(mutex_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      auto& s = it->second;
      if (s->core->inFlight() == 0 && !s->hasOpenStream() && s->core->lastActivity() < cutoff) {
        expired.push_back(std::move(s));
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& s : expired) {
    log::debug("session {} expired after {} ms idle", s->id, options_.session_idle_timeout.count());
    s->core->close();
  }
}

std::string sseEvent(const mcp::Message& message) {
  return "event: message\ndata: " + mcp::serialize(message) + "\n\n";
}

net::Headers sseHeaders() {
  net::Headers headers;
  headers.set("Content-Type", "text/event-stream");
  headers.set("Cache-Control", "no-cache");
  return headers;
}

void endStream(HttpSession& session) {
  net::ResponseWriterPtr stream;
  {
    std::lock_guard lock(session.mutex);
    stream = std::move(session.stream);
  }
  if (stream) stream->end();
}

} // namespace forge::transport

namespace forge::transport {
namespace {

void keepStreamAlive(net::EventLoop& loop, std::weak_ptr<net::ResponseWriter> weak_writer,
                     std::chrono::milliseconds interval) {
  loop.postAfter(interval, [&loop, weak_writer, interval] {
    auto writer = weak_writer.lock();
    if (!writer || writer->closed()) return;
    if (writer->write(": keepalive\n\n")) keepStreamAlive(loop, weak_writer, interval);
  });
}

} // namespace

void attachStream(net::EventLoop& loop, const HttpSessionPtr& session,
                  const net::ResponseWriterPtr& writer, std::chrono::milliseconds interval) {
  std::weak_ptr<net::ResponseWriter> weak_writer = writer;
  session->link->setSink([weak_writer](const mcp::Message& m) {
    auto w = weak_writer.lock();
    return w && w->write(sseEvent(m));
  });
  keepStreamAlive(loop, weak_writer, interval);
}

} // namespace forge::transport
