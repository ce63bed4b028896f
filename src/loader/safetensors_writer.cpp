#include "loader/safetensors_writer.h"

#include <cstring>
#include <fstream>

#include "common/json_util.h"

namespace ds {

std::string SerializeSafetensors(const std::vector<SafetensorsTensorData>& tensors) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');  // align the data section to 8 bytes
  std::string out(8, '\0');
  const uint64_t n = text.size();
  std::memcpy(out.data(), &n, 8);
  out += text;
  for (const auto& t : tensors) out += t.bytes;
  return out;
}

Status WriteSafetensors(const std::string& path, const std::vector<SafetensorsTensorData>& tensors) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return absl::InvalidArgumentError(StrCat(path, ": cannot open for writing"));
  const std::string data = SerializeSafetensors(tensors);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  f.close();
  if (!f) return absl::InternalError(StrCat(path, ": write failed (disk full?)"));
  return absl::OkStatus();
}

StatusOr<uint64_t> SafetensorsStreamWriter::ByteSize(const Entry& e) {
  const std::optional<DType> dt = DTypeFromSafetensors(e.dtype);
  if (!dt) return absl::InvalidArgumentError(StrCat("tensor '", e.name, "': unknown safetensors dtype '", e.dtype, "'"));
  int64_t n = 1;
  for (int64_t d : e.shape) {
    if (d < 0 || (d > 0 && n > (int64_t{1} << 50) / d)) {
      return absl::InvalidArgumentError(StrCat("tensor '", e.name, "': bad or oversized shape"));
    }
    n *= d;
  }
  return static_cast<uint64_t>(DTypeBytes(*dt, n));
}

StatusOr<std::unique_ptr<SafetensorsStreamWriter>> SafetensorsStreamWriter::Create(const std::string& path,
                                                                                   const std::vector<Entry>& entries) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t offset = 0;
  for (const Entry& e : entries) {
    DS_ASSIGN_OR_RETURN(uint64_t bytes, ByteSize(e));
    header[e.name] = {{"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');  // align the data section to 8 bytes
  std::unique_ptr<SafetensorsStreamWriter> w(new SafetensorsStreamWriter());
  w->path_ = path;
  w->total_ = offset;
  w->file_ = std::fopen(path.c_str(), "wb");
  if (!w->file_) return absl::InvalidArgumentError(StrCat(path, ": cannot open for writing"));
  const uint64_t n = text.size();
  if (std::fwrite(&n, 8, 1, w->file_) != 1 || std::fwrite(text.data(), 1, text.size(), w->file_) != text.size()) {
    return absl::InternalError(StrCat(path, ": write failed (disk full?)"));
  }
  return w;
}

SafetensorsStreamWriter::~SafetensorsStreamWriter() {
  if (file_) std::fclose(file_);
}

Status SafetensorsStreamWriter::Append(const void* data, size_t n) {
  if (!file_) return absl::FailedPreconditionError(StrCat(path_, ": writer is closed"));
  if (written_ + n > total_) {
    return absl::InternalError(StrCat(path_, ": ", written_ + n, " data bytes written, header declares ", total_));
  }
  if (n > 0 && std::fwrite(data, 1, n, file_) != n) return absl::InternalError(StrCat(path_, ": write failed (disk full?)"));
  written_ += n;
  return absl::OkStatus();
}

Status SafetensorsStreamWriter::Close() {
  if (!file_) return absl::FailedPreconditionError(StrCat(path_, ": writer is closed"));
  const bool flushed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (written_ != total_) {
    return absl::InternalError(StrCat(path_, ": ", written_, " data bytes written, header declares ", total_));
  }
  if (!flushed) return absl::InternalError(StrCat(path_, ": write failed (disk full?)"));
  return absl::OkStatus();
}

}  // namespace ds
