// The winnow program.
#include <CLI/CLI.hpp>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Winnow: retrieval pipelines and exact, fast cross-encoder reranking", "winnow"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "winnow 0.1.0");
  int exit_status = 0;
  winnow::cli::add_serve_command(app, exit_status);
  winnow::cli::add_ingest_command(app, exit_status);
  winnow::cli::add_query_command(app, exit_status);
  winnow::cli::add_eval_command(app, exit_status);
  winnow::cli::add_rerank_command(app, exit_status);
  winnow::cli::add_score_command(app, exit_status);
  winnow::cli::add_tokenize_command(app, exit_status);
  winnow::cli::add_embed_command(app, exit_status);
  winnow::cli::add_models_command(app, exit_status);
  winnow::cli::add_pull_command(app, exit_status);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_status;
}
