// A pass that finishes a GEMM's output a tile of rows at a time, run right
// after the GEMM wrote the tile, while it is still in the cache of the core
// that wrote it (Linear::forward with a TilePass): the int8 layers' residual
// + LayerNorm and their GELU + requantization, without a round trip of the
// fp32 output through memory.
#pragma once

#include <cstddef>
#include <functional>

#include "kernels/row_affine.h"

namespace winnow::kernels {

// Rows [begin, end) of a GEMM's output: y holds them ([end − begin,
// out_features], row begin first) and rest finishes them (row_affine.h;
// its row 0 is row begin, and it is empty where the GEMM fused its bias).
// y is only valid during the call, and the pass may overwrite it (scratch). Called from any thread of the GEMM, for
// disjoint ranges that together cover every row, so a pass runs
// sequentially and writes nothing but its own rows.
using TilePass = std::function<void(float* y, const RowAffine& rest, std::size_t begin, std::size_t end)>;

}  // namespace winnow::kernels
