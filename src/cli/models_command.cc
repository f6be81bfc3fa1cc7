// `winnow models`: what a model directory holds, as Winnow reads it; with
// --server, what a running server has loaded and its memory budget.
#include <algorithm>
#include <ctime>
#include <iomanip>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "cli/jsonl.h"
#include "cli/registry_flags.h"
#include "base/env.h"
#include "hub/hub_cache.h"
#include "inference/scorer.h"
#include "model/model_description.h"
#include "net/http_client.h"
#include "registry/model_memory.h"

namespace winnow::cli {
namespace {

struct ModelsFlags {
  std::vector<std::string> models;
  bool json = false;
  std::string server;   // --server URL: ask a running `winnow serve`
  std::string api_key;  // --api-key (or WINNOW_API_KEY)
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
  // What a server would count against --memory-budget for it (registry/model_memory.h).
  if (entry.backend == registry::ModelBackend::kLocal) {
    std::vector<base::Precision> precisions;
    std::vector<base::Precision> requested{entry.precision};
    requested.insert(requested.end(), entry.extra_precisions.begin(), entry.extra_precisions.end());
    for (base::Precision p : requested) {
      auto resolved = inference::resolve_precision(p);
      if (resolved.ok() && std::find(precisions.begin(), precisions.end(), *resolved) == precisions.end()) {
        precisions.push_back(*resolved);
      }
    }
    if (auto estimate = registry::estimate_weight_bytes(*dir, precisions); estimate.ok()) {
      d["estimated_weight_bytes"] = *estimate;
      nlohmann::json names = nlohmann::json::array();
      for (base::Precision p : precisions) names.push_back(base::precision_name(p));
      d["estimated_for"] = std::move(names);
    }
  }
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
  if (d.contains("estimated_weight_bytes")) {
    std::string precisions;
    for (const auto& p : d["estimated_for"]) precisions += (precisions.empty() ? "" : "+") + p.get<std::string>();
    std::cout << "    memory      about " << registry::format_bytes(d["estimated_weight_bytes"].get<std::uint64_t>())
              << " of weights when loaded (" << precisions << ")\n";
  }
}

std::string when(const nlohmann::json& unix_ms) {
  if (!unix_ms.is_number()) return "never";
  const std::time_t seconds = static_cast<std::time_t>(unix_ms.get<std::int64_t>() / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  std::ostringstream out;
  out << std::put_time(&utc, "%Y-%m-%d %H:%M:%S UTC");
  return out.str();
}

// `winnow models --server URL`: the server's GET /v1/models.
int run_server_models(const ModelsFlags& flags) {
  net::HttpClient client;
  net::HttpRequest request;
  std::string base = flags.server;
  while (!base.empty() && base.back() == '/') base.pop_back();
  request.url = base + "/v1/models";
  request.timeout = std::chrono::milliseconds(30'000);
  const std::string key = flags.api_key.empty() ? base::env("WINNOW_API_KEY").value_or("") : flags.api_key;
  if (!key.empty()) request.headers.push_back("Authorization: Bearer " + key);
  net::HttpResponse response = client.perform(request);
  if (!response.complete()) {
    print_error("models", base::unavailable(request.url + ": " + response.failure_message));
    return kExitFailure;
  }
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (!response.success() || !body.is_object() || !body.contains("models")) {
    print_error("models", base::unavailable(request.url + ": HTTP " + std::to_string(response.status) + ": " +
                                            response.body.substr(0, 500)));
    return kExitFailure;
  }
  const nlohmann::json& memory = body.value("memory", nlohmann::json::object());
  if (flags.json) {
    for (const nlohmann::json& m : body["models"]) std::cout << to_json_line(m);
    std::cout << to_json_line(nlohmann::json{{"memory", memory}});
    return 0;
  }
  for (const nlohmann::json& m : body["models"]) {
    std::cout << m.value("name", "") << "  (" << m.value("kind", "") << ", " << m.value("backend", "") << ")\n";
    if (m.value("loaded", false)) {
      std::cout << "    loaded      yes, " << registry::format_bytes(m.value("resident_bytes", std::uint64_t{0}))
                << " resident" << (m.value("in_use", false) ? ", in use" : ", idle") << ", last used "
                << when(m.value("last_used_ms", nlohmann::json())) << "\n";
    } else {
      std::cout << "    loaded      " << (m.value("loading", false) ? "loading" : "no");
      if (m.value("unloads", 0) > 0) std::cout << " (unloaded " << m.value("unloads", 0) << " times to make room)";
      if (m.value("last_used_ms", nlohmann::json()).is_number()) {
        std::cout << ", last used " << when(m["last_used_ms"]);
      }
      std::cout << "\n";
    }
  }
  auto limit = [](const nlohmann::json& value, bool bytes) -> std::string {
    if (!value.is_number()) return "no limit";
    return bytes ? registry::format_bytes(value.get<std::uint64_t>()) : std::to_string(value.get<std::uint64_t>());
  };
  std::cout << "memory  " << registry::format_bytes(memory.value("used_bytes", std::uint64_t{0})) << " of "
            << limit(memory.value("budget_bytes", nlohmann::json()), true) << " (--memory-budget); "
            << memory.value("loaded_models", 0) << " models loaded of "
            << limit(memory.value("max_loaded_models", nlohmann::json()), false) << " (--max-loaded-models); "
            << memory.value("unloads", 0) << " unloaded to make room, " << memory.value("refused_loads", 0)
            << " loads refused\n";
  return 0;
}

int run_models(const ModelsFlags& flags) {
  if (!flags.server.empty()) return run_server_models(flags);
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
  command->add_option("--server", flags->server,
                      "list what a running winnow serve at this URL has loaded, and its memory budget");
  command->add_option("--api-key", flags->api_key, "the server's API key (or set WINNOW_API_KEY)");
  flags->registry.add_to(*command);
  command->callback([flags, &exit_status] { exit_status = run_models(*flags); });
}

}  // namespace winnow::cli
