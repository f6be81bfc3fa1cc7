// The Hugging Face hub cache layout, shared with Python tools:
//   $HF_HUB_CACHE (or $HF_HOME/hub, or ~/.cache/huggingface/hub)
//     models--ORG--NAME/refs/<revision>         commit hash of a branch or tag
//     models--ORG--NAME/snapshots/<commit>/...  the files of that commit, as relative
//                                               symlinks to ../../blobs/<etag>
//     models--ORG--NAME/blobs/<etag>            file contents, named by git sha1 or LFS sha256
//   $HF_HUB_CACHE/.locks/models--ORG--NAME/<etag>.lock   taken while a blob downloads
// Readers and writers here follow huggingface_hub, so Python tools and Winnow
// share one cache in both directions.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace winnow::hub {

// $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface: the
// Hugging Face home, where the token file lives (it need not exist).
std::filesystem::path hf_home_dir();

// The hub cache directory the environment selects: $HF_HUB_CACHE, else
// hf_home_dir()/hub (it need not exist).
std::filesystem::path hub_cache_dir();

// True for a full 40-hex-digit git commit hash.
bool is_commit_hash(std::string_view revision);

// True for "ORG/NAME" or "NAME" shaped strings that could be Hub repo ids.
bool looks_like_repo_id(std::string_view spec);

// "models--ORG--NAME" for "ORG/NAME".
std::string repo_cache_folder(std::string_view repo_id);

// cache_dir/models--ORG--NAME
std::filesystem::path repo_cache_dir(const std::filesystem::path& cache_dir, std::string_view repo_id);

// cache_dir/models--ORG--NAME/blobs/<etag>
std::filesystem::path blob_path(const std::filesystem::path& cache_dir, std::string_view repo_id,
                                std::string_view etag);

// cache_dir/models--ORG--NAME/snapshots/<commit>/<file> (file may be nested: "1_Pooling/config.json").
std::filesystem::path snapshot_file_path(const std::filesystem::path& cache_dir, std::string_view repo_id,
                                         std::string_view commit, std::string_view file);

// cache_dir/.locks/models--ORG--NAME/<etag>.lock, where huggingface_hub locks a blob it downloads.
std::filesystem::path blob_lock_path(const std::filesystem::path& cache_dir, std::string_view repo_id,
                                     std::string_view etag);

// Points snapshots/<commit>/<file> at blobs/<etag> with a relative symlink
// ("../../blobs/<etag>", one more "../" per folder in `file`). The link is made
// under a temporary name and renamed into place, so a concurrent reader sees
// the old link or the new one, never none or half of one.
base::Status link_snapshot_file(const std::filesystem::path& cache_dir, std::string_view repo_id,
                                std::string_view commit, std::string_view file, std::string_view etag);

// Records that branch or tag `revision` is at `commit` (refs/<revision>, written
// atomically, no trailing newline as huggingface_hub writes it).
base::Status write_ref(const std::filesystem::path& cache_dir, std::string_view repo_id, std::string_view revision,
                       std::string_view commit);

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

// The commit hash when `dir` is a snapshot of the hub cache
// (.../snapshots/<commit>), else "".
std::string snapshot_revision(const std::filesystem::path& dir);

}  // namespace winnow::hub
