#include "cli/registry_flags.h"

namespace winnow::cli {

void RegistryFlags::add_to(CLI::App& command) {
  command.add_option("--models", models_file, "models file: names for models and remote endpoints (JSON)");
  command.add_flag("--offline", offline, "never download models (as HF_HUB_OFFLINE=1)");
}

hub::ProgressRenderer& RegistryFlags::progress() {
  static hub::ProgressRenderer renderer(stderr);
  return renderer;
}

base::Result<std::unique_ptr<registry::ModelRegistry>> RegistryFlags::open(
    const std::optional<std::filesystem::path>& default_models_file) const {
  registry::RegistryOptions options;
  if (!models_file.empty()) {
    options.models_file = models_file;
    options.models_file_required = true;
  } else {
    options.models_file = default_models_file;
  }
  options.pull.offline = offline;
  options.pull.on_progress = progress().callback();
  return registry::ModelRegistry::create(options);
}

base::Result<std::filesystem::path> local_model_dir(registry::ModelRegistry& registry, std::string_view spec,
                                                    std::string_view command) {
  WINNOW_ASSIGN_OR_RETURN(registry::ModelEntry entry, registry.resolve(spec, registry::ModelKind::kReranker));
  if (entry.backend != registry::ModelBackend::kLocal) {
    return base::invalid_argument("model \"" + entry.name + "\" is served by a remote API; winnow " +
                                  std::string(command) + " needs a local model");
  }
  return registry.local_dir(entry);
}

}  // namespace winnow::cli
