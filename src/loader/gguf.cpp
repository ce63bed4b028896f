#include "loader/gguf.h"

#include <cstring>

namespace ds {
namespace {

constexpr uint32_t kMaxDims = 4;           // ggml's GGML_MAX_DIMS
constexpr uint32_t kMaxArrayDepth = 8;     // nested arrays deeper than this are rejected

struct GgmlTypeEntry {
  uint32_t id;
  const char* name;
  std::optional<DType> dtype;  // nullopt: known to ggml, not executed here
};

constexpr GgmlTypeEntry kGgmlTypes[] = {
    {0, "F32", DType::kF32},     {1, "F16", DType::kF16},       {2, "Q4_0", DType::kQ4_0},
    {3, "Q4_1", DType::kQ4_1},   {6, "Q5_0", DType::kQ5_0},     {7, "Q5_1", DType::kQ5_1},
    {8, "Q8_0", DType::kQ8_0},   {9, "Q8_1", std::nullopt},     {10, "Q2_K", std::nullopt},
    {11, "Q3_K", std::nullopt},  {12, "Q4_K", DType::kQ4_K},    {13, "Q5_K", DType::kQ5_K},
    {14, "Q6_K", DType::kQ6_K},  {15, "Q8_K", std::nullopt},    {16, "IQ2_XXS", std::nullopt},
    {17, "IQ2_XS", std::nullopt}, {18, "IQ3_XXS", std::nullopt}, {19, "IQ1_S", std::nullopt},
    {20, "IQ4_NL", std::nullopt}, {21, "IQ3_S", std::nullopt},  {22, "IQ2_S", std::nullopt},
    {23, "IQ4_XS", std::nullopt}, {24, "I8", DType::kI8},        {25, "I16", DType::kI16},
    {26, "I32", DType::kI32},    {27, "I64", DType::kI64},      {28, "F64", DType::kF64},
    {29, "IQ1_M", std::nullopt}, {30, "BF16", DType::kBF16},    {34, "TQ1_0", std::nullopt},
    {35, "TQ2_0", std::nullopt}, {39, "MXFP4", std::nullopt},
};

const GgmlTypeEntry* FindGgmlType(uint32_t id) {
  for (const auto& e : kGgmlTypes) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

// Bounds-checked little-endian reader over the mapped header.
class Cursor {
 public:
  Cursor(const uint8_t* data, uint64_t size, const std::string& path) : data_(data), size_(size), path_(path) {}
  uint64_t pos() const { return pos_; }
  uint64_t left() const { return size_ - pos_; }

  Status Bytes(void* out, uint64_t n, const std::string& what) {
    if (n > left()) {
      return InvalidFormat(StrCat(path_, ": truncated at byte ", pos_, " reading ", what, " (needs ", n,
                                  " bytes, ", left(), " left)"));
    }
    std::memcpy(out, data_ + pos_, n);
    pos_ += n;
    return absl::OkStatus();
  }
  template <typename T>
  StatusOr<T> Get(const std::string& what) {
    T v{};
    DS_RETURN_IF_ERROR(Bytes(&v, sizeof(T), what));
    return v;
  }
  StatusOr<std::string> String(const std::string& what) {
    DS_ASSIGN_OR_RETURN(uint64_t len, Get<uint64_t>(StrCat("the length of ", what)));
    if (len > left()) {
      return InvalidFormat(StrCat(path_, ": ", what, " at byte ", pos_ - 8, " has length ", len,
                                  ", past the end of the file (", left(), " bytes left)"));
    }
    std::string s(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    return s;
  }

 private:
  const uint8_t* data_;
  uint64_t size_, pos_ = 0;
  const std::string& path_;
};

uint64_t MinValueBytes(GgufType t) {
  switch (t) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kBool: return 1;
    case GgufType::kU16: case GgufType::kI16: return 2;
    case GgufType::kU32: case GgufType::kI32: case GgufType::kF32: return 4;
    default: return 8;  // u64, i64, f64, string length, array header (>= 12)
  }
}

Status ReadValue(Cursor& c, GgufType type, const std::string& key, const std::string& path, uint32_t depth,
                 GgufValue& v);

Status ReadArray(Cursor& c, const std::string& key, const std::string& path, uint32_t depth, GgufValue& v) {
  if (depth >= kMaxArrayDepth) return InvalidFormat(StrCat(path, ": key '", key, "': arrays nested too deeply"));
  DS_ASSIGN_OR_RETURN(uint32_t elem, c.Get<uint32_t>(StrCat("the element type of '", key, "'")));
  if (elem > static_cast<uint32_t>(GgufType::kF64)) {
    return InvalidFormat(StrCat(path, ": key '", key, "': unknown array element type ", elem));
  }
  v.elem_type = static_cast<GgufType>(elem);
  DS_ASSIGN_OR_RETURN(uint64_t n, c.Get<uint64_t>(StrCat("the length of array '", key, "'")));
  // Each element needs at least MinValueBytes: reject counts the file cannot hold before allocating.
  if (n > c.left() / MinValueBytes(v.elem_type)) {
    return InvalidFormat(StrCat(path, ": key '", key, "': array of ", n, " ", GgufTypeName(v.elem_type),
                                " elements runs past the end of the file (", c.left(), " bytes left)"));
  }
  v.items.resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    DS_RETURN_IF_ERROR(ReadValue(c, v.elem_type, StrCat(key, "[", i, "]"), path, depth + 1, v.items[i]));
  }
  return absl::OkStatus();
}

Status ReadValue(Cursor& c, GgufType type, const std::string& key, const std::string& path, uint32_t depth,
                 GgufValue& v) {
  v.type = type;
  const std::string what = StrCat("the value of '", key, "'");
  switch (type) {
    case GgufType::kU8: { DS_ASSIGN_OR_RETURN(uint8_t x, c.Get<uint8_t>(what)); v.u64 = x; break; }
    case GgufType::kI8: { DS_ASSIGN_OR_RETURN(int8_t x, c.Get<int8_t>(what)); v.i64 = x; break; }
    case GgufType::kU16: { DS_ASSIGN_OR_RETURN(uint16_t x, c.Get<uint16_t>(what)); v.u64 = x; break; }
    case GgufType::kI16: { DS_ASSIGN_OR_RETURN(int16_t x, c.Get<int16_t>(what)); v.i64 = x; break; }
    case GgufType::kU32: { DS_ASSIGN_OR_RETURN(uint32_t x, c.Get<uint32_t>(what)); v.u64 = x; break; }
    case GgufType::kI32: { DS_ASSIGN_OR_RETURN(int32_t x, c.Get<int32_t>(what)); v.i64 = x; break; }
    case GgufType::kU64: { DS_ASSIGN_OR_RETURN(uint64_t x, c.Get<uint64_t>(what)); v.u64 = x; break; }
    case GgufType::kI64: { DS_ASSIGN_OR_RETURN(int64_t x, c.Get<int64_t>(what)); v.i64 = x; break; }
    case GgufType::kF32: { DS_ASSIGN_OR_RETURN(float x, c.Get<float>(what)); v.f64 = x; break; }
    case GgufType::kF64: { DS_ASSIGN_OR_RETURN(double x, c.Get<double>(what)); v.f64 = x; break; }
    case GgufType::kBool: {
      DS_ASSIGN_OR_RETURN(uint8_t x, c.Get<uint8_t>(what));
      if (x > 1) return InvalidFormat(StrCat(path, ": key '", key, "': bool value is ", int{x}, ", not 0 or 1"));
      v.u64 = x;
      break;
    }
    case GgufType::kString: { DS_ASSIGN_OR_RETURN(v.str, c.String(what)); break; }
    case GgufType::kArray: return ReadArray(c, key, path, depth, v);
  }
  return absl::OkStatus();
}

}  // namespace

std::string GgufTypeName(GgufType t) {
  static const char* kNames[] = {"UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32",
                                 "BOOL", "STRING", "ARRAY", "UINT64", "INT64", "FLOAT64"};
  const auto i = static_cast<uint32_t>(t);
  return i < 13 ? kNames[i] : StrCat("type ", i);
}

bool GgufValue::IsInteger() const {
  switch (type) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kU16: case GgufType::kI16:
    case GgufType::kU32: case GgufType::kI32: case GgufType::kU64: case GgufType::kI64: return true;
    default: return false;
  }
}

