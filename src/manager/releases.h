// Releases: what a stack runs, kept side by side so that a deployment can be undone.
//
// Layout under the stack's data directory:
//   <data_dir>/releases/<id>/            one release: `forge` (the binary), optionally
//                                        `forge.yaml` and `services.yml`, and `release.json`
//                                        (id, version, created_at, files)
//   <data_dir>/releases/current -> <id>  a pointer: a symlink to a release's directory, replaced
//   <data_dir>/releases/previous -> <id> atomically (a new link renamed over the old one)
//   <data_dir>/releases/blue, green      the pointers of a blue-green pair
//
// A service of services.yml that says `{release}` in its command or environment follows one
// pointer (`release:` key, "current" by default): the manager resolves it each time it starts a
// replica, so a rolling restart after the pointer moved starts the new release, and each replica
// knows which release it runs (FORGE_RELEASE in its environment, `release` in /services).
#pragma once

#include "core/error.h"

#include <optional>
#include <string>
#include <vector>

namespace forge::manager {

inline constexpr const char* kCurrentRelease = "current";
inline constexpr const char* kPreviousRelease = "previous";

struct ReleaseRef {
  std::string id;  // the directory's name, e.g. 20261204T171500Z
  std::string dir; // <data_dir>/releases/<id>
};

// <data_dir>/releases
std::string releasesDir(const std::string& data_dir);

// The release `pointer` designates, or nullopt when the pointer does not exist. An error when it
// exists but leads nowhere (a dangling link), with what to do.
core::Result<std::optional<ReleaseRef>> resolveRelease(const std::string& data_dir,
                                                       const std::string& pointer);

// Moves `pointer` to release `id` atomically (the release's directory must exist).
core::Status pointRelease(const std::string& data_dir, const std::string& pointer,
                          const std::string& id);

// Every release directory, oldest first (ids sort by time).
std::vector<ReleaseRef> listReleases(const std::string& data_dir);

} // namespace forge::manager
