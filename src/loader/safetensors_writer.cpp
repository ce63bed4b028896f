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

}  // namespace ds
