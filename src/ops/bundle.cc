#include "ops/bundle.h"

#include <fmt/format.h>
#include <zlib.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <ctime>

namespace forge::ops {
namespace {

constexpr std::size_t kBlock = 512;

// Writes `value` as a zero-padded octal field of `size` bytes (the last one NUL).
void octal(char* field, std::size_t size, std::uint64_t value) {
  const std::string text = fmt::format("{:0{}o}", value, size - 1);
  std::memcpy(field, text.data(), std::min(text.size(), size - 1));
}

std::array<char, kBlock> header(const std::string& name, std::size_t size) {
  std::array<char, kBlock> h{};
  std::memcpy(h.data(), name.data(), std::min<std::size_t>(name.size(), 100));
  octal(h.data() + 100, 8, 0600);                                            // mode
  octal(h.data() + 108, 8, 0);                                               // uid
  octal(h.data() + 116, 8, 0);                                               // gid
  octal(h.data() + 124, 12, size);                                           // size
  octal(h.data() + 136, 12, static_cast<std::uint64_t>(std::time(nullptr))); // mtime
  h[156] = '0';                                                              // regular file
  std::memcpy(h.data() + 257, "ustar", 6);                                   // magic, NUL
  std::memcpy(h.data() + 263, "00", 2);                                      // version
  std::memset(h.data() + 148, ' ', 8); // the checksum counts its own field as spaces
  unsigned sum = 0;
  for (char c : h)
    sum += static_cast<unsigned char>(c);
  const std::string checksum = fmt::format("{:06o}", sum);
  std::memcpy(h.data() + 148, checksum.data(), 6);
  h[154] = '\0';
  h[155] = ' ';
  return h;
}

} // namespace

struct TarGzWriter::State {
  gzFile file = nullptr;
  std::string path;
};

TarGzWriter::TarGzWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}
TarGzWriter::TarGzWriter(TarGzWriter&&) noexcept = default;

TarGzWriter::~TarGzWriter() {
  if (state_ && state_->file) gzclose(state_->file);
}

core::Result<TarGzWriter> TarGzWriter::create(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("cannot create {}: {}", path, std::strerror(errno))};
  }
  auto state = std::make_unique<State>();
  state->path = path;
  state->file = gzdopen(fd, "wb9");
  if (!state->file) {
    ::close(fd);
    return core::Error{core::Errc::kUnavailable, fmt::format("cannot compress into {}", path)};
  }
  return TarGzWriter(std::move(state));
}

core::Status TarGzWriter::add(const std::string& name, std::string_view content) {
  if (name.empty() || name.size() > 100) {
    return core::Error{core::Errc::kInvalidParams,
                       fmt::format("archive member name '{}' is empty or too long", name)};
  }
  const auto h = header(name, content.size());
  const std::size_t padding = (kBlock - content.size() % kBlock) % kBlock;
  const std::array<char, kBlock> zeros{};
  const bool written =
      gzwrite(state_->file, h.data(), kBlock) == static_cast<int>(kBlock) &&
      (content.empty() ||
       gzwrite(state_->file, content.data(), static_cast<unsigned>(content.size())) ==
           static_cast<int>(content.size())) &&
      (padding == 0 || gzwrite(state_->file, zeros.data(), static_cast<unsigned>(padding)) ==
                           static_cast<int>(padding));
  if (!written) {
    return core::Error{core::Errc::kUnavailable,
                       fmt::format("writing {} into {} failed", name, state_->path)};
  }
  return core::Ok{};
}

core::Status TarGzWriter::finish() {
  const std::array<char, 2 * kBlock> end{};
  const bool written =
      gzwrite(state_->file, end.data(), end.size()) == static_cast<int>(end.size());
  const int closed = gzclose(state_->file);
  state_->file = nullptr;
  if (!written || closed != Z_OK) {
    return core::Error{core::Errc::kUnavailable, fmt::format("finishing {} failed", state_->path)};
  }
  return core::Ok{};
}

std::string redact(std::string text, const std::vector<std::string>& secrets) {
  for (const auto& secret : secrets) {
    if (secret.size() < 4) continue;
    for (auto at = text.find(secret); at != std::string::npos;
         at = text.find(secret, at + std::strlen("[REDACTED]")))
      text.replace(at, secret.size(), "[REDACTED]");
  }
  return text;
}

} // namespace forge::ops
