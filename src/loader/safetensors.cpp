#include "loader/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "common/json_util.h"

namespace ds {
namespace fs = std::filesystem;

namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;  // the format's own limit is 100 MB

StatusOr<SafetensorsEntry> ParseEntry(const std::string& path, const std::string& name, const Json& v,
                                      uint64_t data_size) {
  auto err = [&](const std::string& what) {
    return InvalidFormat(StrCat(path, ": tensor '", name, "': ", what));
  };
  if (!v.is_object()) return err("header entry is not an object");
  SafetensorsEntry e;
  e.name = name;
  auto dt = v.find("dtype");
  if (dt == v.end() || !dt->is_string()) return err("missing or non-string 'dtype'");
  auto dtype = DTypeFromSafetensors(dt->get<std::string>());
  if (!dtype) return err(StrCat("unknown dtype '", dt->get<std::string>(), "'"));
  e.dtype = *dtype;
  auto shape = v.find("shape");
  if (shape == v.end() || !shape->is_array()) return err("missing or non-array 'shape'");
  int64_t numel = 1;
  for (const Json& d : *shape) {
    if (!d.is_number_unsigned() && !(d.is_number_integer() && d.get<int64_t>() >= 0)) {
      return err(StrCat("shape holds ", JsonSnippet(d), ", expected non-negative integers"));
    }
    // Checked as unsigned first: dims above INT64_MAX would wrap negative in get<int64_t>().
    if (d.get<uint64_t>() > (uint64_t{1} << 48)) return err(StrCat("shape holds ", JsonSnippet(d), ", absurdly large"));
    const int64_t dim = d.get<int64_t>();
    if (dim > 0 && numel > (int64_t{1} << 48) / dim) return err("shape is absurdly large");
    numel *= dim;
    e.shape.push_back(dim);
  }
  auto off = v.find("data_offsets");
  if (off == v.end() || !off->is_array() || off->size() != 2 || !(*off)[0].is_number_unsigned() ||
      !(*off)[1].is_number_unsigned()) {
    return err("'data_offsets' must be two non-negative integers");
  }
  e.begin = (*off)[0].get<uint64_t>();
  e.end = (*off)[1].get<uint64_t>();
  if (e.begin > e.end) return err(StrCat("data_offsets [", e.begin, ", ", e.end, "] are reversed"));
  if (e.end > data_size) {
    return err(StrCat("data_offsets end ", e.end, " is beyond the data section (", data_size,
                      " bytes; file truncated?)"));
  }
  const uint64_t want = static_cast<uint64_t>(numel) * GetDTypeInfo(e.dtype).block_bytes;
  if (e.end - e.begin != want) {
    return err(StrCat("holds ", e.end - e.begin, " bytes but dtype ", DTypeName(e.dtype), " and shape need ", want));
  }
  return e;
}

}  // namespace

StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  DS_ASSIGN_OR_RETURN(f->file_, MappedFile::Open(path));
  f->storage_ = Storage::FromMapped(f->file_);
  DS_RETURN_IF_ERROR(f->ParseHeader());
  return f;
}

Status SafetensorsFile::ParseHeader() {
  const std::string& path = file_->path();
  if (file_->size() < 8) return InvalidFormat(StrCat(path, ": too short for a safetensors header (", file_->size(), " bytes)"));
  uint64_t n;
  std::memcpy(&n, file_->data(), 8);
  if (n > kMaxHeaderBytes || n > file_->size() - 8) {
    return InvalidFormat(StrCat(path, ": header length ", n, " exceeds the file size ", file_->size()));
  }
  data_start_ = 8 + n;
  const uint64_t data_size = file_->size() - data_start_;
  std::string_view text(reinterpret_cast<const char*>(file_->data()) + 8, n);
  DS_ASSIGN_OR_RETURN(Json header, ParseJson(text, StrCat(path, " (safetensors header)")));
  if (!header.is_object()) return InvalidFormat(StrCat(path, ": header is not a JSON object"));
  std::vector<const SafetensorsEntry*> by_offset;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it->is_object()) return InvalidFormat(StrCat(path, ": __metadata__ is not an object"));
      for (auto m = it->begin(); m != it->end(); ++m) {
        if (m->is_string()) metadata_[m.key()] = m->get<std::string>();
      }
      continue;
    }
    DS_ASSIGN_OR_RETURN(SafetensorsEntry e, ParseEntry(path, it.key(), *it, data_size));
    entries_[e.name] = std::move(e);
  }
  for (const auto& [name, e] : entries_) {
    if (e.end > e.begin) by_offset.push_back(&e);  // empty tensors occupy no bytes, so cannot overlap
  }
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    if (by_offset[i]->begin < by_offset[i - 1]->end) {
      return InvalidFormat(StrCat(path, ": tensors '", by_offset[i - 1]->name, "' and '", by_offset[i]->name,
                                  "' overlap"));
    }
  }
  return absl::OkStatus();
}

