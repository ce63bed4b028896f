#include "loader/gguf_writer.h"

#include <cerrno>
#include <cstring>

namespace ds {
namespace {

void AppendBytes(std::string& out, const void* p, size_t n) { out.append(static_cast<const char*>(p), n); }
template <typename T>
void AppendPod(std::string& out, T v) {
  AppendBytes(out, &v, sizeof(T));
}
void AppendString(std::string& out, const std::string& s) {
  AppendPod<uint64_t>(out, s.size());
  out += s;
}

void AppendValue(std::string& out, const GgufValue& v) {
  switch (v.type) {
    case GgufType::kU8: AppendPod<uint8_t>(out, static_cast<uint8_t>(v.u64)); break;
    case GgufType::kI8: AppendPod<int8_t>(out, static_cast<int8_t>(v.i64)); break;
    case GgufType::kU16: AppendPod<uint16_t>(out, static_cast<uint16_t>(v.u64)); break;
    case GgufType::kI16: AppendPod<int16_t>(out, static_cast<int16_t>(v.i64)); break;
    case GgufType::kU32: AppendPod<uint32_t>(out, static_cast<uint32_t>(v.u64)); break;
    case GgufType::kI32: AppendPod<int32_t>(out, static_cast<int32_t>(v.i64)); break;
    case GgufType::kU64: AppendPod<uint64_t>(out, v.u64); break;
    case GgufType::kI64: AppendPod<int64_t>(out, v.i64); break;
    case GgufType::kF32: AppendPod<float>(out, static_cast<float>(v.f64)); break;
    case GgufType::kF64: AppendPod<double>(out, v.f64); break;
    case GgufType::kBool: AppendPod<uint8_t>(out, v.u64 ? 1 : 0); break;
    case GgufType::kString: AppendString(out, v.str); break;
    case GgufType::kArray:
      AppendPod<uint32_t>(out, static_cast<uint32_t>(v.elem_type));
      AppendPod<uint64_t>(out, v.items.size());
      for (const GgufValue& item : v.items) AppendValue(out, item);
      break;
  }
}

GgufValue Scalar(GgufType t) {
  GgufValue v;
  v.type = t;
  return v;
}

}  // namespace

GgufWriter::~GgufWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

void GgufWriter::Add(const std::string& key, GgufValue value) { metadata_.emplace_back(key, std::move(value)); }

void GgufWriter::AddString(const std::string& key, const std::string& s) {
  GgufValue v = Scalar(GgufType::kString);
  v.str = s;
  Add(key, std::move(v));
}
void GgufWriter::AddU32(const std::string& key, uint32_t x) {
  GgufValue v = Scalar(GgufType::kU32);
  v.u64 = x;
  Add(key, std::move(v));
}
void GgufWriter::AddI32(const std::string& key, int32_t x) {
  GgufValue v = Scalar(GgufType::kI32);
  v.i64 = x;
  Add(key, std::move(v));
}
void GgufWriter::AddF32(const std::string& key, float x) {
  GgufValue v = Scalar(GgufType::kF32);
  v.f64 = x;
  Add(key, std::move(v));
}
void GgufWriter::AddBool(const std::string& key, bool x) {
  GgufValue v = Scalar(GgufType::kBool);
  v.u64 = x ? 1 : 0;
  Add(key, std::move(v));
}
void GgufWriter::AddStringArray(const std::string& key, const std::vector<std::string>& xs) {
  GgufValue v = Scalar(GgufType::kArray);
  v.elem_type = GgufType::kString;
  v.items.reserve(xs.size());
  for (const std::string& s : xs) {
    GgufValue item = Scalar(GgufType::kString);
    item.str = s;
    v.items.push_back(std::move(item));
  }
  Add(key, std::move(v));
}
void GgufWriter::AddI32Array(const std::string& key, const std::vector<int32_t>& xs) {
  GgufValue v = Scalar(GgufType::kArray);
  v.elem_type = GgufType::kI32;
  v.items.reserve(xs.size());
  for (int32_t x : xs) {
    GgufValue item = Scalar(GgufType::kI32);
    item.i64 = x;
    v.items.push_back(std::move(item));
  }
  Add(key, std::move(v));
}

uint64_t GgufWriter::AddTensor(const std::string& name, DType dtype, std::vector<uint64_t> ne) {
  uint64_t elems = 1;
  for (uint64_t d : ne) elems *= d;
  const uint64_t nbytes = static_cast<uint64_t>(DTypeBytes(dtype, static_cast<int64_t>(elems)));
  tensors_.push_back({name, dtype, std::move(ne), nbytes, data_bytes_});
  data_bytes_ += (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  return nbytes;
}

Status GgufWriter::WriteRaw(const void* data, size_t bytes) {
  if (bytes > 0 && std::fwrite(data, 1, bytes, file_) != bytes) {
    return absl::InternalError(StrCat(path_, ": write failed: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

Status GgufWriter::Begin(const std::string& path) {
  path_ = path;
  file_ = std::fopen(path.c_str(), "wb");
  if (file_ == nullptr) return absl::NotFoundError(StrCat(path, ": cannot create: ", std::strerror(errno)));
  std::string h = "GGUF";
  AppendPod<uint32_t>(h, 3);
  AppendPod<uint64_t>(h, tensors_.size());
  AppendPod<uint64_t>(h, metadata_.size());
  for (const auto& [key, value] : metadata_) {
    AppendString(h, key);
    AppendPod<uint32_t>(h, static_cast<uint32_t>(value.type));
    AppendValue(h, value);
  }
  for (const Info& t : tensors_) {
    AppendString(h, t.name);
    AppendPod<uint32_t>(h, static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) AppendPod<uint64_t>(h, d);
    AppendPod<uint32_t>(h, GgmlTypeOf(t.dtype));
    AppendPod<uint64_t>(h, t.offset);
  }
  h.resize((h.size() + kAlignment - 1) / kAlignment * kAlignment, '\0');
  current_ = 0;
  written_ = 0;
  return WriteRaw(h.data(), h.size());
}

Status GgufWriter::Write(const void* data, size_t bytes) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (bytes > 0) {
    if (current_ >= tensors_.size()) return absl::InternalError(StrCat(path_, ": more tensor data than declared"));
    const Info& t = tensors_[current_];
    const size_t n = static_cast<size_t>(std::min<uint64_t>(bytes, t.nbytes - written_));
    DS_RETURN_IF_ERROR(WriteRaw(p, n));
    p += n;
    bytes -= n;
    written_ += n;
    if (written_ == t.nbytes) {
      static const char kZeros[kAlignment] = {};
      DS_RETURN_IF_ERROR(WriteRaw(kZeros, (kAlignment - t.nbytes % kAlignment) % kAlignment));
      ++current_;
      written_ = 0;
    }
  }
  return absl::OkStatus();
}

Status GgufWriter::Finish() {
  // Zero-byte tensors complete without a Write call.
  while (current_ < tensors_.size() && tensors_[current_].nbytes == 0) ++current_;
  if (current_ != tensors_.size()) {
    return absl::InternalError(StrCat(path_, ": tensor '", tensors_[current_].name, "' was not written in full"));
  }
  const int rc = std::fclose(file_);
  file_ = nullptr;
  if (rc != 0) return absl::InternalError(StrCat(path_, ": close failed: ", std::strerror(errno)));
  return absl::OkStatus();
}

}  // namespace ds
