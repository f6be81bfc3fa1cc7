#include "support/answer_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace winnow::testing {

void record_answer(std::string_view method, std::string_view target, int status, std::string_view content_type,
                   std::string_view body) {
  const char* dir = std::getenv("WINNOW_ANSWER_LOG_DIR");
  if (dir == nullptr || *dir == '\0' || status == 0) return;
  std::string test;
  if (const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
    test = std::string(info->test_suite_name()) + "." + info->name();
  }
  nlohmann::json line = {{"test", test},
                         {"method", std::string(method)},
                         {"target", std::string(target)},
                         {"status", status},
                         {"content_type", std::string(content_type)},
                         {"body", std::string(body)}};
  const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  std::error_code ignored;
  std::filesystem::create_directories(dir, ignored);
  const std::string path = std::string(dir) + "/answers-" + std::to_string(::getpid()) + ".jsonl";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    ADD_FAILURE() << "cannot record an answer in " << path << " (WINNOW_ANSWER_LOG_DIR)";
    return;
  }
  std::string_view rest = text;
  while (!rest.empty()) {
    const ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n <= 0) break;
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  ::close(fd);
}

void RequestLineScanner::feed(std::string_view bytes) {
  constexpr std::size_t kMaxLine = 64 * 1024;  // longer lines are bodies, not request lines
  for (char c : bytes) {
    if (c != '\n') {
      if (line_.size() < kMaxLine) line_ += c;
      continue;
    }
    // "...METHOD TARGET HTTP/1.x\r": the method may follow a body sent
    // without a final newline, so it is the uppercase run before the target.
    std::string_view line = line_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::size_t version = line.rfind(" HTTP/1.");
    if (version != std::string_view::npos && version + 9 == line.size()) {
      const std::size_t space = line.rfind(' ', version - 1);
      if (space != std::string_view::npos && space > 0) {
        std::size_t begin = space;
        while (begin > 0 && std::isupper(static_cast<unsigned char>(line[begin - 1]))) --begin;
        if (begin < space) {
          found_.emplace_back(std::string(line.substr(begin, space - begin)),
                              std::string(line.substr(space + 1, version - space - 1)));
        }
      }
    }
    line_.clear();
  }
}

bool RequestLineScanner::next(std::string* method, std::string* target) {
  if (taken_ >= found_.size()) return false;
  *method = found_[taken_].first;
  *target = found_[taken_].second;
  ++taken_;
  return true;
}

}  // namespace winnow::testing
