// safetensors checkpoints: single files and sharded folders (model.safetensors.index.json),
// memory-mapped; tensors are zero-copy views. Every header is validated before use: length,
// JSON, dtypes, shapes, offsets in range, byte counts, no overlapping tensors.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/mapped_file.h"
#include "loader/tensor_source.h"
#include "runtime/tensor.h"

namespace ds {

struct SafetensorsEntry {
  std::string name;
  DType dtype;
  Tensor::Shape shape;
  uint64_t begin = 0, end = 0;  // byte range relative to the data section
};

class SafetensorsFile {
 public:
  // Maps and validates one file. Errors name the file and the tensor or field at fault.
  static StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);
  const std::string& path() const { return file_->path(); }
  const std::map<std::string, SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // A zero-copy tensor for `name`, or NotFound.
  StatusOr<Tensor> Get(const std::string& name) const;
  // The mapped file (ChangedOnDisk, ReadIntoMemory).
  const MappedFile& mapped() const { return *file_; }

 private:
  Status ParseHeader();
  std::shared_ptr<MappedFile> file_;
  std::shared_ptr<Storage> storage_;
  uint64_t data_start_ = 0;
  std::map<std::string, SafetensorsEntry> entries_;
  std::map<std::string, std::string> metadata_;
};

// All tensors of a checkpoint folder (or a single .safetensors file).
class WeightStore : public TensorSource {
 public:
  // `path`: one .safetensors file, or a folder holding (first match wins)
  // model.safetensors.index.json, model.safetensors, or else every *.safetensors file in it.
  static StatusOr<std::unique_ptr<WeightStore>> Open(const std::string& path);
  bool Has(const std::string& name) const override { return where_.count(name) > 0; }
  StatusOr<Tensor> Get(const std::string& name) const override;
  std::vector<std::string> Names() const;
  const SafetensorsEntry* Entry(const std::string& name) const;
  // The file holding `name` (for error messages).
  std::string FileOf(const std::string& name) const override;
  uint64_t TotalBytes() const override;
  size_t FileCount() const override { return files_.size(); }
  std::vector<const MappedFile*> BackingFiles() const override;
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }

 private:
  Status AddFile(const std::string& path);
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;  // tensor name -> index in files_
};

}  // namespace ds
