// The winnow subcommands. Each registers itself on the top-level app and, when
// it runs, stores the process's exit status in `exit_status`.
#pragma once

#include <CLI/CLI.hpp>

namespace winnow::cli {

void add_rerank_command(CLI::App& app, int& exit_status);
void add_score_command(CLI::App& app, int& exit_status);
void add_tokenize_command(CLI::App& app, int& exit_status);
void add_embed_command(CLI::App& app, int& exit_status);
void add_models_command(CLI::App& app, int& exit_status);
void add_serve_command(CLI::App& app, int& exit_status);
void add_ingest_command(CLI::App& app, int& exit_status);
void add_query_command(CLI::App& app, int& exit_status);
void add_eval_command(CLI::App& app, int& exit_status);
void add_pull_command(CLI::App& app, int& exit_status);

}  // namespace winnow::cli
