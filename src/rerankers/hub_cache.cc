#include "rerankers/hub_cache.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>

namespace winnow::rerankers {

namespace fs = std::filesystem;

namespace {

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

bool is_commit_hash(std::string_view s) {
  if (s.size() != 40) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

fs::path hub_cache_dir() {
  if (auto cache = env("HF_HUB_CACHE")) return *cache;
  if (auto home = env("HF_HOME")) return fs::path(*home) / "hub";
  if (auto xdg = env("XDG_CACHE_HOME")) return fs::path(*xdg) / "huggingface" / "hub";
  if (auto home = env("HOME")) return fs::path(*home) / ".cache" / "huggingface" / "hub";
  return fs::path(".cache") / "huggingface" / "hub";
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

base::Result<fs::path> resolve_model_dir(std::string_view spec) {
  if (spec.empty()) return base::invalid_argument("model: empty name");
  std::error_code ec;
  fs::path as_path(spec);
  if (fs::is_directory(as_path, ec)) return as_path;
  if (fs::exists(as_path, ec)) {
    return base::invalid_argument("model '" + std::string(spec) + "' is a file; give the model's directory");
  }
  // A relative path that does not exist could also be a repo id: try the cache.
  if (looks_like_repo_id(spec)) {
    auto snapshot = find_cached_snapshot(hub_cache_dir(), spec);
    if (snapshot.ok()) return snapshot;
    return base::not_found("model '" + std::string(spec) + "' is neither a directory nor in the Hugging Face cache (" +
                           (hub_cache_dir() / repo_cache_folder(spec)).string() + ")");
  }
  return base::not_found("model directory '" + std::string(spec) + "' does not exist");
}

}  // namespace winnow::rerankers
