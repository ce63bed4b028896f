// MatMul / Embedding kernels for GGUF block types against a double loop over the dequantized
// weight (the dequantizer itself is checked against hand-built blocks in quant_blocks_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "quant_reference.h"
#include "runtime/quant_blocks.h"

namespace ds::testref {
namespace {

// A [rows, cols] weight of `t` quantized from random values, and its exact dequantized values.
QuantWeight MakeWeight(DType t, int64_t rows, int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(rows * cols);
  for (auto& v : x) v = normal(rng);
  return QuantizeMatrix(t, x, rows, cols);
}

}  // namespace

QuantWeight QuantizeMatrix(DType t, const std::vector<float>& src, int64_t rows, int64_t cols) {
  QuantWeight q{Tensor::Empty(t, {rows, cols}), std::vector<float>(rows * cols)};
  const int64_t row_bytes = DTypeBytes(t, cols);
  for (int64_t r = 0; r < rows; ++r) {
    EXPECT_TRUE(QuantizeRow(t, src.data() + r * cols, q.w.data<uint8_t>() + r * row_bytes, cols).ok());
    DequantizeRow(t, q.w.data<uint8_t>() + r * row_bytes, q.values.data() + r * cols, cols);
  }
  return q;
}

void CheckQuantMatMulKernel(const KernelKey& key) {
  auto fn = KernelRegistry::Global().Find<MatMulOp>(key.device, key.activation, key.weight);
  ASSERT_TRUE(fn.ok()) << fn.status();
  const int64_t block = GetDTypeInfo(key.weight).block_elems;
  std::mt19937 rng(99);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  // {other dim, blocked dim}; 37 * block: more than 16 small blocks (the AVX-512 kernels convert
  // scales 16 blocks at a time) and many K super-blocks per row; 4608 columns: a long row (x beyond
  // 16 KiB, where decode GEMVs may take another path) valid for every block size; 130 x 2048: a
  // prompt with fewer than 64 rows dequantizes 64-row panels of rows this long (two and a part).
  const int64_t sizes[][2] = {{40, 2 * block}, {3, 3 * block}, {300, block}, {9, 37 * block}, {11, 4608}, {130, 2048}};
  for (int64_t m : {1, 2, 3, 4, 5, 17}) {  // 1..4 take the GEMV path, 5 and 17 the panel (GEMM) path
    for (const auto& s : sizes) {
      for (bool transpose : {false, true}) {
        for (bool accumulate : {false, true}) {
          // Rows are whole blocks: W [N, K] has K blocked; transposed W [K, N] has N blocked.
          const int64_t k = transpose ? s[0] : s[1], n = transpose ? s[1] : s[0];
          const int64_t rows = transpose ? k : n, cols = transpose ? n : k, off = m % 2 ? 3 : 0;
          QuantWeight big = MakeWeight(key.weight, rows + off, cols, rng);
          const Tensor w = off ? big.w.Rows(off, off + rows) : big.w;
          const int64_t ldx = k + (accumulate ? 5 : 0), ldy = n + (accumulate ? 2 : 0);
          std::vector<float> x(m * ldx), y0(m * ldy);
          for (auto& v : x) v = uni(rng);
          for (auto& v : y0) v = uni(rng);
          std::vector<float> y = y0;
          KernelContext ctx(2);
          Status st = (*fn)({x.data(), m, k, ldx, &w, transpose, y.data(), ldy, accumulate}, ctx);
          ASSERT_TRUE(st.ok()) << st;
          for (int64_t i = 0; i < m; ++i) {
            for (int64_t j = 0; j < n; ++j) {
              double want = accumulate ? y0[i * ldy + j] : 0.0, mag = std::fabs(want);
              for (int64_t kk = 0; kk < k; ++kk) {
                const int64_t r = (transpose ? kk : j) + off, c = transpose ? j : kk;
                const double t = static_cast<double>(x[i * ldx + kk]) * big.values[r * cols + c];
                want += t;
                mag += std::fabs(t);
              }
              ASSERT_NEAR(y[i * ldy + j], want, 2e-5 * mag + 1e-6)
                  << DTypeName(key.weight) << " m=" << m << " n=" << n << " k=" << k << " transpose=" << transpose
                  << " at " << i << "," << j;
            }
          }
        }
      }
    }
  }
  // A row length that is not a whole number of blocks is an error, not a misread.
  Tensor bad = Tensor::Empty(key.weight, {4, block});
  Tensor view = bad.Reshape({4 * block / 16, 16});
  std::vector<float> x(16), y(4 * block / 16);
  KernelContext ctx(1);
  EXPECT_FALSE((*fn)({x.data(), 1, 16, 16, &view, false, y.data(), 4 * block / 16, false}, ctx).ok());
}

void CheckQuantEmbeddingKernel(const KernelKey& key) {
  auto fn = KernelRegistry::Global().Find<EmbeddingOp>(key.device, key.activation, key.weight);
  ASSERT_TRUE(fn.ok()) << fn.status();
  std::mt19937 rng(5);
  const int64_t vocab = 20, dim = 2 * GetDTypeInfo(key.weight).block_elems;
  QuantWeight table = MakeWeight(key.weight, vocab, dim, rng);
  const std::vector<int32_t> ids = {0, 19, 7, 7};
  std::vector<float> out(ids.size() * dim);
  KernelContext ctx(1);
  ASSERT_TRUE((*fn)({&table.w, ids, out.data()}, ctx).ok());
  for (size_t i = 0; i < ids.size(); ++i) {
    for (int64_t c = 0; c < dim; ++c) ASSERT_EQ(out[i * dim + c], table.values[ids[i] * dim + c]);
  }
  const std::vector<int32_t> bad = {20};
  EXPECT_FALSE((*fn)({&table.w, bad, out.data()}, ctx).ok());
}

}  // namespace ds::testref