Tensor::Shape GgufTensorInfo::Shape() const {
  Tensor::Shape s;
  for (auto it = ne.rbegin(); it != ne.rend(); ++it) s.push_back(static_cast<int64_t>(*it));
  return s;
}

std::optional<DType> DTypeFromGgml(uint32_t ggml_type) {
  const GgmlTypeEntry* e = FindGgmlType(ggml_type);
  return e ? e->dtype : std::nullopt;
}

uint32_t GgmlTypeOf(DType t) {
  for (const auto& e : kGgmlTypes) {
    if (e.dtype == t) return e.id;
  }
  return 0;
}

std::string GgmlTypeName(uint32_t ggml_type) {
  const GgmlTypeEntry* e = FindGgmlType(ggml_type);
  return e ? e->name : StrCat("unknown type ", ggml_type);
}

StatusOr<std::unique_ptr<GgufFile>> GgufFile::Open(const std::string& path) {
  DS_ASSIGN_OR_RETURN(std::shared_ptr<MappedFile> file, MappedFile::Open(path));
  auto g = std::unique_ptr<GgufFile>(new GgufFile());
  g->file_ = std::move(file);
  g->storage_ = Storage::FromMapped(g->file_);
  DS_RETURN_IF_ERROR(g->ParseAll());
  return g;
}

