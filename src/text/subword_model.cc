#include "text/subword_model.h"

#include "text/bpe.h"
#include "text/json_fields.h"
#include "text/unigram.h"
#include "text/wordpiece.h"

namespace winnow::text {

base::Result<std::unique_ptr<SubwordModel>> make_subword_model(const nlohmann::json& spec, std::string_view file) {
  std::string where = std::string(file) + ": model";
  if (!spec.is_object()) return base::invalid_argument(where + ": must be a JSON object");
  std::string type;
  if (spec.contains("type") && !spec["type"].is_null()) {
    WINNOW_ASSIGN_OR_RETURN(type, get_type(spec, where));
  } else if (spec.contains("merges")) {
    type = "BPE";
  } else if (spec.contains("vocab") && spec["vocab"].is_array()) {
    type = "Unigram";  // untagged legacy files: the crate tells the models apart by their fields
  } else if (spec.contains("continuing_subword_prefix") || spec.contains("max_input_chars_per_word")) {
    type = "WordPiece";
  } else {
    return base::invalid_argument(where + ": has no \"type\"");
  }
  where += " \"" + type + "\"";
  if (type == "WordPiece") return WordPiece::from_json(spec, where);
  if (type == "Unigram") return Unigram::from_json(spec, where);
  if (type == "BPE") return Bpe::from_json(spec, where);
  return base::invalid_argument(std::string(file) + ": model type \"" + type + "\" is not supported");
}

}  // namespace winnow::text
