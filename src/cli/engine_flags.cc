#include "cli/engine_flags.h"

#include <omp.h>

#include <iostream>

namespace winnow::cli {

void EngineFlags::add_to(CLI::App& command) {
  command.add_option("--model,-m", model, "a model name (winnow models), a Hugging Face repo id, or a directory")
      ->required();
  command.add_option("--max-length", max_length,
                     "tokens per (query, document) pair, special tokens included "
                     "(default: the tokenizer's model_max_length, within the model's limit)");
  command.add_option("--truncation", truncation, "how pairs longer than max-length are cut")
      ->check(CLI::IsMember({"longest_first", "only_second"}));
  command.add_option("--threads", threads, "compute threads (default: all cores)")->check(CLI::Range(0, 1024));
  command.add_option("--batch-tokens", batch_tokens, "token budget of one model batch")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 24));
  command.add_option("--precision", precision,
                     "fp32 (exact), bf16 (AVX512_BF16), int8 (AVX512_VNNI), or auto: the fastest this CPU runs "
                     "within the measured ranking agreement")
      ->check(CLI::IsMember({"fp32", "bf16", "int8", "auto"}));
  registry.add_to(command);
}

inference::ScorerOptions EngineFlags::scorer_options() const {
  inference::ScorerOptions options;
  options.max_length = max_length;
  options.truncation =
      truncation == "only_second" ? text::Truncation::kOnlySecond : text::Truncation::kLongestFirst;
  options.batch_limits.token_budget = batch_tokens;
  auto parsed = base::parse_precision(precision);  // --precision's check admits only valid names
  options.precision = parsed.ok() ? *parsed : base::Precision::kFp32;
  return options;
}

void EngineFlags::apply_threads() const {
  if (threads > 0) omp_set_num_threads(threads);
}

void print_error(std::string_view command, const base::Status& status) {
  std::cerr << "winnow " << command << ": " << status.message() << "\n";
}

}  // namespace winnow::cli
