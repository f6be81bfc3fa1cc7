// `winnow rerank`: rank documents against a query with a cross-encoder,
// local or remote, through the same rerankers::Reranker as the server.
// A table on a terminal; JSON Lines when piped or with --json.
#include <sys/ioctl.h>
#include <unistd.h>

#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "base/stopwatch.h"
#include "cli/commands.h"
#include "cli/documents_input.h"
#include "cli/engine_flags.h"
#include "cli/jsonl.h"
#include "hub/hub_cache.h"
#include "rerankers/local_cross_encoder.h"
#include "rerankers/reranker.h"

namespace winnow::cli {
namespace {

struct RerankFlags {
  EngineFlags engine;
  std::string query;
  bool query_given = false;
  std::string input = "-";
  std::string format = "jsonl";
  std::size_t top_n = 10;
  bool json = false;
  bool raw_scores = false;
};

std::size_t terminal_columns() {
  winsize size{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col >= 40) return size.ws_col;
  return 100;
}

// `text` on one line, cut to at most `columns` code points with an ellipsis.
std::string one_line_preview(std::string_view text, std::size_t columns) {
  std::string out;
  std::size_t shown = 0;
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : 4;
    length = std::min(length, text.size() - i);
    if (shown + 1 >= columns && i + length < text.size()) {
      out += "…";
      break;
    }
    if (c == '\n' || c == '\r' || c == '\t') {
      out += ' ';
    } else if (c >= 0x20 && c != 0x7F) {
      out.append(text.substr(i, length));
    }
    ++shown;
    i += length;
  }
  return out;
}

int run_rerank(const RerankFlags& flags) {
  const std::string source = flags.input == "-" ? "standard input" : flags.input;
  std::vector<InputDocument> documents;
  {
    std::ifstream file;
    if (flags.input != "-") {
      file.open(flags.input, std::ios::binary);
      if (!file) {
        print_error("rerank", base::not_found(flags.input + ": cannot open"));
        return kExitFailure;
      }
    }
    std::istream& in = flags.input == "-" ? std::cin : file;
    auto read = read_documents(in, flags.format == "lines" ? DocumentFormat::kLines : DocumentFormat::kJsonLines,
                               source);
    if (!read.ok()) {
      print_error("rerank", read.status());
      return kExitFailure;
    }
    documents = std::move(*read);
  }

  flags.engine.apply_threads();
  auto registry = flags.engine.registry.open();
  if (!registry.ok()) {
    print_error("rerank", registry.status());
    return kExitFailure;
  }
  auto entry = (*registry)->resolve(flags.engine.model, registry::ModelKind::kReranker);
  if (!entry.ok()) {
    print_error("rerank", entry.status());
    return kExitFailure;
  }

  // Local models with this command's engine flags, remote ones as the
  // registry configures them; either way through the Reranker interface, as
  // the server and pipelines rerank.
  std::shared_ptr<const rerankers::Reranker> reranker;
  if (entry->backend == registry::ModelBackend::kLocal) {
    auto model_dir = (*registry)->local_dir(*entry);
    if (!model_dir.ok()) {
      print_error("rerank", model_dir.status());
      return kExitFailure;
    }
    auto local = rerankers::LocalCrossEncoder::load(*model_dir, flags.engine.scorer_options(), entry->name,
                                                    hub::snapshot_revision(*model_dir));
    if (!local.ok()) {
      print_error("rerank", local.status());
      return kExitFailure;
    }
    reranker = std::move(*local);
  } else {
    // A remote API ranks; its own limits apply, and it reports no logits.
    auto remote = (*registry)->reranker(entry->name);
    if (!remote.ok()) {
      print_error("rerank", remote.status());
      return kExitFailure;
    }
    reranker = std::move(*remote);
  }
  std::vector<std::string> texts;
  texts.reserve(documents.size());
  for (const InputDocument& d : documents) texts.push_back(d.text);
  rerankers::RerankOptions options;
  options.document_name = [&](std::size_t index) { return source + " line " + std::to_string(documents[index].line); };

  base::Stopwatch stopwatch;
  auto outcome = reranker->rerank(flags.query, texts, flags.top_n, options);
  const double elapsed_ms = stopwatch.elapsed_ms();
  if (!outcome.ok()) {
    print_error("rerank", outcome.status());
    return kExitFailure;
  }
  const std::vector<rerankers::RankedDocument>& ranked = outcome->results;
  const std::size_t truncated = outcome->documents_truncated;
  std::string answered_by = entry->name;  // reported on standard error
  if (entry->backend == registry::ModelBackend::kLocal) {
    if (!outcome->revision.empty()) answered_by += " @ " + outcome->revision.substr(0, 12);
  } else {
    answered_by += " (" + outcome->model + (outcome->revision.empty() ? "" : ", " + outcome->revision) + ")";
  }
  if (truncated > 0) {
    std::cerr << "winnow rerank: " << truncated << " of " << documents.size() << " documents were cut to max_length "
              << outcome->max_length << " tokens (--max-length to change)\n";
  }

  // Which model (and revision) answered, for people; scripts read standard output.
  if (isatty(STDERR_FILENO)) {
    std::cerr << "scored " << documents.size() << " documents with " << answered_by << " in " << std::fixed
              << std::setprecision(1) << elapsed_ms << " ms\n";
  }
  const bool table = !flags.json && isatty(STDOUT_FILENO);
  if (!table) {
    for (std::size_t rank = 0; rank < ranked.size(); ++rank) {
      const InputDocument& d = documents[ranked[rank].index];
      nlohmann::json line = {{"rank", rank + 1},
                             {"index", ranked[rank].index},
                             {"id", d.id ? nlohmann::json(*d.id) : nlohmann::json(nullptr)},
                             {"score", flags.raw_scores ? static_cast<double>(ranked[rank].logit)
                                                        : ranked[rank].relevance_score},
                             {"text", d.text}};
      std::cout << to_json_line(line);
    }
    return 0;
  }

  std::size_t id_width = 2;
  for (const auto& r : ranked) {
    const InputDocument& d = documents[r.index];
    id_width = std::max(id_width, d.id ? d.id->size() : std::to_string(d.line).size() + 5);
  }
  id_width = std::min<std::size_t>(id_width, 24);
  std::ostringstream out;
  out << std::setw(4) << "rank" << "  " << std::setw(10) << (flags.raw_scores ? "logit" : "score") << "  "
      << std::left << std::setw(static_cast<int>(id_width)) << "id" << std::right << "  document\n";
  const std::size_t used = 4 + 2 + 10 + 2 + id_width + 2;
  const std::size_t columns = terminal_columns();
  const std::size_t text_columns = columns > used + 10 ? columns - used : 10;
  for (std::size_t rank = 0; rank < ranked.size(); ++rank) {
    const InputDocument& d = documents[ranked[rank].index];
    std::string id = d.id ? *d.id : "line " + std::to_string(d.line);
    if (id.size() > id_width) id = id.substr(0, id_width - 1) + "~";
    out << std::setw(4) << rank + 1 << "  " << std::setw(10) << std::fixed << std::setprecision(6)
        << (flags.raw_scores ? static_cast<double>(ranked[rank].logit) : ranked[rank].relevance_score) << "  "
        << std::left << std::setw(static_cast<int>(id_width)) << id << std::right << "  "
        << one_line_preview(d.text, text_columns) << "\n";
  }
  std::cout << out.str();
  return 0;
}

}  // namespace

void add_rerank_command(CLI::App& app, int& exit_status) {
  auto flags = std::make_shared<RerankFlags>();
  CLI::App* command =
      app.add_subcommand("rerank", "Rank documents against a query with a cross-encoder and print the best");
  flags->engine.add_to(*command);
  command->add_option("--query,-q", flags->query, "the query")->required();
  command->add_option("documents", flags->input,
                      "JSON Lines file: one JSON string or {\"id\", \"text\"} object per line; - for standard input");
  command->add_option("--format", flags->format, "input format: jsonl, or lines (plain text, one document a line)")
      ->check(CLI::IsMember({"jsonl", "lines"}));
  command->add_option("--top-n,-n", flags->top_n, "how many documents to print")->check(CLI::PositiveNumber);
  command->add_flag("--json", flags->json, "JSON Lines output even on a terminal");
  command->add_flag("--raw-scores", flags->raw_scores, "print the model's logit instead of sigmoid(logit)");
  command->callback([flags, &exit_status] { exit_status = run_rerank(*flags); });
}

}  // namespace winnow::cli
