// `winnow serve`: the server on its embedded store.
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "base/cpu_features.h"
#include "base/env.h"
#include "cli/commands.h"
#include "cli/engine_flags.h"
#include "server/logging.h"
#include "server/server.h"
#include "store/store.h"

namespace winnow::cli {
namespace {

// The exit status when the drain deadline passed with requests still running.
constexpr int kExitDrainCut = 3;

struct ServeFlags {
  std::string data = "./winnow-data";
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 0;
  std::size_t http_threads = 16;
  std::size_t max_body_mb = 32;
  std::size_t max_ingest_mb = 4096;
  std::size_t max_rerank_candidates = 1000;
  std::size_t max_client_batch_size = server::ServerLimits{}.max_rerank_documents;
  std::size_t max_concurrent_requests = server::ServerLimits{}.max_concurrent_requests;
  std::size_t max_queue_ms = 0;
  double request_timeout = 0;
  double header_timeout = 10;
  double body_timeout = 30;
  double idle_timeout = 60;
  double drain_seconds = 30;
  std::string api_key;
  std::string api_key_file;
  std::vector<std::string> cors_origins;
  std::string default_reranker;
  std::string log_format = "text";
  bool log_bodies = false;
  RegistryFlags registry;
  ServerModelFlags models;
};

std::chrono::milliseconds ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

// Many idle keep-alive connections each hold a descriptor: use what the
// hard limit allows.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int run_serve(const ServeFlags& flags) {
  // SIGINT/SIGTERM (drain) and SIGHUP (reload the API keys) are taken by a
  // waiting thread, so they run normal code.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto log_format = server::parse_log_format(flags.log_format);
  if (!log_format.ok()) {
    print_error("serve", log_format.status());
    return kExitFailure;
  }
  server::setup_logging(*log_format);
  raise_descriptor_limit();

  EngineFlags engine;
  engine.threads = flags.threads;
  engine.apply_threads();

  const std::filesystem::path models_file =
      flags.registry.models_file.empty() ? std::filesystem::path(flags.data) / "models.json"
                                         : std::filesystem::path(flags.registry.models_file);
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
  options.transport.host = flags.host;
  options.transport.port = flags.port;
  options.transport.workers = flags.http_threads;
  options.transport.header_timeout = ms(flags.header_timeout);
  options.transport.body_timeout = ms(flags.body_timeout);
  options.transport.idle_timeout = ms(flags.idle_timeout);
  options.transport.log_bodies = flags.log_bodies;
  options.limits.max_body_bytes = flags.max_body_mb << 20;
  options.limits.max_ingest_bytes = flags.max_ingest_mb << 20;
  options.pipeline_limits.default_max_candidates = flags.max_rerank_candidates;
  options.limits.max_rerank_documents = flags.max_client_batch_size;
  options.limits.max_concurrent_requests = flags.max_concurrent_requests;
  options.limits.max_admitted_tokens = flags.models.max_queued_tokens;
  options.limits.max_queue_wait = std::chrono::milliseconds(flags.max_queue_ms);
  options.limits.request_timeout = ms(flags.request_timeout);
  std::string key = flags.api_key.empty() ? base::env("WINNOW_API_KEY").value_or("") : flags.api_key;
  if (!key.empty()) options.api_keys.push_back(key);
  options.api_key_file = flags.api_key_file;
  options.cors_origins = flags.cors_origins;
  options.default_reranker = flags.default_reranker;

