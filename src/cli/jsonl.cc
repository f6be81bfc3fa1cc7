#include "cli/jsonl.h"

#include "base/files.h"

namespace winnow::cli {

std::vector<InputLine> LineReader::next(std::size_t max_lines) {
  std::vector<InputLine> lines;
  std::string text;
  while (lines.size() < max_lines && std::getline(in_, text)) {
    if (!text.empty() && text.back() == '\r') text.pop_back();
    lines.push_back({++lines_read_, std::move(text)});
    text.clear();
  }
  return lines;
}

namespace {

std::string_view json_type_name(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::boolean: return "a boolean";
    case nlohmann::json::value_t::string: return "a string";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float: return "a number";
    default: return "an unsupported value";
  }
}

std::string line_prefix(std::size_t number) { return "line " + std::to_string(number); }

}  // namespace

base::Result<nlohmann::json> parse_object_line(const InputLine& line) {
  std::string_view text = line.text;
  if (text.find_first_not_of(" \t") == std::string_view::npos) {
    return base::invalid_argument(line_prefix(line.number) + ": empty line, expected a JSON object");
  }
  auto parsed = base::parse_json(text, line_prefix(line.number));
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) {
    return base::invalid_argument(line_prefix(line.number) + ": expected a JSON object, got " +
                                  std::string(json_type_name(*parsed)));
  }
  return parsed;
}

base::Result<std::string> string_field(const nlohmann::json& object, std::string_view name, std::size_t line_number) {
  auto it = object.find(name);
  if (it == object.end()) {
    return base::invalid_argument(line_prefix(line_number) + ": missing \"" + std::string(name) + "\"");
  }
  if (!it->is_string()) {
    return base::invalid_argument(line_prefix(line_number) + ": \"" + std::string(name) + "\" must be a string, got " +
                                  std::string(json_type_name(*it)));
  }
  return it->get<std::string>();
}

std::string to_json_line(const nlohmann::json& value) {
  std::string out = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += '\n';
  return out;
}

}  // namespace winnow::cli
