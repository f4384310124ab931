#include "transport/stdio_server.h"

#include "core/log.h"
#include "net/fd_io.h"
#include "transport/session_core.h"

#include <mutex>
#include <string>

namespace forge::transport {
namespace {

// Writes whole lines to a descriptor; thread-safe.
class LineWriter {
public:
  explicit LineWriter(int fd) : fd_(fd) {}
  bool write(const mcp::Message& message) {
    std::string line = mcp::serialize(message);
    line += '\n';
    std::lock_guard lock(mutex_);
    return net::writeAll(fd_, line);
  }

private:
  int fd_;
  std::mutex mutex_;
};

} // namespace

int serveStdio(net::EventLoop& loop, std::shared_ptr<mcp::Application> app, int in_fd, int out_fd,
               std::chrono::milliseconds ask_timeout) {
  auto writer = std::make_shared<LineWriter>(out_fd);
  const MessageSink send = [writer](const mcp::Message& m) { return writer->write(m); };
  const ExchangeSink sink{send, [send](const mcp::Message* answer) {
                            if (answer) send(*answer);
                          }};
  auto session = std::make_shared<SessionCore>(loop, ask_timeout);
  auto link = std::make_shared<SinkLink>(session);
  link->setSink(send);
  mcp::SessionInfo info;
  info.id = newSessionId();
  info.transport = "stdio";

  net::LineReader reader(in_fd);
  std::string line;
  while (reader.next(line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto parsed = mcp::parse(line);
    if (!parsed) {
      send(mcp::makeError(nullptr, parsed.error()));
      continue;
    }
    for (const auto& m : parsed->messages) {
      if (m.isRequest() && m.method == "initialize" && !session->initialized()) {
        auto result = session->initialize(*app, info, m, link);
        send(result ? mcp::makeResult(m.id, std::move(*result))
                    : mcp::makeError(m.id, result.error()));
      } else {
        session->dispatch(m, sink);
      }
    }
  }
  session->close();
  return 0;
}

} // namespace forge::transport
