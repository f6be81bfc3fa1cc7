// Line-oriented input for the machine-readable commands: each line of input is
// one request, answered by one line of output in the same order.
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace winnow::cli {

struct InputLine {
  std::size_t number = 0;  // 1-based
  std::string text;        // without the line terminator ("\n" or "\r\n")
};

// Numbers lines as it reads them, so chunks of a long stream keep their numbers.
class LineReader {
 public:
  explicit LineReader(std::istream& in) : in_(in) {}

  // The next lines, at most `max_lines`; fewer only at end of input. A final
  // line without a newline is still a line.
  std::vector<InputLine> next(std::size_t max_lines);

 private:
  std::istream& in_;
  std::size_t lines_read_ = 0;
};

// Parses one JSON Lines record that must be an object. Errors read
// "line 7: expected a JSON object, got a number".
base::Result<nlohmann::json> parse_object_line(const InputLine& line);

// The string field `name` of `object`; errors name the line and the field.
base::Result<std::string> string_field(const nlohmann::json& object, std::string_view name, std::size_t line_number);

// One JSON value per line; invalid UTF-8 inside strings is replaced, never thrown.
std::string to_json_line(const nlohmann::json& value);

}  // namespace winnow::cli
