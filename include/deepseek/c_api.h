/* deepseek/c_api.h: the stable C ABI of the deepseek library (C99).
 *
 * Conventions
 * - Every fallible call returns a ds_status; DS_OK (0) is success. On failure, ds_last_error()
 *   returns a message naming the file, field or argument at fault. Out-parameters come last and
 *   are written only on success (except where a function says otherwise).
 * - NULL or otherwise invalid arguments return DS_INVALID_ARGUMENT; no C++ exception and no abort
 *   crosses this boundary.
 * - Buffers the library returns (token arrays, strings, logits) belong to the caller and are
 *   released with ds_free(). Strings are NUL-terminated UTF-8; a length is also returned where
 *   the text may contain NUL bytes.
 * - Parameter structs start with `struct_size`: fill them with the ds_*_default_params()
 *   functions, then change fields. New fields are only ever appended, so a program built against
 *   an older header keeps working with a newer library.
 *
 * Threads
 * - ds_last_error() is per thread: it reports the last failed call made on the calling thread.
 * - A loaded ds_model is immutable and may be shared by any number of threads: ds_model_info,
 *   ds_tokenize, ds_detokenize, ds_chat_render, ds_generate, ds_chat and ds_logits may run
 *   concurrently on one model; each ds_generate/ds_chat/ds_logits call is its own session with its
 *   own KV cache (one generation session per thread, as many threads as you like). Stream and
 *   progress callbacks run on the thread that made the call.
 * - ds_model_free() must not run while another thread still uses that model.
 */
#ifndef DEEPSEEK_C_API_H_
#define DEEPSEEK_C_API_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped when an existing signature or struct layout changes incompatibly. */
#define DS_ABI_VERSION 1

/* Result of every fallible call. The numbering matches deepseek::StatusCode (status.h). */
typedef enum ds_status {
  DS_OK = 0,
  DS_INVALID_ARGUMENT = 1, /* a bad value passed by the caller (NULL pointer, out-of-range id) */
  DS_NOT_FOUND = 2,        /* a missing file, tensor, token or key */
  DS_INVALID_FORMAT = 3,   /* a file that is malformed or inconsistent */
  DS_UNSUPPORTED = 4,      /* well-formed input this build cannot run */
  DS_OUT_OF_MEMORY = 5,    /* an allocation or a configured memory limit failed */
  DS_CANCELLED = 6,        /* the caller cancelled the operation (a callback returned non-zero) */
  DS_INTERNAL = 7          /* a bug in the library */
} ds_status;

/* Which stream a piece of generated text belongs to: R1's <think> reasoning or the answer. */
typedef enum ds_channel { DS_CHANNEL_CONTENT = 0, DS_CHANNEL_REASONING = 1 } ds_channel;

/* Why generation ended: an end-of-sequence token or stop string, max_tokens, or cancellation. */
typedef enum ds_finish_reason { DS_FINISH_STOP = 0, DS_FINISH_LENGTH = 1, DS_FINISH_CANCELLED = 2 } ds_finish_reason;

/* A loaded model with its tokenizer and chat template (opaque). */
typedef struct ds_model ds_model;

/* The library version as "MAJOR.MINOR.PATCH"; a static string, never freed. */
const char* ds_version(void);

/* The message of the last failed call on the calling thread ("" if none failed yet). The pointer
 * stays valid until the next failing call on this thread; do not free it. */
const char* ds_last_error(void);

/* A constant name for a status code ("DS_OK", "DS_NOT_FOUND", ...; "DS_UNKNOWN" otherwise). */
const char* ds_status_name(ds_status status);

/* Releases a buffer returned by the library (tokens, strings, logits). NULL is a no-op. */
void ds_free(void* buffer);

/* ---- Loading ------------------------------------------------------------------------------- */

/* Called during ds_model_load with the fraction done (0..1) and a short stage name. */
typedef void (*ds_progress_fn)(double fraction, const char* stage, void* user_data);

