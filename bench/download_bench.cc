// Hub download throughput against the loopback fake Hub of the tests
// (tests/support/fake_hub.h): a bare GET of a model.safetensors that
// discards the bytes (what the fake server and libcurl can do), then a whole
// `pull` of that repo (write, sha256, fsync, rename into the HF cache layout).
// Never run by ctest:
//   build/bench/winnow_download_bench [MB, default 100]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <unistd.h>

#include "support/fake_hub.h"
#include "net/http_client.h"
#include "hub/hub_download.h"

namespace {

using namespace winnow::hub;
using namespace winnow::net;
namespace test_support = winnow::test_support;
namespace fs = std::filesystem;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Incompressible bytes (xorshift), so nothing on the way can shortcut them.
std::string random_bytes(std::size_t size) {
  std::string bytes(size, '\0');
  std::uint64_t x = 88172645463325252ull;
  for (std::size_t i = 0; i < size; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(&bytes[i], &x, std::min<std::size_t>(8, size - i));
  }
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t megabytes = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100;
  if (megabytes == 0) {
    std::fprintf(stderr, "usage: winnow_download_bench [MB > 0]\n");
    return 2;
  }
  const std::string weights = random_bytes(megabytes * 1'000'000);
  test_support::FakeRepo repo{"winnow-bench/big", "0123456789abcdef0123456789abcdef01234567", {}, std::nullopt};
  repo.files["config.json"] = {R"({"model_type": "bert"})", false};
  repo.files["tokenizer.json"] = {"{}", false};
  repo.files["model.safetensors"] = {weights, true};
  test_support::FakeHub hub;
  hub.add_repo(repo);

  HttpClient client;
  HttpRequest get;
  get.url = hub.cdn_url() + "/repos/" + test_support::sha256_hex(weights);
  get.on_body = [](const HttpResponse&, std::string_view) { return true; };
  auto start = std::chrono::steady_clock::now();
  HttpResponse raw = client.perform(get);
  const double raw_s = seconds_since(start);
  if (!raw.success() || raw.body_bytes != weights.size()) {
    std::fprintf(stderr, "bare GET failed\n");
    return 1;
  }

  const fs::path cache = fs::temp_directory_path() / ("winnow_download_bench_" + std::to_string(::getpid()));
  fs::remove_all(cache);
  PullOptions options;
  options.cache_dir = cache;
  options.endpoint = hub.endpoint();
  options.token = "";
  double weights_speed = 0;  // the last speed reported for the big file: its own transfer, write and hash
  options.on_progress = [&](const std::string& file, std::uint64_t, std::uint64_t, double speed) {
    if (file == "model.safetensors") weights_speed = speed;
  };
  start = std::chrono::steady_clock::now();
  auto pulled = pull(repo.repo_id, "main", options);
  const double pull_s = seconds_since(start);
  fs::remove_all(cache);
  if (!pulled.ok()) {
    std::fprintf(stderr, "pull failed: %s\n", pulled.status().to_string().c_str());
    return 1;
  }
  std::printf("{\"bench\":\"download\",\"mb\":%zu,\"bare_get_mb_per_s\":%.0f,\"weights_mb_per_s\":%.0f,"
              "\"pull_mb_per_s\":%.0f,\"pull_s\":%.3f,\"files\":%zu}\n",
              megabytes, static_cast<double>(weights.size()) / raw_s / 1e6, weights_speed / 1e6,
              static_cast<double>(pulled->bytes_downloaded) / pull_s / 1e6, pull_s, pulled->files.size());
  return 0;
}
