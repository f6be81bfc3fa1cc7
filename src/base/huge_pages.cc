#include "base/huge_pages.h"

#include <sys/mman.h>

#include <cstdlib>

namespace winnow::base {

namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;

}  // namespace

void* allocate_huge(std::size_t bytes) {
  if (bytes == 0) bytes = 1;
  const bool huge = bytes >= kHugePage;
  const std::size_t alignment = huge ? kHugePage : 64;
  const std::size_t size = (bytes + alignment - 1) / alignment * alignment;
  void* p = std::aligned_alloc(alignment, size);
  if (p == nullptr) throw std::bad_alloc();
  // Advice only: where THP is off or unavailable, the pages stay small.
  if (huge) ::madvise(p, size, MADV_HUGEPAGE);
  return p;
}

void free_huge(void* p) noexcept { std::free(p); }

}  // namespace winnow::base
