// Flags that decide how model names are found: the models file, offline
// mode, and the download progress display; for `winnow serve`, also which
// models requests may name and how many may stay loaded.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/status.h"
#include "hub/download_progress.h"
#include "registry/model_registry.h"

namespace winnow::cli {

// `winnow serve` only: the model policy and the memory limits
// (registry/model_policy.h, registry/model_memory.h).
struct ServerModelFlags {
  std::vector<std::string> model_dirs;  // --model-dir DIR (repeatable)
  bool allow_downloads = false;         // --allow-downloads
  std::size_t max_loaded_models = 0;    // --max-loaded-models N; 0: no limit
  std::string memory_budget;            // --memory-budget BYTES ("4G"); empty: no limit
  std::size_t max_batch_tokens = inference::BatchLimits{}.token_budget;            // --max-batch-tokens
  std::size_t max_queued_tokens = inference::EngineOptions{}.max_queued_tokens;   // --max-queued-tokens
  std::size_t score_cache_mb = kDefaultScoreCacheMb;                              // --score-cache-mb; 0: off
  std::size_t queue_aging_ms = 500;  // --queue-aging-ms; 0: first come, first served

  // About 200 bytes a score (score_cache.h): 64 MB keeps some 330,000.
  static constexpr std::size_t kDefaultScoreCacheMb = 64;

  void add_to(CLI::App& command);
};

struct RegistryFlags {
  std::string models_file;  // --models FILE
  bool offline = false;     // --offline (or HF_HUB_OFFLINE=1)

  void add_to(CLI::App& command);

  // The registry, with `default_models_file` read when --models was not given
  // (serve: DATA/models.json). Downloads draw a progress bar on standard error.
  // With `server`, requests name the models under its policy and limits, and
  // unloads are logged on standard error.
  base::Result<std::unique_ptr<registry::ModelRegistry>> open(
      const std::optional<std::filesystem::path>& default_models_file = std::nullopt,
      const ServerModelFlags* server = nullptr) const;

 private:
  // Shared by every registry this process opens; outlives them.
  static hub::ProgressRenderer& progress();
};

// The directory of a local model named by `spec` (name, repo id or path),
// downloaded first when needed. Remote models are InvalidArgument naming `command`.
base::Result<std::filesystem::path> local_model_dir(registry::ModelRegistry& registry, std::string_view spec,
                                                    std::string_view command);

}  // namespace winnow::cli
