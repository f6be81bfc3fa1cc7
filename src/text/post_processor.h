// Post-processors of tokenizer.json ("post_processor"): add the special tokens
// around one sequence or a pair and assign type ids. TemplateProcessing,
// BertProcessing and RobertaProcessing are supported, and a Sequence of them
// with ByteLevel steps (which change offsets only, never ids).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace winnow::text {

class PostProcessor {
 public:
  // One element of a template: a sequence ($A/$B) or a special token's ids.
  struct Piece {
    bool is_sequence = false;
    int sequence = 0;                  // 0 = A, 1 = B
    std::vector<std::int32_t> ids;     // special token ids
    std::int32_t type_id = 0;
  };

  // No post-processor: sequences are concatenated, type ids 0 then 1.
  PostProcessor();

  // `spec` may be null. `file` starts every message.
  static base::Result<PostProcessor> from_json(const nlohmann::json& spec, std::string_view file);

  // Special tokens added to one sequence (pair = false) or a pair.
  std::size_t added_tokens(bool pair) const { return pair ? added_pair_ : added_single_; }

  // Writes the final ids and type ids for `a` and, when not null, `b`.
  void process(const std::vector<std::int32_t>& a, const std::vector<std::int32_t>* b,
               std::vector<std::int32_t>& ids, std::vector<std::int32_t>& type_ids) const;

 private:
  std::vector<Piece> single_;
  std::vector<Piece> pair_;
  std::size_t added_single_ = 0;
  std::size_t added_pair_ = 0;
};

}  // namespace winnow::text
