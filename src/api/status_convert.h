// Converts internal absl::Status values to the public deepseek::Status.
#pragma once

#include "common/status.h"
#include "deepseek/status.h"

namespace ds {

deepseek::Status ToPublic(const absl::Status& s);

}  // namespace ds
