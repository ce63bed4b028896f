#include "api/status_convert.h"

namespace ds {

deepseek::Status ToPublic(const absl::Status& s) {
  using deepseek::StatusCode;
  if (s.ok()) return deepseek::Status::Ok();
  StatusCode code = StatusCode::kInternal;
  switch (s.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kFailedPrecondition: code = StatusCode::kInvalidArgument; break;
    case absl::StatusCode::kNotFound: code = StatusCode::kNotFound; break;
    case absl::StatusCode::kDataLoss: code = StatusCode::kInvalidFormat; break;
    case absl::StatusCode::kUnimplemented: code = StatusCode::kUnsupported; break;
    case absl::StatusCode::kResourceExhausted: code = StatusCode::kOutOfMemory; break;
    case absl::StatusCode::kCancelled: code = StatusCode::kCancelled; break;
    default: break;
  }
  return deepseek::Status(code, std::string(s.message()));
}

}  // namespace ds
