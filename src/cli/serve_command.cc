// `winnow serve`: the server on its embedded store.
#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <memory>
#include <thread>

#include "base/env.h"
#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "server/server.h"
#include "store/store.h"

namespace winnow::cli {
namespace {

struct ServeFlags {
  std::string data = "./winnow-data";
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 0;
  std::size_t http_threads = 16;
  std::size_t max_body_mb = 32;
  std::size_t max_ingest_mb = 4096;
  std::size_t max_rerank_candidates = 1000;
  std::string api_key;
  RegistryFlags registry;
  ServerModelFlags models;
};

int run_serve(const ServeFlags& flags) {
  // SIGINT/SIGTERM are taken by a waiting thread, so shutdown runs normal code:
  // the server stops, then the store saves its indexes.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  EngineFlags engine;
  engine.threads = flags.threads;
  engine.apply_threads();

  auto store = store::Store::open(flags.data);
  if (!store.ok()) {
    print_error("serve", store.status());
    return kExitFailure;
  }
  auto registry = flags.registry.open(std::filesystem::path(flags.data) / "models.json", &flags.models);
  if (!registry.ok()) {
    print_error("serve", registry.status());
    return kExitFailure;
  }
  server::ServerOptions options;
  options.host = flags.host;
  options.port = flags.port;
  options.threads = flags.http_threads;
  options.limits.max_body_bytes = flags.max_body_mb << 20;
  options.limits.max_ingest_bytes = flags.max_ingest_mb << 20;
  options.pipeline_limits.default_max_candidates = flags.max_rerank_candidates;
  options.api_key = flags.api_key;
  if (options.api_key.empty()) {
    options.api_key = base::env("WINNOW_API_KEY").value_or("");
  }
  server::Server server(options, **store, **registry);
  // After the server exists, so its metrics observe these models' batches too.
  if (base::Status loaded = (*registry)->load_startup_models(); !loaded.ok()) {
    print_error("serve", loaded);
    return kExitFailure;
  }
  if (base::Status bound = server.bind(); !bound.ok()) {
    print_error("serve", bound);
    return kExitFailure;
  }
  if (flags.models.model_dirs.empty()) {
    std::cerr << "winnow: requests may name the built-in models and the models file's (serve model directories "
                 "with --model-dir DIR)"
              << std::endl;
  } else {
    std::cerr << "winnow: requests may name the built-in models, the models file's, and the model directories under";
    for (const std::string& dir : flags.models.model_dirs) std::cerr << " " << dir;
    std::cerr << std::endl;
  }
  std::cout << "winnow: serving " << flags.data << " on http://" << flags.host << ":" << server.port() << std::endl;

  std::thread waiter([&] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    std::cerr << "winnow: stopping (signal " << signal_number << ")" << std::endl;
    server.stop();
  });
  base::Status served = server.serve();
  // serve() also returns when the listener fails: wake the waiter to finish.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  if (!served.ok()) {
    print_error("serve", served);
    return kExitFailure;
  }
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_status) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* command = app.add_subcommand("serve", "Serve the HTTP API on an embedded store");
  command->add_option("--data", flags->data, "data directory (created if missing)");
  command->add_option("--host", flags->host, "address to listen on");
  command->add_option("--port,-p", flags->port, "port to listen on (0: any free port)")->check(CLI::Range(0, 65535));
  command->add_option("--threads", flags->threads, "compute threads for models (default: all cores)")
      ->check(CLI::Range(0, 1024));
  command->add_option("--http-threads", flags->http_threads, "request threads")->check(CLI::Range(2, 1024));
  command->add_option("--max-body-mb", flags->max_body_mb, "largest JSON request body")->check(CLI::Range(1, 4096));
  command->add_option("--max-ingest-mb", flags->max_ingest_mb, "largest NDJSON ingest body")
      ->check(CLI::Range(1, 1 << 20));
  command->add_option("--max-rerank-candidates", flags->max_rerank_candidates,
                      "default max_candidates of rerank stages")
      ->check(CLI::Range(1, 100000));
  command->add_option("--api-key", flags->api_key,
                      "require Authorization: Bearer KEY on /v1 and /v2 routes (or set WINNOW_API_KEY)");
  flags->registry.add_to(*command);
  flags->models.add_to(*command);
  command->callback([flags, &exit_status] { exit_status = run_serve(*flags); });
}

}  // namespace winnow::cli
