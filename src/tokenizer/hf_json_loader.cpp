#include "tokenizer/hf_json_loader.h"

#include <simdjson.h>

#include <filesystem>
#include <cstdio>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "common/json_util.h"

namespace ds {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

constexpr int64_t kMaxTokenId = int64_t(1) << 24;  // refuses absurd ids before allocating

// Field access that turns simdjson error codes into messages naming the file and the field.
class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  Status Error(std::string_view field, std::string_view problem) const {
    return InvalidFormat(StrCat(source_, ": ", field, ": ", problem));
  }
  // The member `key` of `obj`, or nullopt when absent or null.
  static std::optional<element> Member(const element& obj, std::string_view key) {
    element e;
    if (obj.at_key(key).get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
    return e;
  }
  StatusOr<std::string_view> String(const element& e, std::string_view field) const {
    std::string_view s;
    if (e.get_string().get(s) != simdjson::SUCCESS) return Error(field, "expected a string");
    return s;
  }
  StatusOr<bool> Bool(const element& obj, std::string_view key, bool fallback,
                      std::string_view field) const {
    auto e = Member(obj, key);
    if (!e) return fallback;
    bool b = false;
    if (e->get_bool().get(b) != simdjson::SUCCESS) {
      return Error(StrCat(field, ".", key), "expected true or false");
    }
    return b;
  }
  StatusOr<int64_t> Int(const element& e, std::string_view field) const {
    int64_t v = 0;
    if (e.get_int64().get(v) != simdjson::SUCCESS) return Error(field, "expected an integer");
    return v;
  }
  StatusOr<std::string_view> Type(const element& obj, std::string_view field) const {
    auto e = Member(obj, "type");
    if (!e) return Error(field, "missing 'type'");
    return String(*e, StrCat(field, ".type"));
  }
  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

Status ParseVocab(const Reader& r, const element& vocab, TokenizerSpec* spec) {
  object obj;
  if (vocab.get_object().get(obj) != simdjson::SUCCESS) {
    return r.Error("model.vocab", "expected an object of token -> id");
  }
  spec->vocab.reserve(obj.size());
  for (auto [key, value] : obj) {
    DS_ASSIGN_OR_RETURN(int64_t id, r.Int(value, StrCat("model.vocab['", key, "']")));
    if (id < 0 || id >= kMaxTokenId) {
      return r.Error(StrCat("model.vocab['", key, "']"), StrCat("id ", id, " out of range"));
    }
    if (key.empty()) return r.Error("model.vocab", StrCat("empty token string for id ", id));
    if (static_cast<size_t>(id) >= spec->vocab.size()) spec->vocab.resize(id + 1);
    if (!spec->vocab[id].empty()) {
      return r.Error("model.vocab", StrCat("id ", id, " given to both '", spec->vocab[id],
                                           "' and '", key, "'"));
    }
    spec->vocab[id] = std::string(key);
  }
  return absl::OkStatus();
}

Status ParseMerges(const Reader& r, const element& merges, TokenizerSpec* spec) {
  array arr;
  if (merges.get_array().get(arr) != simdjson::SUCCESS) {
    return r.Error("model.merges", "expected an array");
  }
  spec->merges.reserve(arr.size());
  size_t i = 0;
  for (element m : arr) {
    const std::string field = StrCat("model.merges[", i++, "]");
    std::string_view s;
    array pair;
    if (m.get_string().get(s) == simdjson::SUCCESS) {
      const size_t space = s.find(' ');
      if (space == std::string_view::npos || space == 0 || space + 1 >= s.size() ||
          s.find(' ', space + 1) != std::string_view::npos) {
        return r.Error(field, StrCat("expected \"left right\", got \"", s, "\""));
      }
      spec->merges.emplace_back(std::string(s.substr(0, space)), std::string(s.substr(space + 1)));
    } else if (m.get_array().get(pair) == simdjson::SUCCESS && pair.size() == 2) {
      DS_ASSIGN_OR_RETURN(std::string_view a, r.String(pair.at(0).value_unsafe(), field));
      DS_ASSIGN_OR_RETURN(std::string_view b, r.String(pair.at(1).value_unsafe(), field));
      spec->merges.emplace_back(std::string(a), std::string(b));
    } else {
      return r.Error(field, "expected a \"left right\" string or a [left, right] pair");
    }
  }
  return absl::OkStatus();
}

Status ParseModel(const Reader& r, const element& root, TokenizerSpec* spec) {
  auto model = Reader::Member(root, "model");
  if (!model) return r.Error("model", "missing");
  if (!model->is_object()) return r.Error("model", "expected an object");
  std::string_view type = "BPE";  // HF accepts a BPE model without its "type" tag
  if (Reader::Member(*model, "type")) {
    DS_ASSIGN_OR_RETURN(type, r.Type(*model, "model"));
  }
  if (type != "BPE") {
    return absl::UnimplementedError(
        StrCat(r.source(), ": model.type '", type, "' is not supported (only BPE)"));
  }
  DS_ASSIGN_OR_RETURN(bool byte_fallback, r.Bool(*model, "byte_fallback", false, "model"));
  if (byte_fallback) {
    return absl::UnimplementedError(StrCat(r.source(), ": model.byte_fallback is not supported"));
  }
  for (std::string_view key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    auto e = Reader::Member(*model, key);
    if (!e) continue;
    DS_ASSIGN_OR_RETURN(std::string_view v, r.String(*e, StrCat("model.", key)));
    if (!v.empty()) {
      return absl::UnimplementedError(StrCat(r.source(), ": model.", key, " is not supported"));
    }
  }
  DS_ASSIGN_OR_RETURN(spec->ignore_merges, r.Bool(*model, "ignore_merges", false, "model"));
  auto vocab = Reader::Member(*model, "vocab");
  if (!vocab) return r.Error("model.vocab", "missing");
  DS_RETURN_IF_ERROR(ParseVocab(r, *vocab, spec));
  auto merges = Reader::Member(*model, "merges");
  if (!merges) return r.Error("model.merges", "missing");
  return ParseMerges(r, *merges, spec);
}

Status ParseAddedTokens(const Reader& r, const element& root, TokenizerSpec* spec) {
  auto added = Reader::Member(root, "added_tokens");
  if (!added) return absl::OkStatus();
  array arr;
  if (added->get_array().get(arr) != simdjson::SUCCESS) {
    return r.Error("added_tokens", "expected an array");
  }
  size_t i = 0;
  for (element t : arr) {
    const std::string field = StrCat("added_tokens[", i++, "]");
    if (!t.is_object()) return r.Error(field, "expected an object");
    AddedTokenSpec a;
    auto id = Reader::Member(t, "id");
    auto content = Reader::Member(t, "content");
    if (!id || !content) return r.Error(field, "needs 'id' and 'content'");
    DS_ASSIGN_OR_RETURN(int64_t id_value, r.Int(*id, StrCat(field, ".id")));
    if (id_value < 0 || id_value >= kMaxTokenId) return r.Error(field, "id out of range");
    a.id = static_cast<int32_t>(id_value);
    DS_ASSIGN_OR_RETURN(std::string_view c, r.String(*content, StrCat(field, ".content")));
    if (c.empty()) return r.Error(field, "empty content");
    a.content = std::string(c);
    DS_ASSIGN_OR_RETURN(a.special, r.Bool(t, "special", false, field));
    DS_ASSIGN_OR_RETURN(a.lstrip, r.Bool(t, "lstrip", false, field));
    DS_ASSIGN_OR_RETURN(a.rstrip, r.Bool(t, "rstrip", false, field));
    DS_ASSIGN_OR_RETURN(a.single_word, r.Bool(t, "single_word", false, field));
    DS_ASSIGN_OR_RETURN(a.normalized, r.Bool(t, "normalized", !a.special, field));
    spec->added_tokens.push_back(std::move(a));
  }
  return absl::OkStatus();
}

Status ParseNormalizer(const Reader& r, const element& n, const std::string& field,
                       TokenizerSpec* spec) {
  DS_ASSIGN_OR_RETURN(std::string_view type, r.Type(n, field));
  if (type == "Sequence") {
    array arr;
    auto list = Reader::Member(n, "normalizers");
    if (!list || list->get_array().get(arr) != simdjson::SUCCESS) {
      return r.Error(field, "Sequence needs a 'normalizers' array");
    }
    size_t i = 0;
    for (element sub : arr) {
      DS_RETURN_IF_ERROR(ParseNormalizer(r, sub, StrCat(field, ".normalizers[", i++, "]"), spec));
    }
    return absl::OkStatus();
  }
  static const std::pair<std::string_view, NormalizerKind> kKinds[] = {
      {"NFC", NormalizerKind::kNFC},
      {"NFD", NormalizerKind::kNFD},
      {"NFKC", NormalizerKind::kNFKC},
      {"NFKD", NormalizerKind::kNFKD}};
  for (const auto& [name, kind] : kKinds) {
    if (type == name) {
      spec->normalizers.push_back(kind);
      return absl::OkStatus();
    }
  }
  return absl::UnimplementedError(
      StrCat(r.source(), ": ", field, ": normalizer '", type, "' is not supported"));
}

StatusOr<SplitBehavior> ParseBehavior(const Reader& r, const element& step,
                                      const std::string& field) {
  auto b = Reader::Member(step, "behavior");
  if (!b) return SplitBehavior::kIsolated;
  DS_ASSIGN_OR_RETURN(std::string_view name, r.String(*b, StrCat(field, ".behavior")));
  static const std::pair<std::string_view, SplitBehavior> kBehaviors[] = {
      {"Isolated", SplitBehavior::kIsolated},
      {"Removed", SplitBehavior::kRemoved},
      {"MergedWithPrevious", SplitBehavior::kMergedWithPrevious},
      {"MergedWithNext", SplitBehavior::kMergedWithNext},
      {"Contiguous", SplitBehavior::kContiguous}};
  for (const auto& [n, v] : kBehaviors)
    if (name == n) return v;
  return r.Error(StrCat(field, ".behavior"), StrCat("unknown value '", name, "'"));
}

Status ParseSplit(const Reader& r, const element& step, const std::string& field,
                  TokenizerSpec* spec) {
  PreTokenizerStep s;
  auto pattern = Reader::Member(step, "pattern");
  if (!pattern) return r.Error(field, "Split needs a 'pattern'");
  auto regex = Reader::Member(*pattern, "Regex");
  auto literal = Reader::Member(*pattern, "String");
  if (!regex && !literal) return r.Error(field, "pattern needs 'Regex' or 'String'");
  DS_ASSIGN_OR_RETURN(std::string_view p, r.String(regex ? *regex : *literal, field));
  s.pattern = std::string(p);
  s.literal = !regex;
  DS_ASSIGN_OR_RETURN(s.behavior, ParseBehavior(r, step, field));
  DS_ASSIGN_OR_RETURN(s.invert, r.Bool(step, "invert", false, field));
  spec->pre_tokenizer.push_back(std::move(s));
  return absl::OkStatus();
}

Status ParsePreTokenizer(const Reader& r, const element& step, const std::string& field,
                         TokenizerSpec* spec) {
  DS_ASSIGN_OR_RETURN(std::string_view type, r.Type(step, field));
  if (type == "Sequence") {
    array arr;
    auto list = Reader::Member(step, "pretokenizers");
    if (!list || list->get_array().get(arr) != simdjson::SUCCESS) {
      return r.Error(field, "Sequence needs a 'pretokenizers' array");
    }
    size_t i = 0;
    for (element sub : arr) {
      DS_RETURN_IF_ERROR(
          ParsePreTokenizer(r, sub, StrCat(field, ".pretokenizers[", i++, "]"), spec));
    }
    return absl::OkStatus();
  }
  if (type == "Split") return ParseSplit(r, step, field, spec);
  if (type == "Digits") {  // HF uses char::is_numeric, i.e. \p{N}
    PreTokenizerStep s;
    DS_ASSIGN_OR_RETURN(bool individual, r.Bool(step, "individual_digits", false, field));
    s.pattern = individual ? "\\p{N}" : "\\p{N}+";
    spec->pre_tokenizer.push_back(std::move(s));
    return absl::OkStatus();
  }
  if (type == "ByteLevel") {
    PreTokenizerStep s;
    s.kind = PreTokenizerStep::Kind::kByteLevel;
    DS_ASSIGN_OR_RETURN(s.add_prefix_space, r.Bool(step, "add_prefix_space", true, field));
    DS_ASSIGN_OR_RETURN(s.use_regex, r.Bool(step, "use_regex", true, field));
    spec->pre_tokenizer.push_back(std::move(s));
    return absl::OkStatus();
  }
  return absl::UnimplementedError(
      StrCat(r.source(), ": ", field, ": pre-tokenizer '", type, "' is not supported"));
}

// Checks that the decoder is the byte-level one (possibly inside a Sequence).
Status CheckDecoder(const Reader& r, const element& root) {
  auto d = Reader::Member(root, "decoder");
  if (!d) return absl::OkStatus();
  DS_ASSIGN_OR_RETURN(std::string_view type, r.Type(*d, "decoder"));
  if (type == "ByteLevel") return absl::OkStatus();
  return absl::UnimplementedError(
      StrCat(r.source(), ": decoder '", type, "' is not supported (only ByteLevel)"));
}

// Ids a TemplateProcessing "single" template puts before / after the text ("$A").
Status ParseTemplate(const Reader& r, const element& p, const std::string& field,
                     TokenizerSpec* spec) {
  array single;
  auto s = Reader::Member(p, "single");
  if (!s || s->get_array().get(single) != simdjson::SUCCESS) {
    return r.Error(field, "TemplateProcessing needs a 'single' array");
  }
  auto specials = Reader::Member(p, "special_tokens");
  bool after = false;
  for (element item : single) {
    if (Reader::Member(item, "Sequence")) {
      after = true;
      continue;
    }
    auto tok = Reader::Member(item, "SpecialToken");
    auto name = tok ? Reader::Member(*tok, "id") : std::nullopt;
    if (!name) return r.Error(field, "template item is neither Sequence nor SpecialToken");
    DS_ASSIGN_OR_RETURN(std::string_view key, r.String(*name, field));
    auto entry = specials ? Reader::Member(*specials, key) : std::nullopt;
    auto ids = entry ? Reader::Member(*entry, "ids") : std::nullopt;
    array id_list;
    if (!ids || ids->get_array().get(id_list) != simdjson::SUCCESS) {
      return r.Error(field, StrCat("special_tokens has no ids for '", key, "'"));
    }
    for (element id : id_list) {
      DS_ASSIGN_OR_RETURN(int64_t v, r.Int(id, StrCat(field, ".special_tokens")));
      (after ? spec->suffix_ids : spec->prefix_ids).push_back(static_cast<int32_t>(v));
    }
  }
  return absl::OkStatus();
}

Status ParsePostProcessor(const Reader& r, const element& p, const std::string& field,
                          TokenizerSpec* spec) {
  DS_ASSIGN_OR_RETURN(std::string_view type, r.Type(p, field));
  if (type == "ByteLevel") return absl::OkStatus();  // offsets only; adds no tokens
  if (type == "TemplateProcessing") return ParseTemplate(r, p, field, spec);
  if (type == "Sequence") {
    array arr;
    auto list = Reader::Member(p, "processors");
    if (!list || list->get_array().get(arr) != simdjson::SUCCESS) {
      return r.Error(field, "Sequence needs a 'processors' array");
    }
    size_t i = 0;
    for (element sub : arr) {
      DS_RETURN_IF_ERROR(ParsePostProcessor(r, sub, StrCat(field, ".processors[", i++, "]"), spec));
    }
    return absl::OkStatus();
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    for (auto [key, out] : {std::pair{"cls", &spec->prefix_ids}, std::pair{"sep", &spec->suffix_ids}}) {
      auto e = Reader::Member(p, key);
      array pair;
      if (!e || e->get_array().get(pair) != simdjson::SUCCESS || pair.size() != 2) {
        return r.Error(StrCat(field, ".", key), "expected [token, id]");
      }
      DS_ASSIGN_OR_RETURN(int64_t id, r.Int(pair.at(1).value_unsafe(), StrCat(field, ".", key)));
      out->push_back(static_cast<int32_t>(id));
    }
    return absl::OkStatus();
  }
  return absl::UnimplementedError(
      StrCat(r.source(), ": ", field, ": post-processor '", type, "' is not supported"));
}

Status ParseTokenizerJson(const Reader& r, const element& root, TokenizerSpec* spec) {
  if (!root.is_object()) return r.Error("top level", "expected an object");
  DS_RETURN_IF_ERROR(ParseModel(r, root, spec));
  DS_RETURN_IF_ERROR(ParseAddedTokens(r, root, spec));
  if (auto n = Reader::Member(root, "normalizer")) {
    DS_RETURN_IF_ERROR(ParseNormalizer(r, *n, "normalizer", spec));
  }
  if (auto p = Reader::Member(root, "pre_tokenizer")) {
    DS_RETURN_IF_ERROR(ParsePreTokenizer(r, *p, "pre_tokenizer", spec));
  }
  bool byte_level = false;
  for (const PreTokenizerStep& s : spec->pre_tokenizer)
    byte_level |= s.kind == PreTokenizerStep::Kind::kByteLevel;
  if (!byte_level) {
    return absl::UnimplementedError(
        StrCat(r.source(), ": only byte-level BPE is supported (no ByteLevel pre-tokenizer)"));
  }
  DS_RETURN_IF_ERROR(CheckDecoder(r, root));
  if (auto p = Reader::Member(root, "post_processor")) {
    DS_RETURN_IF_ERROR(ParsePostProcessor(r, *p, "post_processor", spec));
  }
  return absl::OkStatus();
}

// bos_token / eos_token: a string or an AddedToken object {"content": ...}.
StatusOr<std::string> TokenText(const JsonFields& config, std::string_view key) {
  if (!config.Has(key)) return std::string();
  const Json& e = config.json()[std::string(key)];
  if (e.is_null()) return std::string();
  if (e.is_object()) return JsonFields(e, StrCat(config.source(), ": ", key)).RequiredString("content");
  return config.RequiredString(key);
}

StatusOr<std::string> ChatTemplate(const JsonFields& config) {
  if (!config.Has("chat_template")) return std::string();
  const Json& t = config.json()["chat_template"];
  if (t.is_null()) return std::string();
  if (t.is_string()) return t.get<std::string>();
  if (!t.is_array()) return config.Error("chat_template", "expected a string or a list");
  for (const Json& named : t) {  // HF picks the template named "default"
    if (!named.is_object()) return config.Error("chat_template", "list items must be objects");
    JsonFields f(named, StrCat(config.source(), ": chat_template[]"));
    DS_ASSIGN_OR_RETURN(std::string name, f.RequiredString("name"));
    if (name == "default") return f.RequiredString("template");
  }
  return std::string();
}

// Python transformers' Llama / Gemma tokenizer classes rebuild the post-processor from
// add_bos_token / add_eos_token; other classes keep tokenizer.json's post-processor.
bool ClassUsesBosEosFlags(std::string_view cls) {
  for (std::string_view prefix : {"LlamaTokenizer", "CodeLlamaTokenizer", "GemmaTokenizer"})
    if (cls.substr(0, prefix.size()) == prefix) return true;
  return false;
}

// tokenizer_config.json is small but may hold integers beyond 64 bits (Llama-3's
// model_max_length), which simdjson rejects, so it is read with nlohmann.
Status ParseConfig(std::string_view text, const std::string& source, TokenizerSpec* spec,
                   bool* use_flags, bool* add_bos, bool* add_eos) {
  DS_ASSIGN_OR_RETURN(Json json, ParseJson(text, source));
  if (!json.is_object()) return InvalidFormat(StrCat(source, ": expected an object"));
  JsonFields config(json, source);
  DS_ASSIGN_OR_RETURN(spec->bos_token, TokenText(config, "bos_token"));
  DS_ASSIGN_OR_RETURN(spec->eos_token, TokenText(config, "eos_token"));
  DS_ASSIGN_OR_RETURN(spec->chat_template, ChatTemplate(config));
  DS_ASSIGN_OR_RETURN(std::string cls, config.OptionalString("tokenizer_class", ""));
  *use_flags = ClassUsesBosEosFlags(cls);
  DS_ASSIGN_OR_RETURN(*add_bos, config.OptionalBool("add_bos_token", true));
  DS_ASSIGN_OR_RETURN(*add_eos, config.OptionalBool("add_eos_token", false));
  return absl::OkStatus();
}

// Returns the id of an added token or vocabulary entry with this exact text.
std::optional<int32_t> FindId(const TokenizerSpec& spec, std::string_view text) {
  for (const AddedTokenSpec& t : spec.added_tokens)
    if (t.content == text) return t.id;
  for (size_t i = 0; i < spec.vocab.size(); ++i)
    if (spec.vocab[i] == text) return static_cast<int32_t>(i);
  return std::nullopt;
}

Status ApplyBosEosFlags(const std::string& source, bool add_bos, bool add_eos,
                        TokenizerSpec* spec) {
  spec->prefix_ids.clear();
  spec->suffix_ids.clear();
  for (auto [add, text, out] : {std::tuple{add_bos, &spec->bos_token, &spec->prefix_ids},
                                std::tuple{add_eos, &spec->eos_token, &spec->suffix_ids}}) {
    if (!add || text->empty()) continue;
    auto id = FindId(*spec, *text);
    if (!id) return InvalidFormat(StrCat(source, ": special token '", *text, "' has no id"));
    out->push_back(*id);
  }
  return absl::OkStatus();
}

// Reads a file into a string whose capacity leaves simdjson's padding after the text, so the
// parser can work on it in place instead of copying 8 MB.
StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return absl::NotFoundError(StrCat("cannot open ", path));
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return absl::NotFoundError(StrCat("cannot read ", path, ": ", ec.message()));
  std::string text;
  text.reserve(size + simdjson::SIMDJSON_PADDING);
  text.resize(size);
  if (size > 0 && std::fread(text.data(), 1, size, f.get()) != size) {
    return absl::DataLossError(StrCat("cannot read ", path));
  }
  return text;
}

StatusOr<TokenizerSpec> ParseSpec(std::string_view tokenizer_json, bool padded,
                                  std::string_view config_json, const std::string& source) {
  TokenizerSpec spec;
  spec.source = source;
  Reader r(source);
  simdjson::dom::parser parser;
  element root;
  if (auto err = parser.parse(tokenizer_json.data(), tokenizer_json.size(), !padded).get(root)) {
    return InvalidFormat(StrCat(source, ": invalid JSON: ", simdjson::error_message(err)));
  }
  DS_RETURN_IF_ERROR(ParseTokenizerJson(r, root, &spec));
  if (config_json.empty()) return spec;
  const std::string config_source = StrCat(source, " (tokenizer_config.json)");
  bool use_flags = false, add_bos = false, add_eos = false;
  DS_RETURN_IF_ERROR(ParseConfig(config_json, config_source, &spec, &use_flags, &add_bos, &add_eos));
  if (use_flags) DS_RETURN_IF_ERROR(ApplyBosEosFlags(config_source, add_bos, add_eos, &spec));
  return spec;
}

}  // namespace

StatusOr<TokenizerSpec> ParseHfTokenizerSpec(std::string_view tokenizer_json,
                                             std::string_view config_json,
                                             const std::string& source) {
  return ParseSpec(tokenizer_json, /*padded=*/false, config_json, source);
}

StatusOr<TokenizerSpec> LoadHfTokenizerSpec(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool is_dir = fs::is_directory(path, ec);
  const fs::path json_path = is_dir ? fs::path(path) / "tokenizer.json" : fs::path(path);
  const fs::path config_path = json_path.parent_path() / "tokenizer_config.json";
  DS_ASSIGN_OR_RETURN(std::string json, ReadWholeFile(json_path.string()));
  std::string config;
  if (fs::exists(config_path, ec)) {
    DS_ASSIGN_OR_RETURN(config, ReadWholeFile(config_path.string()));
  }
  return ParseSpec(json, /*padded=*/true, config, json_path.string());
}

}  // namespace ds
