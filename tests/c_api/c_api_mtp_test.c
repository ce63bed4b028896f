/* The C ABI's MTP speculative decoding and memory limit, from C (see c_api_test.c). */
#include "c_api_check.h"

/* One greedy generation of `prompt` with the given MTP settings (16 tokens). */
static ds_status GenerateMtp(const ds_model* m, const char* prompt, int32_t mode, int32_t draft, ds_generate_result* r) {
  ds_generate_params g = ds_generate_default_params();
  g.temperature = 0;
  g.max_tokens = 16;
  g.mtp_mode = mode;
  g.draft_tokens = draft;
  memset(r, 0, sizeof *r);
  r->struct_size = sizeof *r;
  return ds_generate(m, prompt, &g, r);
}

/* Speculative decoding with tiny-v3's MTP module: the greedy text is the logits' argmax chain with
 * drafting on or off; the statistics are consistent; the error paths name the field. */
void TestMtp(const Expected* e) {
  ds_model* m = NULL;
  ds_model* no_mtp = NULL;
  ds_model_params mp = ds_model_default_params();
  ds_generate_params g = ds_generate_default_params();
  ds_generate_result on, off, old;
  ds_model_info info;
  char tok_dir[512];
  const char* prompt = "1 2 3 4 5 6 7 8 9";
  int32_t* ids = NULL;
  size_t n_ids = 0;
  int32_t chain[16];
  char* chain_text = NULL;
  int32_t j;

  CHECK(mp.load_mtp == 1 && g.mtp_mode == DS_MTP_AUTO && g.draft_tokens == 3 && DS_MAX_DRAFT_TOKENS == 16);
  snprintf(tok_dir, sizeof tok_dir, "%s/tok", g_tmp);
  mp.tokenizer_path = tok_dir;
  mp.context_size = 64;
  CHECK_OK(ds_model_load(Path("fixtures/tiny-v3"), &mp, &m));
  if (m == NULL) return;
  memset(&info, 0, sizeof info);
  info.struct_size = sizeof info;
  CHECK_OK(ds_model_info_get(m, &info));
  CHECK(info.mtp_modules == 1); /* tiny-v3's config: num_nextn_predict_layers = 1 */

  /* The oracle: the argmax chain of ds_logits (which matches DeepSeek's reference logits). */
  CHECK_OK(ds_tokenize(m, prompt, strlen(prompt), 1, &ids, &n_ids));
  GreedyByLogits(m, ids, n_ids, e->vocab, chain, 16);
  CHECK_OK(ds_detokenize(m, chain, 16, 0, &chain_text, NULL));

  CHECK_OK(GenerateMtp(m, prompt, DS_MTP_OFF, 3, &off));
  CHECK_OK(GenerateMtp(m, prompt, DS_MTP_ON, 2, &on));
  CHECK(off.text != NULL && on.text != NULL && chain_text != NULL);
  if (off.text != NULL && on.text != NULL && chain_text != NULL) {
    CHECK(strcmp(off.text, chain_text) == 0);
    CHECK(strcmp(on.text, off.text) == 0);
  }
  CHECK(on.completion_tokens == 16 && off.completion_tokens == 16);
  CHECK(off.mtp_used == 0 && off.drafted_tokens == 0 && off.accepted_tokens == 0 && off.acceptance_rate == 0 &&
        off.acceptance_by_position_count == 0);
  CHECK(on.mtp_used == 1 && on.drafted_tokens > 0 && on.accepted_tokens >= 0 &&
        on.accepted_tokens <= on.drafted_tokens);
  CHECK(fabs(on.acceptance_rate - (double)on.accepted_tokens / (double)(on.drafted_tokens > 0 ? on.drafted_tokens : 1)) < 1e-9);
  CHECK(on.acceptance_by_position_count == 2);
  for (j = 0; j < on.acceptance_by_position_count && j < DS_MAX_DRAFT_TOKENS; ++j) {
    CHECK(on.acceptance_by_position[j] >= 0 && on.acceptance_by_position[j] <= 1);
  }
  printf("mtp: greedy text identical with DS_MTP_OFF and DS_MTP_ON (draft 2); %lld drafted, %lld accepted\n",
         (long long)on.drafted_tokens, (long long)on.accepted_tokens);
  ds_generate_result_free(&on);

  /* A v1-sized result (a caller built against the first header): nothing past it is written. */
  memset(&old, 0x5a, sizeof old);
  old.struct_size = offsetof(ds_generate_result, mtp_used);
  old.text = NULL;
  old.reasoning = NULL;
  g = ds_generate_default_params();
  g.temperature = 0;
  g.max_tokens = 16;
  g.mtp_mode = DS_MTP_ON;
  CHECK_OK(ds_generate(m, prompt, &g, &old));
  CHECK(old.struct_size == offsetof(ds_generate_result, mtp_used) && old.text != NULL && off.text != NULL &&
        strcmp(old.text, off.text) == 0);
  {
    const unsigned char* tail = (const unsigned char*)&old + offsetof(ds_generate_result, mtp_used);
    size_t k, untouched = 1;
    for (k = 0; k < sizeof old - offsetof(ds_generate_result, mtp_used); ++k) untouched &= tail[k] == 0x5a;
    CHECK(untouched);
  }
  ds_generate_result_free(&old);
  ds_generate_result_free(&off);
  /* v1-sized params: the MTP fields keep their defaults (auto, 3 drafts). */
  g = ds_generate_default_params();
  g.temperature = 0;
  g.max_tokens = 16;
  g.struct_size = offsetof(ds_generate_params, mtp_mode);
  memset(&on, 0, sizeof on);
  on.struct_size = sizeof on;
  CHECK_OK(ds_generate(m, prompt, &g, &on));
  CHECK(on.text != NULL && chain_text != NULL && strcmp(on.text, chain_text) == 0);
  ds_generate_result_free(&on);

  /* Errors. */
  g = ds_generate_default_params();
  g.max_tokens = 4;
  g.draft_tokens = DS_MAX_DRAFT_TOKENS + 1;
  CHECK_FAILS(ds_generate(m, prompt, &g, NULL), DS_INVALID_ARGUMENT, "draft_tokens");
  g.draft_tokens = -1;
  CHECK_FAILS(ds_generate(m, prompt, &g, NULL), DS_INVALID_ARGUMENT, "draft_tokens");
  g.draft_tokens = 3;
  g.mtp_mode = 7;
  CHECK_FAILS(ds_generate(m, prompt, &g, NULL), DS_INVALID_ARGUMENT, "mtp_mode");
  g.mtp_mode = -1;
  CHECK_FAILS(ds_generate(m, prompt, &g, NULL), DS_INVALID_ARGUMENT, "mtp_mode");

  /* load_mtp = 0: no MTP module; DS_MTP_ON is an error, auto and off generate the same text. */
  mp.load_mtp = 0;
  CHECK_OK(ds_model_load(Path("fixtures/tiny-v3"), &mp, &no_mtp));
  if (no_mtp != NULL) {
    CHECK_OK(ds_model_info_get(no_mtp, &info));
    CHECK(info.mtp_modules == 0);
    g.mtp_mode = DS_MTP_ON;
    CHECK_FAILS(ds_generate(no_mtp, prompt, &g, NULL), DS_INVALID_ARGUMENT, "multi-token-prediction");
    CHECK_OK(GenerateMtp(no_mtp, prompt, DS_MTP_AUTO, 3, &on));
    CHECK(on.mtp_used == 0 && on.drafted_tokens == 0 && on.text != NULL && chain_text != NULL &&
          strcmp(on.text, chain_text) == 0);
    ds_generate_result_free(&on);
    ds_model_free(no_mtp);
  }
  ds_free(chain_text);
  ds_free(ids);
  ds_model_free(m);
}

/* A memory limit smaller than one sequence (KV cache + scratch): DS_OUT_OF_MEMORY at load, since
 * the need is known from the config before anything is allocated. */
void TestMemoryLimit(const Expected* e) {
  ds_model* m = NULL;
  ds_model_params p = ds_model_default_params();
  (void)e;
  p.memory_limit_bytes = 1024;
  CHECK_FAILS(ds_model_load(Path("fixtures/tiny-v3"), &p, &m), DS_OUT_OF_MEMORY, "over the memory limit");
  ds_model_free(m);
}
