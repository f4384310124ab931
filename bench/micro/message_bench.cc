// The JSON-RPC steps every proxied tools/call takes, twice each (client side and upstream side):
// parsing a request and a 1 KiB result, serialising them, and the id key under which an
// exchange and an upstream call are filed (the id remap).
#include "mcp/message.h"

#include <benchmark/benchmark.h>

#include <string>

namespace forge::mcp {
namespace {

const std::string kToolsCall =
    R"({"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"fixture__echo","arguments":{}}})";

// The fixture's echo answer: one text content item of 1 KiB.
std::string echoResult() {
  json::object content{{"type", "text"}, {"text", std::string(1024, 'x')}};
  json::object result{{"content", json::array{content}}};
  return serialize(makeResult(json::value(42), std::move(result)));
}

void BM_ParseToolsCall(benchmark::State& state) {
  for (auto _ : state) {
    auto parsed = parse(kToolsCall);
    benchmark::DoNotOptimize(parsed);
  }
}
BENCHMARK(BM_ParseToolsCall);

void BM_ParseEchoResult(benchmark::State& state) {
  const std::string text = echoResult();
  for (auto _ : state) {
    auto parsed = parse(text);
    benchmark::DoNotOptimize(parsed);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ParseEchoResult);

// The gateway's reading of the same answer: validated and its result kept as text, in one pass
// (scanResult), as for every call it forwards.
void BM_ReadPlainEchoResult(benchmark::State& state) {
  const std::string text = echoResult();
  for (auto _ : state) {
    auto plain = readPlainResult(text);
    benchmark::DoNotOptimize(plain);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ReadPlainEchoResult);

void BM_SerializeToolsCall(benchmark::State& state) {
  const Message request = parse(kToolsCall).value().messages.front();
  for (auto _ : state) {
    auto text = serialize(request);
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_SerializeToolsCall);

void BM_SerializeEchoResult(benchmark::State& state) {
  const Message result = parse(echoResult()).value().messages.front();
  for (auto _ : state) {
    auto text = serialize(result);
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_SerializeEchoResult);

// The upstream side numbers calls itself; the key files the call until its answer comes back.
void BM_IdKeyNumber(benchmark::State& state) {
  const json::value id(std::int64_t{123456});
  for (auto _ : state) {
    auto key = idKey(id);
    benchmark::DoNotOptimize(key);
  }
}
BENCHMARK(BM_IdKeyNumber);

// Clients often send string ids (UUIDs).
void BM_IdKeyString(benchmark::State& state) {
  const json::value id("6f1c2b9e-8d4a-4f3e-9a51-2c7d0e8b1a34");
  for (auto _ : state) {
    auto key = idKey(id);
    benchmark::DoNotOptimize(key);
  }
}
BENCHMARK(BM_IdKeyString);

} // namespace
} // namespace forge::mcp
