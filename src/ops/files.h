// Files as backups need them: checksums, durable copies (written to a temporary name, fsynced,
// renamed over the target, directory fsynced, so a crash leaves the old file or the new one,
// never half of either), and the processes that hold a file open.
#pragma once

#include "core/error.h"

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace forge::ops {

// Lower-case hex SHA-256 of a file's content.
core::Result<std::string> sha256File(const std::filesystem::path& path);

// fsync of a file or a directory (a rename is durable once its directory is synced).
core::Status syncPath(const std::filesystem::path& path);

// Copies `from` to `to` durably and atomically, the copy with `mode` (e.g. 0600).
core::Status copyFileDurably(const std::filesystem::path& from, const std::filesystem::path& to,
                             std::filesystem::perms mode);

// Renames `from` over `to` and syncs the directory of `to`.
core::Status renameDurably(const std::filesystem::path& from, const std::filesystem::path& to);

// Creates `dir` (and parents) if missing, the last one with mode 0700.
core::Status makePrivateDirectory(const std::filesystem::path& dir);

// Total size in bytes of the regular files under `dir` (0 if it does not exist).
std::uint64_t directorySize(const std::filesystem::path& dir);

// Size of a file, 0 if it does not exist.
std::uint64_t fileSize(const std::filesystem::path& path);

// The processes (other than this one) that have `path` open, found through /proc/<pid>/fd; only
// the processes this user may inspect are seen.
std::vector<pid_t> processesWithOpen(const std::filesystem::path& path);

// A new empty directory under the system's temporary directory, "<tmp>/<prefix>XXXXXX", 0700.
core::Result<std::filesystem::path> makeTempDirectory(const std::string& prefix);

} // namespace forge::ops
