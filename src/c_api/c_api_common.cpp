// The C ABI's plumbing: version, thread-local errors, status names, buffers.
#include <cstdint>
#include <cstring>
#include <cstdlib>

#include "c_api/c_api_internal.h"
#include "deepseek/version.h"

namespace ds::capi {
namespace {
thread_local std::string g_last_error;  // one per thread: concurrent callers never see each other's
}  // namespace

ds_status Fail(ds_status status, const std::string& message) {
  try {
    g_last_error = message;
  } catch (...) {
    g_last_error.clear();  // cannot even copy the message: keep the status
  }
  return status;
}

ds_status Fail(const deepseek::Status& status) {
  return Fail(static_cast<ds_status>(status.code()), status.message());
}

char* CopyString(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p == nullptr) throw std::bad_alloc();
  std::memcpy(p, s.data(), s.size());
  p[s.size()] = '\0';
  return p;
}

ds_status RequireTokenizer(const ds_model* model, const char* function) {
  if (model->tokenizer) return DS_OK;
  return Fail(DS_NOT_FOUND, std::string(function) + ": " + model->tokenizer_problem);
}

ds_status ReadParams(const void* in, size_t struct_size, size_t v1_size, void* out, size_t out_size,
                     const char* what) {
  if (struct_size < v1_size) {
    return Fail(DS_INVALID_ARGUMENT, std::string(what) + ".struct_size is " + std::to_string(struct_size) +
                                         ", expected at least " + std::to_string(v1_size) +
                                         " (fill the struct with its *_default_params() function)");
  }
  const auto* bytes = static_cast<const unsigned char*>(in);
  for (size_t i = out_size; i < struct_size; ++i) {  // fields of a newer header: only "off" is safe
    if (bytes[i] != 0) {
      return Fail(DS_UNSUPPORTED, std::string(what) + " sets a field this library version (" +
                                      deepseek::Version() + ") does not know (byte " + std::to_string(i) + ")");
    }
  }
  std::memcpy(out, in, struct_size < out_size ? struct_size : out_size);
  return DS_OK;
}

}  // namespace ds::capi

extern "C" {

const char* ds_version(void) { return deepseek::Version(); }

const char* ds_last_error(void) { return ds::capi::g_last_error.c_str(); }

const char* ds_status_name(ds_status status) {
  // A C caller may pass any int. Read the bits as an integer: loading an out-of-range value through
  // the C++ enum type is undefined behaviour (found by fuzz_c_api under UBSan).
  int32_t code = 0;
  static_assert(sizeof(status) == sizeof(code));
  std::memcpy(&code, &status, sizeof code);
  switch (code) {
    case DS_OK: return "DS_OK";
    case DS_INVALID_ARGUMENT: return "DS_INVALID_ARGUMENT";
    case DS_NOT_FOUND: return "DS_NOT_FOUND";
    case DS_INVALID_FORMAT: return "DS_INVALID_FORMAT";
    case DS_UNSUPPORTED: return "DS_UNSUPPORTED";
    case DS_OUT_OF_MEMORY: return "DS_OUT_OF_MEMORY";
    case DS_CANCELLED: return "DS_CANCELLED";
    case DS_INTERNAL: return "DS_INTERNAL";
  }
  return "DS_UNKNOWN";
}

void ds_free(void* buffer) { std::free(buffer); }

}  // extern "C"
