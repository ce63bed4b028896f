/* The C ABI exercised from C (compiled as C99): every entry point, every error path.
 * Oracles: tiny-v3's expected.safetensors (DeepSeek's reference logits), the DeepSeek-V3
 * tokenizer's cases.jsonl / chat_cases.jsonl (Hugging Face outputs). Every ds_status code is
 * provoked except DS_INTERNAL, which only a library bug returns.
 * Usage: c_api_test <tests/data dir> */
#include "c_api_check.h"

/* ---- Stream callbacks --------------------------------------------------------------------- */

typedef struct Stream {
  char text[8192];
  size_t len;
  int pieces;
  int stop_after; /* cancel (return non-zero) once this many pieces arrived; 0 = never */
  int bad_piece;  /* a piece whose length disagrees with strlen */
} Stream;

static int OnPiece(const char* piece, size_t len, ds_channel channel, void* user_data) {
  Stream* s = (Stream*)user_data;
  if (strlen(piece) != len || (channel != DS_CHANNEL_CONTENT && channel != DS_CHANNEL_REASONING)) s->bad_piece = 1;
  if (s->len + len < sizeof s->text) {
    memcpy(s->text + s->len, piece, len);
    s->len += len;
    s->text[s->len] = '\0';
  }
  s->pieces++;
  return s->stop_after > 0 && s->pieces >= s->stop_after;
}

static int g_progress_calls = 0;
static double g_progress_last = -1;
static void OnProgress(double fraction, const char* stage, void* user_data) {
  if (user_data == &g_progress_calls && stage != NULL) {
    g_progress_calls++;
    g_progress_last = fraction;
  }
}

/* ---- Tests -------------------------------------------------------------------------------- */

/* Runs on a second thread: it has made no failing call, so its last error is empty. */
static void* OtherThreadError(void* out) {
  ds_model* m = NULL;
  *(int*)out = strcmp(ds_last_error(), "") == 0;
  /* A failure here must not change the main thread's message. */
  if (ds_model_load(NULL, NULL, &m) != DS_INVALID_ARGUMENT) *(int*)out = 0;
  return NULL;
}

static void TestLastErrorIsPerThread(void) {
  pthread_t t;
  int other_empty = 0;
  ds_model* m = NULL;
  CHECK_FAILS(ds_model_load(Path("no/such/model"), NULL, &m), DS_NOT_FOUND, "no/such/model");
  CHECK(pthread_create(&t, NULL, OtherThreadError, &other_empty) == 0 && pthread_join(t, NULL) == 0);
  CHECK(other_empty == 1);
  CHECK(strstr(ds_last_error(), "no/such/model") != NULL);
  /* A successful call leaves the last error as it was. */
  CHECK(ds_model_default_params().struct_size == sizeof(ds_model_params));
  CHECK(strstr(ds_last_error(), "no/such/model") != NULL);
}

static void TestBasics(void) {
  char version[32];
  CHECK(strcmp(ds_last_error(), "") == 0); /* nothing failed yet on this thread */
  snprintf(version, sizeof version, "%s", ds_version());
  CHECK(strcmp(version, DS_EXPECTED_VERSION) == 0);
  CHECK(DS_ABI_VERSION == 1);
  CHECK(strcmp(ds_status_name(DS_OK), "DS_OK") == 0);
  CHECK(strcmp(ds_status_name(DS_INVALID_ARGUMENT), "DS_INVALID_ARGUMENT") == 0);
  CHECK(strcmp(ds_status_name(DS_NOT_FOUND), "DS_NOT_FOUND") == 0);
  CHECK(strcmp(ds_status_name(DS_INVALID_FORMAT), "DS_INVALID_FORMAT") == 0);
  CHECK(strcmp(ds_status_name(DS_UNSUPPORTED), "DS_UNSUPPORTED") == 0);
  CHECK(strcmp(ds_status_name(DS_OUT_OF_MEMORY), "DS_OUT_OF_MEMORY") == 0);
  CHECK(strcmp(ds_status_name(DS_CANCELLED), "DS_CANCELLED") == 0);
  CHECK(strcmp(ds_status_name(DS_INTERNAL), "DS_INTERNAL") == 0);
  CHECK(strcmp(ds_status_name((ds_status)99), "DS_UNKNOWN") == 0);
  ds_free(NULL);
  ds_model_free(NULL);
  ds_generate_result_free(NULL);
}

