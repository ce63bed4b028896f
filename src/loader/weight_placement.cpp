#include "loader/weight_placement.h"

#include <algorithm>

#include "common/logging.h"
#include "common/mapped_file.h"

namespace ds {

StatusOr<bool> PlaceWeights(const TensorSource& source, WeightResidence residence, const AddressRanges& ranges,
                            const std::function<void(double, const std::string&)>& progress) {
  if (residence == WeightResidence::kMapped) return false;
  uint64_t total = 0;
  for (const auto& r : ranges) total += r.second;
  const uint64_t available = AvailableMemoryBytes();
  if (residence == WeightResidence::kAuto && static_cast<double>(total) > kAutoInMemoryFraction * static_cast<double>(available)) {
    LogInfo("weights (", total, " bytes) stay memory-mapped: more than half of the ", available, " bytes available");
    return false;
  }
  auto on_bytes = [&](uint64_t done) {
    if (progress && total > 0) progress(std::min(1.0, static_cast<double>(done) / static_cast<double>(total)), "reading weights");
  };
  Status s = source.ReadIntoMemory(ranges, on_bytes);
  if (progress) progress(1.0, "reading weights");
  if (s.ok()) return true;
  if (residence == WeightResidence::kInMemory) return s;
  LogInfo("weights stay memory-mapped: ", std::string(s.message()));
  return false;
}

}  // namespace ds
