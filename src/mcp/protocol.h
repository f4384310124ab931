// MCP protocol constants: the revisions Forge speaks, version negotiation, and the error codes
// MCP adds to JSON-RPC's.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace forge::mcp {

// Sessionful revisions, oldest first. The newest is what Forge offers by default.
inline constexpr std::array<std::string_view, 4> kProtocolVersions{"2024-11-05", "2025-03-26",
                                                                   "2025-06-18", "2025-11-25"};
inline constexpr std::string_view kLatestProtocolVersion = "2025-11-25";
// A Streamable HTTP request without MCP-Protocol-Version is taken to be this revision.
inline constexpr std::string_view kDefaultHttpProtocolVersion = "2025-03-26";

bool isSupportedVersion(std::string_view version);
// The version to answer an initialize with: the requested one when supported, else the newest.
std::string negotiateVersion(std::string_view requested);
// Whether this revision allows JSON-RPC batches (only 2025-03-26 did).
bool allowsBatches(std::string_view version);

// JSON-RPC and MCP error codes.
inline constexpr int kParseError = -32700;
inline constexpr int kInvalidRequest = -32600;
inline constexpr int kMethodNotFound = -32601;
inline constexpr int kInvalidParams = -32602;
inline constexpr int kInternalError = -32603;
inline constexpr int kResourceNotFound = -32002;
inline constexpr int kRequestTimeout = -32001;
inline constexpr int kUpstreamError = -32000;

} // namespace forge::mcp