static void TestLoadErrors(void) {
  ds_model* m = NULL;
  ds_model_params p = ds_model_default_params();
  char dir[512];
  struct {
    ds_model_params p;
    char newer_field[16];
  } newer;
  CHECK(p.struct_size == sizeof(ds_model_params) && p.threads == 0 && p.context_size == 0 &&
        p.tokenizer_path == NULL && p.progress == NULL);
  CHECK_FAILS(ds_model_load(NULL, NULL, &m), DS_INVALID_ARGUMENT, "path is NULL");
  CHECK_FAILS(ds_model_load(Path("fixtures/tiny-v3"), NULL, NULL), DS_INVALID_ARGUMENT, "out is NULL");
  CHECK_FAILS(ds_model_load(Path("no/such/model"), NULL, &m), DS_NOT_FOUND, "no/such/model");
  CHECK(m == NULL);
  p.struct_size = 4;
  CHECK_FAILS(ds_model_load(Path("fixtures/tiny-v3"), &p, &m), DS_INVALID_ARGUMENT, "struct_size");
  p = ds_model_default_params();
  p.threads = -1;
  CHECK_FAILS(ds_model_load(Path("fixtures/tiny-v3"), &p, &m), DS_INVALID_ARGUMENT, "threads");
  p = ds_model_default_params();
  CHECK(p.weight_placement == 0);
  p.weight_placement = 3;
  CHECK_FAILS(ds_model_load(Path("fixtures/tiny-v3"), &p, &m), DS_INVALID_ARGUMENT, "weight_placement");
  p.weight_placement = 1; /* memory-mapped on request */
  p.context_size = 16;
  CHECK_OK(ds_model_load(Path("fixtures/tiny-v3"), &p, &m));
  if (m != NULL) {
    ds_model_info mapped;
    memset(&mapped, 0, sizeof mapped);
    mapped.struct_size = sizeof mapped;
    CHECK_OK(ds_model_info_get(m, &mapped));
    CHECK(mapped.weights_in_memory == 0);
    ds_model_free(m);
    m = NULL;
  }
  /* A caller built against a newer header that turns on a field this library lacks. */
  memset(&newer, 0, sizeof newer);
  newer.p = ds_model_default_params();
  newer.p.struct_size = sizeof newer;
  newer.newer_field[3] = 1;
  CHECK_FAILS(ds_model_load(Path("fixtures/tiny-v3"), &newer.p, &m), DS_UNSUPPORTED, "does not know");
  newer.newer_field[3] = 0; /* the same struct with the new field off loads */
  newer.p.context_size = 64;
  CHECK_OK(ds_model_load(Path("fixtures/tiny-v3"), &newer.p, &m));
  ds_model_free(m);
  m = NULL;
  p = ds_model_default_params();
  p.tokenizer_path = Path("no/such/tokenizer");
  CHECK_FAILS(ds_model_load(Path("fixtures/tiny-v3"), &p, &m), DS_NOT_FOUND, "no/such/tokenizer");
  /* Malformed and unsupported checkpoints. */
  snprintf(dir, sizeof dir, "%s/bad", g_tmp);
  mkdir(dir, 0700);
  snprintf(dir, sizeof dir, "%s/bad/config.json", g_tmp);
  WriteFile(dir, "{ this is not json");
  snprintf(dir, sizeof dir, "%s/bad", g_tmp);
  CHECK_FAILS(ds_model_load(dir, NULL, &m), DS_INVALID_FORMAT, "config.json");
  snprintf(dir, sizeof dir, "%s/bad/config.json", g_tmp);
  { /* tiny-v3's config with an unknown model_type */
    char* config = ReadFile(Path("fixtures/tiny-v3/config.json"), NULL);
    char* at = config != NULL ? strstr(config, "\"deepseek_v3\"") : NULL;
    FILE* f = fopen(dir, "wb");
    CHECK(at != NULL && f != NULL);
    if (at != NULL && f != NULL) {
      fwrite(config, 1, (size_t)(at - config), f);
      fputs("\"no_such_architecture\"", f);
      fputs(at + strlen("\"deepseek_v3\""), f);
    }
    if (f != NULL) fclose(f);
    free(config);
  }
  snprintf(dir, sizeof dir, "%s/bad", g_tmp);
  CHECK_FAILS(ds_model_load(dir, NULL, &m), DS_UNSUPPORTED, "no_such_architecture");
  CHECK(m == NULL);
}

