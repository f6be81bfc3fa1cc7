// Durable file writes and a data-directory lock: the small POSIX pieces the
// store needs beyond base/files.h (whose atomic write does not fsync).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "base/status.h"

namespace winnow::store {

// fsync()s a file.
base::Status sync_file(const std::filesystem::path& path);

// Writes through "<path>.tmp", fsync, rename, fsync of the directory: after
// it returns, a crash leaves either the old or the new contents.
base::Status write_file_durably(const std::filesystem::path& path, std::string_view contents);

// 64-bit FNV-1a of the file's bytes (memory-mapped).
base::Result<std::uint64_t> file_checksum(const std::filesystem::path& path);

// An exclusive flock() on a file, held until destruction, so that only one
// process opens a data directory. The kernel releases it when the process
// dies, including by SIGKILL.
class DirectoryLock {
 public:
  static base::Result<DirectoryLock> acquire(const std::filesystem::path& lock_file);
  DirectoryLock(DirectoryLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  DirectoryLock& operator=(DirectoryLock&&) = delete;
  ~DirectoryLock();

 private:
  explicit DirectoryLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace winnow::store
