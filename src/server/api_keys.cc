#include "server/api_keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fstream>

namespace winnow::server {
namespace {

std::array<unsigned char, 32> sha256(std::string_view text) {
  std::array<unsigned char, 32> digest{};
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest.data(), &size, EVP_sha256(), nullptr);
  return digest;
}

}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) {
  const auto da = sha256(a);
  const auto db = sha256(b);
  return CRYPTO_memcmp(da.data(), db.data(), da.size()) == 0;
}

base::Result<std::vector<std::string>> read_key_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return base::not_found(path.string() + ": cannot read the API key file");
  std::vector<std::string> keys;
  std::string line;
  for (std::size_t number = 1; std::getline(in, line); ++number) {
    const std::size_t begin = line.find_first_not_of(" \t\r");
    if (begin == std::string::npos || line[begin] == '#') continue;
    const std::size_t end = line.find_last_not_of(" \t\r");
    std::string key = line.substr(begin, end - begin + 1);
    for (char c : key) {
      if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
        return base::invalid_argument(path.string() + " line " + std::to_string(number) +
                                      ": a key may not contain spaces or control characters");
      }
    }
    keys.push_back(std::move(key));
  }
  if (in.bad()) return base::data_loss(path.string() + ": read error");
  if (keys.empty()) {
    return base::invalid_argument(path.string() +
                                  ": no keys (every line is blank or a comment); that would turn authentication off");
  }
  return keys;
}

base::Status ApiKeys::configure(std::vector<std::string> fixed, std::filesystem::path file) {
  fixed_.clear();
  for (const std::string& key : fixed) {
    if (!key.empty()) fixed_.push_back(sha256(key));
  }
  file_ = std::move(file);
  std::vector<std::string> file_keys;
  if (!file_.empty()) {
    WINNOW_ASSIGN_OR_RETURN(file_keys, read_key_file(file_));
  }
  install(file_keys);
  return {};
}

base::Status ApiKeys::reload() {
  if (file_.empty()) return base::failed_precondition("no --api-key-file to reload");
  WINNOW_ASSIGN_OR_RETURN(std::vector<std::string> file_keys, read_key_file(file_));
  install(file_keys);
  return {};
}

void ApiKeys::install(const std::vector<std::string>& file_keys) {
  auto digests = std::make_shared<DigestSet>(fixed_);
  for (const std::string& key : file_keys) digests->push_back(sha256(key));
  std::lock_guard<std::mutex> lock(mutex_);
  digests_ = std::move(digests);
}

bool ApiKeys::enabled() const { return count() > 0; }

std::size_t ApiKeys::count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return digests_->size();
}

bool ApiKeys::accepts(std::string_view presented) const {
  std::shared_ptr<const DigestSet> digests;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    digests = digests_;
  }
  const auto digest = sha256(presented);
  // Every key is compared, whatever matched before.
  int matched = 0;
  for (const Digest& key : *digests) matched |= CRYPTO_memcmp(key.data(), digest.data(), digest.size()) == 0;
  return matched != 0;
}

}  // namespace winnow::server
