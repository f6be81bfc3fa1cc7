// `winnow pull`: download a model into the Hugging Face cache.
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "cli/jsonl.h"

namespace winnow::cli {
namespace {

struct PullFlags {
  std::string model;
  std::string revision;
  RegistryFlags registry;
};

int run_pull(const PullFlags& flags) {
  auto registry = flags.registry.open();
  if (!registry.ok()) {
    print_error("pull", registry.status());
    return kExitFailure;
  }
  auto entry = (*registry)->resolve(flags.model, registry::ModelKind::kReranker);
  if (!entry.ok()) {
    print_error("pull", entry.status());
    return kExitFailure;
  }
  if (entry->backend != registry::ModelBackend::kLocal) {
    print_error("pull", base::invalid_argument("model \"" + entry->name +
                                               "\" is served by a remote API: there is nothing to download"));
    return kExitFailure;
  }
  if (!flags.revision.empty()) entry->revision = flags.revision;
  auto dir = (*registry)->local_dir(*entry);
  if (!dir.ok()) {
    print_error("pull", dir.status());
    return kExitFailure;
  }
  std::cout << to_json_line({{"model", entry->name}, {"source", entry->source}, {"path", dir->string()}});
  return 0;
}

}  // namespace

void add_pull_command(CLI::App& app, int& exit_status) {
  auto flags = std::make_shared<PullFlags>();
  CLI::App* command =
      app.add_subcommand("pull", "Download a model from the Hugging Face Hub into the shared cache");
  command->add_option("model", flags->model, "a model name (winnow models) or a Hugging Face repo id")->required();
  command->add_option("--revision", flags->revision, "branch, tag or commit (default: the entry's, else main)");
  flags->registry.add_to(*command);
  command->callback([flags, &exit_status] { exit_status = run_pull(*flags); });
}

}  // namespace winnow::cli