StatusOr<Tensor> SafetensorsFile::Get(const std::string& name) const {
  auto it = entries_.find(name);
  if (it == entries_.end()) return absl::NotFoundError(StrCat(path(), ": no tensor '", name, "'"));
  const SafetensorsEntry& e = it->second;
  const uint64_t at = data_start_ + e.begin;
  const DTypeInfo& info = GetDTypeInfo(e.dtype);
  const uint64_t align = info.block_elems == 1 ? static_cast<uint64_t>(info.block_bytes) : 1;
  if (at % align == 0) return Tensor::View(storage_, at, e.dtype, e.shape);
  // An unpadded header leaves tensors at odd addresses, where element loads are undefined
  // behaviour: such tensors are copied into aligned memory (well-formed files stay zero-copy).
  Tensor t = Tensor::Empty(e.dtype, e.shape);
  std::memcpy(t.raw(), file_->data() + at, e.end - e.begin);
  return t;
}

StatusOr<std::unique_ptr<WeightStore>> WeightStore::Open(const std::string& path) {
  auto store = std::make_unique<WeightStore>();
  std::error_code ec;
  if (fs::is_regular_file(path, ec)) {
    DS_RETURN_IF_ERROR(store->AddFile(path));
    return store;
  }
  if (!fs::is_directory(path, ec)) return absl::NotFoundError(StrCat(path, ": no such file or folder"));
  const fs::path index = fs::path(path) / "model.safetensors.index.json";
  if (fs::exists(index, ec)) {
    DS_ASSIGN_OR_RETURN(Json j, ReadJsonFile(index.string()));
    auto wm = j.find("weight_map");
    if (!j.is_object() || wm == j.end() || !wm->is_object()) {
      return InvalidFormat(StrCat(index.string(), ": missing object 'weight_map'"));
    }
    std::map<std::string, std::string> expected;
    std::vector<std::string> shards;
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      if (!it->is_string()) return InvalidFormat(StrCat(index.string(), ": weight_map['", it.key(), "'] is not a string"));
      const std::string shard = it->get<std::string>();
      if (shard.find('/') != std::string::npos || shard.find("..") != std::string::npos) {
        return InvalidFormat(StrCat(index.string(), ": shard name '", shard, "' leaves the folder"));
      }
      expected[it.key()] = shard;
      if (std::find(shards.begin(), shards.end(), shard) == shards.end()) shards.push_back(shard);
    }
    for (const auto& s : shards) DS_RETURN_IF_ERROR(store->AddFile((fs::path(path) / s).string()));
    for (const auto& [name, shard] : expected) {
      if (!store->Has(name) || fs::path(store->FileOf(name)).filename() != shard) {
        return InvalidFormat(StrCat(index.string(), ": tensor '", name, "' is listed in shard ", shard, " but not found there"));
      }
    }
    return store;
  }
  // The standard single-file name wins: other *.safetensors beside it (reference outputs, adapters,
  // consolidated copies) are not part of the checkpoint.
  const fs::path single = fs::path(path) / "model.safetensors";
  if (fs::is_regular_file(single, ec)) {
    DS_RETURN_IF_ERROR(store->AddFile(single.string()));
    return store;
  }
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(path, ec)) {
    if (entry.path().extension() == ".safetensors") files.push_back(entry.path().string());
  }
  if (files.empty()) return absl::NotFoundError(StrCat(path, ": no *.safetensors weights in the folder"));
  std::sort(files.begin(), files.end());
  for (const auto& f : files) DS_RETURN_IF_ERROR(store->AddFile(f));
  return store;
}

Status WeightStore::AddFile(const std::string& path) {
  DS_ASSIGN_OR_RETURN(auto file, SafetensorsFile::Open(path));
  for (const auto& [name, e] : file->entries()) {
    if (where_.count(name)) {
      return InvalidFormat(StrCat(path, ": tensor '", name, "' also appears in ", files_[where_[name]]->path()));
    }
    where_[name] = files_.size();
  }
  files_.push_back(std::move(file));
  return absl::OkStatus();
}

std::vector<const MappedFile*> WeightStore::BackingFiles() const {
  std::vector<const MappedFile*> out;
  for (const auto& f : files_) out.push_back(&f->mapped());
  return out;
}

StatusOr<Tensor> WeightStore::Get(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) return absl::NotFoundError(StrCat("checkpoint has no tensor '", name, "'"));
  return files_[it->second]->Get(name);
}

std::vector<std::string> WeightStore::Names() const {
  std::vector<std::string> names;
  for (const auto& [n, i] : where_) names.push_back(n);
  return names;
}

const SafetensorsEntry* WeightStore::Entry(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) return nullptr;
  return &files_[it->second]->entries().at(name);
}

std::string WeightStore::FileOf(const std::string& name) const {
  auto it = where_.find(name);
  return it == where_.end() ? std::string("(checkpoint)") : files_[it->second]->path();
}

uint64_t WeightStore::TotalBytes() const {
  uint64_t total = 0;
  for (const auto& f : files_) {
    for (const auto& [n, e] : f->entries()) total += e.end - e.begin;
  }
  return total;
}

}  // namespace ds
