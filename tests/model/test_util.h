// Helpers shared by the model room's tests: fixture paths, JSON lines, temp dirs.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace winnow::model::testing {

inline std::filesystem::path data_dir() { return std::filesystem::path(WINNOW_TEST_DATA); }
inline std::filesystem::path model_dir(const std::string& name) { return data_dir() / "models" / name; }
inline std::filesystem::path golden_path(const std::string& file) { return data_dir() / "golden" / file; }

inline std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

// A fixture's name as a test name ("bert-ce-tiny" -> "bert_ce_tiny"), for
// INSTANTIATE_TEST_SUITE_P over fixture names.
struct FixtureTestName {
  template <class ParamInfo>
  std::string operator()(const ParamInfo& param_info) const {
    std::string name = param_info.param;
    std::replace(name.begin(), name.end(), '-', '_');
    return name;
  }
};

inline std::vector<std::int32_t> int_vector(const nlohmann::json& array) {
  return array.get<std::vector<std::int32_t>>();
}

// A fresh directory under the system temp dir, removed at scope exit.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    path_ = std::filesystem::temp_directory_path() /
            ("winnow_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::filesystem::path path_;
};

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

}  // namespace winnow::model::testing
