// libFuzzer target for Forge's fast readers of plain HTTP messages, against Beast's parsers,
// which read every other message: whatever readPlainRequest() accepts, RequestReader must read
// alike (method, target, fields, body, size, keep-alive); whatever readPlainAnswer() accepts,
// Beast's response parser must read alike (status, Content-Type, Mcp-Session-Id, body, size,
// keep-alive). Run it with tools/fuzz.sh (docs/TESTING.md).
#include "net/beast_reader_impl.h"
#include "net/plain_http.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

// A violated property is a crash, so libFuzzer saves the input that caused it.
void check(bool property) {
  if (!property) __builtin_trap();
}

void compare(std::string_view bytes, std::size_t header_limit, std::uint64_t body_limit) {
  namespace net = forge::net;
  const auto plain = net::readPlainRequest(bytes, header_limit, body_limit);
  if (!plain) return;
  const auto beast = net::readWhole(bytes, header_limit, body_limit);
  check(!beast.ec && beast.request != nullptr);
  check(plain->size == beast.size && plain->keep_alive == beast.keep_alive);
  const auto& a = *plain->request;
  const auto& b = *beast.request;
  check(a.method == b.method && a.target == b.target && a.body == b.body);
  check(a.headers.size() == b.headers.size());
  auto other = b.headers.begin();
  for (const auto& field : a.headers) {
    check(field == *other);
    ++other;
  }
}

void compareAnswer(std::string_view bytes, std::size_t header_limit, std::uint64_t body_limit) {
  namespace net = forge::net;
  net::PlainAnswer plain;
  if (net::readPlainAnswer(bytes, header_limit, body_limit, plain) != net::PlainAnswer::kPlain)
    return;
  const auto beast = net::readWholeAnswer(bytes, header_limit, body_limit);
  check(!beast.ec);
  check(plain.status == beast.status && plain.content_type == beast.content_type &&
        plain.session_id == beast.session_id && plain.body == beast.body);
  check(plain.size == beast.size && plain.keep_alive == beast.keep_alive);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  compare(bytes, 8192, 1 << 20);
  // Limits the input can reach, to try the edges of both.
  compare(bytes, 64, 16);
  compareAnswer(bytes, 8192, 1 << 20);
  compareAnswer(bytes, 64, 16);
  return 0;
}
