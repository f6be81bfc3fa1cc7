// Which models a request may name, when the registry serves requests
// (`winnow serve`). The command line sets no policy: there a path is the
// user's own.
//
// A request may name the registry's names (built in, the models file) and the
// directories under the operator's --model-dir roots. A directory named by a
// request is resolved (".", "..", trailing slashes, symbolic links) and must
// stay inside a root; a path that is not lexically inside a root is refused
// before any file is touched, so the answer never says whether it exists.
// Hub repo ids that no name points at are downloaded on request only with
// --allow-downloads.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace winnow::registry {

struct ModelPolicy {
  std::vector<std::filesystem::path> model_dirs;  // --model-dir, as the operator spelled them
  bool allow_downloads = false;                   // --allow-downloads
};

// A --model-dir root: the operator's spelling (what messages and model names
// show) and where it is.
struct ModelRoot {
  std::string spelling;             // lexically normal, no trailing '/'
  std::filesystem::path absolute;   // the spelling made absolute, lexically normal
  std::filesystem::path canonical;  // symbolic links resolved
};

// What a request's path resolves to under the policy.
struct PolicyDirectory {
  std::filesystem::path canonical;  // the model directory, links resolved; inside root->canonical
  std::string display;              // root spelling + the path below it: the model's name
};

class PathPolicy {
 public:
  // Fails when a root is not an existing directory, naming it and the flag.
  static base::Result<PathPolicy> create(const ModelPolicy& policy);

  bool allow_downloads() const { return allow_downloads_; }
  const std::vector<ModelRoot>& roots() const { return roots_; }

  // Outcome of looking `spec` up as a directory under the roots.
  enum class Lookup {
    kDirectory,  // an existing directory inside a root: `directory` is set
    kEscapes,    // lexically inside a root, but its links lead outside every root
    kMissing,    // lexically inside a root, and no directory there
    kOutside,    // not inside any root (no file was touched)
  };
  struct Found {
    Lookup lookup = Lookup::kOutside;
    std::optional<PolicyDirectory> directory;
  };
  // A relative spec is tried against the working directory, then against each
  // root ("bert-ce-tiny" under --model-dir models/). Touches only files inside
  // the roots (and the roots' parents while resolving links).
  Found find_directory(std::string_view spec) const;

  // The PermissionDenied a request gets for a path outside the roots. It
  // names the policy and the flag that would allow it, not whether it exists.
  static base::Status refused(std::string_view spec);

 private:
  std::vector<ModelRoot> roots_;
  bool allow_downloads_ = false;
};

// True when `path` is `root` or below it, comparing lexically normal absolute paths.
bool path_is_inside(const std::filesystem::path& path, const std::filesystem::path& root);

}  // namespace winnow::registry
