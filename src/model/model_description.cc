#include "model/model_description.h"

#include <set>

#include "model/checkpoint.h"
#include "model/config.h"
#include "model/layout.h"

namespace winnow::model {

base::Status ModelInfo::check_prepared(base::Precision wanted) const {
  for (base::Precision p : precisions) {
    if (p == wanted) return {};
  }
  std::string prepared;
  for (base::Precision p : precisions) prepared += (prepared.empty() ? "" : ", ") + std::string(base::precision_name(p));
  return base::failed_precondition("precision " + std::string(base::precision_name(wanted)) +
                                   " was not prepared when the model was loaded (prepared: " + prepared +
                                   "; a models file entry's precision and extra_precisions choose what is prepared)");
}

ModelInfo describe_config(const ModelConfig& config, const EncoderLayout& layout, std::size_t max_tokens) {
  ModelInfo info;
  info.architecture = config.architecture();
  info.layout = layout.name();
  info.hidden_size = config.hidden_size;
  info.num_layers = config.num_hidden_layers;
  info.num_heads = config.num_attention_heads;
  info.intermediate_size = config.intermediate_size;
  info.vocab_size = config.vocab_size;
  info.type_vocab_size = config.type_vocab_size;
  info.max_tokens = max_tokens;
  info.pad_token_id = config.pad_token_id;
  return info;
}

base::Result<ModelInfo> describe_model_dir(const std::filesystem::path& dir) {
  const std::filesystem::path config_path = dir / "config.json";
  WINNOW_ASSIGN_OR_RETURN(ModelConfig config, read_model_config(config_path));
  const std::string source = config_path.string();
  WINNOW_ASSIGN_OR_RETURN(Family family, family_of(config, source));
  WINNOW_ASSIGN_OR_RETURN(Checkpoint checkpoint, Checkpoint::open(dir));
  WINNOW_ASSIGN_OR_RETURN(EncoderLayout layout, detect_layout(family, checkpoint));

  WINNOW_ASSIGN_OR_RETURN(std::size_t limit, max_tokens(config, family, source));
  ModelInfo info = describe_config(config, layout, limit);
  info.declared_activation = config.sbert_ce_default_activation_function;

  std::set<std::string> dtypes;
  for (const std::string& name : checkpoint.names()) {
    const TensorInfo* tensor = checkpoint.find(name);
    if (tensor == nullptr) continue;
    if (tensor->dtype != DType::kF32 && tensor->dtype != DType::kF16 && tensor->dtype != DType::kBF16) continue;
    info.parameter_count += tensor->numel();
    dtypes.insert(std::string(dtype_name(tensor->dtype)));
  }
  for (const std::string& d : dtypes) info.stored_dtype += (info.stored_dtype.empty() ? "" : "+") + d;
  return info;
}

}  // namespace winnow::model
