// NDJSON ingest into a real store: every line becomes a stored document or
// that line's error; the report's counts add up; nothing crashes.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>

#include "fuzz_support.h"
#include "store/store.h"

namespace {

winnow::store::Store& fuzz_store() {
  static const std::unique_ptr<winnow::store::Store> opened = [] {
    auto s = winnow::store::Store::open(winnow::fuzz::scratch_dir() / "store");
    if (!s.ok()) winnow::fuzz::invariant_broken("cannot open a store: " + s.status().message());
    return std::move(*s);
  }();
  return *opened;
}

// A fresh collection every so often keeps the store small over millions of runs.
void reset_collection() {
  (void)fuzz_store().delete_collection("c");
  nlohmann::json settings = {{"text_fields", {"title", "text"}},
                             {"vector_indexes", {{{"name", "v"}, {"dimensions", 3}, {"metric", "cosine"}}}}};
  auto created = fuzz_store().create_collection("c", settings);
  if (!created.ok()) winnow::fuzz::invariant_broken("cannot create the collection: " + created.status().message());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace winnow;
  static std::size_t runs = 0;
  if (runs++ % 1000 == 0) reset_collection();
  std::istringstream input(std::string(reinterpret_cast<const char*>(data), size));
  store::IngestOptions options;
  options.batch_lines = 7;  // several commits per input
  auto report = fuzz_store().ingest("c", input, options);
  if (!report.ok()) {
    if (report.status().message().empty()) fuzz::invariant_broken("an error without a message");
    return 0;
  }
  if (report->documents_stored + report->bad_lines > report->lines) {
    fuzz::invariant_broken("more documents and bad lines than lines");
  }
  if (report->errors.size() > report->bad_lines) fuzz::invariant_broken("more errors than bad lines");
  return 0;
}
