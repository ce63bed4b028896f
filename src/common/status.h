// Error handling inside the library: absl::Status / absl::StatusOr plus propagation macros.
// Code conventions (mapped 1:1 onto the public deepseek::StatusCode and the C ABI's ds_status):
//   InvalidArgument   bad caller input        NotFound       missing file / tensor / token
//   DataLoss          malformed file content  Unimplemented  valid but unsupported feature
//   ResourceExhausted memory limit exceeded   Cancelled      cancelled by the caller
//   Internal          a bug in the library
// Build messages with ds::StrCat (common/strings.h), not absl::StrCat: see that header.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/strings.h"

namespace ds {

using absl::Status;
using absl::StatusOr;

// A malformed file: the message should name the file and the field or tensor.
inline Status InvalidFormat(const std::string& msg) { return absl::DataLossError(msg); }

}  // namespace ds

#define DS_CONCAT_INNER_(a, b) a##b
#define DS_CONCAT_(a, b) DS_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if `expr` is not OK.
#define DS_RETURN_IF_ERROR(expr)                 \
  do {                                           \
    ::absl::Status _ds_status = (expr);          \
    if (!_ds_status.ok()) return _ds_status;     \
  } while (0)

// `DS_ASSIGN_OR_RETURN(auto x, F())` unwraps a StatusOr or returns its error.
#define DS_ASSIGN_OR_RETURN(lhs, expr) \
  DS_ASSIGN_OR_RETURN_IMPL_(DS_CONCAT_(_ds_statusor_, __LINE__), lhs, expr)
#define DS_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