Status GgufFile::ParseAll() {
  const std::string& p = path();
  Cursor c(file_->data(), file_->size(), p);
  char magic[4];
  if (file_->size() < 4) return InvalidFormat(StrCat(p, ": not a GGUF file (", file_->size(), " bytes, no magic)"));
  DS_RETURN_IF_ERROR(c.Bytes(magic, 4, "the magic"));
  if (std::memcmp(magic, "GGUF", 4) != 0) {
    return InvalidFormat(StrCat(p, ": not a GGUF file (magic is not 'GGUF')"));
  }
  DS_ASSIGN_OR_RETURN(version_, c.Get<uint32_t>("the version"));
  if (version_ == 1) return absl::UnimplementedError(StrCat(p, ": GGUF version 1 is not supported (2 and 3 are)"));
  if (version_ != 2 && version_ != 3) {
    return InvalidFormat(StrCat(p, ": unsupported GGUF version ", version_,
                                version_ > 0xFFFF ? " (a big-endian file?)" : "", "; expected 2 or 3"));
  }
  DS_ASSIGN_OR_RETURN(uint64_t n_tensors, c.Get<uint64_t>("the tensor count"));
  DS_ASSIGN_OR_RETURN(uint64_t n_kv, c.Get<uint64_t>("the metadata count"));
  // A key-value pair takes at least 12 bytes, a tensor info at least 28.
  if (n_kv > c.left() / 12) return InvalidFormat(StrCat(p, ": metadata count ", n_kv, " exceeds what the file can hold"));
  if (n_tensors > c.left() / 28) {
    return InvalidFormat(StrCat(p, ": tensor count ", n_tensors, " exceeds what the file can hold"));
  }
  for (uint64_t i = 0; i < n_kv; ++i) {
    DS_ASSIGN_OR_RETURN(std::string key, c.String(StrCat("metadata key #", i)));
    DS_ASSIGN_OR_RETURN(uint32_t type, c.Get<uint32_t>(StrCat("the type of '", key, "'")));
    if (type > static_cast<uint32_t>(GgufType::kF64)) {
      return InvalidFormat(StrCat(p, ": key '", key, "' has unknown value type ", type));
    }
    GgufValue v;
    DS_RETURN_IF_ERROR(ReadValue(c, static_cast<GgufType>(type), key, p, 0, v));
    if (!metadata_.emplace(key, std::move(v)).second) return InvalidFormat(StrCat(p, ": duplicate key '", key, "'"));
  }
  if (const GgufValue* a = Find("general.alignment")) {
    if (a->type != GgufType::kU32 || a->u64 == 0 || (a->u64 & (a->u64 - 1)) != 0) {
      return InvalidFormat(StrCat(p, ": 'general.alignment' must be a UINT32 power of two, got ", GgufTypeName(a->type),
                                  " ", a->u64));
    }
    alignment_ = a->u64;
  }
  tensors_.resize(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo& t = tensors_[i];
    DS_ASSIGN_OR_RETURN(t.name, c.String(StrCat("the name of tensor #", i)));
    const std::string what = StrCat(p, ": tensor '", t.name, "'");
    DS_ASSIGN_OR_RETURN(uint32_t n_dims, c.Get<uint32_t>(StrCat("the rank of tensor '", t.name, "'")));
    if (n_dims == 0 || n_dims > kMaxDims) {
      return InvalidFormat(StrCat(what, " has ", n_dims, " dimensions; expected 1 to ", kMaxDims));
    }
    t.ne.resize(n_dims);
    DS_RETURN_IF_ERROR(c.Bytes(t.ne.data(), 8ull * n_dims, StrCat("the dims of tensor '", t.name, "'")));
    DS_ASSIGN_OR_RETURN(t.ggml_type, c.Get<uint32_t>(StrCat("the type of tensor '", t.name, "'")));
    DS_ASSIGN_OR_RETURN(t.offset, c.Get<uint64_t>(StrCat("the offset of tensor '", t.name, "'")));
    if (!tensor_index_.emplace(t.name, i).second) return InvalidFormat(StrCat(what, " appears twice"));
  }
  data_offset_ = (c.pos() + alignment_ - 1) / alignment_ * alignment_;
  if (data_offset_ > file_->size() && n_tensors > 0) {
    return InvalidFormat(StrCat(p, ": truncated: the data section would start at byte ", data_offset_, " of ", file_->size()));
  }
  for (GgufTensorInfo& t : tensors_) {
    const std::string what = StrCat(p, ": tensor '", t.name, "'");
    const GgmlTypeEntry* type = FindGgmlType(t.ggml_type);
    if (type == nullptr) return InvalidFormat(StrCat(what, " has unknown ggml type ", t.ggml_type));
    if (!type->dtype) {
      return absl::UnimplementedError(StrCat(what, " has type ", type->name,
                                             ", which this library does not execute (supported: F32, F16, BF16, Q8_0, "
                                             "Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K)"));
    }
    t.dtype = *type->dtype;
    uint64_t elems = 1;
    for (uint64_t d : t.ne) {
      if (d == 0 || d > static_cast<uint64_t>(INT64_MAX) || elems > static_cast<uint64_t>(INT64_MAX) / d) {
        return InvalidFormat(StrCat(what, ": dims overflow 64 bits or are zero"));
      }
      elems *= d;
    }
    const DTypeInfo& info = GetDTypeInfo(t.dtype);
    if (t.ne[0] % info.block_elems != 0) {
      return InvalidFormat(StrCat(what, ": row length ", t.ne[0], " is not a multiple of ", type->name, "'s block of ",
                                  info.block_elems));
    }
    if (elems / info.block_elems > static_cast<uint64_t>(INT64_MAX) / info.block_bytes) {
      return InvalidFormat(StrCat(what, ": byte size overflows 64 bits"));
    }
    t.nbytes = elems / info.block_elems * info.block_bytes;
    if (t.offset % alignment_ != 0) {
      return InvalidFormat(StrCat(what, ": offset ", t.offset, " is not a multiple of the alignment ", alignment_));
    }
    const uint64_t avail = file_->size() - data_offset_;
    if (t.offset > avail || t.nbytes > avail - t.offset) {
      return InvalidFormat(StrCat(what, ": bytes [", t.offset, ", ", t.offset, " + ", t.nbytes,
                                  ") run past the end of the data section (", avail, " bytes)"));
    }
  }
  return absl::OkStatus();
}

