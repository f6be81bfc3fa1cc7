#include "model/sentence_embedder.h"

#include <cstring>

#include "base/files.h"
#include "model/checkpoint.h"
#include "model/config.h"
#include "model/layout.h"
#include "model/weights.h"

namespace winnow::model {

namespace {

constexpr std::string_view kTransformer = "sentence_transformers.models.Transformer";
constexpr std::string_view kPooling = "sentence_transformers.models.Pooling";
constexpr std::string_view kNormalize = "sentence_transformers.models.Normalize";

// What modules.json asks for.
struct Modules {
  std::filesystem::path transformer;             // the encoder's directory
  std::optional<std::filesystem::path> pooling;  // its config.json
  bool normalize = false;
};

base::Result<Modules> read_modules(const std::filesystem::path& dir) {
  Modules modules;
  const std::filesystem::path path = dir / "modules.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    modules.transformer = dir;  // a plain Hugging Face encoder
    return modules;
  }
  WINNOW_ASSIGN_OR_RETURN(nlohmann::json json, base::read_json_file(path));
  const std::string where = path.string();
  if (!json.is_array()) return base::invalid_argument(where + ": expected a list of modules");
  bool have_transformer = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    const auto& module = json[i];
    const std::string item = where + ": module " + std::to_string(i);
    if (!module.is_object() || !module.contains("type") || !module["type"].is_string()) {
      return base::invalid_argument(item + " has no \"type\"");
    }
    const std::string type = module["type"].get<std::string>();
    std::string sub = module.contains("path") && module["path"].is_string() ? module["path"].get<std::string>() : "";
    if (sub.find("..") != std::string::npos || (!sub.empty() && sub.front() == '/')) {
      return base::invalid_argument(item + ": path \"" + sub + "\" leaves the model directory");
    }
    if (type == kTransformer) {
      if (have_transformer || i != 0) return base::unimplemented(item + ": the Transformer must come first, once");
      modules.transformer = dir / sub;
      have_transformer = true;
    } else if (type == kPooling) {
      if (!have_transformer || modules.pooling) return base::unimplemented(item + ": Pooling must follow the Transformer, once");
      modules.pooling = dir / sub / "config.json";
    } else if (type == kNormalize) {
      if (!modules.pooling) return base::unimplemented(item + ": Normalize before Pooling is not supported");
      modules.normalize = true;
    } else {
      return base::unimplemented(item + ": module type \"" + type +
                                 "\" is not supported (Transformer, Pooling, Normalize)");
    }
  }
  if (!have_transformer) return base::invalid_argument(where + ": no sentence_transformers.models.Transformer module");
  return modules;
}

// sentence_bert_config.json's max_seq_length, if the file says.
base::Result<std::optional<std::size_t>> read_max_seq_length(const std::filesystem::path& dir) {
  const std::filesystem::path path = dir / "sentence_bert_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<std::size_t>();
  WINNOW_ASSIGN_OR_RETURN(nlohmann::json json, base::read_json_file(path));
  auto it = json.is_object() ? json.find("max_seq_length") : json.end();
  if (it == json.end() || it->is_null()) return std::optional<std::size_t>();
  if (!it->is_number_integer() || it->get<std::int64_t>() <= 0) {
    return base::invalid_argument(path.string() + ": max_seq_length must be a positive integer, got " + it->dump());
  }
  return std::optional<std::size_t>(static_cast<std::size_t>(it->get<std::int64_t>()));
}

}  // namespace

base::Result<std::unique_ptr<SentenceEmbedder>> SentenceEmbedder::load(const std::filesystem::path& dir) {
  return load(dir, LoadOptions{});
}

base::Result<std::unique_ptr<SentenceEmbedder>> SentenceEmbedder::load(const std::filesystem::path& dir,
                                                                       const LoadOptions& options) {
  WINNOW_ASSIGN_OR_RETURN(Modules modules, read_modules(dir));
  const std::filesystem::path config_path = modules.transformer / "config.json";
  WINNOW_ASSIGN_OR_RETURN(ModelConfig config, read_model_config(config_path));
  // AutoModel builds the bare encoder whatever head `architectures` names.
  WINNOW_ASSIGN_OR_RETURN(Family family, family_of(config, config_path.string()));
  PoolingMode pooling = PoolingMode::kMean;
  if (modules.pooling) {
    WINNOW_ASSIGN_OR_RETURN(pooling, read_pooling_config(*modules.pooling, config.hidden_size));
  }
  WINNOW_ASSIGN_OR_RETURN(std::optional<std::size_t> max_seq_length, read_max_seq_length(dir));

  WINNOW_ASSIGN_OR_RETURN(Checkpoint checkpoint, Checkpoint::open(modules.transformer));
  WINNOW_ASSIGN_OR_RETURN(EncoderLayout layout, detect_layout(family, checkpoint));
  WeightReader weights(checkpoint);
  std::unique_ptr<SentenceEmbedder> model(new SentenceEmbedder());
  WINNOW_ASSIGN_OR_RETURN(model->encoder_, Encoder::load(config, layout, checkpoint, weights, options));
  model->pooling_ = pooling;
  model->normalize_ = modules.normalize;
  model->info_ = describe_encoder(config, layout, model->encoder_, weights);
  model->info_.max_seq_length = max_seq_length;
  model->info_.pooling = pooling_mode_name(pooling);
  model->info_.normalize = modules.normalize;
  return model;
}

base::Result<std::vector<std::vector<float>>> SentenceEmbedder::embed(const TokenBatch& batch) {
  return embed(batch, encoder_.default_precision());
}

base::Result<std::vector<std::vector<float>>> SentenceEmbedder::embed(const TokenBatch& batch,
                                                                      base::Precision precision) {
  WINNOW_RETURN_IF_ERROR(info_.check_prepared(precision));
  WINNOW_RETURN_IF_ERROR(encoder_.validate(batch));
  const std::size_t n = batch.num_sequences();
  std::vector<std::vector<float>> out(n);
  if (n == 0) return out;
  WINNOW_RETURN_IF_ERROR(encoder_.forward(batch, precision, workspace_, hidden_));
  const std::size_t h = info_.hidden_size;
  if (pooled_.size() < n * h) pooled_.resize(n * h);
  pool(pooling_, hidden_.data(), batch.offsets, h, pooled_.data());
  if (normalize_) l2_normalize(pooled_.data(), n, h);
  for (std::size_t s = 0; s < n; ++s) out[s].assign(pooled_.begin() + s * h, pooled_.begin() + (s + 1) * h);
  return out;
}

}  // namespace winnow::model
