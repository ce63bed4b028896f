#include "runtime/tensor.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>

#include "common/float_convert.h"
#include "common/mapped_file.h"
#include "runtime/quant_blocks.h"

namespace ds {

std::shared_ptr<Storage> Storage::Allocate(size_t bytes) {
  std::shared_ptr<Storage> s(new Storage());
  // Tensors of 2 MiB and more get huge pages (where the kernel grants them): weights converted at
  // load and KV caches are streamed, and 4 KiB pages cost TLB misses (docs/performance.md).
  constexpr size_t kHugePage = size_t{2} << 20;
  const size_t align = bytes >= kHugePage ? kHugePage : 64;
  size_t rounded = (bytes + align - 1) / align * align;
  if (rounded == 0) rounded = 64;
  s->data_ = static_cast<uint8_t*>(std::aligned_alloc(align, rounded));
  if (s->data_ == nullptr) throw std::bad_alloc();
  if (align == kHugePage) ::madvise(s->data_, rounded, MADV_HUGEPAGE);
  std::memset(s->data_, 0, rounded);
  s->size_ = bytes;
  return s;
}

std::shared_ptr<Storage> Storage::FromMapped(std::shared_ptr<const MappedFile> file) {
  std::shared_ptr<Storage> s(new Storage());
  s->data_ = const_cast<uint8_t*>(file->data());
  s->size_ = file->size();
  s->file_ = std::move(file);
  return s;
}

Storage::~Storage() {
  if (file_ == nullptr) std::free(data_);
}

namespace {
Tensor::Shape ContiguousStrides(const Tensor::Shape& shape) {
  Tensor::Shape strides(shape.size());
  int64_t s = 1;
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}
}  // namespace

Tensor Tensor::Empty(DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.strides_ = ContiguousStrides(t.shape_);
  t.storage_ = Storage::Allocate(static_cast<size_t>(DTypeBytes(dtype, t.numel())));
  return t;
}

Tensor Tensor::View(std::shared_ptr<Storage> storage, size_t offset, DType dtype, Shape shape) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.strides_ = ContiguousStrides(t.shape_);
  t.storage_ = std::move(storage);
  t.offset_ = offset;
  return t;
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

bool Tensor::is_contiguous() const {  // without building the expected strides: called per kernel call
  if (strides_.size() != shape_.size()) return false;
  int64_t s = 1;
  for (int i = static_cast<int>(shape_.size()) - 1; i >= 0; --i) {
    if (strides_[i] != s) return false;
    s *= shape_[i];
  }
  return true;
}

Tensor Tensor::Rows(int64_t begin, int64_t end) const {
  Tensor t = *this;
  int64_t row_elems = shape_.empty() ? 1 : numel() / shape_[0];
  t.offset_ += static_cast<size_t>(DTypeBytes(dtype_, begin * row_elems));
  t.shape_[0] = end - begin;
  t.scale_row0_ = scale_row0_ + begin;
  return t;
}

Tensor Tensor::Reshape(Shape shape) const {
  Tensor t = *this;
  t.shape_ = std::move(shape);
  t.strides_ = ContiguousStrides(t.shape_);
  return t;
}

void Tensor::SetBlockScales(Tensor scales, int64_t block_size) {
  scales_ = std::make_shared<Tensor>(std::move(scales));
  block_size_ = block_size;
}

StatusOr<Tensor> Tensor::ToF32() const {
  Tensor out = Empty(DType::kF32, shape_);
  float* dst = out.data<float>();
  const int64_t n = numel();
  switch (dtype_) {
    case DType::kF32: std::memcpy(dst, raw(), n * 4); break;
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = Bf16ToF32(data<uint16_t>()[i]);
      break;
    case DType::kF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = F16ToF32(data<uint16_t>()[i]);
      break;
    case DType::kF8E4M3: {
      const int64_t cols = shape_.size() == 2 ? shape_[1] : n;
      const int64_t rows = n / cols;
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
          float v = F8E4M3ToF32(data<uint8_t>()[r * cols + c]);
          if (scales_) {
            const Tensor& s = *scales_;
            v *= s.data<float>()[((scale_row0_ + r) / block_size_) * s.dim(1) + c / block_size_];
          }
          dst[r * cols + c] = v;
        }
      }
      break;
    }
    default:
      if (IsBlockQuantized(dtype_) && n % GetDTypeInfo(dtype_).block_elems == 0) {
        DequantizeRow(dtype_, data<uint8_t>(), dst, n);
        break;
      }
      return absl::UnimplementedError(StrCat("cannot convert ", DTypeName(dtype_), " to f32"));
  }
  return out;
}

std::string Tensor::DebugString() const {
  std::string s = StrCat(DTypeName(dtype_), "[");
  for (size_t i = 0; i < shape_.size(); ++i) s += StrCat(i ? ", " : "", shape_[i]);
  return s + "]";
}

}  // namespace ds
