#include "loader/gguf_tokenizer.h"

#include "loader/gguf_model.h"

namespace ds {
namespace {

// llama.cpp's token types (tokenizer.ggml.token_type).
constexpr int64_t kTokenControl = 3, kTokenUserDefined = 4, kTokenUnused = 5;

// llama.cpp pre-tokenizer names -> the presets of tokenizer/pretokenizer.cpp.
StatusOr<std::string> PresetName(const std::string& pre, const std::string& path) {
  if (pre == "deepseek-v3") return std::string("deepseek-v3");
  if (pre == "deepseek-llm") return std::string("deepseek-llm");  // DeepSeek-LLM, DeepSeek-V2 / V2-Lite
  if (pre == "llama-bpe" || pre == "llama3") return std::string("llama-bpe");
  if (pre == "qwen2" || pre == "deepseek-r1-qwen") return std::string("qwen2");
  return absl::UnimplementedError(StrCat(path, ": 'tokenizer.ggml.pre' is '", pre,
                                         "'; supported: deepseek-v3, deepseek-llm, llama-bpe, qwen2, deepseek-r1-qwen"));
}

Status ReadVocab(const GgufFile& g, TokenizerSpec& spec) {
  DS_ASSIGN_OR_RETURN(const std::vector<GgufValue>* tokens, g.GetArray("tokenizer.ggml.tokens", GgufType::kString));
  spec.vocab.reserve(tokens->size());
  for (const GgufValue& t : *tokens) spec.vocab.push_back(t.str);
  if (const GgufValue* types = g.Find("tokenizer.ggml.token_type")) {
    if (types->type != GgufType::kArray || (!types->items.empty() && !types->items[0].IsInteger()) ||
        types->items.size() != tokens->size()) {
      return InvalidFormat(StrCat(g.path(), ": 'tokenizer.ggml.token_type' must be an integer array of ",
                                  tokens->size(), " entries (one per token)"));
    }
    for (size_t id = 0; id < types->items.size(); ++id) {
      const GgufValue& v = types->items[id];
      const int64_t type = v.type == GgufType::kI32 || v.type == GgufType::kI64 || v.type == GgufType::kI8 ||
                                   v.type == GgufType::kI16
                               ? v.i64
                               : static_cast<int64_t>(v.u64);
      if (type == kTokenUnused) spec.vocab[id].clear();  // converter padding ("[PAD123]")
      if (type != kTokenControl && type != kTokenUserDefined) continue;
      AddedTokenSpec a;
      a.id = static_cast<int32_t>(id);
      a.content = spec.vocab[id];
      a.special = type == kTokenControl;
      spec.added_tokens.push_back(std::move(a));
    }
  }
  return absl::OkStatus();
}

Status ReadMerges(const GgufFile& g, TokenizerSpec& spec) {
  if (g.Find("tokenizer.ggml.merges") == nullptr) return absl::OkStatus();
  DS_ASSIGN_OR_RETURN(const std::vector<GgufValue>* merges, g.GetArray("tokenizer.ggml.merges", GgufType::kString));
  spec.merges.reserve(merges->size());
  for (size_t i = 0; i < merges->size(); ++i) {
    const std::string& m = (*merges)[i].str;
    // Byte-level symbols never contain a space: the first one separates the pair.
    const size_t sp = m.find(' ', 1);
    if (sp == std::string::npos) {
      return InvalidFormat(StrCat(g.path(), ": 'tokenizer.ggml.merges[", i, "]' is '", m, "', not two symbols"));
    }
    spec.merges.emplace_back(m.substr(0, sp), m.substr(sp + 1));
  }
  return absl::OkStatus();
}

// bos/eos: id -> token text, and the add_bos/add_eos flags -> prefix/suffix ids.
Status ReadSpecialIds(const GgufFile& g, TokenizerSpec& spec) {
  for (auto [key, text, add_key, out, def] :
       {std::tuple{"tokenizer.ggml.bos_token_id", &spec.bos_token, "tokenizer.ggml.add_bos_token", &spec.prefix_ids, true},
        std::tuple{"tokenizer.ggml.eos_token_id", &spec.eos_token, "tokenizer.ggml.add_eos_token", &spec.suffix_ids,
                   false}}) {
    if (g.Find(key) == nullptr) continue;
    DS_ASSIGN_OR_RETURN(int64_t id, g.GetInt(key));
    if (id < 0 || id >= static_cast<int64_t>(spec.vocab.size())) {
      return InvalidFormat(StrCat(g.path(), ": '", key, "' is ", id, ", outside the vocabulary of ", spec.vocab.size()));
    }
    *text = spec.vocab[id];
    bool add = def;
    if (g.Find(add_key) != nullptr) {
      DS_ASSIGN_OR_RETURN(add, g.GetBool(add_key));
    }
    if (add) out->push_back(static_cast<int32_t>(id));
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<TokenizerSpec> TokenizerSpecFromGguf(const GgufFile& g) {
  TokenizerSpec spec;
  spec.source = g.path();
  DS_ASSIGN_OR_RETURN(std::string model, g.GetString("tokenizer.ggml.model"));
  if (model != "gpt2") {
    return absl::UnimplementedError(StrCat(g.path(), ": 'tokenizer.ggml.model' is '", model,
                                           "'; only byte-level BPE ('gpt2') is supported"));
  }
  DS_ASSIGN_OR_RETURN(std::string pre, g.GetString("tokenizer.ggml.pre"));
  DS_ASSIGN_OR_RETURN(std::string preset, PresetName(pre, g.path()));
  DS_ASSIGN_OR_RETURN(spec.pre_tokenizer, PresetPreTokenizer(preset));
  spec.ignore_merges = preset == "llama-bpe";  // as llama.cpp (and Llama-3's tokenizer.json) do
  DS_RETURN_IF_ERROR(ReadVocab(g, spec));
  DS_RETURN_IF_ERROR(ReadMerges(g, spec));
  DS_RETURN_IF_ERROR(ReadSpecialIds(g, spec));
  if (g.Find("tokenizer.chat_template") != nullptr) {
    DS_ASSIGN_OR_RETURN(spec.chat_template, g.GetString("tokenizer.chat_template"));
  }
  return spec;
}

StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizerFromAnyFile(const std::string& path) {
  if (!IsGgufFile(path)) return Tokenizer::Load(path);
  DS_ASSIGN_OR_RETURN(auto gguf, GgufFile::Open(path));
  DS_ASSIGN_OR_RETURN(TokenizerSpec spec, TokenizerSpecFromGguf(*gguf));
  return Tokenizer::FromSpec(std::move(spec));
}

}  // namespace ds
