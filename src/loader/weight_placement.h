// Where checkpoint weights live once loaded: the memory-mapped files, or the process's own memory.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "loader/tensor_source.h"

namespace ds {

enum class WeightResidence { kAuto, kMapped, kInMemory };

// kAuto reads the weights into memory when they take at most this fraction of the available memory.
constexpr double kAutoInMemoryFraction = 0.5;

// Reads the pages of `source`'s files holding `ranges` (tensor addresses) into anonymous memory
// (TensorSource::ReadIntoMemory) when `residence` asks for it, reporting progress as stage
// "reading weights". kAuto reads when the ranges take at most kAutoInMemoryFraction of the available
// memory, and keeps the mapping (with a log line) when the read fails; kInMemory returns the error.
// Returns whether the ranges are now in memory.
StatusOr<bool> PlaceWeights(const TensorSource& source, WeightResidence residence, const AddressRanges& ranges,
                            const std::function<void(double, const std::string&)>& progress);

}  // namespace ds
