// What a model directory holds, read from config.json and the safetensors
// headers alone: no weights are loaded, so listing models stays cheap.
#pragma once

#include <filesystem>

#include "base/status.h"
#include "model/config.h"
#include "model/layout.h"
#include "model/model_info.h"

namespace winnow::model {

// The ModelInfo fields config.json and the tensor layout determine alone.
ModelInfo describe_config(const ModelConfig& config, const EncoderLayout& layout, std::size_t max_tokens);

// Describes a cross-encoder or a sentence-transformers embedder directory:
// architecture, tensor layout, sizes, max_tokens, stored dtype, parameter
// count (every floating-point tensor in the checkpoint), declared activation.
// weight_bytes and encoder_layer_parameter_count stay 0 (known after loading).
// Errors as CrossEncoder::load gives them for config.json and the headers.
base::Result<ModelInfo> describe_model_dir(const std::filesystem::path& dir);

}  // namespace winnow::model
