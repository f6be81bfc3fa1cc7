// The prompt a decoder reranker scores, as Qwen3-Reranker's model card builds
// it (process_inputs / format_instruction):
//
//   prefix  "<|im_start|>system\nJudge whether the Document meets the requirements
//           based on the Query and the Instruct provided. Note that the answer can
//           only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n"       encoded alone
//   body    "<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {document}"
//                                                               encoded as one text
//   suffix  "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"  encoded alone
//
// ids = prefix + body + suffix, the body cut to max_length less the prefix
// and suffix. The model then reads the last token's "yes" and "no" logits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "text/tokenizer.h"

namespace winnow::inference {

// The card's default instruction.
inline constexpr std::string_view kDefaultRerankInstruction =
    "Given a web search query, retrieve relevant passages that answer the query";

// How one prompt is fitted into max_length.
struct PromptFit {
  std::size_t max_length = 0;
  // Which end of the document is cut when the prompt is too long: kRight keeps
  // the body's first tokens (the card's truncation), kLeft keeps the
  // instruction and query and the document's last tokens.
  text::TruncationDirection direction = text::TruncationDirection::kRight;
  // Document tokens kept at most (Cohere's max_tokens_per_doc), cut in `direction`.
  std::optional<std::size_t> max_document_tokens;
  // false: a prompt over max_length is an OutOfRange error instead of being cut.
  bool truncate = true;
};

class RerankPrompt {
 public:
  // Encodes the fixed prefix and suffix with `tokenizer` (which must outlive
  // the prompt). InvalidArgument when they, with `default_instruction` and an
  // empty query and document, leave no room in max_length.
  static base::Result<RerankPrompt> create(const text::Tokenizer& tokenizer, std::string default_instruction,
                                           std::size_t max_length);

  // The ids of the body's part before the document ("<Instruct>: …\n<Query>:
  // …\n<Document>:"), computed once per call: a pair's leading ids that
  // equal these (and the prefix's) are what every pair of the call shares.
  base::Result<std::vector<std::int32_t>> head(std::string_view instruction, std::string_view query) const;

  // The prompt of one pair, fitted as `fit` says; `head` is head(instruction,
  // query). Encoding::shared_prefix is the ids it shares with every other
  // pair of the same instruction and query. Thread-safe.
  base::Result<text::Encoding> encode(std::string_view instruction, std::string_view query,
                                      std::string_view document, const std::vector<std::int32_t>& head,
                                      const PromptFit& fit) const;

  // Tokens of the prompt without its document: what a document's windows
  // have left beside them in max_length.
  std::size_t fixed_tokens(const std::vector<std::int32_t>& head) const {
    return prefix_.size() + head.size() + 1 + suffix_.size();  // + the space before the document
  }
  const std::string& default_instruction() const { return default_instruction_; }

 private:
  const text::Tokenizer* tokenizer_ = nullptr;
  std::string default_instruction_;
  std::vector<std::int32_t> prefix_, suffix_;
};

}  // namespace winnow::inference
