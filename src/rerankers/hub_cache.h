// The Hugging Face hub cache layout, shared with Python tools:
//   $HF_HUB_CACHE (or $HF_HOME/hub, or ~/.cache/huggingface/hub)
//     models--ORG--NAME/refs/<revision>         commit hash of a branch or tag
//     models--ORG--NAME/snapshots/<commit>/...  the files of that commit
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace winnow::rerankers {

// The hub cache directory the environment selects (it need not exist).
std::filesystem::path hub_cache_dir();

// True for "ORG/NAME" or "NAME" shaped strings that could be Hub repo ids.
bool looks_like_repo_id(std::string_view spec);

// "models--ORG--NAME" for "ORG/NAME".
std::string repo_cache_folder(std::string_view repo_id);

// The snapshot directory of `repo_id` at `revision` (a branch, a tag or a
// commit hash; "main" when unset) in `cache_dir`. NotFound, naming the folder
// that was searched, when the cache does not hold it.
base::Result<std::filesystem::path> find_cached_snapshot(const std::filesystem::path& cache_dir,
                                                         std::string_view repo_id,
                                                         std::optional<std::string> revision = std::nullopt);

struct CachedRepo {
  std::string repo_id;              // "ORG/NAME"
  std::filesystem::path snapshot;   // the snapshot "main" points at, else the newest
};

// Every model repo in `cache_dir` that has a snapshot, sorted by repo id.
std::vector<CachedRepo> list_cached_repos(const std::filesystem::path& cache_dir);

// What the user typed as a model, made a directory: an existing directory is
// taken as is; otherwise a repo id is looked up in hub_cache_dir().
base::Result<std::filesystem::path> resolve_model_dir(std::string_view spec);

}  // namespace winnow::rerankers
