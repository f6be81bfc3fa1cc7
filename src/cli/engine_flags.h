// Flags shared by every command that runs a local model.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "base/status.h"
#include "cli/registry_flags.h"
#include "inference/scorer.h"

namespace winnow::cli {

struct EngineFlags {
  std::string model;                      // registry name, Hub repo id or directory
  std::optional<std::size_t> max_length;  // tokens per pair, special tokens included
  std::string truncation = "longest_first";
  int threads = 0;                        // 0: all cores
  std::size_t batch_tokens = inference::BatchLimits{}.token_budget;
  std::string precision = "fp32";         // fp32, bf16, int8 or auto
  RegistryFlags registry;

  // Registers --model, --max-length, --truncation, --threads, --batch-tokens,
  // --precision, --models, --offline.
  void add_to(CLI::App& command);

  // ScorerOptions from the flags.
  inference::ScorerOptions scorer_options() const;

  // Sets the number of compute threads; call before loading a model.
  void apply_threads() const;
};

// The process's exit status for "the input or the model could not be read".
inline constexpr int kExitFailure = 1;
// ... for "some lines got errors, the others results".
inline constexpr int kExitSomeLinesFailed = 2;

// Prints "winnow <command>: <message>" to standard error.
void print_error(std::string_view command, const base::Status& status);

}  // namespace winnow::cli
