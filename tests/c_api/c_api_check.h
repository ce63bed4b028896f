/* Shared by the C ABI tests (c_api_test.c, c_api_mtp_test.c): check macros that count into
 * g_checks / g_failures, the tests/data and scratch directories, file and JSON helpers, and the
 * expected tensors of tiny-v3 (DeepSeek's reference implementation). */
#ifndef DS_TESTS_C_API_CHECK_H_
#define DS_TESTS_C_API_CHECK_H_

#define _XOPEN_SOURCE 700
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deepseek/c_api.h"

extern int g_failures;
extern int g_checks;
extern char g_data[PATH_MAX]; /* tests/data, absolute */
extern char g_tmp[256];       /* this run's scratch directory */

#define CHECK(cond)                                                          \
  do {                                                                       \
    ++g_checks;                                                              \
    if (!(cond)) {                                                           \
      ++g_failures;                                                          \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                        \
  } while (0)

/* A call that must fail with `code` and leave a message containing `needle`. */
#define CHECK_FAILS(call, code, needle)                                                          \
  do {                                                                                           \
    ds_status s_ = (call);                                                                       \
    ++g_checks;                                                                                  \
    if (s_ != (code) || strstr(ds_last_error(), (needle)) == NULL) {                             \
      ++g_failures;                                                                              \
      fprintf(stderr, "%s:%d: %s gave %s '%s', expected %s with '%s'\n", __FILE__, __LINE__, #call, \
              ds_status_name(s_), ds_last_error(), ds_status_name(code), needle);                \
    }                                                                                            \
  } while (0)

#define CHECK_OK(call)                                                                              \
  do {                                                                                              \
    ds_status s_ = (call);                                                                          \
    ++g_checks;                                                                                     \
    if (s_ != DS_OK) {                                                                              \
      ++g_failures;                                                                                 \
      fprintf(stderr, "%s:%d: %s gave %s: %s\n", __FILE__, __LINE__, #call, ds_status_name(s_), ds_last_error()); \
    }                                                                                               \
  } while (0)

/* Expected tensors of tiny-v3 (DeepSeek's reference implementation). */
typedef struct Expected {
  char* file;
  const int32_t* tokens;
  size_t n_tokens;
  const int32_t* greedy;
  size_t n_greedy;
  const float* logits;
  int64_t vocab;
} Expected;

/* g_data/rel, in one of 8 rotating buffers. */
const char* Path(const char* rel);
/* The whole file, NUL-terminated (free it); NULL when it cannot be opened. */
char* ReadFile(const char* path, size_t* size);
void WriteFile(const char* path, const char* text);
/* A tensor of a safetensors file in memory, and its byte count; NULL when absent. */
const char* Tensor(const char* file, size_t size, const char* name, size_t* bytes);
/* The first JSON string value of `field` in `line` (free it); NULL when absent. */
char* JsonString(const char* line, const char* field);
/* The JSON integer array of `field` in `line`; returns the count. */
size_t JsonInts(const char* line, const char* field, int32_t* out, size_t cap);
/* Reads tiny-v3's expected.safetensors into e; 0 when missing or malformed. */
int LoadExpected(Expected* e);
/* Greedy next-token chain from ds_logits, `steps` tokens into out. */
void GreedyByLogits(const ds_model* m, const int32_t* prompt, size_t n_prompt, int64_t vocab, int32_t* out, size_t steps);

/* c_api_mtp_test.c */
void TestMtp(const Expected* e);
void TestMemoryLimit(const Expected* e);

#endif  /* DS_TESTS_C_API_CHECK_H_ */
