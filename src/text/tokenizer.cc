#include "text/tokenizer.h"

#include <string>

#include "base/files.h"
#include "text/added_vocabulary.h"
#include "text/json_fields.h"
#include "text/subword_model.h"
#include "text/normalizers.h"
#include "text/post_processor.h"
#include "text/pre_tokenizers.h"
#include "text/truncation.h"
#include "text/unicode.h"

namespace winnow::text {

struct Tokenizer::Impl {
  std::unique_ptr<Normalizer> normalizer;      // may be null
  std::unique_ptr<PreTokenizer> pre_tokenizer;  // may be null
  std::unique_ptr<SubwordModel> model;
  PostProcessor post_processor;
  AddedVocabulary added;
  std::optional<std::size_t> model_max_length;
  std::int32_t pad_token_id = 0;
};

namespace {

// transformers' VERY_LARGE_INTEGER (int(1e30)) and friends mean "no limit".
constexpr double kUnsetMaxLength = 1e9;

base::Status invalid_utf8(std::string_view text, std::string_view which) {
  std::size_t bad = unicode::find_invalid_utf8(text);
  if (bad == std::string_view::npos) return {};
  std::string message = "invalid UTF-8 at byte " + std::to_string(bad);
  if (!which.empty()) message += " of the " + std::string(which);
  return base::invalid_argument(std::move(message));
}

// A pad_token entry of tokenizer_config.json: a string or {"content": ...}.
std::optional<std::string> config_token(const nlohmann::json& config, const char* field) {
  if (!config.is_object() || !config.contains(field)) return std::nullopt;
  const auto& v = config[field];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

}  // namespace

base::Result<Tokenizer> Tokenizer::load_dir(const std::filesystem::path& dir) {
  std::filesystem::path config = dir / "tokenizer_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(config, ec)) config.clear();
  return load(dir / "tokenizer.json", config);
}

base::Result<Tokenizer> Tokenizer::load(const std::filesystem::path& tokenizer_json,
                                        const std::filesystem::path& tokenizer_config) {
  WINNOW_ASSIGN_OR_RETURN(std::string json_text, base::read_file(tokenizer_json));
  std::string config_text;
  if (!tokenizer_config.empty()) {
    WINNOW_ASSIGN_OR_RETURN(config_text, base::read_file(tokenizer_config));
    // Parse here so that a syntax error names the config file itself.
    WINNOW_ASSIGN_OR_RETURN(nlohmann::json parsed, base::parse_json(config_text, tokenizer_config.string()));
    (void)parsed;
  }
  return from_json_text(json_text, config_text, tokenizer_json.string());
}

base::Result<Tokenizer> Tokenizer::from_json_text(std::string_view tokenizer_json, std::string_view tokenizer_config,
                                                  std::string_view source) {
  WINNOW_ASSIGN_OR_RETURN(nlohmann::json root, base::parse_json(tokenizer_json, source));
  nlohmann::json config;
  if (!tokenizer_config.empty()) {
    WINNOW_ASSIGN_OR_RETURN(config, base::parse_json(tokenizer_config, "tokenizer_config.json"));
  }
  const std::string file(source);
  if (!root.is_object()) return base::invalid_argument(file + ": must be a JSON object");
  if (root.contains("version") && root["version"].is_string() && root["version"].get<std::string>() != "1.0") {
    return base::invalid_argument(file + ": unknown tokenizer version \"" + root["version"].get<std::string>() + "\"");
  }
  auto impl = std::make_shared<Impl>();
  if (root.contains("normalizer") && !root["normalizer"].is_null()) {
    WINNOW_ASSIGN_OR_RETURN(impl->normalizer, make_normalizer(root["normalizer"], file));
  }
  if (root.contains("pre_tokenizer") && !root["pre_tokenizer"].is_null()) {
    WINNOW_ASSIGN_OR_RETURN(impl->pre_tokenizer, make_pre_tokenizer(root["pre_tokenizer"], file));
  }
  if (!root.contains("model") || root["model"].is_null()) return base::invalid_argument(file + ": has no \"model\"");
  WINNOW_ASSIGN_OR_RETURN(impl->model, make_subword_model(root["model"], file));
  nlohmann::json null_json;
  WINNOW_ASSIGN_OR_RETURN(impl->post_processor,
                          PostProcessor::from_json(root.contains("post_processor") ? root["post_processor"] : null_json, file));
  WINNOW_ASSIGN_OR_RETURN(
      std::vector<AddedToken> added_tokens,
      AddedVocabulary::parse(root.contains("added_tokens") ? root["added_tokens"] : null_json, file));
  impl->added = AddedVocabulary::build(added_tokens, *impl->model, impl->normalizer.get());

  // model_max_length from the config.
  if (config.is_object() && config.contains("model_max_length") && config["model_max_length"].is_number()) {
    double v = config["model_max_length"].get<double>();
    if (v > 0 && v <= kUnsetMaxLength) impl->model_max_length = static_cast<std::size_t>(v);
  }
  // Pad id: padding config, then the config's pad_token, then the usual names.
  auto lookup = [&](std::string_view token) -> std::optional<std::int32_t> {
    if (auto id = impl->added.token_to_id(token)) return id;
    return impl->model->token_to_id(token);
  };
  std::optional<std::int32_t> pad;
  if (root.contains("padding") && root["padding"].is_object()) {
    const auto& padding = root["padding"];
    if (padding.contains("pad_id") && padding["pad_id"].is_number_integer()) {
      pad = static_cast<std::int32_t>(padding["pad_id"].get<std::int64_t>());
    } else if (padding.contains("pad_token") && padding["pad_token"].is_string()) {
      pad = lookup(padding["pad_token"].get<std::string>());
    }
  }
  if (!pad) {
    if (auto name = config_token(config, "pad_token")) pad = lookup(*name);
  }
  if (!pad) pad = lookup("[PAD]");
  if (!pad) pad = lookup("<pad>");
  impl->pad_token_id = pad.value_or(0);
  return Tokenizer(std::move(impl));
}

base::Status Tokenizer::encode_sequence(std::string_view text, std::vector<std::int32_t>& ids) const {
  const Impl& impl = *impl_;
  std::vector<Segment> segments;
  impl.added.extract_and_normalize(text, impl.normalizer.get(), segments);
  std::vector<Split> splits;
  for (auto& segment : segments) {
    if (segment.token_id >= 0) {
      ids.push_back(segment.token_id);
      continue;
    }
    splits.clear();
    splits.push_back({std::move(segment.text), segment.at_origin});
    if (impl.pre_tokenizer) impl.pre_tokenizer->pre_tokenize(splits);
    for (const auto& split : splits) {
      if (split.text.empty()) continue;
      WINNOW_RETURN_IF_ERROR(impl.model->tokenize(split.text, ids));
    }
  }
  return {};
}

base::Result<Encoding> Tokenizer::encode(std::string_view text, std::optional<std::size_t> max_length,
                                         TruncationDirection direction) const {
  WINNOW_RETURN_IF_ERROR(invalid_utf8(text, ""));
  const std::size_t specials = impl_->post_processor.added_tokens(false);
  if (max_length && *max_length < specials) {
    return base::invalid_argument("max_length " + std::to_string(*max_length) + " is smaller than the " +
                                  std::to_string(specials) + " special tokens of the single template");
  }
  std::vector<std::int32_t> content;
  WINNOW_RETURN_IF_ERROR(encode_sequence(text, content));
  Encoding encoding;
  if (max_length) encoding.truncated = truncate_to(content, *max_length - specials, direction);
  impl_->post_processor.process(content, nullptr, encoding.ids, encoding.type_ids);
  return encoding;
}

base::Result<std::vector<std::int32_t>> Tokenizer::tokenize(std::string_view text) const {
  WINNOW_RETURN_IF_ERROR(invalid_utf8(text, ""));
  std::vector<std::int32_t> ids;
  WINNOW_RETURN_IF_ERROR(encode_sequence(text, ids));
  return ids;
}

base::Result<Encoding> Tokenizer::encode_pair(std::string_view first, std::string_view second,
                                              std::size_t max_length, Truncation truncation) const {
  return encode_pair(first, second, PairTruncation{max_length, truncation, TruncationDirection::kRight, std::nullopt});
}

base::Result<Encoding> Tokenizer::encode_pair(std::string_view first, std::string_view second,
                                              const PairTruncation& truncation) const {
  WINNOW_RETURN_IF_ERROR(invalid_utf8(first, "query"));
  WINNOW_RETURN_IF_ERROR(invalid_utf8(second, "document"));
  const std::size_t max_length = truncation.max_length;
  const std::size_t specials = impl_->post_processor.added_tokens(true);
  if (max_length < specials) {
    return base::invalid_argument("max_length " + std::to_string(max_length) + " is smaller than the " +
                                  std::to_string(specials) + " special tokens of the pair template");
  }
  std::vector<std::int32_t> a;
  std::vector<std::int32_t> b;
  WINNOW_RETURN_IF_ERROR(encode_sequence(first, a));
  WINNOW_RETURN_IF_ERROR(encode_sequence(second, b));
  bool cut_document = false;
  if (truncation.max_second_tokens) cut_document = truncate_to(b, *truncation.max_second_tokens, truncation.direction);
  const std::size_t query_tokens = a.size();
  auto truncated = truncate_pair(a, b, max_length - specials, truncation.strategy, truncation.direction);
  if (!truncated.ok()) {
    return base::invalid_argument("query plus special tokens leave no room for the document within max_length " +
                                  std::to_string(max_length) + " (the query has " + std::to_string(query_tokens) +
                                  " tokens and the pair template adds " + std::to_string(specials) + ")");
  }
  Encoding encoding;
  encoding.truncated = *truncated || cut_document;
  impl_->post_processor.process(a, &b, encoding.ids, encoding.type_ids);
  return encoding;
}

std::optional<std::size_t> Tokenizer::model_max_length() const { return impl_->model_max_length; }

std::int32_t Tokenizer::pad_token_id() const { return impl_->pad_token_id; }

std::size_t Tokenizer::special_tokens_count(bool pair) const { return impl_->post_processor.added_tokens(pair); }

std::optional<std::int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (auto id = impl_->added.token_to_id(token)) return id;
  return impl_->model->token_to_id(token);
}

std::size_t Tokenizer::vocab_size() const {
  std::size_t n = impl_->model->vocab_size();
  for (const auto& [id, token] : impl_->added.tokens_by_id()) {
    if (!impl_->model->token_to_id(token.content)) ++n;
  }
  return n;
}

}  // namespace winnow::text
