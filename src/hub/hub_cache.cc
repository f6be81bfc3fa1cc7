#include "hub/hub_cache.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <thread>

#include <unistd.h>

#include "base/env.h"
#include "base/files.h"

namespace winnow::hub {

namespace fs = std::filesystem;

fs::path hf_home_dir() {
  if (auto home = base::env("HF_HOME")) return *home;
  if (auto xdg = base::env("XDG_CACHE_HOME")) return fs::path(*xdg) / "huggingface";
  if (auto home = base::env("HOME")) return fs::path(*home) / ".cache" / "huggingface";
  return fs::path(".cache") / "huggingface";
}

fs::path hub_cache_dir() {
  if (auto cache = base::env("HF_HUB_CACHE")) return *cache;
  return hf_home_dir() / "hub";
}

bool is_commit_hash(std::string_view s) {
  if (s.size() != 40) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

fs::path repo_cache_dir(const fs::path& cache_dir, std::string_view repo_id) {
  return cache_dir / repo_cache_folder(repo_id);
}

fs::path blob_path(const fs::path& cache_dir, std::string_view repo_id, std::string_view etag) {
  return repo_cache_dir(cache_dir, repo_id) / "blobs" / std::string(etag);
}

fs::path snapshot_file_path(const fs::path& cache_dir, std::string_view repo_id, std::string_view commit,
                            std::string_view file) {
  return repo_cache_dir(cache_dir, repo_id) / "snapshots" / std::string(commit) / std::string(file);
}

fs::path blob_lock_path(const fs::path& cache_dir, std::string_view repo_id, std::string_view etag) {
  return cache_dir / ".locks" / repo_cache_folder(repo_id) / (std::string(etag) + ".lock");
}

base::Status link_snapshot_file(const fs::path& cache_dir, std::string_view repo_id, std::string_view commit,
                                std::string_view file, std::string_view etag) {
  const fs::path link = snapshot_file_path(cache_dir, repo_id, commit, file);
  std::error_code ec;
  fs::create_directories(link.parent_path(), ec);
  if (ec) return base::failed_precondition(link.parent_path().string() + ": cannot create: " + ec.message());
  // From snapshots/<commit>/<dirs...>/<name> up to the repo folder: two levels plus one per folder in `file`.
  std::string target = "../../";
  for (char c : file) {
    if (c == '/') target += "../";
  }
  target += "blobs/";
  target += etag;
  const fs::path tmp = base::temp_path_beside(link);
  if (::symlink(target.c_str(), tmp.c_str()) != 0) {
    return base::failed_precondition(tmp.string() + ": cannot create symlink: " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), link.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    return base::failed_precondition(link.string() + ": cannot rename symlink into place: " + std::strerror(error));
  }
  return base::Status::ok_status();
}

base::Status write_ref(const fs::path& cache_dir, std::string_view repo_id, std::string_view revision,
                       std::string_view commit) {
  const fs::path ref = repo_cache_dir(cache_dir, repo_id) / "refs" / std::string(revision);
  std::error_code ec;
  fs::create_directories(ref.parent_path(), ec);
  if (ec) return base::failed_precondition(ref.parent_path().string() + ": cannot create: " + ec.message());
  return base::write_file_durably(ref, commit);
}

bool looks_like_repo_id(std::string_view spec) {
  if (spec.empty() || spec.size() > 200) return false;
  std::size_t slashes = 0;
  for (char c : spec) {
    if (c == '/') {
      ++slashes;
    } else if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  if (slashes > 1 || spec.front() == '/' || spec.back() == '/' || spec.front() == '.') return false;
  return spec.find("..") == std::string_view::npos;
}

std::string repo_cache_folder(std::string_view repo_id) {
  std::string folder = "models--";
  for (char c : repo_id) {
    if (c == '/') {
      folder += "--";
    } else {
      folder += c;
    }
  }
  return folder;
}

base::Result<fs::path> find_cached_snapshot(const fs::path& cache_dir, std::string_view repo_id,
                                            std::optional<std::string> revision) {
  const fs::path repo_dir = cache_dir / repo_cache_folder(repo_id);
  const std::string rev = revision.value_or("main");
  std::error_code ec;
  if (!fs::is_directory(repo_dir, ec)) {
    return base::not_found("model '" + std::string(repo_id) + "' is not in the Hugging Face cache (looked for " +
                           repo_dir.string() + ")");
  }
  std::string commit = rev;
  if (!is_commit_hash(rev)) {
    std::ifstream ref(repo_dir / "refs" / rev);
    if (!ref || !std::getline(ref, commit) || commit.empty()) {
      return base::not_found("model '" + std::string(repo_id) + "': revision '" + rev + "' is not in the cache (no " +
                             (repo_dir / "refs" / rev).string() + ")");
    }
  }
  fs::path snapshot = repo_dir / "snapshots" / commit;
  if (!fs::is_directory(snapshot, ec)) {
    return base::not_found("model '" + std::string(repo_id) + "': snapshot " + snapshot.string() + " is missing");
  }
  return snapshot;
}

std::vector<CachedRepo> list_cached_repos(const fs::path& cache_dir) {
  std::vector<CachedRepo> repos;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(cache_dir, ec)) {
    const std::string folder = entry.path().filename().string();
    if (folder.rfind("models--", 0) != 0 || !entry.is_directory(ec)) continue;
    std::string repo_id = folder.substr(8);
    if (auto sep = repo_id.find("--"); sep != std::string::npos) repo_id.replace(sep, 2, "/");
    auto snapshot = find_cached_snapshot(cache_dir, repo_id);
    if (!snapshot.ok()) {
      // No refs/main (e.g. pulled at a tag): take the most recently written snapshot.
      fs::file_time_type newest{};
      for (const auto& s : fs::directory_iterator(entry.path() / "snapshots", ec)) {
        if (s.is_directory(ec) && s.last_write_time(ec) >= newest) {
          newest = s.last_write_time(ec);
          snapshot = s.path();
        }
      }
    }
    if (snapshot.ok()) repos.push_back({repo_id, *snapshot});
  }
  std::sort(repos.begin(), repos.end(), [](const CachedRepo& a, const CachedRepo& b) { return a.repo_id < b.repo_id; });
  return repos;
}

std::string snapshot_revision(const fs::path& dir) {
  fs::path clean = dir.lexically_normal();
  if (clean.filename().empty()) clean = clean.parent_path();
  if (clean.parent_path().filename() == "snapshots" && is_commit_hash(clean.filename().string())) {
    return clean.filename().string();
  }
  return "";
}

}  // namespace winnow::hub