typedef struct ds_model_params {
  size_t struct_size;          /* sizeof(ds_model_params); set by ds_model_default_params() */
  int32_t threads;             /* worker threads for kernels; 0 = every core */
  int64_t context_size;        /* positions per sequence (prompt + output); 0 = min(model max, 4096) */
  int32_t kv_cache_bf16;       /* non-zero: store the KV cache in bf16 (half the memory) */
  int64_t memory_limit_bytes;  /* upper bound on one sequence's KV cache + scratch; 0 = no limit.
                                * A load whose single sequence cannot fit fails with
                                * DS_OUT_OF_MEMORY; long prompts are run in chunks that fit. */
  /* A tokenizer.json file or a folder holding one (with tokenizer_config.json beside it).
   * NULL = the model folder; if the model folder has none, the model loads without a tokenizer and
   * the text calls (tokenize, chat, generate) fail with DS_NOT_FOUND. */
  const char* tokenizer_path;
  ds_progress_fn progress;     /* may be NULL */
  void* progress_user_data;    /* passed to `progress` unchanged */
  /* Appended after v1. */
  int32_t load_mtp;            /* non-zero (default): load the multi-token-prediction (MTP) module,
                                * if the checkpoint has one, for speculative decoding; 0 saves its memory */
  int32_t weight_placement;    /* 0 (default): read the weights into memory when they take at most half
                                * the available memory, else memory-map them; 1: memory-map the files;
                                * 2: read them into memory (faster decoding; the load fails without memory) */
} ds_model_params;

/* The defaults: every core, default context, f32 KV cache, no limit, no callback, MTP loaded,
 * automatic weight placement. */
ds_model_params ds_model_default_params(void);

/* Loads a Hugging Face checkpoint folder (config.json + *.safetensors) and its tokenizer.
 * `params` may be NULL for the defaults. On success *out holds a model to release with
 * ds_model_free(). Errors: DS_INVALID_ARGUMENT (NULL path/out, bad params), DS_NOT_FOUND (missing
 * folder, file or tensor), DS_INVALID_FORMAT (malformed files), DS_UNSUPPORTED (an architecture or
 * dtype this build cannot run), DS_OUT_OF_MEMORY. */
ds_status ds_model_load(const char* path, const ds_model_params* params, ds_model** out);

/* Releases a model. NULL is a no-op. */
void ds_model_free(ds_model* model);

/* Static facts about a loaded model. Strings are owned by the model. */
typedef struct ds_model_info {
  size_t struct_size;        /* set by the caller to sizeof(ds_model_info); fields past it are not written */
  const char* model_type;    /* config.json's model_type, e.g. "deepseek_v3" */
  const char* architecture;  /* a readable description */
  int64_t vocab_size;        /* the width of one logits row */
  int64_t hidden_size;
  int64_t num_layers;
  int64_t context_size;      /* positions per sequence in this load */
  int64_t total_params;
  int64_t active_params;     /* parameters read per token */
  int32_t has_tokenizer;     /* non-zero when a tokenizer was loaded */
  int32_t bos_id;            /* -1 when the tokenizer defines none (or there is no tokenizer) */
  int32_t eos_id;            /* -1 likewise */
  /* Appended after v1. */
  int64_t mtp_modules;       /* multi-token-prediction modules loaded (0: none, or load_mtp was 0) */
  int32_t weights_in_memory; /* non-zero: weights were read into memory; 0: memory-mapped */
} ds_model_info;

/* Fills *out (whose struct_size the caller sets) with facts about `model`. */
ds_status ds_model_info_get(const ds_model* model, ds_model_info* out);

/* ---- Tokenizer and chat template --------------------------------------------------------- */

/* Token ids of `text` (`text_len` bytes of UTF-8; may be 0). Special tokens written in the text
 * are recognized; with `add_special_tokens` non-zero, BOS/EOS are added as tokenizer_config.json
 * asks. On success *out_tokens (release with ds_free; NULL when *out_count is 0) holds *out_count
 * ids. Errors: DS_INVALID_ARGUMENT (NULL pointers, invalid UTF-8), DS_NOT_FOUND (no tokenizer). */
