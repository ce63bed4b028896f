// Tensor: dtype + shape + strides + device over shared storage. Storage is either owned (aligned
// heap memory) or a zero-copy view into a memory-mapped checkpoint file kept alive by the tensor.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "runtime/dtype.h"

namespace ds {

class MappedFile;

// A block of bytes. Owned storage frees on destruction; mapped storage holds the file open.
class Storage {
 public:
  static std::shared_ptr<Storage> Allocate(size_t bytes);  // 64-byte aligned, zero-filled
  static std::shared_ptr<Storage> FromMapped(std::shared_ptr<const MappedFile> file);
  ~Storage();
  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool is_mapped() const { return file_ != nullptr; }

 private:
  Storage() = default;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::shared_ptr<const MappedFile> file_;
};

class Tensor {
 public:
  using Shape = std::vector<int64_t>;
  Tensor() = default;

  // A new zero-filled contiguous CPU tensor.
  static Tensor Empty(DType dtype, Shape shape);
  // A contiguous view of `storage` starting `offset` bytes in (no copy).
  static Tensor View(std::shared_ptr<Storage> storage, size_t offset, DType dtype, Shape shape);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }  // in elements
  int64_t dim(int i) const { return shape_[i < 0 ? shape_.size() + i : i]; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const;
  int64_t nbytes() const { return DTypeBytes(dtype_, numel()); }
  bool is_contiguous() const;

  void* raw() const { return storage_->data() + offset_; }
  template <typename T> T* data() const { return reinterpret_cast<T*>(raw()); }

  // Rows [begin, end) of the first dimension, sharing storage (and block scales, shifted).
  Tensor Rows(int64_t begin, int64_t end) const;
  // Same storage, new shape with the same element count (contiguous tensors only).
  Tensor Reshape(Shape shape) const;
  // A contiguous deep copy converted to f32 (supports f32, f16, bf16, f8_e4m3 with block scales).
  StatusOr<Tensor> ToF32() const;

  // FP8 block quantization: per-block f32 multipliers ("weight_scale_inv" in DeepSeek checkpoints),
  // shape [ceil(rows / block), ceil(cols / block)]; dequantized w[i,j] = q[i,j] * s[i/block, j/block].
  const Tensor* block_scales() const { return scales_.get(); }
  int64_t block_size() const { return block_size_; }
  int64_t scale_row0() const { return scale_row0_; }  // row offset of this view in the scale grid
  void SetBlockScales(Tensor scales, int64_t block_size);

  std::string DebugString() const;  // e.g. "bf16[1000, 128]"

 private:
  DType dtype_ = DType::kF32;
  Device device_ = Device::kCpu;
  Shape shape_;
  Shape strides_;
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;
  std::shared_ptr<Tensor> scales_;
  int64_t block_size_ = 0;
  int64_t scale_row0_ = 0;
};

}  // namespace ds