static void TestModelWithoutTokenizer(const Expected* e) {
  ds_model* m = NULL;
  ds_model_params p = ds_model_default_params();
  ds_model_info info;
  float* logits = NULL;
  size_t n = 0, i;
  int32_t bad[2] = {5, 0};
  int32_t* ids = NULL;
  char* text = NULL;
  ds_chat_message msg = {"user", "hi"};
  double max_diff = 0;
  p.progress = OnProgress;
  p.progress_user_data = &g_progress_calls;
  p.context_size = 48;
  CHECK_OK(ds_model_load(Path("fixtures/tiny-v3"), &p, &m));
  if (m == NULL) return;
  CHECK(g_progress_calls > 0 && g_progress_last == 1.0);

  memset(&info, 0, sizeof info);
  CHECK_FAILS(ds_model_info_get(m, &info), DS_INVALID_ARGUMENT, "struct_size");
  info.struct_size = sizeof info;
  CHECK_FAILS(ds_model_info_get(NULL, &info), DS_INVALID_ARGUMENT, "model is NULL");
  CHECK_FAILS(ds_model_info_get(m, NULL), DS_INVALID_ARGUMENT, "out is NULL");
  CHECK_OK(ds_model_info_get(m, &info));
  CHECK(info.vocab_size == e->vocab && info.context_size == 48 && info.num_layers > 0 && info.hidden_size > 0);
  CHECK(strcmp(info.model_type, "deepseek_v3") == 0 && info.architecture != NULL);
  CHECK(info.total_params > 0 && info.active_params > 0 && info.active_params <= info.total_params);
  CHECK(info.has_tokenizer == 0 && info.bos_id == -1 && info.eos_id == -1);
  CHECK(info.weights_in_memory == 1); /* the default (auto) reads a small checkpoint into memory */

  /* Logits against the reference. */
  CHECK_OK(ds_logits(m, e->tokens, e->n_tokens, &logits, &n));
  CHECK(n == e->n_tokens * (size_t)e->vocab);
  for (i = 0; logits != NULL && i < n; ++i) {
    double d = fabs((double)logits[i] - (double)e->logits[i]);
    if (d > max_diff) max_diff = d;
  }
  CHECK(logits != NULL && max_diff <= 1e-3);
  printf("logits: max |ours - reference| = %.3g over %zu values\n", max_diff, n);
  ds_free(logits);
  logits = NULL;
  CHECK_OK(ds_logits(m, e->tokens, 1, &logits, NULL)); /* out_count is optional */
  ds_free(logits);
  CHECK_FAILS(ds_logits(NULL, e->tokens, 1, &logits, &n), DS_INVALID_ARGUMENT, "model is NULL");
  CHECK_FAILS(ds_logits(m, NULL, 1, &logits, &n), DS_INVALID_ARGUMENT, "tokens is NULL");
  CHECK_FAILS(ds_logits(m, e->tokens, 0, &logits, &n), DS_INVALID_ARGUMENT, "count is 0");
  CHECK_FAILS(ds_logits(m, e->tokens, 1, NULL, &n), DS_INVALID_ARGUMENT, "out_logits is NULL");
  bad[1] = (int32_t)e->vocab;
  CHECK_FAILS(ds_logits(m, bad, 2, &logits, &n), DS_INVALID_ARGUMENT, "token 1");
  bad[1] = -3;
  CHECK_FAILS(ds_logits(m, bad, 2, &logits, &n), DS_INVALID_ARGUMENT, "id -3");

  /* Text calls need a tokenizer: the fixture folder has none. */
  CHECK_FAILS(ds_tokenize(m, "a", 1, 0, &ids, &n), DS_NOT_FOUND, "tokenizer");
  CHECK_FAILS(ds_detokenize(m, bad, 1, 0, &text, &n), DS_NOT_FOUND, "tokenizer");
  CHECK_FAILS(ds_chat_render(m, &msg, 1, 1, &text), DS_NOT_FOUND, "tokenizer");
  CHECK_FAILS(ds_generate(m, "a", NULL, NULL), DS_NOT_FOUND, "tokenizer");
  CHECK_FAILS(ds_chat(m, &msg, 1, NULL, NULL), DS_NOT_FOUND, "tokenizer");
  ds_model_free(m);
}

