#include "cli/documents_input.h"

#include "base/files.h"

namespace winnow::cli {
namespace {

bool is_blank(std::string_view s) { return s.find_first_not_of(" \t\r") == std::string_view::npos; }

}  // namespace

base::Result<std::vector<InputDocument>> read_documents(std::istream& in, DocumentFormat format,
                                                        std::string_view source) {
  std::vector<InputDocument> documents;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (is_blank(line)) continue;
    const std::string where = std::string(source) + " line " + std::to_string(number);
    if (format == DocumentFormat::kLines) {
      documents.push_back({std::nullopt, std::move(line), number});
      continue;
    }
    WINNOW_ASSIGN_OR_RETURN(nlohmann::json value, base::parse_json(line, where));
    if (value.is_string()) {
      documents.push_back({std::nullopt, value.get<std::string>(), number});
      continue;
    }
    if (!value.is_object()) {
      return base::invalid_argument(where + ": expected a JSON string or an object with \"text\", got " +
                                    std::string(value.type_name()));
    }
    auto text = value.find("text");
    if (text == value.end() || !text->is_string()) {
      return base::invalid_argument(where + ": the object needs a string \"text\"");
    }
    InputDocument document{std::nullopt, text->get<std::string>(), number};
    if (auto id = value.find("id"); id != value.end()) {
      if (id->is_string()) {
        document.id = id->get<std::string>();
      } else if (id->is_number_integer() || id->is_number_unsigned()) {
        document.id = id->dump();
      } else if (!id->is_null()) {
        return base::invalid_argument(where + ": \"id\" must be a string or an integer");
      }
    }
    documents.push_back(std::move(document));
  }
  if (in.bad()) return base::data_loss(std::string(source) + ": read error");
  return documents;
}

}  // namespace winnow::cli
