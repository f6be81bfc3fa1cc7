#include "base/files.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

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

Result<nlohmann::json> parse_json(std::string_view text, std::string_view source) {
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based and points just past the offending character.
    std::size_t pos = e.byte > 0 ? e.byte - 1 : 0;
    auto [line, column] = line_and_column(text, pos);
    std::string what = e.what();
    // nlohmann's message starts "[json.exception.parse_error.101] parse error at line 1, column 2: ...".
    auto colon = what.find(": ", what.find("parse error"));
    std::string reason = colon == std::string::npos ? what : what.substr(colon + 2);
    return invalid_argument(std::string(source) + ": invalid JSON at line " + std::to_string(line) +
                            ", column " + std::to_string(column) + ": " + reason);
  }
}

Result<nlohmann::json> read_json_file(const std::filesystem::path& path) {
  WINNOW_ASSIGN_OR_RETURN(std::string text, read_file(path));
  return parse_json(text, path.string());
}

Status write_file_atomically(const std::filesystem::path& path, std::string_view contents) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return failed_precondition(tmp.string() + ": cannot create: " + std::strerror(errno));
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    if (!out) return data_loss(tmp.string() + ": write failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return failed_precondition(path.string() + ": rename failed: " + ec.message());
  return {};
}

}  // namespace winnow::base
