// A small disk that fills up for real: a tmpfs mounted in a mount namespace
// of the test process's own, which the servers it starts inherit and nothing
// outside it sees, and a ballast file that fills it until writes fail with
// ENOSPC. For the tests of what a full disk does to the store and the server.
//
// Root (as in CI) needs only the mount namespace; anyone else gets a user
// namespace first, as `unshare -rm` does. unshare(CLONE_NEWUSER) needs a
// single-threaded process: call mount_small_disk before starting threads
// (each ctest entry runs one test in a fresh process).
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace winnow::testing {

// "" once a tmpfs of `bytes` is mounted at `dir`, else why not.
inline std::string mount_small_disk(const std::filesystem::path& dir, std::size_t bytes) {
  const auto write_text = [](const char* path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    out.close();
    return out ? std::string() : std::string(path) + ": cannot write";
  };
  const uid_t uid = ::geteuid();
  const gid_t gid = ::getegid();
  if (uid != 0) {
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) {
      return std::string("unshare(CLONE_NEWUSER | CLONE_NEWNS): ") + std::strerror(errno) +
             " (this test needs root, or unprivileged user namespaces)";
    }
    std::string error = write_text("/proc/self/setgroups", "deny");
    if (error.empty()) error = write_text("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1");
    if (error.empty()) error = write_text("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1");
    if (!error.empty()) return error;
  } else if (::unshare(CLONE_NEWNS) != 0) {
    return std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
  }
  // Without this, a mount under a shared mount point would show in the
  // machine's namespace too.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return std::string("making / private: ") + std::strerror(errno);
  }
  const std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
  if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
    return "mounting a tmpfs at " + dir.string() + ": " + std::strerror(errno);
  }
  return {};
}

// Grows `path` until the file system refuses with ENOSPC, then gives back
// `leave` bytes. "" when done, else what went wrong.
inline std::string fill_disk(const std::filesystem::path& path, std::size_t leave = 0) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return path.string() + ": " + std::strerror(errno);
  const std::string chunk(1 << 20, 'x');
  off_t size = ::lseek(fd, 0, SEEK_END);
  std::string error;
  for (std::size_t block = chunk.size(); block >= 512 && error.empty(); block /= 2) {
    while (true) {
      const ssize_t n = ::write(fd, chunk.data(), block);
      if (n > 0) {
        size += n;
        continue;
      }
      if (errno != ENOSPC) error = path.string() + ": " + std::strerror(errno);
      break;
    }
  }
  if (error.empty() && leave > 0) {
    size = size > static_cast<off_t>(leave) ? size - static_cast<off_t>(leave) : 0;
    if (::ftruncate(fd, size) != 0) error = path.string() + ": ftruncate: " + std::strerror(errno);
  }
  ::close(fd);
  return error;
}

}  // namespace winnow::testing
