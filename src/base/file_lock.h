// An exclusive flock() on a lock file, held until destruction. flock locks
// belong to the open file, so two threads of one process exclude each other
// as two processes do; the kernel releases the lock when the process dies,
// SIGKILL included.
#pragma once

#include <filesystem>
#include <optional>

#include "base/status.h"

namespace winnow::base {

class FileLock {
 public:
  // Creates the lock file (and its folder) if needed and waits for the lock.
  static Result<FileLock> acquire(const std::filesystem::path& lock_file);
  // Takes the lock if it is free; nullopt when another holder has it.
  static Result<std::optional<FileLock>> try_acquire(const std::filesystem::path& lock_file);

  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace winnow::base