/* The real DeepSeek-V3 tokenizer beside tiny-v3: tokenization and chat template oracles. */
static void TestTokenizer(void) {
  ds_model* m = NULL;
  ds_model_params p = ds_model_default_params();
  ds_model_info info;
  char* cases;
  char* line;
  char* save = NULL;
  int rows = 0, chats = 0;
  int32_t want[512];
  int32_t* ids = NULL;
  size_t n = 0, len = 0;
  char* text = NULL;
  int32_t hello_bos[2];
  ds_chat_message msgs[4];
  int32_t out_of_range[1] = {1 << 30};

  p.tokenizer_path = Path("tokenizers/deepseek-v3");
  p.context_size = 48;
  CHECK_OK(ds_model_load(Path("fixtures/tiny-v3"), &p, &m));
  if (m == NULL) return;
  info.struct_size = sizeof info;
  CHECK_OK(ds_model_info_get(m, &info));
  CHECK(info.has_tokenizer == 1 && info.bos_id == 0 && info.eos_id == 1);

  /* cases.jsonl rows without escapes in their text (their ids and decoded text are HF's). */
  cases = ReadFile(Path("tokenizers/deepseek-v3/cases.jsonl"), NULL);
  CHECK(cases != NULL);
  for (line = cases ? strtok_r(cases, "\n", &save) : NULL; line != NULL && rows < 60; line = strtok_r(NULL, "\n", &save)) {
    char* want_text = JsonString(line, "text");
    char* decoded = JsonString(line, "decoded");
    size_t n_want = JsonInts(line, "ids", want, 512);
    if (want_text != NULL && decoded != NULL && strchr(line, '\\') == NULL && n_want > 0 && n_want < 512) {
      CHECK_OK(ds_tokenize(m, want_text, strlen(want_text), 0, &ids, &n));
      CHECK(n == n_want && ids != NULL && memcmp(ids, want, n * sizeof(int32_t)) == 0);
      CHECK_OK(ds_detokenize(m, want, n_want, 0, &text, &len));
      CHECK(text != NULL && len == strlen(decoded) && strcmp(text, decoded) == 0);
      ds_free(ids);
      ds_free(text);
      ids = NULL;
      text = NULL;
      rows++;
    }
    free(want_text);
    free(decoded);
  }
  free(cases);
  CHECK(rows >= 30);
  printf("tokenizer: %d cases.jsonl rows encode and decode as Hugging Face does\n", rows);

  /* BOS from tokenizer_config.json; empty text; special tokens skipped on decode. */
  CHECK_OK(ds_tokenize(m, "Hello", 5, 1, &ids, &n));
  CHECK(n == 2 && ids[0] == info.bos_id);
  if (n == 2) memcpy(hello_bos, ids, sizeof hello_bos);
  ds_free(ids);
  CHECK_OK(ds_detokenize(m, hello_bos, 2, 1, &text, NULL));
  CHECK(text != NULL && strcmp(text, "Hello") == 0);
  ds_free(text);
  CHECK_OK(ds_tokenize(m, NULL, 0, 0, &ids, &n));
  CHECK(n == 0 && ids == NULL);
  CHECK_OK(ds_detokenize(m, NULL, 0, 0, &text, &len));
  CHECK(len == 0 && text != NULL && text[0] == '\0');
  ds_free(text);

  CHECK_FAILS(ds_tokenize(NULL, "a", 1, 0, &ids, &n), DS_INVALID_ARGUMENT, "model is NULL");
  CHECK_FAILS(ds_tokenize(m, NULL, 1, 0, &ids, &n), DS_INVALID_ARGUMENT, "text is NULL");
  CHECK_FAILS(ds_tokenize(m, "a", 1, 0, NULL, &n), DS_INVALID_ARGUMENT, "out_tokens");
  CHECK_FAILS(ds_tokenize(m, "a", 1, 0, &ids, NULL), DS_INVALID_ARGUMENT, "out_count");
  CHECK_FAILS(ds_tokenize(m, "a\xff", 2, 0, &ids, &n), DS_INVALID_ARGUMENT, "UTF-8");
  CHECK_FAILS(ds_detokenize(NULL, want, 1, 0, &text, &n), DS_INVALID_ARGUMENT, "model is NULL");
  CHECK_FAILS(ds_detokenize(m, NULL, 1, 0, &text, &n), DS_INVALID_ARGUMENT, "tokens is NULL");
  CHECK_FAILS(ds_detokenize(m, want, 1, 0, NULL, &n), DS_INVALID_ARGUMENT, "out_text is NULL");
  CHECK_FAILS(ds_detokenize(m, out_of_range, 1, 0, &text, &n), DS_INVALID_ARGUMENT, "outside");

  /* chat_cases.jsonl: the first rows have plain role/content messages. */
  cases = ReadFile(Path("tokenizers/deepseek-v3/chat_cases.jsonl"), NULL);
  CHECK(cases != NULL);
  save = NULL;
  for (line = cases ? strtok_r(cases, "\n", &save) : NULL; line != NULL && chats < 4; line = strtok_r(NULL, "\n", &save)) {
    char* rendered = JsonString(line, "rendered");
    char* owned[8];
    size_t k = 0, j;
    const char* at = line;
    while ((at = strstr(at, "\"role\":\"")) != NULL && k < 4) {
      owned[2 * k] = JsonString(at, "role");
      owned[2 * k + 1] = JsonString(at, "content");
      msgs[k].role = owned[2 * k];
      msgs[k].content = owned[2 * k + 1];
      ++k;
      ++at;
    }
    CHECK_OK(ds_chat_render(m, msgs, k, strstr(line, "\"add_generation_prompt\":true") != NULL, &text));
    CHECK(text != NULL && rendered != NULL && strcmp(text, rendered) == 0);
    ds_free(text);
    text = NULL;
    for (j = 0; j < 2 * k; ++j) free(owned[j]);
    free(rendered);
    chats++;
  }
  free(cases);
  CHECK(chats == 4);
  printf("chat template: %d chat_cases.jsonl rows render as Hugging Face does\n", chats);
  msgs[0].role = "user";
  msgs[0].content = "hi";
  msgs[1].role = NULL;
  msgs[1].content = "x";
  CHECK_FAILS(ds_chat_render(NULL, msgs, 1, 1, &text), DS_INVALID_ARGUMENT, "model is NULL");
  CHECK_FAILS(ds_chat_render(m, NULL, 1, 1, &text), DS_INVALID_ARGUMENT, "messages is NULL");
  CHECK_FAILS(ds_chat_render(m, msgs, 1, 1, NULL), DS_INVALID_ARGUMENT, "out_prompt is NULL");
  CHECK_FAILS(ds_chat_render(m, msgs, 2, 1, &text), DS_INVALID_ARGUMENT, "message 1");
  msgs[1].role = "user";
  msgs[1].content = "bad \xc3";
  CHECK_FAILS(ds_chat_render(m, msgs, 2, 1, &text), DS_INVALID_ARGUMENT, "UTF-8");
  /* This tokenizer's special tokens lie outside tiny-v3's 1000-token vocabulary: an error, not a crash. */
  CHECK_FAILS(ds_chat(m, msgs, 1, NULL, NULL), DS_INVALID_ARGUMENT, "");
  ds_model_free(m);
}