ds_status ds_tokenize(const ds_model* model, const char* text, size_t text_len, int add_special_tokens,
                      int32_t** out_tokens, size_t* out_count);

/* Text of `count` token ids; bytes that do not form complete UTF-8 become U+FFFD. With
 * `skip_special_tokens` non-zero, special tokens (BOS, EOS, ...) are left out. On success
 * *out_text (release with ds_free) is NUL-terminated and *out_len (may be NULL) is its length.
 * Errors: DS_INVALID_ARGUMENT (NULL pointers, an id outside the vocabulary), DS_NOT_FOUND. */
ds_status ds_detokenize(const ds_model* model, const int32_t* tokens, size_t count, int skip_special_tokens,
                        char** out_text, size_t* out_len);

/* One chat message. `role` is "system", "user", "assistant" or "tool"; both are UTF-8 strings. */
typedef struct ds_chat_message {
  const char* role;
  const char* content;
} ds_chat_message;

/* Renders `count` messages with the model's chat template (tokenizer_config.json), as the prompt
 * the model expects; with `add_generation_prompt` non-zero, the assistant turn is opened. On
 * success *out_prompt (release with ds_free) holds the prompt. Errors: DS_INVALID_ARGUMENT (NULL
 * pointers or fields), DS_NOT_FOUND (no tokenizer or no chat template), template errors. */
ds_status ds_chat_render(const ds_model* model, const ds_chat_message* messages, size_t count,
                         int add_generation_prompt, char** out_prompt);

/* ---- Generation --------------------------------------------------------------------------- */

/* Receives each generated piece (`len` bytes of complete UTF-8, NUL-terminated) and its channel.
 * Return 0 to continue, non-zero to stop generation (the call then returns DS_CANCELLED). */
typedef int (*ds_stream_fn)(const char* piece, size_t len, ds_channel channel, void* user_data);

/* Speculative decoding with DeepSeek-V3/R1's multi-token-prediction (MTP) module: it drafts tokens
 * that the model verifies in one batched step. The output is unchanged (identical greedy text; the
 * same distribution when sampling); only the speed differs. */
typedef enum ds_mtp_mode {
  DS_MTP_AUTO = 0, /* draft when the model has MTP weights and reads >= 512 MiB of weights per token */
  DS_MTP_ON = 1,   /* always draft; DS_INVALID_ARGUMENT when the model has no MTP weights loaded */
  DS_MTP_OFF = 2   /* never draft */
} ds_mtp_mode;

/* The most tokens drafted per step, and the length of ds_generate_result.acceptance_by_position. */
#define DS_MAX_DRAFT_TOKENS 16

typedef struct ds_generate_params {
  size_t struct_size;          /* sizeof(ds_generate_params); set by ds_generate_default_params() */
  int64_t max_tokens;          /* generated tokens at most; > 0 */
  /* Sampling, applied in this order: repetition penalty, presence/frequency penalties,
   * temperature, top-k, top-p, min-p, then a seeded draw. */
  float temperature;           /* 0 = greedy */
  int32_t top_k;               /* 0 = off */
  float top_p;                 /* 1 = off; in (0, 1] */
  float min_p;                 /* 0 = off; in [0, 1] */
  float repetition_penalty;    /* 1 = off; > 0 */
  float presence_penalty;      /* 0 = off */
  float frequency_penalty;     /* 0 = off */
  uint64_t seed;               /* same seed + same inputs = same output */
  const char* const* stop;     /* `n_stop` stop strings (excluded from the output); may be NULL */
  size_t n_stop;
  int32_t split_reasoning;     /* non-zero: deliver <think>...</think> text as DS_CHANNEL_REASONING */
  ds_stream_fn on_piece;       /* may be NULL (no streaming) */
  void* user_data;             /* passed to `on_piece` unchanged */
  /* Appended after v1: speculative decoding with the MTP module. */
  int32_t mtp_mode;            /* a ds_mtp_mode; DS_MTP_AUTO (0) by default */
  int32_t draft_tokens;        /* tokens drafted per step when drafting, in [0, DS_MAX_DRAFT_TOKENS];
                                * 3 by default; 0 = no drafting */
  /* Fields appended in later versions go here. An older library rejects (DS_UNSUPPORTED) a
   * non-zero value in a field it does not know, so a zero value should mean "off". */
} ds_generate_params;

