// Reading the documents `winnow rerank` ranks.
#pragma once

#include <istream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace winnow::cli {

enum class DocumentFormat { kJsonLines, kLines };

struct InputDocument {
  std::optional<std::string> id;  // the object's "id", as given (numbers as text)
  std::string text;
  std::size_t line = 0;           // 1-based line in the input
};

// Reads every document. JSON Lines: each line a JSON string, or an object with
// "text" (string) and optional "id" (string or number). Plain lines: one
// document per line (its bytes as they are; the tokenizer rejects invalid
// UTF-8). Blank lines are skipped in both. `source` names the input
// in errors: "docs.jsonl line 17: expected a string or an object, got a number".
base::Result<std::vector<InputDocument>> read_documents(std::istream& in, DocumentFormat format,
                                                        std::string_view source);

}  // namespace winnow::cli