/* Generation on tiny-v3 with the DeepSeek-V3 tokenizer under a plain template and no BOS, so that
 * every prompt token fits tiny-v3's vocabulary. */
static void TestGeneration(const Expected* e) {
  ds_model* m = NULL;
  ds_model_params mp = ds_model_default_params();
  ds_generate_params g = ds_generate_default_params();
  ds_generate_result r, r2;
  Stream st;
  char tok_dir[512];
  /* Digits and spaces: byte-level tokens that all fall inside tiny-v3's vocabulary. */
  const char* prompt = "1 2 3 4 5 6 7 8 9";
  int32_t* ids = NULL;
  size_t n_ids = 0;
  int32_t chain[16];
  char* chain_text = NULL;
  const char* stops[1];
  ds_chat_message msg;

  snprintf(tok_dir, sizeof tok_dir, "%s/tok", g_tmp);
  mp.tokenizer_path = tok_dir;
  mp.context_size = 64;
  CHECK_OK(ds_model_load(Path("fixtures/tiny-v3"), &mp, &m));
  if (m == NULL) return;
  CHECK(g.struct_size == sizeof g && g.max_tokens == 512 && fabsf(g.temperature - 0.6f) < 1e-6f &&
        fabsf(g.top_p - 0.95f) < 1e-6f && g.split_reasoning == 1 && g.on_piece == NULL);

  CHECK_OK(ds_tokenize(m, prompt, strlen(prompt), 1, &ids, &n_ids));
  CHECK(n_ids > 0 && n_ids < 64);
  {
    size_t i;
    for (i = 0; i < n_ids; ++i) CHECK(ids[i] >= 0 && ids[i] < e->vocab);
  }
  GreedyByLogits(m, ids, n_ids, e->vocab, chain, 16); /* ds_logits matches the reference (above) */
  CHECK_OK(ds_detokenize(m, chain, 16, 0, &chain_text, NULL));

  /* Greedy generation streams the chain's text. */
  g.temperature = 0;
  g.max_tokens = 16;
  g.on_piece = OnPiece;
  g.user_data = &st;
  memset(&st, 0, sizeof st);
  memset(&r, 0, sizeof r);
  r.struct_size = sizeof r;
  CHECK_OK(ds_generate(m, prompt, &g, &r));
  CHECK(r.text != NULL && r.reasoning != NULL && chain_text != NULL);
  if (r.text != NULL && chain_text != NULL) {
    CHECK(strcmp(r.text, chain_text) == 0);
    CHECK(strcmp(st.text, r.text) == 0 && st.pieces > 1 && !st.bad_piece);
    printf("generate: %d streamed pieces, %lld tokens, greedy text matches the logits' argmax chain\n", st.pieces,
           (long long)r.completion_tokens);
  }
  CHECK(r.finish_reason == DS_FINISH_LENGTH && r.completion_tokens == 16 && r.prompt_tokens == (int64_t)n_ids);
  CHECK(r.decode_tokens_per_second > 0 && r.prefill_tokens_per_second > 0);

  /* Cancelling from the callback: DS_CANCELLED, the text so far in the result. */
  memset(&st, 0, sizeof st);
  st.stop_after = 3;
  memset(&r2, 0, sizeof r2);
  r2.struct_size = sizeof r2;
  CHECK_FAILS(ds_generate(m, prompt, &g, &r2), DS_CANCELLED, "cancelled");
  CHECK(st.pieces == 3 && r2.finish_reason == DS_FINISH_CANCELLED && r2.completion_tokens < 16);
  CHECK(r2.text != NULL && r.text != NULL && strncmp(r.text, r2.text, strlen(r2.text)) == 0);
  ds_generate_result_free(&r2);
  CHECK(r2.text == NULL && r2.reasoning == NULL);

  /* A stop string taken from the greedy text ends generation before it. */
  if (r.text != NULL && strlen(r.text) > 4) {
    char stop[3];
    size_t at = strlen(r.text) / 2;
    memcpy(stop, r.text + at, 2);
    stop[2] = '\0';
    stops[0] = stop;
    g.stop = stops;
    g.n_stop = 1;
    g.on_piece = NULL;
    memset(&r2, 0, sizeof r2);
    r2.struct_size = sizeof r2;
    CHECK_OK(ds_generate(m, prompt, &g, &r2));
    CHECK(r2.finish_reason == DS_FINISH_STOP && r2.text != NULL && strstr(r.text, r2.text) == r.text &&
          strstr(r2.text, stop) == NULL);
    ds_generate_result_free(&r2);
    g.stop = NULL;
    g.n_stop = 0;
  }

  /* ds_chat renders with this tokenizer's template (the content verbatim), so it matches. */
  msg.role = "user";
  msg.content = prompt;
  g.on_piece = NULL;
  memset(&r2, 0, sizeof r2);
  r2.struct_size = sizeof r2;
  CHECK_OK(ds_chat(m, &msg, 1, &g, &r2));
  CHECK(r2.text != NULL && r.text != NULL && strcmp(r2.text, r.text) == 0);
  ds_generate_result_free(&r2);
  CHECK_OK(ds_chat(m, &msg, 1, &g, NULL)); /* the result is optional */

  /* Seeded sampling reproduces; NULL params are the defaults. */
  g.temperature = 0.8f;
  g.seed = 7;
  memset(&r2, 0, sizeof r2);
  r2.struct_size = sizeof r2;
  CHECK_OK(ds_generate(m, prompt, &g, &r2));
  {
    ds_generate_result r3;
    memset(&r3, 0, sizeof r3);
    r3.struct_size = sizeof r3;
    CHECK_OK(ds_generate(m, prompt, &g, &r3));
    CHECK(r2.text != NULL && r3.text != NULL && strcmp(r2.text, r3.text) == 0);
    ds_generate_result_free(&r3);
  }
  ds_generate_result_free(&r2);
  memset(&st, 0, sizeof st);
  st.stop_after = 2;
  {
    ds_generate_params d = ds_generate_default_params();
    d.on_piece = OnPiece;
    d.user_data = &st;
    CHECK_FAILS(ds_generate(m, prompt, &d, NULL), DS_CANCELLED, "cancelled");
  }
  /* NULL params: the defaults (512 tokens) stop where the 64-position context ends. */
  memset(&r2, 0, sizeof r2);
  r2.struct_size = sizeof r2;
  CHECK_OK(ds_generate(m, prompt, NULL, &r2));
  CHECK(r2.completion_tokens > 0 && r2.prompt_tokens + r2.completion_tokens <= 64);
  ds_generate_result_free(&r2);

  /* Errors. */
  g = ds_generate_default_params();
  g.max_tokens = 4;
  CHECK_FAILS(ds_generate(NULL, prompt, &g, NULL), DS_INVALID_ARGUMENT, "model is NULL");
  CHECK_FAILS(ds_generate(m, NULL, &g, NULL), DS_INVALID_ARGUMENT, "prompt is NULL");
  r2.struct_size = 8;
  CHECK_FAILS(ds_generate(m, prompt, &g, &r2), DS_INVALID_ARGUMENT, "struct_size");
  g.struct_size = 8;
  CHECK_FAILS(ds_generate(m, prompt, &g, NULL), DS_INVALID_ARGUMENT, "struct_size");
  g = ds_generate_default_params();
  g.temperature = -1;
  CHECK_FAILS(ds_generate(m, prompt, &g, NULL), DS_INVALID_ARGUMENT, "temperature");
  g = ds_generate_default_params();
  g.top_p = 1.5f;
  CHECK_FAILS(ds_chat(m, &msg, 1, &g, NULL), DS_INVALID_ARGUMENT, "top_p");
  g = ds_generate_default_params();
  g.max_tokens = 0;
  CHECK_FAILS(ds_generate(m, prompt, &g, NULL), DS_INVALID_ARGUMENT, "max_tokens");
  g = ds_generate_default_params();
  g.n_stop = 1;
  CHECK_FAILS(ds_generate(m, prompt, &g, NULL), DS_INVALID_ARGUMENT, "stop is NULL");
  stops[0] = NULL;
  g.stop = stops;
  CHECK_FAILS(ds_generate(m, prompt, &g, NULL), DS_INVALID_ARGUMENT, "stop[0]");
  CHECK_FAILS(ds_chat(NULL, &msg, 1, NULL, NULL), DS_INVALID_ARGUMENT, "model is NULL");
  CHECK_FAILS(ds_chat(m, NULL, 1, NULL, NULL), DS_INVALID_ARGUMENT, "messages is NULL");
  msg.role = NULL;
  CHECK_FAILS(ds_chat(m, &msg, 1, NULL, NULL), DS_INVALID_ARGUMENT, "message 0");

  ds_generate_result_free(&r);
  ds_free(chain_text);
  ds_free(ids);
  ds_model_free(m);
}

