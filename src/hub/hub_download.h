// Downloads a model from the Hugging Face Hub into the Hugging Face cache
// (hub_cache.h), speaking the Hub's HTTP file API as huggingface_hub does:
//   GET  {endpoint}/api/models/{repo}/revision/{revision}  -> commit ("sha") and file list
//   HEAD {endpoint}/{repo}/resolve/{commit}/{file}         -> ETag / X-Linked-Etag, size, CDN Location
//   GET  the file (or the CDN Location, without Authorization when it is another host)
// Only the files Winnow's engine reads are fetched (pull_file_selection()).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "hub/download_progress.h"
#include "net/retry.h"

namespace winnow::hub {

inline constexpr std::string_view kDefaultHubEndpoint = "https://huggingface.co";

struct PullOptions {
  // Unset fields come from the environment, as huggingface_hub reads it.
  std::optional<std::filesystem::path> cache_dir;  // default hub_cache_dir()
  std::optional<std::string> endpoint;             // default hub_endpoint()
  std::optional<std::string> token;                // default hub_token(); "" sends none
  bool offline = false;                            // also on when hub_offline()

  net::RetryPolicy retry;                               // transient failures: timeouts, refused, 429, 5xx, cut transfers
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds metadata_timeout{10'000};  // one API or HEAD request
  std::chrono::seconds stall_timeout{30};              // a file download that receives nothing this long

  ProgressCallback on_progress;                    // optional; see download_progress.h
};

struct PullResult {
  std::filesystem::path snapshot_dir;  // cache/models--ORG--NAME/snapshots/<commit>
  std::string commit;                  // 40 hex digits
  std::vector<std::string> files;      // repo paths present in the snapshot, sorted
  std::uint64_t bytes_downloaded = 0;  // 0 when everything was already cached
};

// $HF_ENDPOINT without a trailing '/', else https://huggingface.co.
std::string hub_endpoint();

// $HF_TOKEN, else $HUGGING_FACE_HUB_TOKEN, else the first line of the token file
// ($HF_TOKEN_PATH, else hf_home_dir()/token), else nullopt.
std::optional<std::string> hub_token();

// $HF_HUB_OFFLINE is 1, true, yes or on (any case).
bool hub_offline();

// Which of a repo's files (`siblings`, repo paths) Winnow needs: config.json, the
// tokenizer files, the sentence-transformers files, and model.safetensors, or
// model.safetensors.index.json when the weights are sharded (its shards are read
// from the index itself). FailedPrecondition naming the repo when it has no
// safetensors weights or no config.json.
base::Result<std::vector<std::string>> pull_file_selection(std::string_view repo_id,
                                                           const std::vector<std::string>& siblings);

// Downloads what Winnow needs of `repo_id` at `revision` (a branch, tag or commit;
// "" means "main") into the cache and returns the snapshot. Files the snapshot
// already has are not fetched again. Each blob downloads to blobs/<etag>.incomplete
// under an flock on its lock file, resumes with a Range request after a cut
// connection (in this call's retries or in a later pull), and is renamed into
// place only after its size, and for LFS files its sha256, matched; so a
// concurrent pull in another thread or process waits and reuses it, and nothing
// half-written is ever taken for a cached file. refs/<revision> is written last.
// Offline (options or HF_HUB_OFFLINE): no network, the complete cached snapshot
// or NotFound saying offline mode is on.
// Errors name the repo, the file and the URL: NotFound (no such repo, revision
// or file), Unauthenticated / PermissionDenied (gated or private: set HF_TOKEN),
// Unavailable (endpoint unreachable or failing after retries), DataLoss (size
// or sha256 mismatch), FailedPrecondition (no safetensors weights, cache not writable).
base::Result<PullResult> pull(std::string_view repo_id, std::string_view revision = "main",
                              const PullOptions& options = {});

// The cached snapshot when it is complete (no network at all), else pull().
// What a server does on first use of a model.
base::Result<PullResult> find_or_pull(std::string_view repo_id, std::string_view revision = "main",
                                      const PullOptions& options = {});

// OK when `snapshot_dir` has what the engine needs: config.json and the
// safetensors weights (every shard the index names), with no dangling links.
// Otherwise NotFound naming the first missing file.
base::Status check_snapshot_complete(const std::filesystem::path& snapshot_dir);

}  // namespace winnow::hub
