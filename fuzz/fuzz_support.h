// What the fuzz targets share: the repository's test data and a scratch
// folder that lives as long as the fuzzing process.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace winnow::fuzz {

// tests/data of the checkout the target was built from.
inline std::filesystem::path test_data() { return std::filesystem::path(WINNOW_SOURCE_DIR) / "tests" / "data"; }

// A folder of this process under $TMPDIR (or /tmp), removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::filesystem::path d = std::filesystem::path(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") /
                              ("winnow-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    static const struct Remove {
      std::filesystem::path path;
      ~Remove() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
      }
    } remove{d};
    return d;
  }();
  return dir;
}

// Stops the process with a message libFuzzer reports as a crash: an
// invariant of the code under test was broken.
[[noreturn]] inline void invariant_broken(const std::string& what) {
  std::fprintf(stderr, "invariant broken: %s\n", what.c_str());
  std::abort();
}

}  // namespace winnow::fuzz
