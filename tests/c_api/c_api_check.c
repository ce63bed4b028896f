/* Helpers of the C ABI tests (see c_api_check.h). */
#include "c_api_check.h"

int g_failures = 0;
int g_checks = 0;
char g_data[PATH_MAX];
char g_tmp[256];

const char* Path(const char* rel) {
  static char buf[8][PATH_MAX + 256];
  static int next = 0;
  char* p = buf[next++ % 8];
  snprintf(p, PATH_MAX + 256, "%s/%s", g_data, rel);
  return p;
}

char* ReadFile(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  char* data;
  long n;
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  data = (char*)malloc((size_t)n + 1);
  if (fread(data, 1, (size_t)n, f) != (size_t)n) n = 0;
  data[n] = '\0';
  fclose(f);
  if (size != NULL) *size = (size_t)n;
  return data;
}

void WriteFile(const char* path, const char* text) {
  FILE* f = fopen(path, "wb");
  if (f == NULL) return;
  fputs(text, f);
  fclose(f);
}

/* A tensor of expected.safetensors: finds `"name":{...,"data_offsets":[a,b]}` in the header. */
const char* Tensor(const char* file, size_t size, const char* name, size_t* bytes) {
  unsigned long long header = 0;
  char key[128];
  const char* at;
  unsigned long long a, b;
  int i;
  for (i = 7; i >= 0; --i) header = header * 256 + (unsigned char)file[i];
  snprintf(key, sizeof key, "\"%s\"", name);
  at = strstr(file + 8, key);
  if (at == NULL || (size_t)(at - file) > 8 + header) return NULL;
  at = strstr(at, "\"data_offsets\"");
  if (at == NULL || sscanf(strchr(at, '[') + 1, "%llu,%llu", &a, &b) != 2 || 8 + header + b > size) return NULL;
  *bytes = (size_t)(b - a);
  return file + 8 + header + a;
}

/* The first JSON string value of `field` in `line` (handles \n, \", \\ and \t only). */
char* JsonString(const char* line, const char* field) {
  char key[64];
  const char* p;
  char* out;
  size_t n = 0;
  snprintf(key, sizeof key, "\"%s\":\"", field);
  p = strstr(line, key);
  if (p == NULL) return NULL;
  p += strlen(key);
  out = (char*)malloc(strlen(p) + 1);
  while (*p != '\0' && *p != '"') {
    if (*p == '\\') {
      ++p;
      out[n++] = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p;
    } else {
      out[n++] = *p;
    }
    ++p;
  }
  out[n] = '\0';
  return out;
}

/* The JSON integer array of `field` in `line`; returns the count. */
size_t JsonInts(const char* line, const char* field, int32_t* out, size_t cap) {
  char key[64];
  const char* p;
  size_t n = 0;
  snprintf(key, sizeof key, "\"%s\":[", field);
  p = strstr(line, key);
  if (p == NULL) return 0;
  p += strlen(key);
  while (*p != ']' && n < cap) {
    char* end;
    out[n++] = (int32_t)strtol(p, &end, 10);
    p = *end == ',' ? end + 1 : end;
  }
  return n;
}

int LoadExpected(Expected* e) {
  size_t size = 0, bytes = 0;
  e->file = ReadFile(Path("fixtures/tiny-v3/expected.safetensors"), &size);
  if (e->file == NULL) return 0;
  e->tokens = (const int32_t*)Tensor(e->file, size, "tokens", &bytes);
  e->n_tokens = bytes / 4;
  e->greedy = (const int32_t*)Tensor(e->file, size, "greedy", &bytes);
  e->n_greedy = bytes / 4;
  e->logits = (const float*)Tensor(e->file, size, "logits", &bytes);
  e->vocab = e->n_tokens > 0 ? (int64_t)(bytes / 4 / e->n_tokens) : 0;
  return e->tokens != NULL && e->greedy != NULL && e->logits != NULL && e->n_tokens == 24 && e->vocab > 0;
}

/* Greedy next-token chain from ds_logits (whose rows match the reference above). */
void GreedyByLogits(const ds_model* m, const int32_t* prompt, size_t n_prompt, int64_t vocab, int32_t* out,
                           size_t steps) {
  int32_t seq[256];
  size_t n = n_prompt, s;
  memcpy(seq, prompt, n_prompt * sizeof(int32_t));
  for (s = 0; s < steps; ++s) {
    float* logits = NULL;
    const float* row;
    int64_t v, best = 0;
    if (ds_logits(m, seq, n, &logits, NULL) != DS_OK) return;
    row = logits + (n - 1) * (size_t)vocab;
    for (v = 1; v < vocab; ++v) {
      if (row[v] > row[best]) best = v;
    }
    ds_free(logits);
    out[s] = (int32_t)best;
    seq[n++] = (int32_t)best;
  }
}
