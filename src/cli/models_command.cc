// `winnow models`: what a model directory holds, as Winnow reads it.
#include <iomanip>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "cli/jsonl.h"
#include "cli/registry_flags.h"
#include "model/model_description.h"
#include "hub/hub_cache.h"

namespace winnow::cli {
namespace {

struct ModelsFlags {
  std::vector<std::string> models;
  bool json = false;
  RegistryFlags registry;
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

// One model's description: the registry entry, and what its files hold when on disk.
nlohmann::json describe_entry(const registry::ModelEntry& entry, const std::optional<std::filesystem::path>& dir) {
  nlohmann::json d = entry.to_json();
  d["on_disk"] = dir.has_value();
  if (!dir) return d;
  d["path"] = dir->string();
  d["weights_on_disk_bytes"] = weights_on_disk(*dir);
  auto info = model::describe_model_dir(*dir);
  if (!info.ok()) {
    d["error"] = info.status().message();
    return d;
  }
  d["architecture"] = info->architecture;
  d["layout"] = info->layout;
  d["layers"] = info->num_layers;
  d["hidden_size"] = info->hidden_size;
  d["heads"] = info->num_heads;
  d["max_tokens"] = info->max_tokens;
  d["stored_dtype"] = info->stored_dtype;
  d["parameters"] = info->parameter_count;
  d["declared_activation"] = info->declared_activation ? nlohmann::json(*info->declared_activation) : nullptr;
  return d;
}

void print_text(const nlohmann::json& d) {
  std::cout << d["name"].get<std::string>() << "  (" << d["kind"].get<std::string>() << ", "
            << d["backend"].get<std::string>() << (d.value("builtin", false) ? ", built in" : "") << ")\n";
  if (d["backend"] == "cohere") {
    std::cout << "    endpoint    " << d["base_url"].get<std::string>() << d["path"].get<std::string>() << "  model "
              << d["model"].get<std::string>() << "\n";
    return;
  }
  std::cout << "    source      " << d["source"].get<std::string>() << " @ " << d["revision"].get<std::string>() << "\n";
  if (!d["on_disk"].get<bool>()) {
    std::cout << "    on disk     no (winnow pull " << d["name"].get<std::string>() << ")\n";
    return;
  }
  std::cout << "    path        " << d["path"].get<std::string>() << "\n";
  if (d.contains("error")) {
    std::cout << "    not loadable: " << d["error"].get<std::string>() << "\n";
    return;
  }
  std::cout << "    model       " << d["architecture"].get<std::string>() << " (" << d["layout"].get<std::string>()
            << "), " << d["layers"] << " layers x " << d["hidden_size"] << ", " << d["heads"] << " heads\n"
            << "    max tokens  " << d["max_tokens"] << "\n"
            << "    weights     " << d["parameters"] << " parameters, " << d["stored_dtype"].get<std::string>() << ", "
            << human_bytes(d["weights_on_disk_bytes"].get<std::uintmax_t>()) << " on disk\n"
            << "    activation  "
            << (d["declared_activation"].is_string()
                    ? d["declared_activation"].get<std::string>() + " (declared by the model)"
                    : std::string("none declared"))
            << "; Winnow reports sigmoid(logit), --raw-scores the logit\n";
}

int run_models(const ModelsFlags& flags) {
  auto registry = flags.registry.open();
  if (!registry.ok()) {
    print_error("models", registry.status());
    return kExitFailure;
  }
  std::vector<nlohmann::json> described;
  bool failed = false;
  if (flags.models.empty()) {
    // Every known name, then cached repos that no name points at.
    std::set<std::string> sources;
    for (const registry::ModelStatus& s : (*registry)->status()) {
      sources.insert(s.entry.source);
      described.push_back(describe_entry(s.entry, s.local_dir));
    }
    for (const auto& repo : hub::list_cached_repos(hub::hub_cache_dir())) {
      if (sources.count(repo.repo_id)) continue;
      auto entry = (*registry)->resolve(repo.repo_id, registry::ModelKind::kReranker);
      if (entry.ok()) described.push_back(describe_entry(*entry, repo.snapshot));
    }
  }
  for (const std::string& spec : flags.models) {
    auto entry = (*registry)->resolve(spec, registry::ModelKind::kReranker);
    if (!entry.ok()) {
      print_error("models", entry.status());
      failed = true;
      continue;
    }
    std::optional<std::filesystem::path> dir;
    if (entry->backend == registry::ModelBackend::kLocal) {
      std::error_code ec;
      if (std::filesystem::is_directory(entry->source, ec)) {
        dir = std::filesystem::path(entry->source);
      } else if (auto snapshot = hub::find_cached_snapshot(hub::hub_cache_dir(), entry->source,
                                                                 entry->revision);
                 snapshot.ok()) {
        dir = *snapshot;
      }
    }
    nlohmann::json d = describe_entry(*entry, dir);
    if (d.contains("error")) failed = true;
    described.push_back(std::move(d));
  }
  for (const nlohmann::json& d : described) {
    if (flags.json) {
      std::cout << to_json_line(d);
    } else {
      print_text(d);
    }
  }
  return failed ? kExitFailure : 0;
}

}  // namespace

void add_models_command(CLI::App& app, int& exit_status) {
  auto flags = std::make_shared<ModelsFlags>();
  CLI::App* command =
      app.add_subcommand("models", "List the models Winnow knows, or describe the ones named");
  command->add_option("models", flags->models, "model names, Hugging Face repo ids or directories");
  command->add_flag("--json", flags->json, "one JSON object per model");
  flags->registry.add_to(*command);
  command->callback([flags, &exit_status] { exit_status = run_models(*flags); });
}

}  // namespace winnow::cli
