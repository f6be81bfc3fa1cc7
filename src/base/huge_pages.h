// Memory for large, long-lived buffers (activations, prepared weights),
// backed by transparent huge pages where the kernel allows it.
//
// The model's activations are tens of MB read in strided patterns (a head's
// slice of each token's row) and the GEMMs stream weights of up to 16 MB: on
// 4 KiB pages that overflows the TLB, and the attention kernel ran 20% faster
// on huge pages. With THP in "madvise" mode (Debian's default) nothing is
// huge unless asked for; this asks.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace winnow::base {

// At least `bytes` bytes, 64-byte aligned; buffers of 2 MiB and more are
// 2 MiB aligned, rounded up to 2 MiB and marked MADV_HUGEPAGE. Throws
// std::bad_alloc when memory is exhausted. Free with free_huge.
void* allocate_huge(std::size_t bytes);
void free_huge(void* p) noexcept;

// A std::allocator that uses allocate_huge, for std::vector buffers.
template <typename T>
struct HugePageAllocator {
  using value_type = T;
  HugePageAllocator() = default;
  template <typename U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT: rebinding
  T* allocate(std::size_t n) { return static_cast<T*>(allocate_huge(n * sizeof(T))); }
  void deallocate(T* p, std::size_t) noexcept { free_huge(p); }
  template <typename U>
  bool operator==(const HugePageAllocator<U>&) const { return true; }
};

template <typename T>
using HugeVector = std::vector<T, HugePageAllocator<T>>;

}  // namespace winnow::base
