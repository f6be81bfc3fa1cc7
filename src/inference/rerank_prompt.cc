#include "inference/rerank_prompt.h"

#include <algorithm>

namespace winnow::inference {

namespace {

constexpr std::string_view kPrefix =
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct "
    "provided. Note that the answer can only be \"yes\" or \"no\".<|im_end|>\n<|im_start|>user\n";
constexpr std::string_view kSuffix = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n";

std::string body(std::string_view instruction, std::string_view query, std::string_view document) {
  std::string text;
  text.reserve(instruction.size() + query.size() + document.size() + 40);
  text.append("<Instruct>: ").append(instruction).append("\n<Query>: ").append(query);
  text.append("\n<Document>: ").append(document);
  return text;
}

}  // namespace

base::Result<RerankPrompt> RerankPrompt::create(const text::Tokenizer& tokenizer, std::string default_instruction,
                                                std::size_t max_length) {
  RerankPrompt prompt;
  prompt.tokenizer_ = &tokenizer;
  prompt.default_instruction_ = std::move(default_instruction);
  WINNOW_ASSIGN_OR_RETURN(prompt.prefix_, tokenizer.tokenize(kPrefix));
  WINNOW_ASSIGN_OR_RETURN(prompt.suffix_, tokenizer.tokenize(kSuffix));
  // The template alone must leave room. (A long instruction or query may
  // still leave a document none: that prompt is cut as the card cuts it, the
  // body's first tokens kept, or refused when the call asks for windows.)
  const std::size_t fixed = prompt.prefix_.size() + prompt.suffix_.size();
  if (fixed >= max_length) {
    return base::invalid_argument("max_length " + std::to_string(max_length) +
                                  " leaves no room for a document: the reranker's prompt template (system prompt "
                                  "and assistant suffix) takes " + std::to_string(fixed) + " tokens");
  }
  return prompt;
}

base::Result<std::vector<std::int32_t>> RerankPrompt::head(std::string_view instruction,
                                                           std::string_view query) const {
  // Up to the colon after <Document>: the space after it may merge with the
  // document's first word, but the colon is a word of its own whatever
  // follows (Qwen2's pre-tokenizer regex), so these ids start every pair's.
  std::string text = body(instruction, query, "");
  text.pop_back();
  return tokenizer_->tokenize(text);
}

base::Result<text::Encoding> RerankPrompt::encode(std::string_view instruction, std::string_view query,
                                                  std::string_view document, const std::vector<std::int32_t>& head,
                                                  const PromptFit& fit) const {
  WINNOW_ASSIGN_OR_RETURN(std::vector<std::int32_t> ids, tokenizer_->tokenize(body(instruction, query, document)));
  // The ids before the document: those equal to the head's (found rather
  // than assumed, so that no text can make a pair claim ids it lacks).
  std::size_t shared = 0;
  while (shared < ids.size() && shared < head.size() && ids[shared] == head[shared]) ++shared;
  const std::size_t fixed = prefix_.size() + suffix_.size();
  const std::size_t room = fit.max_length > fixed ? fit.max_length - fixed : 0;
  text::Encoding encoding;
  std::size_t document_tokens = ids.size() - shared;
  if (fit.max_document_tokens && document_tokens > *fit.max_document_tokens) {
    const std::size_t cut = document_tokens - *fit.max_document_tokens;
    if (fit.direction == text::TruncationDirection::kRight) {
      ids.resize(ids.size() - cut);
    } else {
      ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(shared), ids.begin() + static_cast<std::ptrdiff_t>(shared + cut));
    }
    document_tokens -= cut;
    encoding.truncated = true;
  }
  if (ids.size() > room) {
    if (!fit.truncate) {
      return base::out_of_range("the prompt has " + std::to_string(ids.size() + fixed) +
                                " tokens (template, instruction, query and document), more than max_length " +
                                std::to_string(fit.max_length) + ", and truncation is off");
    }
    const std::size_t cut = ids.size() - room;
    if (fit.direction == text::TruncationDirection::kLeft && cut <= document_tokens) {
      ids.erase(ids.begin() + static_cast<std::ptrdiff_t>(shared), ids.begin() + static_cast<std::ptrdiff_t>(shared + cut));
    } else {
      ids.resize(room);  // the card: the body's first tokens
      shared = std::min(shared, room);
    }
    encoding.truncated = true;
  }
  encoding.ids.reserve(fixed + ids.size());
  encoding.ids = prefix_;
  encoding.ids.insert(encoding.ids.end(), ids.begin(), ids.end());
  encoding.ids.insert(encoding.ids.end(), suffix_.begin(), suffix_.end());
  encoding.type_ids.assign(encoding.ids.size(), 0);
  encoding.shared_prefix = prefix_.size() + shared;
  return encoding;
}

}  // namespace winnow::inference
