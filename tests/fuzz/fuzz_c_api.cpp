// Fuzzes the C ABI's argument checks. Each input is a short script of calls on one shared tiny-v3
// model (with the real DeepSeek-V3 tokenizer): every pointer may be NULL, every count, flag,
// struct_size and sampling value comes from the input, parameter structs may be "newer" than this
// header (longer, with fuzzed trailing bytes). Whatever the arguments, a call must return a status
// (with a message when it fails) and never crash, abort or leak.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "deepseek/c_api.h"
#include "fuzz_util.h"

namespace {

ds_model* g_model = nullptr;

// Reads typed values from the input, returning zeros once it is used up.
class Reader {
 public:
  Reader(const uint8_t* d, size_t n) : d_(d), n_(n) {}
  bool empty() const { return n_ == 0; }
  template <typename T>
  T Get() {
    T v{};
    const size_t k = n_ < sizeof(T) ? n_ : sizeof(T);
    std::memcpy(&v, d_, k);
    d_ += k;
    n_ -= k;
    return v;
  }
  std::string Bytes(size_t max) {
    const size_t k = std::min<size_t>(Get<uint8_t>() % (max + 1), n_);
    std::string s(reinterpret_cast<const char*>(d_), k);
    d_ += k;
    n_ -= k;
    return s;
  }