  auto server = std::make_unique<server::Server>(options, **store, **registry);
  if (base::Status bound = server->bind(); !bound.ok()) {
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
  std::cout << "winnow: serving " << flags.data << " on http://" << flags.host << ":" << server->port() << std::endl;
  const base::CpuFeatures& cpu = base::cpu_features();
  server::log_event(
      server::LogLevel::kInfo, "started",
      {{"version", WINNOW_VERSION},
       {"address", flags.host + ":" + std::to_string(server->port())},
       {"data", flags.data},
       {"models_file", std::filesystem::exists(models_file) ? models_file.string() : "none"},
       {"http_threads", flags.http_threads},
       {"compute_threads", flags.threads > 0 ? flags.threads : static_cast<int>(std::thread::hardware_concurrency())},
       {"max_body_mb", flags.max_body_mb},
       {"max_ingest_mb", flags.max_ingest_mb},
       {"header_timeout_s", flags.header_timeout},
       {"body_timeout_s", flags.body_timeout},
       {"idle_timeout_s", flags.idle_timeout},
       {"drain_s", flags.drain_seconds},
       {"max_concurrent_requests", flags.max_concurrent_requests},
       {"max_client_batch_size", flags.max_client_batch_size},
       {"max_batch_tokens", flags.models.max_batch_tokens},
       {"max_queued_tokens", flags.models.max_queued_tokens},
       {"max_queue_ms", flags.max_queue_ms},
       {"request_timeout_s", flags.request_timeout},
       {"api_keys", server->api_key_count()},
       {"model_dirs", flags.models.model_dirs},
       {"allow_downloads", flags.models.allow_downloads},
       {"cors_origins", flags.cors_origins},
       {"cpu", base::cpu_level_name(cpu)},
       {"cpu_features", std::string(cpu.avx2 ? "avx2 " : "") + (cpu.avx512 ? "avx512 " : "") +
                            (cpu.avx512_vnni ? "avx512_vnni " : "") + (cpu.avx512_bf16 ? "avx512_bf16" : "")}});
  server->start();

  std::atomic<bool> done{false};
  std::thread waiter([&] {
    while (true) {
      int signal_number = 0;
      sigwait(&signals, &signal_number);
      if (done) return;
      if (signal_number == SIGHUP) {
        base::Status reloaded = server->reload_api_keys();
        if (reloaded.ok()) {
          server::log_event(server::LogLevel::kInfo, "api_keys_reloaded",
                            {{"file", flags.api_key_file}, {"keys", server->api_key_count()}});
        } else {
          server::log_event(server::LogLevel::kError, "api_keys_reload_failed",
                            {{"error", reloaded.message()}, {"keys", server->api_key_count()},
                             {"note", "the keys in force stay"}});
        }
        continue;
      }
      server::log_event(server::LogLevel::kInfo, "draining",
                        {{"signal", signal_number == SIGINT ? "SIGINT" : "SIGTERM"}, {"deadline_s", flags.drain_seconds}});
      server->drain(ms(flags.drain_seconds));
    }
  });
  auto stop_waiter = [&] {
    done = true;
    pthread_kill(waiter.native_handle(), SIGHUP);
    waiter.join();
  };

  // Served while loading: /health answers, /ready says which models are missing.
  if (base::Status loaded = (*registry)->load_startup_models(); !loaded.ok()) {
    server::log_event(server::LogLevel::kError, "startup_failed", {{"error", loaded.message()}});
    server->drain(std::chrono::milliseconds(0));
    server->wait();
    stop_waiter();
    server::flush_logs();
    print_error("serve", loaded);
    return kExitFailure;
  }
  server->startup_models_loaded();

  server::DrainOutcome outcome = server->wait();
  stop_waiter();
  if (outcome.cut > 0) {
    // Their handlers still run and use the store: exit without closing it.
    // What was acknowledged is durable; the store repairs its indexes at the next open.
    server::log_event(server::LogLevel::kError, "stopped",
                      {{"cut_requests", outcome.cut},
                       {"exit_status", kExitDrainCut},
                       {"note", "requests still running at the drain deadline were cut"}});
    server::flush_logs();
    std::_Exit(kExitDrainCut);
  }
  server.reset();
  store->reset();  // saves the vector indexes
  server::log_event(server::LogLevel::kInfo, "stopped", {{"exit_status", 0}});
  server::flush_logs();
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
  command->add_option("--http-threads", flags->http_threads,
                      "worker threads that run requests (connections are read on their own thread)")
      ->check(CLI::Range(1, 1024));
  command->add_option("--max-body-mb", flags->max_body_mb, "largest JSON request body")->check(CLI::Range(1, 4096));
  command->add_option("--max-ingest-mb", flags->max_ingest_mb, "largest NDJSON ingest body")
      ->check(CLI::Range(1, 1 << 20));
  command->add_option("--max-rerank-candidates", flags->max_rerank_candidates,
                      "default max_candidates of rerank stages")
      ->check(CLI::Range(1, 100000));
  command->add_option("--max-client-batch-size", flags->max_client_batch_size,
                      "most documents one rerank request may send; more: 400 naming the field and this flag")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 24));
  command->add_option("--max-concurrent-requests", flags->max_concurrent_requests,
                      "scoring requests (rerank, pipeline executions) in flight at once; more: 429 with Retry-After "
                      "(0: no limit)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 20));
  command->add_option("--max-queue-ms", flags->max_queue_ms,
                      "a scoring request estimated to wait longer than this for a model (counted from its "
                      "arrival) is refused at once: 429 with Retry-After (0: no limit)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{86'400'000}));
  command->add_option("--request-timeout", flags->request_timeout,
                      "seconds a scoring request may take unless it sets timeout_ms or X-Request-Timeout; past it: "
                      "504, its pairs leave the model's queue (0: none)")
      ->check(CLI::Range(0.0, 86400.0));
  command->add_option("--header-timeout", flags->header_timeout,
                      "seconds a request head may take to arrive (default 10)")
      ->check(CLI::Range(0.05, 3600.0));
  command->add_option("--body-timeout", flags->body_timeout,
                      "seconds a request body (or a response) may go without progress (default 30)")
      ->check(CLI::Range(0.05, 3600.0));
  command->add_option("--idle-timeout", flags->idle_timeout,
                      "seconds an idle keep-alive connection stays open (default 60)")
      ->check(CLI::Range(0.05, 86400.0));
  command->add_option("--drain-seconds", flags->drain_seconds,
                      "on SIGTERM/SIGINT, seconds in-flight requests get to finish (default 30)")
      ->check(CLI::Range(0.0, 86400.0));
  command->add_option("--api-key", flags->api_key,
                      "require this key (Authorization: Bearer KEY) on every route but /health and /ready "
                      "(or set WINNOW_API_KEY)");
  command->add_option("--api-key-file", flags->api_key_file,
                      "keys, one per line (# comments); reread on SIGHUP")
      ->check(CLI::ExistingFile);
  command->add_option("--default-reranker", flags->default_reranker,
                      "the model TEI-style POST /rerank requests use when they name none");
  command->add_option("--cors-origin", flags->cors_origins,
                      "allow browsers from this origin (repeatable; * for any); off by default");
  command->add_option("--log-format", flags->log_format, "text (default) or json, one line per request")
      ->check(CLI::IsMember({"text", "json"}));
  command->add_flag("--log-bodies", flags->log_bodies,
                    "also log request bodies, targets and error messages (they may hold documents and queries)");
  flags->registry.add_to(*command);
  flags->models.add_to(*command);
  command->callback([flags, &exit_status] { exit_status = run_serve(*flags); });
}

}  // namespace winnow::cli
