#include "base/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/files.h"

namespace winnow::base {
namespace {

Result<int> open_lock_file(const std::filesystem::path& lock_file) {
  std::error_code ec;
  if (lock_file.has_parent_path()) std::filesystem::create_directories(lock_file.parent_path(), ec);
  const int fd = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return file_error(lock_file, "cannot open lock file", errno);
  return fd;
}

}  // namespace

Result<FileLock> FileLock::acquire(const std::filesystem::path& lock_file) {
  WINNOW_ASSIGN_OR_RETURN(int fd, open_lock_file(lock_file));
  while (::flock(fd, LOCK_EX) != 0) {
    if (errno == EINTR) continue;
    const int error = errno;
    ::close(fd);
    return failed_precondition(lock_file.string() + ": cannot lock: " + std::strerror(error));
  }
  return FileLock(fd);
}

Result<std::optional<FileLock>> FileLock::try_acquire(const std::filesystem::path& lock_file) {
  WINNOW_ASSIGN_OR_RETURN(int fd, open_lock_file(lock_file));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) return std::optional<FileLock>();
    return failed_precondition(lock_file.string() + ": cannot lock: " + std::strerror(error));
  }
  return std::optional<FileLock>(FileLock(fd));
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace winnow::base
