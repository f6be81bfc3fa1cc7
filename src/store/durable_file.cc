#include "store/durable_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/mapped_file.h"

namespace winnow::store {

using base::Result;
using base::Status;

namespace {

Status errno_status(const std::filesystem::path& path, std::string_view what) {
  return base::failed_precondition(path.string() + ": " + std::string(what) + ": " + std::strerror(errno));
}

Status sync_path(const std::filesystem::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return errno_status(path, "cannot open");
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) {
    errno = saved;
    return errno_status(path, "fsync failed");
  }
  return {};
}

}  // namespace

Status sync_file(const std::filesystem::path& path) { return sync_path(path, O_RDONLY); }

Status write_file_durably(const std::filesystem::path& path, std::string_view contents) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status(tmp, "cannot create");
  std::size_t written = 0;
  while (written < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status status = errno_status(tmp, "write failed");
      ::close(fd);
      return status;
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    Status status = errno_status(tmp, "fsync failed");
    ::close(fd);
    return status;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return errno_status(path, "rename failed");
  return sync_path(path.parent_path().empty() ? "." : path.parent_path(), O_RDONLY | O_DIRECTORY);
}

Result<std::uint64_t> file_checksum(const std::filesystem::path& path) {
  WINNOW_ASSIGN_OR_RETURN(base::MappedFile file, base::MappedFile::open(path));
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (std::uint8_t byte : file.bytes()) {
    hash ^= byte;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

Result<DirectoryLock> DirectoryLock::acquire(const std::filesystem::path& lock_file) {
  int fd = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status(lock_file, "cannot open lock file");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int saved = errno;
    ::close(fd);
    if (saved == EWOULDBLOCK) {
      return base::failed_precondition(lock_file.parent_path().string() +
                                       ": data directory is in use by another process");
    }
    errno = saved;
    return errno_status(lock_file, "cannot lock");
  }
  return DirectoryLock(fd);
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the flock
}

}  // namespace winnow::store
