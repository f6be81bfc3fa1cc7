#include "base/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "base/mapped_file.h"

namespace winnow::base {

Result<std::string> read_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return not_found(path.string() + ": no such file");
  if (std::filesystem::is_directory(path, ec)) return failed_precondition(path.string() + ": is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return failed_precondition(path.string() + ": cannot open: " + std::strerror(errno));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return data_loss(path.string() + ": read error");
  return std::move(buffer).str();
}

namespace {

// 1-based line and column of byte offset `pos` in `text`.
std::pair<std::size_t, std::size_t> line_and_column(std::string_view text, std::size_t pos) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < pos && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

}  // namespace

namespace {

// Where the parser is, kept up to date by the parse callback: the path of the
// value being read, and the nesting depth.
class JsonPosition {
 public:
  void enter(bool array) { frames_.push_back({array, 0, {}}); }
  void leave() {
    if (!frames_.empty()) frames_.pop_back();
    finished_value();
  }
  void key(std::string key) {
    if (!frames_.empty()) frames_.back().key = std::move(key);
  }
  void finished_value() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
  }
  std::size_t depth() const { return frames_.size(); }

  // "metadata.n", "documents[3].text", "" at the top.
  std::string path() const {
    std::string out;
    for (const Frame& f : frames_) {
      if (f.array) {
        out += "[" + std::to_string(f.index) + "]";
      } else if (!f.key.empty()) {
        out += (out.empty() ? "" : ".") + f.key;
      }
    }
    return out;
  }

 private:
  struct Frame {
    bool array;
    std::size_t index;
    std::string key;
  };
  std::vector<Frame> frames_;
};

struct TooDeep {};

template <typename Json>
Result<Json> parse_json_as(std::string_view text, std::string_view source) {
  JsonPosition position;
  auto track = [&](int /*depth*/, nlohmann::json::parse_event_t event, Json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        position.enter(event == Event::array_start);
        // Thrown through nlohmann's parser, which holds no resources of ours.
        if (position.depth() > kMaxJsonDepth) throw TooDeep{};
        break;
      case Event::object_end:
      case Event::array_end: position.leave(); break;
      case Event::key: position.key(parsed.template get<std::string>()); break;
      case Event::value: position.finished_value(); break;
    }
    return true;
  };
  const auto at = [&](std::size_t byte) {
    // nlohmann's byte is 1-based and points just past the offending character.
    auto [line, column] = line_and_column(text, byte > 0 ? byte - 1 : 0);
    return std::string(source) + ": invalid JSON at line " + std::to_string(line) + ", column " +
           std::to_string(column) + ": ";
  };
  try {
    return Json::parse(text.begin(), text.end(), track);
  } catch (const TooDeep&) {
    return invalid_argument(std::string(source) + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                            " levels" + (position.path().empty() ? "" : " (at " + position.path() + ")"));
  } catch (const nlohmann::json::parse_error& e) {
    std::string what = e.what();
    // nlohmann's message starts "[json.exception.parse_error.101] parse error at line 1, column 2: ...".
    auto colon = what.find(": ", what.find("parse error"));
    return invalid_argument(at(e.byte) + (colon == std::string::npos ? what : what.substr(colon + 2)));
  } catch (const nlohmann::json::exception& e) {
    // out_of_range.406: a number too large for a double ("1e400").
    const std::string field = position.path();
    std::string what = e.what();
    auto bracket = what.find("] ");
    return invalid_argument(std::string(source) + (field.empty() ? "" : ": field " + field) + ": " +
                            (bracket == std::string::npos ? what : what.substr(bracket + 2)));
  }
}

}  // namespace

Result<nlohmann::json> parse_json(std::string_view text, std::string_view source) {
  return parse_json_as<nlohmann::json>(text, source);
}

Result<nlohmann::ordered_json> parse_ordered_json(std::string_view text, std::string_view source) {
  return parse_json_as<nlohmann::ordered_json>(text, source);
}

Result<nlohmann::json> read_json_file(const std::filesystem::path& path) {
  WINNOW_ASSIGN_OR_RETURN(std::string text, read_file(path));
  return parse_json(text, path.string());
}

std::filesystem::path temp_path_beside(const std::filesystem::path& path) {
  static std::atomic<unsigned long> counter{0};
  const auto thread = std::hash<std::thread::id>{}(std::this_thread::get_id());
  std::filesystem::path tmp = path;
  tmp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(thread % 100000) + "." +
         std::to_string(counter.fetch_add(1));
  return tmp;
}

bool is_out_of_space(int error) { return error == ENOSPC || error == EDQUOT; }

Status file_error(const std::filesystem::path& path, std::string_view what, int error) {
  std::string message = path.string() + ": " + std::string(what) + ": ";
  if (error == ENOSPC) return out_of_space(message + "no space left on device");
  if (error == EDQUOT) return out_of_space(message + "disk quota exceeded");
  return failed_precondition(message + std::strerror(error));
}

namespace {

Status errno_status(const std::filesystem::path& path, std::string_view what) {
  return file_error(path, what, errno);
}

}  // namespace

Status sync_file(const std::filesystem::path& path, bool directory) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0));
  if (fd < 0) return errno_status(path, "cannot open");
  const int rc = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  if (rc != 0) {
    errno = saved;
    return errno_status(path, "fsync failed");
  }
  return {};
}

Status write_file_durably(const std::filesystem::path& path, std::string_view contents) {
  const std::filesystem::path tmp = temp_path_beside(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return errno_status(tmp, "cannot create");
  auto fail = [&](std::string_view what) {
    Status status = errno_status(tmp, what);
    ::close(fd);
    ::unlink(tmp.c_str());
    return status;
  };
  std::size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("write failed");
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("fsync failed");
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status status = errno_status(path, "cannot rename into place");
    ::unlink(tmp.c_str());
    return status;
  }
  return sync_file(path.has_parent_path() ? path.parent_path() : ".", /*directory=*/true);
}

Result<std::uint64_t> file_checksum(const std::filesystem::path& path) {
  WINNOW_ASSIGN_OR_RETURN(MappedFile file, MappedFile::open(path));
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (std::uint8_t byte : file.bytes()) {
    hash ^= byte;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

}  // namespace winnow::base
