#include "registry/model_policy.h"

namespace winnow::registry {
namespace fs = std::filesystem;
namespace {

// Lexically normal, without the empty last component a trailing '/' leaves.
fs::path normal(const fs::path& path) {
  fs::path p = path.lexically_normal();
  if (p.has_relative_path() && p.filename().empty()) p = p.parent_path();
  return p;
}

}  // namespace

bool path_is_inside(const fs::path& path, const fs::path& root) {
  auto p = path.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++p) {
    if (r->empty()) continue;  // a trailing separator's empty component
    if (p == path.end() || *p != *r) return false;
  }
  return true;
}

base::Result<PathPolicy> PathPolicy::create(const ModelPolicy& policy) {
  PathPolicy out;
  out.allow_downloads_ = policy.allow_downloads;
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  for (const fs::path& dir : policy.model_dirs) {
    if (dir.empty()) return base::invalid_argument("--model-dir: empty path");
    ModelRoot root;
    root.spelling = normal(dir).string();
    root.absolute = normal(dir.is_absolute() ? dir : cwd / dir);
    root.canonical = fs::canonical(dir, ec);
    if (ec || !fs::is_directory(root.canonical, ec)) {
      return base::not_found("--model-dir " + dir.string() + ": no such directory");
    }
    out.roots_.push_back(std::move(root));
  }
  return out;
}

PathPolicy::Found PathPolicy::find_directory(std::string_view spec) const {
  const fs::path requested{std::string(spec)};
  std::vector<fs::path> candidates;
  if (requested.is_absolute()) {
    candidates.push_back(normal(requested));
  } else {
    std::error_code ec;
    const fs::path cwd = fs::current_path(ec);
    if (!ec) candidates.push_back(normal(cwd / requested));
    for (const ModelRoot& root : roots_) candidates.push_back(normal(root.absolute / requested));
  }
  Found found;
  for (const fs::path& candidate : candidates) {
    const ModelRoot* lexical_root = nullptr;
    for (const ModelRoot& root : roots_) {
      if (path_is_inside(candidate, root.absolute) || path_is_inside(candidate, root.canonical)) {
        lexical_root = &root;
        break;
      }
    }
    if (lexical_root == nullptr) continue;  // outside every root: not touched
    std::error_code ec;
    const fs::path resolved = fs::weakly_canonical(candidate, ec);
    if (ec) {
      if (found.lookup == Lookup::kOutside) found.lookup = Lookup::kMissing;
      continue;
    }
    // Links may lead from one root into another; never out of all of them.
    const ModelRoot* real_root = path_is_inside(resolved, lexical_root->canonical) ? lexical_root : nullptr;
    for (const ModelRoot& root : roots_) {
      if (real_root == nullptr && path_is_inside(resolved, root.canonical)) real_root = &root;
    }
    if (real_root == nullptr) {
      found.lookup = Lookup::kEscapes;
      continue;
    }
    if (!fs::is_directory(resolved, ec)) {
      if (found.lookup == Lookup::kOutside) found.lookup = Lookup::kMissing;
      continue;
    }
    const fs::path below = resolved.lexically_relative(real_root->canonical);
    PolicyDirectory directory;
    directory.canonical = resolved;
    directory.display = below.empty() || below == "." ? real_root->spelling
                                                      : (fs::path(real_root->spelling) / below).string();
    found.lookup = Lookup::kDirectory;
    found.directory = std::move(directory);
    return found;
  }
  return found;
}

base::Status PathPolicy::refused(std::string_view spec) {
  return base::permission_denied(
      "model \"" + std::string(spec) +
      "\": this server serves only the models its operator allowed: the built-in names, the names of its models "
      "file, and model directories under its --model-dir roots (start the server with --model-dir DIR to serve "
      "the model directories under DIR)");
}

}  // namespace winnow::registry
