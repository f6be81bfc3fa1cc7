#include "model/encoder.h"

#include <charconv>

#include "kernels/attention.h"
#include "kernels/layer_norm.h"
#include "model/model_description.h"

namespace winnow::model {

namespace {

// Refuses a checkpoint holding layers past num_hidden_layers: config and
// weights disagree, and silently dropping layers would give wrong scores.
base::Status check_layer_count(const ModelConfig& config, const EncoderLayout& layout, const Checkpoint& checkpoint) {
  const std::string layer_prefix = layout.prefix + (layout.tensors == TensorLayout::kJinaFlash ? "encoder.layers." : "encoder.layer.");
  for (const std::string& name : checkpoint.names()) {
    if (name.rfind(layer_prefix, 0) != 0) continue;
    std::size_t index = 0;
    const char* first = name.data() + layer_prefix.size();
    const char* last = name.data() + name.size();
    auto [end, ec] = std::from_chars(first, last, index);
    if (ec == std::errc() && end != first && index >= config.num_hidden_layers) {
      return base::invalid_argument(checkpoint.source().string() + ": tensor " + name + " belongs to layer " +
                                    std::to_string(index) + ", but config.json has num_hidden_layers " +
                                    std::to_string(config.num_hidden_layers));
    }
  }
  return {};
}

template <typename T>
void grow(std::vector<T>& buffer, std::size_t size) {
  if (buffer.size() < size) buffer.resize(size);
}

}  // namespace

base::Result<Encoder> Encoder::load(const ModelConfig& config, const EncoderLayout& layout,
                                    const Checkpoint& checkpoint, WeightReader& weights) {
  WINNOW_RETURN_IF_ERROR(check_layer_count(config, layout, checkpoint));
  Encoder encoder;
  const std::size_t h = config.hidden_size;
  const std::size_t inter = config.intermediate_size;
  encoder.hidden_ = h;
  encoder.intermediate_size_ = inter;
  encoder.eps_ = config.layer_norm_eps;
  WINNOW_ASSIGN_OR_RETURN(encoder.embeddings_, Embeddings::load(config, layout, checkpoint, weights));
  WINNOW_ASSIGN_OR_RETURN(encoder.attention_,
                          kernels::Attention::create(config.num_attention_heads, h / config.num_attention_heads));
  const std::size_t before_layers = weights.parameter_count();
  for (std::size_t i = 0; i < config.num_hidden_layers; ++i) {
    const std::string p = layout.layer(i) + ".";
    Layer layer;
    if (layout.tensors == TensorLayout::kJinaFlash) {
      WINNOW_ASSIGN_OR_RETURN(layer.qkv, weights.linear(p + layout.fused_qkv(), 3 * h, h));
    } else {
      WINNOW_ASSIGN_OR_RETURN(layer.qkv,
                              weights.fused_linear({p + layout.query(), p + layout.key(), p + layout.value()}, h, h));
    }
    WINNOW_ASSIGN_OR_RETURN(layer.attention_out, weights.linear(p + layout.attention_output(), h, h));
    WINNOW_ASSIGN_OR_RETURN(layer.attention_norm, weights.layer_norm(p + layout.attention_layer_norm(), h));
    WINNOW_ASSIGN_OR_RETURN(layer.intermediate,
                            weights.linear(p + layout.intermediate(), inter, h, kernels::Epilogue::kGeluErf));
    WINNOW_ASSIGN_OR_RETURN(layer.output, weights.linear(p + layout.output(), h, inter));
    WINNOW_ASSIGN_OR_RETURN(layer.output_norm, weights.layer_norm(p + layout.output_layer_norm(), h));
    encoder.layers_.push_back(std::move(layer));
  }
  encoder.layer_parameter_count_ = weights.parameter_count() - before_layers;
  return encoder;
}

base::Status Encoder::forward(const TokenBatch& batch, EncoderWorkspace& ws, std::vector<float>& hidden) const {
  const std::size_t tokens = batch.num_tokens();
  const std::size_t h = hidden_;
  hidden.resize(tokens * h);
  if (tokens == 0) return {};
  grow(ws.qkv, tokens * 3 * h);
  grow(ws.context, tokens * h);
  grow(ws.projected, tokens * h);
  grow(ws.intermediate, tokens * intermediate_size_);

  float* x = hidden.data();
  embeddings_.forward(batch, x);
  for (const Layer& layer : layers_) {
    WINNOW_RETURN_IF_ERROR(layer.qkv.forward(x, tokens, ws.qkv.data()));
    WINNOW_RETURN_IF_ERROR(attention_.forward(ws.qkv.data(), batch.offsets, ws.context.data(), ws.attention_scratch));
    WINNOW_RETURN_IF_ERROR(layer.attention_out.forward(ws.context.data(), tokens, ws.projected.data()));
    kernels::add_layer_norm(ws.projected.data(), x, tokens, h, layer.attention_norm.gamma.data(),
                            layer.attention_norm.beta.data(), eps_, x);
    WINNOW_RETURN_IF_ERROR(layer.intermediate.forward(x, tokens, ws.intermediate.data()));
    WINNOW_RETURN_IF_ERROR(layer.output.forward(ws.intermediate.data(), tokens, ws.projected.data()));
    kernels::add_layer_norm(ws.projected.data(), x, tokens, h, layer.output_norm.gamma.data(),
                            layer.output_norm.beta.data(), eps_, x);
  }
  return {};
}

ModelInfo describe_encoder(const ModelConfig& config, const EncoderLayout& layout, const Encoder& encoder,
                           const WeightReader& weights) {
  ModelInfo info = describe_config(config, layout, encoder.max_tokens());
  info.stored_dtype = weights.stored_dtype();
  info.parameter_count = weights.parameter_count();
  info.encoder_layer_parameter_count = encoder.layer_parameter_count();
  info.weight_bytes = weights.weight_bytes();
  return info;
}

}  // namespace winnow::model