static void MakeTokenizerDir(void) {
  char path[512], target[512];
  snprintf(path, sizeof path, "%s/tok", g_tmp);
  mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/tok/tokenizer.json", g_tmp);
  snprintf(target, sizeof target, "%s", Path("tokenizers/deepseek-v3/tokenizer.json"));
  if (symlink(target, path) != 0) perror("symlink");
  snprintf(path, sizeof path, "%s/tok/tokenizer_config.json", g_tmp);
  WriteFile(path,
            "{\"add_bos_token\": false, \"bos_token\": \"<\xef\xbd\x9c" "begin\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>\","
            " \"eos_token\": \"<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>\","
            " \"chat_template\": \"{% for m in messages %}{{ m['content'] }}{% endfor %}\"}");
}

static void RemoveTmp(void) {
  const char* files[] = {"tok/tokenizer.json", "tok/tokenizer_config.json", "tok", "bad/config.json", "bad", ""};
  char path[512];
  size_t i;
  for (i = 0; i < sizeof files / sizeof files[0]; ++i) {
    snprintf(path, sizeof path, "%s/%s", g_tmp, files[i]);
    remove(path);
  }
}

int main(int argc, char** argv) {
  Expected e;
  if (argc < 2) {
    fprintf(stderr, "usage: c_api_test <tests/data dir>\n");
    return 2;
  }
  if (realpath(argv[1], g_data) == NULL) return perror(argv[1]), 2; /* absolute: symlinks point at it */
  snprintf(g_tmp, sizeof g_tmp, "/tmp/ds_c_api_XXXXXX");
  if (mkdtemp(g_tmp) == NULL) return perror("mkdtemp"), 2;
  MakeTokenizerDir();
  memset(&e, 0, sizeof e);
  if (!LoadExpected(&e)) {
    fprintf(stderr, "cannot read %s\n", Path("fixtures/tiny-v3/expected.safetensors"));
    RemoveTmp();
    return 2;
  }
  TestBasics();
  TestLastErrorIsPerThread();
  TestLoadErrors();
  TestModelWithoutTokenizer(&e);
  TestTokenizer();
  TestGeneration(&e);
  TestMtp(&e);
  TestMemoryLimit(&e);
  free(e.file);
  RemoveTmp();
  printf("c_api_test: %d checks, %d failed\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
