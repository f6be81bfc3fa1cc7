#include "model/cross_encoder.h"

#include <algorithm>

#include "model/checkpoint.h"
#include "model/config.h"
#include "model/layout.h"
#include "model/pooling.h"
#include "model/weights.h"

namespace winnow::model {

namespace {

struct Architecture {
  const char* name;
  Family family;
};

constexpr Architecture kArchitectures[] = {
    {"BertForSequenceClassification", Family::kBert},
    {"XLMRobertaForSequenceClassification", Family::kRoberta},
    {"RobertaForSequenceClassification", Family::kRoberta},
    {"ModernBertForSequenceClassification", Family::kModernBert},
};

}  // namespace

base::Result<std::unique_ptr<CrossEncoder>> CrossEncoder::load(const std::filesystem::path& dir) {
  return load(dir, LoadOptions{});
}

base::Result<std::unique_ptr<CrossEncoder>> CrossEncoder::load(const std::filesystem::path& dir,
                                                               const LoadOptions& options) {
  const std::filesystem::path config_path = dir / "config.json";
  WINNOW_ASSIGN_OR_RETURN(ModelConfig config, read_model_config(config_path));
  const std::string source = config_path.string();
  const std::string arch = config.architecture();
  if (arch == "Qwen3ForCausalLM") return load_decoder(dir, config, options);
  const Architecture* known = nullptr;
  for (const auto& a : kArchitectures) {
    if (arch == a.name) known = &a;
  }
  if (known == nullptr) {
    return base::unimplemented(source + ": architecture \"" + arch +
                               "\" is not supported as a cross-encoder (supported: BertForSequenceClassification, "
                               "XLMRobertaForSequenceClassification, RobertaForSequenceClassification, "
                               "ModernBertForSequenceClassification; Qwen3ForCausalLM as a yes/no reranker)");
  }
  WINNOW_ASSIGN_OR_RETURN(Family family, family_of(config, source));
  if (family != known->family) {
    return base::invalid_argument(source + ": architecture " + arch + " does not match model_type \"" +
                                  config.model_type.value_or("") + "\"");
  }
  if (config.num_labels != 1) {
    return base::unimplemented(source + ": num_labels is " + std::to_string(config.num_labels) +
                               "; only single-logit cross-encoders (num_labels 1) are supported as rerankers");
  }

  WINNOW_ASSIGN_OR_RETURN(Checkpoint checkpoint, Checkpoint::open(dir));
  WINNOW_ASSIGN_OR_RETURN(EncoderLayout layout, detect_layout(family, checkpoint));
  WeightReader weights(checkpoint);
  std::unique_ptr<CrossEncoder> model(new CrossEncoder());
  // A head on the first token needs no other token's last hidden state.
  model->mean_pooling_ = family == Family::kModernBert && config.classifier_pooling == "mean";
  const EncoderStates states = model->mean_pooling_ ? EncoderStates::kEveryToken : EncoderStates::kFirstTokens;
  WINNOW_ASSIGN_OR_RETURN(model->encoder_, Encoder::load(config, layout, checkpoint, weights, options, states));
  const std::size_t h = config.hidden_size;
  if (family == Family::kModernBert) {
    WINNOW_ASSIGN_OR_RETURN(model->head_, ClassificationHead::load_modernbert(weights, "", h, config.num_labels,
                                                                              config.classifier_bias, config.norm_bias,
                                                                              config.layer_norm_eps));
  } else if (family == Family::kBert) {
    WINNOW_ASSIGN_OR_RETURN(model->head_, ClassificationHead::load(weights, layout.prefix + "pooler.dense",
                                                                   "classifier", h, config.num_labels));
  } else {
    WINNOW_ASSIGN_OR_RETURN(model->head_, ClassificationHead::load(weights, "classifier.dense",
                                                                   "classifier.out_proj", h, config.num_labels));
  }

  model->info_ = describe_encoder(config, layout, model->encoder_, weights);
  model->info_.declared_activation = config.sbert_ce_default_activation_function;
  return model;
}

base::Result<std::vector<float>> CrossEncoder::score(const TokenBatch& batch) {
  return score(batch, info_.precision);
}

base::Result<std::unique_ptr<CrossEncoder>> CrossEncoder::load_decoder(const std::filesystem::path& dir,
                                                                       const ModelConfig& config,
                                                                       const LoadOptions& options) {
  const std::string source = (dir / "config.json").string();
  if (!config.is_qwen3()) {
    return base::invalid_argument(source + ": architecture Qwen3ForCausalLM does not match model_type \"" +
                                  config.model_type.value_or("") + "\" (expected \"qwen3\")");
  }
  if (!options.label_token_ids) {
    return base::failed_precondition(source + ": a Qwen3ForCausalLM reranker needs the tokenizer's \"yes\" and "
                                     "\"no\" token ids to score with");
  }
  WINNOW_ASSIGN_OR_RETURN(Checkpoint checkpoint, Checkpoint::open(dir));
  WeightReader weights(checkpoint);
  std::unique_ptr<CrossEncoder> model(new CrossEncoder());
  WINNOW_ASSIGN_OR_RETURN(model->decoder_, Decoder::load(config, checkpoint, weights, options, *options.label_token_ids));
  const Decoder& decoder = *model->decoder_;
  ModelInfo& info = model->info_;
  info.architecture = config.architecture();
  info.layout = "qwen3";
  info.hidden_size = config.hidden_size;
  info.num_layers = config.num_hidden_layers;
  info.num_heads = config.num_attention_heads;
  info.intermediate_size = config.intermediate_size;
  info.vocab_size = config.vocab_size;
  info.type_vocab_size = 0;
  info.max_tokens = decoder.max_tokens();
  info.pad_token_id = config.pad_token_id;
  info.stored_dtype = weights.stored_dtype();
  info.parameter_count = weights.parameter_count();
  info.encoder_layer_parameter_count = decoder.layer_parameter_count();
  info.weight_bytes = weights.weight_bytes();
  info.precision = decoder.precisions().front();
  info.precisions = decoder.precisions();
  info.attention_kernel = decoder.attention_kernel();
  info.decoder_reranker = true;
  info.no_token_id = (*options.label_token_ids)[0];
  info.yes_token_id = (*options.label_token_ids)[1];
  return model;
}

base::Result<std::vector<float>> CrossEncoder::label_logits(const TokenBatch& batch, base::Precision precision) {
  if (!decoder_) return base::failed_precondition("label logits: " + info_.architecture + " is not a decoder reranker");
  WINNOW_RETURN_IF_ERROR(info_.check_prepared(precision));
  WINNOW_RETURN_IF_ERROR(decoder_->validate(batch));
  std::vector<float> labels;
  WINNOW_RETURN_IF_ERROR(decoder_->label_logits(batch, precision, labels));
  return labels;
}

base::Result<std::vector<float>> CrossEncoder::score(const TokenBatch& batch, base::Precision precision) {
  WINNOW_RETURN_IF_ERROR(info_.check_prepared(precision));
  if (decoder_) {
    WINNOW_RETURN_IF_ERROR(decoder_->validate(batch));
    WINNOW_RETURN_IF_ERROR(decoder_->label_logits(batch, precision, labels_));
    std::vector<float> logits(batch.num_sequences());
    for (std::size_t s = 0; s < logits.size(); ++s) logits[s] = labels_[2 * s + 1] - labels_[2 * s];
    return logits;
  }
  WINNOW_RETURN_IF_ERROR(encoder_.validate(batch));
  const std::size_t n = batch.num_sequences();
  std::vector<float> logits(n);
  if (n == 0) return logits;
  if (mean_pooling_) {
    WINNOW_RETURN_IF_ERROR(encoder_.forward(batch, precision, workspace_, token_states_));
    first_tokens_.resize(n * encoder_.hidden_size());
    pool(PoolingMode::kMean, token_states_.data(), batch.offsets, encoder_.hidden_size(), first_tokens_.data());
  } else {
    WINNOW_RETURN_IF_ERROR(encoder_.forward_first_tokens(batch, precision, workspace_, first_tokens_));
  }
  WINNOW_RETURN_IF_ERROR(head_.forward(first_tokens_.data(), n, head_scratch_, logits.data()));
  return logits;
}

}  // namespace winnow::model
