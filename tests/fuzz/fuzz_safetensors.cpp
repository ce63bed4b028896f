// Fuzzes the safetensors reader and the sharded-folder index parser. The first byte picks:
//   0: the input is a whole .safetensors file;
//   1: the input is a header's JSON text, framed with its length and a zero data section sized
//      to the largest data_offsets end (so mutations reach the per-tensor checks);
//   2: the input is model.safetensors.index.json beside one small valid shard.
// Every tensor that opens is read end to end, so a view past the mapping shows up under ASan.
#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

#include "fuzz_util.h"
#include "loader/safetensors.h"
#include "loader/safetensors_writer.h"

namespace {

using ds::fuzz::ScratchDir;
using ds::fuzz::WriteFile;

volatile uint8_t g_sink;

void TouchAll(const ds::SafetensorsFile& f) {
  for (const auto& [name, e] : f.entries()) {
    auto t = f.Get(name);
    if (!t.ok()) continue;
    const uint8_t* p = static_cast<const uint8_t*>(t->raw());
    const size_t n = e.end - e.begin;
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i += std::max<size_t>(1, n / 64)) acc ^= p[i];
    if (n > 0) acc ^= p[n - 1];
    g_sink = acc;
  }
}

void OpenFile(std::string_view bytes) {
  const std::string path = ScratchDir() + "/f.safetensors";
  WriteFile(path, bytes);
  auto f = ds::SafetensorsFile::Open(path);
  if (f.ok()) TouchAll(**f);
}

void OpenHeader(std::string_view json_text) {
  uint64_t data = 0;
  auto j = nlohmann::json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      if (!v.is_object() || !v.contains("data_offsets") || !v["data_offsets"].is_array()) continue;
      for (auto& o : v["data_offsets"]) {
        if (o.is_number_unsigned()) data = std::max<uint64_t>(data, o.get<uint64_t>());
      }
    }
  }
  data = std::min<uint64_t>(data, 1 << 20);
  std::string file(8, '\0');
  const uint64_t n = json_text.size();
  std::memcpy(file.data(), &n, 8);
  file.append(json_text);
  file.append(data, '\0');
  OpenFile(file);
}

void OpenIndexedFolder(std::string_view index) {
  static const std::string dir = [] {
    std::string d = ScratchDir() + "/sharded";
    std::filesystem::create_directories(d);
    std::string a(16, '\1'), b(8, '\2');
    WriteFile(d + "/model-00001-of-00002.safetensors",
              ds::SerializeSafetensors({{"a.weight", "F32", {2, 2}, a}}));
    WriteFile(d + "/model-00002-of-00002.safetensors",
              ds::SerializeSafetensors({{"b.weight", "BF16", {4}, b}}));
    return d;
  }();
  WriteFile(dir + "/model.safetensors.index.json", index);
  auto store = ds::WeightStore::Open(dir);
  if (store.ok()) {
    for (const auto& f : (*store)->files()) TouchAll(*f);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: OpenFile(rest); break;
    case 1: OpenHeader(rest); break;
    default: OpenIndexedFolder(rest); break;
  }
  return 0;
}
