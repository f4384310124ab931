// What `forge debug bundle` writes: a gzip-compressed tar archive of text files, with every
// secret value redacted before it is added.
#pragma once

#include "core/error.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace forge::ops {

// Writes a .tar.gz (POSIX ustar) one file at a time. Errors name the file.
class TarGzWriter {
public:
  ~TarGzWriter();
  TarGzWriter(TarGzWriter&&) noexcept;
  TarGzWriter& operator=(TarGzWriter&&) = delete;

  // Creates `path` (mode 0600: a bundle describes the installation).
  static core::Result<TarGzWriter> create(const std::string& path);
  // Adds a regular file `name` (relative, at most 100 characters) holding `content`.
  core::Status add(const std::string& name, std::string_view content);
  // Writes the end-of-archive blocks and closes the file.
  core::Status finish();

private:
  struct State;
  explicit TarGzWriter(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// `text` with every occurrence of each value of `secrets` (values shorter than 4 characters are
// ignored: they would redact ordinary words) replaced by "[REDACTED]".
std::string redact(std::string text, const std::vector<std::string>& secrets);

} // namespace forge::ops
