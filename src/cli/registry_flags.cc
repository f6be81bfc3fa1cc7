#include "cli/registry_flags.h"

#include <iostream>

namespace winnow::cli {

void ServerModelFlags::add_to(CLI::App& command) {
  command.add_option("--model-dir", model_dirs,
                     "a directory whose model directories requests may name (repeatable); without it, requests "
                     "name only the built-in names and the models file's")
      ->check(CLI::ExistingDirectory);
  command.add_flag("--allow-downloads", allow_downloads,
                   "requests may name any Hugging Face repo id, downloaded on first use (the built-in and "
                   "models-file names are pulled without it, unless --offline)");
  command.add_option("--max-loaded-models", max_loaded_models,
                     "most local models loaded at once; idle ones are unloaded least recently used first")
      ->check(CLI::Range(1, 100000));
  command.add_option("--memory-budget", memory_budget,
                     "most bytes of model weights loaded at once (e.g. 512M, 4G); idle models are unloaded "
                     "least recently used first, a load that cannot fit is refused (503)");
  command.add_option("--max-batch-tokens", max_batch_tokens,
                     "token budget of one model batch: concurrent requests' pairs share batches up to it")
      ->check(CLI::Range(std::size_t{16}, std::size_t{1} << 24));
  command.add_option("--max-queued-tokens", max_queued_tokens,
                     "tokens waiting in one model's queue beyond which requests are refused at once (429 with "
                     "Retry-After); in serve, also the tokens of scoring work admitted server-wide (estimated "
                     "from body lengths until tokenized), checked before any work")
      ->check(CLI::Range(std::size_t{16}, std::size_t{1} << 30));
  command.add_option("--queue-aging-ms", queue_aging_ms,
                     "a model serves queued requests highest response ratio first ((waited + service) / service), so "
                     "a short one does not wait behind a long one and equal ones keep their order; a request "
                     "waiting this long goes before all others; 0: first come, first served")
      ->check(CLI::Range(std::size_t{0}, std::size_t{3600000}))
      ->capture_default_str();
  command.add_option("--score-cache-mb", score_cache_mb,
                     "memory for cached rerank scores (MiB), shared by all local rerankers: a repeated query and "
                     "document under the same model and settings answers without the model; 0: off")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 20))
      ->capture_default_str();
}

void RegistryFlags::add_to(CLI::App& command) {
  command.add_option("--models", models_file, "models file: names for models and remote endpoints (JSON)");
  command.add_flag("--offline", offline, "never download models (as HF_HUB_OFFLINE=1)");
}

hub::ProgressRenderer& RegistryFlags::progress() {
  static hub::ProgressRenderer renderer(stderr);
  return renderer;
}

base::Result<std::unique_ptr<registry::ModelRegistry>> RegistryFlags::open(
    const std::optional<std::filesystem::path>& default_models_file, const ServerModelFlags* server) const {
  registry::RegistryOptions options;
  if (!models_file.empty()) {
    options.models_file = models_file;
    options.models_file_required = true;
  } else {
    options.models_file = default_models_file;
  }
  options.pull.offline = offline;
  options.pull.on_progress = progress().callback();
  if (server != nullptr) {
    registry::ModelPolicy policy;
    for (const std::string& dir : server->model_dirs) policy.model_dirs.emplace_back(dir);
    policy.allow_downloads = server->allow_downloads;
    options.policy = std::move(policy);
    if (server->max_loaded_models > 0) options.limits.max_loaded_models = server->max_loaded_models;
    if (!server->memory_budget.empty()) {
      auto budget = registry::parse_byte_size(server->memory_budget);
      if (!budget.ok()) return budget.status().with_context("--memory-budget");
      options.limits.budget_bytes = *budget;
    }
    options.batch_limits.token_budget = server->max_batch_tokens;
    options.max_queued_tokens = server->max_queued_tokens;
    options.scheduling.aging_seconds = static_cast<double>(server->queue_aging_ms) / 1000.0;
    if (server->score_cache_mb > 0) {
      options.score_cache = std::make_shared<rerankers::ScoreCache>(server->score_cache_mb << 20);
    }
    options.log = [](const std::string& line) { std::cerr << "winnow: " << line << std::endl; };
  }
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
