#include "loader/tensor_source.h"

namespace ds {

Status TensorSource::CheckUnchanged() const {
  for (const MappedFile* f : BackingFiles()) {
    if (f->ChangedOnDisk()) {
      return absl::FailedPreconditionError(
          StrCat(f->path(), ": the file was truncated or modified after it was loaded; reload the model"));
    }
  }
  return absl::OkStatus();
}

Status TensorSource::ReadIntoMemory(const AddressRanges& ranges, const std::function<void(uint64_t)>& on_bytes) const {
  uint64_t before = 0;  // bytes read from the earlier files
  for (const MappedFile* f : BackingFiles()) {
    uint64_t here = 0;
    DS_RETURN_IF_ERROR(f->ReadIntoMemory(FileOffsets(*f, ranges), [&](uint64_t done) {
      here = done;
      if (on_bytes) on_bytes(before + done);
    }));
    before += here;
  }
  return absl::OkStatus();
}

}  // namespace ds
