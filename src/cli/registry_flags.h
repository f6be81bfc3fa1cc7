// Flags that decide how model names are found: the models file, offline
// mode, and the download progress display.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "base/status.h"
#include "hub/download_progress.h"
#include "registry/model_registry.h"

namespace winnow::cli {

struct RegistryFlags {
  std::string models_file;  // --models FILE
  bool offline = false;     // --offline (or HF_HUB_OFFLINE=1)

  void add_to(CLI::App& command);

  // The registry, with `default_models_file` read when --models was not given
  // (serve: DATA/models.json). Downloads draw a progress bar on standard error.
  base::Result<std::unique_ptr<registry::ModelRegistry>> open(
      const std::optional<std::filesystem::path>& default_models_file = std::nullopt) const;

 private:
  // Shared by every registry this process opens; outlives them.
  static hub::ProgressRenderer& progress();
};

// The directory of a local model named by `spec` (name, repo id or path),
// downloaded first when needed. Remote models are InvalidArgument naming `command`.
base::Result<std::filesystem::path> local_model_dir(registry::ModelRegistry& registry, std::string_view spec,
                                                    std::string_view command);

}  // namespace winnow::cli