/* The defaults: 512 tokens, temperature 0.6, top_p 0.95, seed 0, reasoning split on, MTP auto
 * with 3 draft tokens. */
ds_generate_params ds_generate_default_params(void);

typedef struct ds_generate_result {
  size_t struct_size;               /* set by the caller to sizeof(ds_generate_result) */
  char* text;                       /* the answer (content channel); release with ds_generate_result_free */
  char* reasoning;                  /* the reasoning channel ("" if none) */
  ds_finish_reason finish_reason;
  int64_t prompt_tokens;
  int64_t completion_tokens;
  double prefill_tokens_per_second;
  double decode_tokens_per_second;
  /* Appended after v1: speculative decoding (MTP) statistics; all zero when no drafting happened. */
  int32_t mtp_used;                 /* non-zero when at least one drafting step ran */
  int32_t acceptance_by_position_count; /* entries of acceptance_by_position in use (<= 16) */
  int64_t drafted_tokens;           /* tokens the MTP module proposed */
  int64_t accepted_tokens;          /* of those, accepted by the model */
  double acceptance_rate;           /* accepted_tokens / drafted_tokens */
  /* [j]: fraction of drafting steps in which draft j (0 = first) was accepted (which needs every
   * earlier draft of that step accepted too). */
  double acceptance_by_position[DS_MAX_DRAFT_TOKENS];
} ds_generate_result;

/* Releases the strings inside *result (not the struct itself) and sets them to NULL. NULL is a
 * no-op. */
void ds_generate_result_free(ds_generate_result* result);

/* Generates a continuation of `prompt` (raw text; BOS is added if the tokenizer asks for it).
 * `params` may be NULL for the defaults; `out` may be NULL when only the stream matters. On DS_OK
 * or DS_CANCELLED, *out (if given) holds the text so far: release it with
 * ds_generate_result_free(). Errors: DS_INVALID_ARGUMENT (NULL prompt, bad sampling values, a
 * prompt longer than the context, mtp_mode or draft_tokens out of range, DS_MTP_ON on a model
 * without MTP weights loaded), DS_NOT_FOUND (no tokenizer), DS_CANCELLED, DS_OUT_OF_MEMORY. */
ds_status ds_generate(const ds_model* model, const char* prompt, const ds_generate_params* params,
                      ds_generate_result* out);

/* Renders `messages` with the model's chat template (opening the assistant turn) and generates
 * the reply; otherwise as ds_generate(). */
ds_status ds_chat(const ds_model* model, const ds_chat_message* messages, size_t count,
                  const ds_generate_params* params, ds_generate_result* out);

/* ---- Logits ------------------------------------------------------------------------------- */

/* Teacher-forced logits for every position of `tokens` (count > 0): row t of *out_logits
 * (count x vocab_size floats, row-major; release with ds_free) holds the next-token logits after
 * tokens[0..t]. *out_count (may be NULL) receives count * vocab_size. Errors: DS_INVALID_ARGUMENT
 * (NULL pointers, count 0, an id outside the vocabulary, more tokens than the context). */
ds_status ds_logits(const ds_model* model, const int32_t* tokens, size_t count, float** out_logits,
                    size_t* out_count);

#ifdef __cplusplus
}
#endif

#endif /* DEEPSEEK_C_API_H_ */
