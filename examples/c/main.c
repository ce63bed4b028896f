/* Loads a model through the C ABI and prints the most likely next token after the given ids.
 *   cc main.c $(pkg-config --cflags --libs deepseek) -o next_token_c
 *   usage: next_token_c MODEL_DIR ID... */
#include <stdio.h>
#include <stdlib.h>

#include <deepseek/c_api.h>

int main(int argc, char** argv) {
  ds_model* model = NULL;
  ds_model_params params = ds_model_default_params();
  ds_model_info info;
  int32_t ids[256];
  size_t n = 0, v, best = 0;
  float* logits = NULL;
  const float* last;
  int i;
  if (argc < 3) {
    fprintf(stderr, "usage: next_token_c MODEL_DIR ID...\n");
    return 2;
  }
  for (i = 2; i < argc && n < 256; ++i) ids[n++] = (int32_t)atoi(argv[i]);
  params.threads = 1;
  if (ds_model_load(argv[1], &params, &model) != DS_OK) {
    fprintf(stderr, "error: %s\n", ds_last_error());
    return 1;
  }
  info.struct_size = sizeof info;
  if (ds_model_info_get(model, &info) != DS_OK || ds_logits(model, ids, n, &logits, NULL) != DS_OK) {
    fprintf(stderr, "error: %s\n", ds_last_error());
    ds_model_free(model);
    return 1;
  }
  last = logits + (n - 1) * (size_t)info.vocab_size;
  for (v = 1; v < (size_t)info.vocab_size; ++v) {
    if (last[v] > last[best]) best = v;
  }
  printf("deepseek %s (ABI %d), %s, vocab %lld\nnext token: %zu\n", ds_version(), DS_ABI_VERSION, info.model_type,
         (long long)info.vocab_size, best);
  ds_free(logits);
  ds_model_free(model);
  return 0;
}
