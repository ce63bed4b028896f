// Shared pieces of the C ABI implementation: the model handle, the thread-local error and the
// exception firewall every entry point runs inside.
#pragma once

#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include "deepseek/c_api.h"
#include "deepseek/model.h"
#include "deepseek/status.h"
#include "deepseek/tokenizer.h"

struct ds_model {
  std::unique_ptr<deepseek::Model> model;
  std::unique_ptr<deepseek::Tokenizer> tokenizer;  // null when none was found beside the model
  std::string tokenizer_problem;                   // why there is no tokenizer
};

namespace ds::capi {

// Records `message` as the calling thread's last error and returns `status`.
ds_status Fail(ds_status status, const std::string& message);
ds_status Fail(const deepseek::Status& status);

// Runs `body` (returning ds_status); any escaping C++ exception becomes an error status.
template <typename F>
ds_status Guard(const char* function, F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return Fail(DS_OUT_OF_MEMORY, std::string(function) + ": out of memory");
  } catch (const std::exception& e) {
    return Fail(DS_INTERNAL, std::string(function) + ": internal error: " + e.what());
  } catch (...) {
    return Fail(DS_INTERNAL, std::string(function) + ": internal error (unknown exception)");
  }
}

// A malloc'ed NUL-terminated copy of `s` (released with ds_free); throws std::bad_alloc.
char* CopyString(const std::string& s);

// DS_OK when the model has a tokenizer, else a DS_NOT_FOUND error explaining why there is none.
ds_status RequireTokenizer(const ds_model* model, const char* function);

// Messages as the JSON array the chat template reads; an error for NULL fields or bad UTF-8.
ds_status MessagesToJson(const char* function, const ds_chat_message* messages, size_t count, std::string& out);

// Copies a caller's params struct of `struct_size` bytes over `out` (defaults already filled).
// Rejects sizes below the first version's and non-zero bytes past what this library knows.
ds_status ReadParams(const void* in, size_t struct_size, size_t v1_size, void* out, size_t out_size,
                     const char* what);

}  // namespace ds::capi