const GgufValue* GgufFile::Find(const std::string& key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

StatusOr<int64_t> GgufFile::GetInt(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return absl::NotFoundError(StrCat(path(), ": metadata key '", key, "' is missing"));
  if (!v->IsInteger()) {
    return InvalidFormat(StrCat(path(), ": metadata key '", key, "' is ", GgufTypeName(v->type), ", expected an integer"));
  }
  const bool is_signed = v->type == GgufType::kI8 || v->type == GgufType::kI16 || v->type == GgufType::kI32 ||
                         v->type == GgufType::kI64;
  if (!is_signed && v->u64 > static_cast<uint64_t>(INT64_MAX)) {
    return InvalidFormat(StrCat(path(), ": metadata key '", key, "' is too large (", v->u64, ")"));
  }
  return is_signed ? v->i64 : static_cast<int64_t>(v->u64);
}

StatusOr<double> GgufFile::GetFloat(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return absl::NotFoundError(StrCat(path(), ": metadata key '", key, "' is missing"));
  if (v->IsFloat()) return v->f64;
  if (v->IsInteger()) {
    DS_ASSIGN_OR_RETURN(int64_t i, GetInt(key));
    return static_cast<double>(i);
  }
  return InvalidFormat(StrCat(path(), ": metadata key '", key, "' is ", GgufTypeName(v->type), ", expected a number"));
}

StatusOr<bool> GgufFile::GetBool(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return absl::NotFoundError(StrCat(path(), ": metadata key '", key, "' is missing"));
  if (v->type != GgufType::kBool) {
    return InvalidFormat(StrCat(path(), ": metadata key '", key, "' is ", GgufTypeName(v->type), ", expected BOOL"));
  }
  return v->u64 != 0;
}

StatusOr<std::string> GgufFile::GetString(const std::string& key) const {
  const GgufValue* v = Find(key);
  if (!v) return absl::NotFoundError(StrCat(path(), ": metadata key '", key, "' is missing"));
  if (v->type != GgufType::kString) {
    return InvalidFormat(StrCat(path(), ": metadata key '", key, "' is ", GgufTypeName(v->type), ", expected STRING"));
  }
  return v->str;
}

StatusOr<const std::vector<GgufValue>*> GgufFile::GetArray(const std::string& key, GgufType elem) const {
  const GgufValue* v = Find(key);
  if (!v) return absl::NotFoundError(StrCat(path(), ": metadata key '", key, "' is missing"));
  if (v->type != GgufType::kArray || v->elem_type != elem) {
    return InvalidFormat(StrCat(path(), ": metadata key '", key, "' is ", GgufTypeName(v->type),
                                v->type == GgufType::kArray ? StrCat(" of ", GgufTypeName(v->elem_type)) : "",
                                ", expected ARRAY of ", GgufTypeName(elem)));
  }
  return &v->items;
}

const GgufTensorInfo* GgufFile::FindTensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

StatusOr<Tensor> GgufFile::GetTensor(const std::string& name) const {
  const GgufTensorInfo* t = FindTensor(name);
  if (!t) return absl::NotFoundError(StrCat(path(), ": no tensor '", name, "'"));
  return Tensor::View(storage_, data_offset_ + t->offset, t->dtype, t->Shape());
}

}  // namespace ds
