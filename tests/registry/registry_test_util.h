// Shared by the registry tests: fixture models and scratch model roots.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace winnow::registry::testing {

namespace fs = std::filesystem;

inline fs::path fixture(const std::string& name) { return fs::path(WINNOW_TEST_DATA) / "models" / name; }

// A fresh, empty directory of this process.
inline fs::path scratch_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("winnow_registry_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// A copy of a fixture model at `to`.
inline void copy_model(const std::string& name, const fs::path& to) {
  fs::create_directories(to);
  fs::copy(fixture(name), to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

inline void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// A safetensors file whose 8-byte header length points far past its end.
inline std::string crafted_safetensors() {
  std::string bytes(8, '\0');
  bytes[5] = 0x7f;  // a header length of about 140 TB
  return bytes + "{}";
}

}  // namespace winnow::registry::testing
