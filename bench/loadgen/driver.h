// Driver: one thread's share of the load. It owns a set of keep-alive HTTP connections to one
// MCP endpoint on an epoll instance; each connection opens an MCP session (initialize, then
// notifications/initialized) and then sends tools/call requests, one at a time, in one of three
// ways:
//   kClosed  each connection sends its next call as soon as the last one is answered
//            (maximum throughput; or exactly `calls` calls when that is set);
//   kRate    calls leave on a fixed schedule shared by all connections (open loop), and the
//            latency of each is measured from when it was due, so a stalled server cannot hide
//            its queueing delay (no coordinated omission);
//   kIdle    connections only open sessions, `sessions` of them in all, and then stay quiet.
// Every phase is bounded in time; a call unanswered after `timeout` counts as an error and its
// connection is replaced. At the end of a kClosed or kRate run every session is ended with DELETE.
#pragma once

#include "latency.h"

#include <chrono>
#include <cstdint>
#include <string>

namespace forge::bench {

using Clock = std::chrono::steady_clock;

enum class Mode { kClosed, kRate, kIdle };

struct LoadOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string path = "/mcp";
  Mode mode = Mode::kClosed;
  int connections = 32;
  double warmup_s = 1.0;      // calls before the measurement window, not recorded
  double duration_s = 5.0;    // the measurement window (with `calls`: an upper bound)
  double rate = 1000;         // kRate: calls per second (this driver's share)
  std::uint64_t calls = 0;    // kClosed: stop after this many answered calls (0: run for duration)
  std::uint64_t sessions = 0; // kIdle: sessions to open (this driver's share)
  std::string tool = "echo";
  std::string arguments = "{}";
  std::string protocol_version = "2025-06-18";
  std::chrono::milliseconds timeout{10'000};
  std::chrono::milliseconds setup_timeout{60'000}; // for opening every session
};

struct LoadCounters {
  std::uint64_t calls = 0;           // answered with a result, inside the measurement window
  std::uint64_t http_errors = 0;     // status other than 200 (202 for the notification)
  std::uint64_t rpc_errors = 0;      // a JSON-RPC error or a tool result with isError
  std::uint64_t timeouts = 0;        // no answer within the timeout
  std::uint64_t io_errors = 0;       // connect/read/write failures, unreadable responses, closes
  std::uint64_t sessions = 0;        // sessions opened
  std::uint64_t sessions_closed = 0; // sessions ended with DELETE at the end of the run
  std::uint64_t late_sends = 0;      // kRate: calls sent after their due time because every
                                     // connection was busy (the server fell behind the rate)
  void add(const LoadCounters& o);
  std::uint64_t errors() const { return http_errors + rpc_errors + timeouts + io_errors; }
};

struct LoadResult {
  LoadCounters counters;
  LatencyRecorder latency;
  double window_s = 0; // how long the measurement window really lasted
  bool setup_complete = false;
};

// Runs one driver to completion on the calling thread.
LoadResult runDriver(const LoadOptions& options);

} // namespace forge::bench
