#include "text/subword_model.h"

#include "text/bpe.h"
#include "text/json_fields.h"
#include "text/unigram.h"
#include "text/wordpiece.h"

namespace winnow::text {

base::Result<TokenIdMap> read_vocab_object(const nlohmann::json& spec, std::string_view where) {
  auto vocab_it = spec.find("vocab");
  if (vocab_it == spec.end() || !vocab_it->is_object()) {
    return field_error(where, "vocab", "must be an object mapping tokens to ids");
  }
  TokenIdMap vocab;
  vocab.reserve(vocab_it->size());
  for (const auto& [token, id] : vocab_it->items()) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 || id.get<std::int64_t>() > INT32_MAX) {
      return field_error(where, "vocab", "has a non-integer or out-of-range id for token \"" + token + "\"");
    }
    vocab[token] = static_cast<std::int32_t>(id.get<std::int64_t>());
  }
  return vocab;
}

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
