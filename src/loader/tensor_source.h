// Where a model's weights come from, by Hugging Face tensor name: a safetensors folder
// (WeightStore), or any other container that maps its tensors onto the HF names (e.g. GGUF).
// Models read weights only through this interface (via models/weight_loader.h).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/mapped_file.h"
#include "runtime/tensor.h"

namespace ds {

class TensorSource {
 public:
  virtual ~TensorSource() = default;
  // Does the source hold a tensor called `name` (HF naming)?
  virtual bool Has(const std::string& name) const = 0;
  // The tensor (zero-copy where the container allows), or NotFound.
  virtual StatusOr<Tensor> Get(const std::string& name) const = 0;
  // The file holding `name`, for error messages.
  virtual std::string FileOf(const std::string& name) const = 0;
  // Bytes of all tensors (what the model will read), for the memory report at load.
  virtual uint64_t TotalBytes() const { return 0; }
  // Files mapped (for the same report).
  virtual size_t FileCount() const { return 1; }
  // The mapped files the tensors are views of (none for a source that copies them).
  virtual std::vector<const MappedFile*> BackingFiles() const { return {}; }

  // FailedPrecondition naming the first backing file truncated or modified after loading (reading
  // a truncated mapping raises SIGBUS, so models check this before each request).
  Status CheckUnchanged() const;
  // Moves the pages of the backing files holding `ranges` (addresses of tensors this source
  // returned) into anonymous memory at the same addresses (MappedFile::ReadIntoMemory); `on_bytes`
  // gets the bytes read so far over all files.
  Status ReadIntoMemory(const AddressRanges& ranges, const std::function<void(uint64_t)>& on_bytes) const;
};

}  // namespace ds
