// GGUF files (llama.cpp's single-file format; spec: ggml docs/gguf.md): version 3 (2 accepted),
// memory-mapped, every metadata value type including nested arrays, `general.alignment`.
// The header is validated completely before use: string and array lengths against the bytes
// left, tensor dims (rank 1..4, product without 64-bit overflow), types, block alignment of rows,
// offsets aligned and in range. Errors name the file and the key or tensor at fault.
#pragma once

#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "common/mapped_file.h"
#include "runtime/tensor.h"

namespace ds {

// GGUF metadata value types (the numbers are the file's type ids).
enum class GgufType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
std::string GgufTypeName(GgufType t);

struct GgufValue {
  GgufType type = GgufType::kU8;
  uint64_t u64 = 0;  // unsigned integers and bool
  int64_t i64 = 0;   // signed integers
  double f64 = 0;    // f32 / f64
  std::string str;
  GgufType elem_type = GgufType::kU8;  // arrays: element type and elements
  std::vector<GgufValue> items;

  bool IsInteger() const;
  bool IsFloat() const { return type == GgufType::kF32 || type == GgufType::kF64; }
};

struct GgufTensorInfo {
  std::string name;
  uint32_t ggml_type = 0;
  DType dtype = DType::kF32;
  std::vector<uint64_t> ne;  // GGUF dims, innermost (fastest-varying) first
  uint64_t offset = 0;       // relative to the data section
  uint64_t nbytes = 0;
  // Row-major shape (ne reversed): what Tensor uses.
  Tensor::Shape Shape() const;
};

// The ggml type id for a DType, and back (nullopt: not a type this library executes).
std::optional<DType> DTypeFromGgml(uint32_t ggml_type);
uint32_t GgmlTypeOf(DType t);
std::string GgmlTypeName(uint32_t ggml_type);

class GgufFile {
 public:
  // Maps and validates `path`. DataLoss (malformed), Unimplemented (valid but unsupported, e.g.
  // a tensor type this library has no kernel for), NotFound (missing file).
  static StatusOr<std::unique_ptr<GgufFile>> Open(const std::string& path);

  const std::string& path() const { return file_->path(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }

  const GgufValue* Find(const std::string& key) const;
  // Typed accessors: NotFound if absent, DataLoss naming the key if of the wrong type.
  // Integers of any width convert when the value fits.
  StatusOr<int64_t> GetInt(const std::string& key) const;
  StatusOr<double> GetFloat(const std::string& key) const;  // floats or integers
  StatusOr<bool> GetBool(const std::string& key) const;
  StatusOr<std::string> GetString(const std::string& key) const;
  // An array's elements (NotFound / DataLoss as above; `elem` checks the element type).
  StatusOr<const std::vector<GgufValue>*> GetArray(const std::string& key, GgufType elem) const;

  const GgufTensorInfo* FindTensor(const std::string& name) const;
  // A zero-copy view of tensor `name` (row-major shape), or NotFound.
  StatusOr<Tensor> GetTensor(const std::string& name) const;
  // The mapped file (ChangedOnDisk, ReadIntoMemory).
  const MappedFile& mapped() const { return *file_; }

 private:
  Status ParseAll();
  std::shared_ptr<MappedFile> file_;
  std::shared_ptr<Storage> storage_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::map<std::string, GgufValue> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace ds
