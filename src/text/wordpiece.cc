#include "text/wordpiece.h"

#include <algorithm>

#include "text/json_fields.h"
#include "text/unicode.h"

namespace winnow::text {

base::Result<std::unique_ptr<SubwordModel>> WordPiece::from_json(const nlohmann::json& spec, std::string_view where) {
  auto model = std::make_unique<WordPiece>();
  WINNOW_ASSIGN_OR_RETURN(model->unk_token_, get_string(spec, "unk_token", "[UNK]", where));
  WINNOW_ASSIGN_OR_RETURN(model->prefix_, get_string(spec, "continuing_subword_prefix", "##", where));
  WINNOW_ASSIGN_OR_RETURN(std::int64_t max_chars, get_int(spec, "max_input_chars_per_word", 100, where));
  if (max_chars < 0) return field_error(where, "max_input_chars_per_word", "must not be negative");
  model->max_input_chars_per_word_ = static_cast<std::size_t>(max_chars);
  WINNOW_ASSIGN_OR_RETURN(model->vocab_, read_vocab_object(spec, where));
  for (const auto& entry : model->vocab_) {
    model->max_token_bytes_ = std::max(model->max_token_bytes_, entry.first.size());
  }
  return std::unique_ptr<SubwordModel>(std::move(model));
}

std::optional<std::int32_t> WordPiece::token_to_id(std::string_view token) const {
  auto it = vocab_.find(token);
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

base::Status WordPiece::push_unk(std::vector<std::int32_t>& ids) const {
  auto it = vocab_.find(unk_token_);
  if (it == vocab_.end()) {
    return base::failed_precondition("WordPiece: unknown token \"" + unk_token_ + "\" is not in the vocabulary");
  }
  ids.push_back(it->second);
  return {};
}

base::Status WordPiece::tokenize(std::string_view word, std::vector<std::int32_t>& ids) const {
  if (unicode::count_chars(word) > max_input_chars_per_word_) return push_unk(ids);
  const std::size_t first_id = ids.size();
  thread_local std::string key;
  std::size_t start = 0;
  while (start < word.size()) {
    // The longest candidate that could be in the vocabulary, cut back to a
    // code point boundary; shorter candidates lose one code point at a time.
    std::size_t budget = max_token_bytes_;
    if (start > 0) budget = budget > prefix_.size() ? budget - prefix_.size() : 0;
    std::size_t end = std::min(word.size(), start + budget);
    while (end > start && end < word.size() && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80) --end;
    bool found = false;
    while (end > start) {
      std::string_view piece = word.substr(start, end - start);
      TokenIdMap::const_iterator it;
      if (start > 0) {
        key.assign(prefix_);
        key.append(piece);
        it = vocab_.find(key);
      } else {
        it = vocab_.find(piece);
      }
      if (it != vocab_.end()) {
        ids.push_back(it->second);
        found = true;
        break;
      }
      --end;
      while (end > start && (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80) --end;
    }
    if (!found) {
      ids.resize(first_id);
      return push_unk(ids);
    }
    start = end;
  }
  return {};
}

}  // namespace winnow::text
