// Whole-file reads and JSON files, with errors that name the file and line.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace winnow::base {

// The file's bytes. NotFound if it does not exist.
Result<std::string> read_file(const std::filesystem::path& path);

// Parses `text` as JSON; a syntax error names `source`, the line and column.
Result<nlohmann::json> parse_json(std::string_view text, std::string_view source);

// read_file + parse_json.
Result<nlohmann::json> read_json_file(const std::filesystem::path& path);

// Writes `contents` to `path` through a temporary file and rename, so readers
// never see a half-written file.
Status write_file_atomically(const std::filesystem::path& path, std::string_view contents);

}  // namespace winnow::base
