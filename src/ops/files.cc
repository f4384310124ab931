#include "ops/files.h"

#include "core/unique_fd.h"
#include "net/fd_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace forge::ops {

namespace fs = std::filesystem;

namespace {

core::Error ioError(const std::string& what, const fs::path& path, int error_number) {
  return core::Error{core::Errc::kUnavailable,
                     fmt::format("{} {}: {}", what, path.string(), std::strerror(error_number))};
}

using Fd = core::UniqueFd;

} // namespace

core::Result<std::string> sha256File(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ioError("cannot read", path, errno);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return core::Error{core::Errc::kInternal, "sha256: cannot initialise the digest"};
  }
  std::array<char, 1 << 16> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ioError("cannot read", path, errno);
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<std::size_t>(n));
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx.get(), digest.data(), &length);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i)
    hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

core::Status syncPath(const fs::path& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ioError("cannot open", path, errno);
  if (::fsync(fd.get()) != 0) return ioError("cannot sync", path, errno);
  return core::Ok{};
}

core::Status renameDurably(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return ioError(fmt::format("cannot rename {} to", from.string()), to, errno);
  }
  const fs::path dir = to.has_parent_path() ? to.parent_path() : fs::path(".");
  return syncPath(dir);
}

core::Status copyFileDurably(const fs::path& from, const fs::path& to, fs::perms mode) {
  Fd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return ioError("cannot read", from, errno);
  const fs::path temporary = to.string() + ".partial";
  Fd out(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                static_cast<mode_t>(mode)));
  if (out.get() < 0) return ioError("cannot write", temporary, errno);
  // The mode given to open() is filtered by the umask; the copy must have exactly `mode`.
  ::fchmod(out.get(), static_cast<mode_t>(mode));
  std::array<char, 1 << 16> buffer{};
  for (;;) {
    const ssize_t n = ::read(in.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ioError("cannot read", from, errno);
    if (n == 0) break;
    if (!net::writeAll(out.get(), std::string_view(buffer.data(), static_cast<std::size_t>(n)))) {
      const int error_number = errno;
      ::unlink(temporary.c_str());
      return ioError("cannot write", temporary, error_number);
    }
  }
  if (::fsync(out.get()) != 0 || !out.close()) {
    const int error_number = errno;
    ::unlink(temporary.c_str());
    return ioError("cannot sync", temporary, error_number);
  }
  return renameDurably(temporary, to);
}

core::Status makePrivateDirectory(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return core::Ok{};
  fs::create_directories(dir, ec);
  if (ec) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("cannot create {}: {}", dir.string(), ec.message())};
  }
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  return core::Ok{};
}

std::uint64_t directorySize(const fs::path& dir) {
  std::error_code ec;
  std::uint64_t total = 0;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

std::uint64_t fileSize(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : size;
}

std::vector<pid_t> processesWithOpen(const fs::path& path) {
  std::vector<pid_t> found;
  std::error_code ec;
  const fs::path wanted = fs::weakly_canonical(path, ec);
  if (ec) return found;
  const pid_t self = ::getpid();
  for (fs::directory_iterator proc("/proc", ec), end; !ec && proc != end; proc.increment(ec)) {
    const std::string name = proc->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const auto pid = static_cast<pid_t>(std::strtol(name.c_str(), nullptr, 10));
    if (pid == self) continue;
    std::error_code fd_ec;
    for (fs::directory_iterator fd(proc->path() / "fd", fd_ec), fd_end; !fd_ec && fd != fd_end;
         fd.increment(fd_ec)) {
      std::error_code link_ec;
      if (fs::read_symlink(fd->path(), link_ec) == wanted) {
        found.push_back(pid);
        break;
      }
    }
  }
  return found;
}

core::Result<fs::path> makeTempDirectory(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    return ioError("cannot create a temporary directory", pattern, errno);
  }
  return fs::path(pattern);
}

} // namespace forge::ops
