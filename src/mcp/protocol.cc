#include "mcp/protocol.h"

#include <algorithm>

namespace forge::mcp {

bool isSupportedVersion(std::string_view version) {
  return std::find(kProtocolVersions.begin(), kProtocolVersions.end(), version) !=
         kProtocolVersions.end();
}

std::string negotiateVersion(std::string_view requested) {
  return std::string(isSupportedVersion(requested) ? requested : kLatestProtocolVersion);
}

bool allowsBatches(std::string_view version) { return version == "2025-03-26"; }

} // namespace forge::mcp