 private:
  const uint8_t* d_;
  size_t n_;
};

// A parameter struct of a fuzzed struct_size: the real fields, then (for a "newer" caller)
// fuzzed trailing bytes, as a buffer of exactly struct_size bytes.
template <typename P>
std::vector<uint8_t> ParamsBuffer(Reader& r, const P& fields) {
  const uint8_t kind = r.Get<uint8_t>() % 4;
  size_t size = sizeof(P);
  if (kind == 1) size = r.Get<uint8_t>() % sizeof(P);  // older or bogus
  if (kind == 2) size = sizeof(P) + 1 + r.Get<uint8_t>() % 32;  // newer header
  std::vector<uint8_t> buf(std::max(size, sizeof(P)), 0);
  std::memcpy(buf.data(), &fields, sizeof(P));
  std::memcpy(buf.data(), &size, sizeof(size_t));  // struct_size is the first field
  for (size_t i = sizeof(P); i < buf.size(); ++i) buf[i] = r.Get<uint8_t>() % 3 == 0 ? r.Get<uint8_t>() : 0;
  return buf;
}

int CancelSometimes(const char*, size_t, ds_channel, void* user) {
  auto* budget = static_cast<int*>(user);
  return --*budget < 0 ? 1 : 0;
}

void CheckFailureHasMessage(ds_status s) {
  if (s != DS_OK && s != DS_CANCELLED && ds_last_error()[0] == '\0') std::abort();
}

void Load(Reader& r) {
  ds_model_params p = ds_model_default_params();
  p.threads = r.Get<uint8_t>() % 3 == 0 ? r.Get<int32_t>() : 1;
  p.context_size = r.Get<uint8_t>() % 2 ? r.Get<int64_t>() : r.Get<uint8_t>();
  p.kv_cache_bf16 = r.Get<int32_t>();
  p.memory_limit_bytes = r.Get<uint8_t>() % 2 ? r.Get<int64_t>() : 0;
  const std::string tok = ds::fuzz::DataDir() + "/tokenizers/deepseek-v3";
  p.tokenizer_path = r.Get<uint8_t>() % 2 ? tok.c_str() : nullptr;
  std::vector<uint8_t> buf = ParamsBuffer(r, p);
  const std::string fixture = ds::fuzz::DataDir() + "/fixtures/tiny-v3";
  // Fuzzed paths stay inside the scratch folder (a fuzzed "/proc/..." could read the machine).
  std::string path = r.Get<uint8_t>() % 4 == 0 ? ds::fuzz::ScratchDir() + "/" + r.Bytes(16) : fixture;
  const uint8_t nulls = r.Get<uint8_t>();
  ds_model* m = nullptr;
  ds_status s = ds_model_load(nulls & 1 ? nullptr : path.c_str(),
                              nulls & 2 ? nullptr : reinterpret_cast<const ds_model_params*>(buf.data()),
                              nulls & 4 ? nullptr : &m);
  CheckFailureHasMessage(s);
  ds_model_free(m);
}

void Text(Reader& r) {
  const uint8_t op = r.Get<uint8_t>() % 3, nulls = r.Get<uint8_t>();
  const ds_model* m = nulls & 1 ? nullptr : g_model;
  if (op == 0) {
    std::string text = r.Bytes(64);
    int32_t* ids = nullptr;
    size_t n = 0;
    ds_status s = ds_tokenize(m, nulls & 2 ? nullptr : text.data(), text.size(), r.Get<int32_t>(),
                              nulls & 4 ? nullptr : &ids, nulls & 8 ? nullptr : &n);
    CheckFailureHasMessage(s);
    ds_free(ids);
  } else if (op == 1) {
    std::vector<int32_t> ids(r.Get<uint8_t>() % 16);
    for (auto& id : ids) id = r.Get<uint8_t>() % 2 ? r.Get<int32_t>() : r.Get<uint16_t>();
    char* text = nullptr;
    size_t len = 0;
    ds_status s = ds_detokenize(m, nulls & 2 ? nullptr : ids.data(), ids.size(), r.Get<int32_t>(),
                                nulls & 4 ? nullptr : &text, nulls & 8 ? nullptr : &len);
    CheckFailureHasMessage(s);
    ds_free(text);
  } else {
    std::vector<std::string> strings;
    std::vector<ds_chat_message> msgs(r.Get<uint8_t>() % 4);
    strings.reserve(msgs.size() * 2);
    for (auto& msg : msgs) {
      const uint8_t kind = r.Get<uint8_t>();
      strings.push_back(kind % 3 == 0 ? r.Bytes(12) : (kind % 3 == 1 ? "user" : "assistant"));
      msg.role = kind & 8 ? nullptr : strings.back().c_str();
      strings.push_back(r.Bytes(24));
      msg.content = kind & 16 ? nullptr : strings.back().c_str();
    }
    char* prompt = nullptr;
    ds_status s = ds_chat_render(m, nulls & 2 ? nullptr : msgs.data(), msgs.size(), r.Get<int32_t>(),
                                 nulls & 4 ? nullptr : &prompt);
    CheckFailureHasMessage(s);
    ds_free(prompt);
  }
}

void Generate(Reader& r) {
  ds_generate_params p = ds_generate_default_params();
  p.max_tokens = r.Get<uint8_t>() % 4 == 0 ? r.Get<int64_t>() : r.Get<uint8_t>() % 6;
  if (r.Get<uint8_t>() % 2) {
    p.temperature = r.Get<float>();
    p.top_k = r.Get<int32_t>();
    p.top_p = r.Get<float>();
    p.min_p = r.Get<float>();
    p.repetition_penalty = r.Get<float>();
    p.presence_penalty = r.Get<float>();
    p.frequency_penalty = r.Get<float>();
  }
  p.seed = r.Get<uint64_t>();
  std::vector<std::string> stop_text;
  std::vector<const char*> stops(r.Get<uint8_t>() % 3);
  stop_text.reserve(stops.size());
  for (auto& s : stops) {
    stop_text.push_back(r.Bytes(4));
    s = r.Get<uint8_t>() % 5 == 0 ? nullptr : stop_text.back().c_str();
  }
  p.stop = stops.empty() ? nullptr : stops.data();
  p.n_stop = stops.size();
  p.split_reasoning = r.Get<int32_t>();
  int budget = r.Get<uint8_t>() % 8;
  p.on_piece = r.Get<uint8_t>() % 2 ? CancelSometimes : nullptr;
  p.user_data = &budget;
  std::vector<uint8_t> buf = ParamsBuffer(r, p);
  const uint8_t nulls = r.Get<uint8_t>();
  const std::string prompt = nulls & 16 ? r.Bytes(24) : "The man and the";
  ds_generate_result out{};
  out.struct_size = r.Get<uint8_t>() % 4 == 0 ? r.Get<uint8_t>() : sizeof out;
  ds_chat_message msg{"user", prompt.c_str()};
  ds_status s;
  const auto* params = nulls & 2 ? nullptr : reinterpret_cast<const ds_generate_params*>(buf.data());
  if (nulls & 32) {
    s = ds_chat(nulls & 1 ? nullptr : g_model, nulls & 4 ? nullptr : &msg, 1, params, nulls & 8 ? nullptr : &out);
  } else {
    s = ds_generate(nulls & 1 ? nullptr : g_model, nulls & 4 ? nullptr : prompt.c_str(), params,
                    nulls & 8 ? nullptr : &out);
  }
  CheckFailureHasMessage(s);
  ds_generate_result_free(&out);
}

void Logits(Reader& r) {
  std::vector<int32_t> ids(r.Get<uint8_t>() % 40);
  for (auto& id : ids) id = r.Get<uint8_t>() % 4 == 0 ? r.Get<int32_t>() : r.Get<uint16_t>() % 1100;
  const uint8_t nulls = r.Get<uint8_t>();
  float* logits = nullptr;
  size_t n = 0;
  ds_status s = ds_logits(nulls & 1 ? nullptr : g_model, nulls & 2 ? nullptr : ids.data(), ids.size(),
                          nulls & 4 ? nullptr : &logits, nulls & 8 ? nullptr : &n);
  CheckFailureHasMessage(s);
  ds_free(logits);
  ds_model_info info{};
  info.struct_size = r.Get<uint8_t>() % 2 ? sizeof info : r.Get<uint8_t>();
  CheckFailureHasMessage(ds_model_info_get(nulls & 16 ? nullptr : g_model, nulls & 32 ? nullptr : &info));
  (void)ds_status_name(static_cast<ds_status>(r.Get<int32_t>()));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ds_model_params p = ds_model_default_params();
  p.threads = 1;
  p.context_size = 32;
  const std::string tok = ds::fuzz::DataDir() + "/tokenizers/deepseek-v3";
  p.tokenizer_path = tok.c_str();
  if (ds_model_load((ds::fuzz::DataDir() + "/fixtures/tiny-v3").c_str(), &p, &g_model) != DS_OK) {
    std::fprintf(stderr, "fuzz_c_api: %s\n", ds_last_error());
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader r(data, size);
  for (int call = 0; call < 6 && !r.empty(); ++call) {
    switch (r.Get<uint8_t>() % 8) {
      case 0: Load(r); break;
      case 1: case 2: Text(r); break;
      case 3: case 4: Generate(r); break;
      default: Logits(r); break;
    }
  }
  return 0;
}
