// `winnow score` and `winnow tokenize`: JSON Lines in, one JSON line out per
// input line, in order. A line that cannot be processed is answered in place by
// {"error": "line N: ..."} and the command goes on.
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>

#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "cli/jsonl.h"
#include "inference/embedder.h"
#include "inference/scorer.h"
#include "model/model_description.h"
#include "cli/registry_flags.h"
#include "text/tokenizer.h"

namespace winnow::cli {
namespace {

// Lines per chunk: large enough to fill model batches, small enough to stream.
constexpr std::size_t kChunkLines = 512;

nlohmann::json error_line(const base::Status& status) { return {{"error", status.message()}}; }

// Prefixes `status` with "line N" unless its message already starts with it.
base::Status on_line(const base::Status& status, std::size_t line_number) {
  std::string prefix = "line " + std::to_string(line_number);
  if (status.message().rfind(prefix + ":", 0) == 0) return status;
  return status.with_context(prefix);
}

struct ScoreFlags {
  EngineFlags engine;
  bool raw_scores = false;
};

int run_score(const ScoreFlags& flags) {
  flags.engine.apply_threads();
  auto registry = flags.engine.registry.open();
  if (!registry.ok()) {
    print_error("score", registry.status());
    return kExitFailure;
  }
  auto model_dir = local_model_dir(**registry, flags.engine.model, "score");
  if (!model_dir.ok()) {
    print_error("score", model_dir.status());
    return kExitFailure;
  }
  auto scorer = inference::Scorer::load(*model_dir, flags.engine.scorer_options());
  if (!scorer.ok()) {
    print_error("score", scorer.status());
    return kExitFailure;
  }

  LineReader reader(std::cin);
  bool any_error = false;
  for (;;) {
    std::vector<InputLine> lines = reader.next(kChunkLines);
    if (lines.empty()) break;
    std::vector<nlohmann::json> out(lines.size());
    std::vector<std::string> queries, documents;
    std::vector<std::size_t> pair_line;  // index into `lines` of each pair
    for (std::size_t i = 0; i < lines.size(); ++i) {
      auto object = parse_object_line(lines[i]);
      base::Result<std::string> query = object.ok() ? string_field(*object, "query", lines[i].number)
                                                    : base::Result<std::string>(object.status());
      base::Result<std::string> document = query.ok() ? string_field(*object, "document", lines[i].number)
                                                      : base::Result<std::string>(query.status());
      if (!document.ok()) {
        out[i] = error_line(document.status());
        continue;
      }
      queries.push_back(std::move(*query));
      documents.push_back(std::move(*document));
      pair_line.push_back(i);
    }
    std::vector<inference::PairText> pairs;
    for (std::size_t k = 0; k < queries.size(); ++k) pairs.push_back({queries[k], documents[k]});
    std::vector<base::Result<inference::PairScore>> scores = (*scorer)->score_pairs(pairs);
    for (std::size_t k = 0; k < scores.size(); ++k) {
      const InputLine& line = lines[pair_line[k]];
      if (!scores[k].ok()) {
        out[pair_line[k]] = error_line(on_line(scores[k].status(), line.number));
      } else if (flags.raw_scores) {
        out[pair_line[k]] = {{"score", static_cast<double>(scores[k]->logit)}};
      } else {
        out[pair_line[k]] = {{"score", inference::relevance_score(scores[k]->logit)}};
      }
    }
    for (const nlohmann::json& value : out) {
      any_error = any_error || value.contains("error");
      std::cout << to_json_line(value);
    }
    std::cout.flush();
  }
  return any_error ? kExitSomeLinesFailed : 0;
}

struct TokenizeFlags {
  std::string model;
  RegistryFlags registry;
  std::optional<std::size_t> max_length;
  std::string truncation = "longest_first";
};

int run_tokenize(const TokenizeFlags& flags) {
  auto registry = flags.registry.open();
  if (!registry.ok()) {
    print_error("tokenize", registry.status());
    return kExitFailure;
  }
  auto model_dir = local_model_dir(**registry, flags.model, "tokenize");
  if (!model_dir.ok()) {
    print_error("tokenize", model_dir.status());
    return kExitFailure;
  }
  auto tokenizer = text::Tokenizer::load_dir(*model_dir);
  if (!tokenizer.ok()) {
    print_error("tokenize", tokenizer.status());
    return kExitFailure;
  }
  // A tokenizer-only directory (tokenizer.json + tokenizer_config.json, as
  // tokenizer repos ship, AutoTokenizer's input) has no config.json: no
  // position table to cap max_length, only the tokenizer's own limit.
  std::optional<std::size_t> max_length;
  std::error_code exists_error;
  if (std::filesystem::exists(*model_dir / "config.json", exists_error)) {
    auto config = model::describe_model_dir(*model_dir);
    if (!config.ok()) {
      print_error("tokenize", config.status());
      return kExitFailure;
    }
    auto resolved = inference::resolve_max_length(flags.max_length, tokenizer->model_max_length(), config->max_tokens);
    if (!resolved.ok()) {
      print_error("tokenize", resolved.status());
      return kExitFailure;
    }
    max_length = *resolved;
  } else {
    max_length = flags.max_length ? flags.max_length : tokenizer->model_max_length();
  }
  const text::Truncation truncation =
      flags.truncation == "only_second" ? text::Truncation::kOnlySecond : text::Truncation::kLongestFirst;

  LineReader reader(std::cin);
  bool any_error = false;
  for (;;) {
    std::vector<InputLine> lines = reader.next(kChunkLines);
    if (lines.empty()) break;
    for (const InputLine& line : lines) {
      base::Result<text::Encoding> encoding = [&]() -> base::Result<text::Encoding> {
        WINNOW_ASSIGN_OR_RETURN(nlohmann::json object, parse_object_line(line));
        if (object.contains("text")) {
          WINNOW_ASSIGN_OR_RETURN(std::string text, string_field(object, "text", line.number));
          return tokenizer->encode(text, max_length);
        }
        WINNOW_ASSIGN_OR_RETURN(std::string query, string_field(object, "query", line.number));
        WINNOW_ASSIGN_OR_RETURN(std::string document, string_field(object, "document", line.number));
        // No limit at all: nothing to truncate.
        return tokenizer->encode_pair(query, document, max_length.value_or(std::numeric_limits<std::size_t>::max() / 2),
                                      truncation);
      }();
      nlohmann::json value;
      if (encoding.ok()) {
        value = {{"input_ids", encoding->ids}, {"token_type_ids", encoding->type_ids}};
      } else {
        value = error_line(on_line(encoding.status(), line.number));
        any_error = true;
      }
      std::cout << to_json_line(value);
    }
    std::cout.flush();
  }
  return any_error ? kExitSomeLinesFailed : 0;
}

struct EmbedFlags {
  std::string model;
  std::optional<std::size_t> max_length;
  int threads = 0;
  RegistryFlags registry;
};

int run_embed(const EmbedFlags& flags) {
  EngineFlags engine;
  engine.threads = flags.threads;
  engine.apply_threads();
  auto registry = flags.registry.open();
  if (!registry.ok()) {
    print_error("embed", registry.status());
    return kExitFailure;
  }
  auto entry = (*registry)->resolve(flags.model, registry::ModelKind::kEmbedder);
  if (!entry.ok()) {
    print_error("embed", entry.status());
    return kExitFailure;
  }
  auto model_dir = (*registry)->local_dir(*entry);
  if (!model_dir.ok()) {
    print_error("embed", model_dir.status());
    return kExitFailure;
  }
  inference::EmbedderOptions options;
  options.max_length = flags.max_length;
  auto embedder = inference::Embedder::load(*model_dir, options);
  if (!embedder.ok()) {
    print_error("embed", embedder.status());
    return kExitFailure;
  }

  LineReader reader(std::cin);
  bool any_error = false;
  for (;;) {
    std::vector<InputLine> lines = reader.next(kChunkLines);
    if (lines.empty()) break;
    std::vector<nlohmann::json> out(lines.size());
    std::vector<std::string> texts;
    std::vector<std::size_t> text_line;  // index into `lines` of each text
    for (std::size_t i = 0; i < lines.size(); ++i) {
      auto object = parse_object_line(lines[i]);
      auto text = object.ok() ? string_field(*object, "text", lines[i].number)
                              : base::Result<std::string>(object.status());
      if (!text.ok()) {
        out[i] = error_line(text.status());
        continue;
      }
      texts.push_back(std::move(*text));
      text_line.push_back(i);
    }
    // One call embeds the chunk in batches; a text it cannot take (invalid
    // UTF-8) is retried alone so only its own line gets the error.
    auto vectors = (*embedder)->embed(texts);
    for (std::size_t k = 0; k < texts.size(); ++k) {
      const InputLine& line = lines[text_line[k]];
      if (vectors.ok()) {
        out[text_line[k]] = {{"embedding", (*vectors)[k]}};
        continue;
      }
      auto alone = (*embedder)->embed(std::span<const std::string>(&texts[k], 1));
      out[text_line[k]] = alone.ok() ? nlohmann::json{{"embedding", alone->front()}}
                                     : error_line(on_line(alone.status(), line.number));
    }
    for (const nlohmann::json& value : out) {
      any_error = any_error || value.contains("error");
      std::cout << to_json_line(value);
    }
    std::cout.flush();
  }
  return any_error ? kExitSomeLinesFailed : 0;
}

}  // namespace

void add_embed_command(CLI::App& app, int& exit_status) {
  auto flags = std::make_shared<EmbedFlags>();
  CLI::App* command = app.add_subcommand(
      "embed", "Embed JSON Lines {\"text\"} from standard input: one {\"embedding\"} line each, in order");
  command->add_option("--model,-m", flags->model, "an embedding model: a name, a Hugging Face repo id, or a directory")
      ->required();
  command->add_option("--max-length", flags->max_length,
                      "tokens per text, special tokens included (default: the model's max_seq_length)");
  command->add_option("--threads", flags->threads, "compute threads (default: all cores)")->check(CLI::Range(0, 1024));
  flags->registry.add_to(*command);
  command->callback([flags, &exit_status] { exit_status = run_embed(*flags); });
}

void add_score_command(CLI::App& app, int& exit_status) {
  auto flags = std::make_shared<ScoreFlags>();
  CLI::App* command = app.add_subcommand(
      "score", "Score JSON Lines {\"query\", \"document\"} from standard input: one {\"score\"} line each, in order");
  flags->engine.add_to(*command);
  command->add_flag("--raw-scores", flags->raw_scores, "print the model's logit instead of sigmoid(logit)");
  command->callback([flags, &exit_status] { exit_status = run_score(*flags); });
}

void add_tokenize_command(CLI::App& app, int& exit_status) {
  auto flags = std::make_shared<TokenizeFlags>();
  CLI::App* command = app.add_subcommand(
      "tokenize",
      "Tokenize JSON Lines {\"text\"} or {\"query\", \"document\"} from standard input: one "
      "{\"input_ids\", \"token_type_ids\"} line each, in order");
  command->add_option("--model,-m", flags->model, "a model name, a Hugging Face repo id, or a directory")
      ->required();
  flags->registry.add_to(*command);
  command->add_option("--max-length", flags->max_length, "tokens per text or pair, special tokens included");
  command->add_option("--truncation", flags->truncation, "how pairs longer than max-length are cut")
      ->check(CLI::IsMember({"longest_first", "only_second"}));
  command->callback([flags, &exit_status] { exit_status = run_tokenize(*flags); });
}

}  // namespace winnow::cli
