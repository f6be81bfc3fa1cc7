// `winnow models`: what a model directory holds, as Winnow reads it.
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "cli/jsonl.h"
#include "model/model_description.h"
#include "rerankers/hub_cache.h"

namespace winnow::cli {
namespace {

struct ModelsFlags {
  std::vector<std::string> models;
  bool json = false;
};

std::uintmax_t weights_on_disk(const std::filesystem::path& dir) {
  std::uintmax_t bytes = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".safetensors") bytes += entry.file_size(ec);
  }
  return bytes;
}

std::string human_bytes(std::uintmax_t bytes) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1);
  if (bytes >= (1ull << 30)) {
    out << bytes / double(1ull << 30) << " GiB";
  } else {
    out << bytes / double(1ull << 20) << " MiB";
  }
  return out.str();
}

nlohmann::json describe(const std::string& name, const std::filesystem::path& dir, const model::ModelInfo& info) {
  return {{"name", name},
          {"path", dir.string()},
          {"architecture", info.architecture},
          {"layout", info.layout},
          {"layers", info.num_layers},
          {"hidden_size", info.hidden_size},
          {"heads", info.num_heads},
          {"max_tokens", info.max_tokens},
          {"stored_dtype", info.stored_dtype},
          {"parameters", info.parameter_count},
          {"weights_on_disk_bytes", weights_on_disk(dir)},
          {"declared_activation", info.declared_activation ? nlohmann::json(*info.declared_activation) : nullptr}};
}

int run_models(const ModelsFlags& flags) {
  std::vector<std::pair<std::string, std::filesystem::path>> targets;
  bool failed = false;
  if (flags.models.empty()) {
    for (const auto& repo : rerankers::list_cached_repos(rerankers::hub_cache_dir())) {
      targets.emplace_back(repo.repo_id, repo.snapshot);
    }
    if (targets.empty() && !flags.json) {
      std::cerr << "no models in the Hugging Face cache at " << rerankers::hub_cache_dir().string()
                << "; name a model directory: winnow models DIR\n";
    }
  }
  for (const std::string& spec : flags.models) {
    auto dir = rerankers::resolve_model_dir(spec);
    if (!dir.ok()) {
      print_error("models", dir.status());
      failed = true;
      continue;
    }
    targets.emplace_back(spec, *dir);
  }

  for (const auto& [name, dir] : targets) {
    auto info = model::describe_model_dir(dir);
    if (!info.ok()) {
      // Cached repos that are not cross-encoders are listed with the reason.
      if (flags.json) {
        std::cout << to_json_line({{"name", name}, {"path", dir.string()}, {"error", info.status().message()}});
      } else {
        std::cout << name << "\n    not loadable: " << info.status().message() << "\n";
      }
      if (!flags.models.empty()) failed = true;
      continue;
    }
    nlohmann::json d = describe(name, dir, *info);
    if (flags.json) {
      std::cout << to_json_line(d);
      continue;
    }
    std::cout << name << "\n"
              << "    path        " << dir.string() << "\n"
              << "    model       " << info->architecture << " (" << info->layout << "), " << info->num_layers
              << " layers x " << info->hidden_size << ", " << info->num_heads << " heads\n"
              << "    max tokens  " << info->max_tokens << "\n"
              << "    weights     " << info->parameter_count << " parameters, " << info->stored_dtype << ", "
              << human_bytes(weights_on_disk(dir)) << " on disk\n"
              << "    activation  "
              << (info->declared_activation ? *info->declared_activation + " (declared by the model)"
                                            : std::string("none declared"))
              << "; Winnow reports sigmoid(logit), --raw-scores the logit\n";
  }
  return failed ? kExitFailure : 0;
}

}  // namespace

void add_models_command(CLI::App& app, int& exit_status) {
  auto flags = std::make_shared<ModelsFlags>();
  CLI::App* command =
      app.add_subcommand("models", "Describe model directories (default: every model in the Hugging Face cache)");
  command->add_option("models", flags->models, "model directories or Hub repo ids");
  command->add_flag("--json", flags->json, "one JSON object per model");
  command->callback([flags, &exit_status] { exit_status = run_models(*flags); });
}

}  // namespace winnow::cli
