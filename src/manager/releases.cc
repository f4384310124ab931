#include "manager/releases.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

namespace forge::manager {

namespace fs = std::filesystem;

std::string releasesDir(const std::string& data_dir) {
  return (fs::path(data_dir) / "releases").string();
}

core::Result<std::optional<ReleaseRef>> resolveRelease(const std::string& data_dir,
                                                       const std::string& pointer) {
  const fs::path link = fs::path(releasesDir(data_dir)) / pointer;
  std::error_code ec;
  if (!fs::is_symlink(fs::symlink_status(link, ec))) return std::optional<ReleaseRef>{};
  const fs::path target = fs::read_symlink(link, ec);
  const fs::path dir = target.is_absolute() ? target : link.parent_path() / target;
  if (ec || !fs::is_directory(dir, ec)) {
    return core::Error{core::Errc::kNotFound,
                       fmt::format("release pointer {} leads to {}, which is not a release "
                                   "directory: point it again (forge deploy rollback, or forge "
                                   "deploy apply)",
                                   link.string(), dir.string())};
  }
  return std::optional<ReleaseRef>{ReleaseRef{dir.filename().string(), dir.string()}};
}

core::Status pointRelease(const std::string& data_dir, const std::string& pointer,
                          const std::string& id) {
  const fs::path root = releasesDir(data_dir);
  std::error_code ec;
  if (!fs::is_directory(root / id, ec)) {
    return core::Error{core::Errc::kNotFound,
                       fmt::format("no release {} in {}", id, root.string())};
  }
  // A relative link survives moving the data directory; rename() replaces the old one at once.
  const fs::path staged = root / fmt::format(".{}.new", pointer);
  fs::remove(staged, ec);
  fs::create_symlink(id, staged, ec);
  if (!ec) fs::rename(staged, root / pointer, ec);
  if (ec) {
    return core::Error{
        core::Errc::kUnavailable,
        fmt::format("cannot point {} at {}: {}", (root / pointer).string(), id, ec.message())};
  }
  return core::Ok{};
}

std::vector<ReleaseRef> listReleases(const std::string& data_dir) {
  std::vector<ReleaseRef> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(releasesDir(data_dir), ec)) {
    if (entry.is_symlink() || !entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    if (name.starts_with(".")) continue;
    out.push_back(ReleaseRef{name, entry.path().string()});
  }
  std::sort(out.begin(), out.end(),
            [](const ReleaseRef& a, const ReleaseRef& b) { return a.id < b.id; });
  return out;
}

} // namespace forge::manager
