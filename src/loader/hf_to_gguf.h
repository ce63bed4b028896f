// Hugging Face checkpoint folder -> GGUF file in llama.cpp's layout (tensor names, shapes,
// metadata keys, tokenizer.ggml.*), for deepseek2 (DeepSeek-V2/V3/R1, bf16 or FP8 block-quantized),
// qwen2 and llama. Tensors are produced one at a time, a few rows at a time, straight into the
// output file: memory stays at one mmapped checkpoint plus small buffers.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "loader/gguf_writer.h"
#include "loader/model_config.h"
#include "runtime/dtype.h"

namespace ds {

// Output types of `deepseek quantize`, named as llama.cpp names them.
enum class GgufMix { kBF16, kF16, kQ8_0, kQ6_K, kQ4_K_M, kQ5_K_M, kQ4_0 };

// Parses "bf16", "f16", "q8_0", "q6_k", "q4_k_m", "q5_k_m", "q4_0" (case-insensitive).
StatusOr<GgufMix> ParseGgufMix(const std::string& name);
// llama.cpp's general.file_type value for the mix (LLAMA_FTYPE_MOSTLY_*).
uint32_t GgufFileType(GgufMix mix);

// The storage type llama.cpp gives GGUF tensor `name` (ne in GGUF order) under `mix`, following
// llama-quantize's rules: 1-D tensors and the router stay F32; Q4_K_M keeps output.weight and,
// in the layers llama.cpp's use_more_bits() picks, attn_v / ffn_down at Q6_K, attn_output at
// Q5_K for 8-expert models (Q5_K_M: the same with Q5_K as base; Q4_0: output at Q6_K); rows not a multiple of 256 fall back (Q4_K->Q5_0, Q5_K->Q5_1,
// Q6_K->Q8_0) and rows not a multiple of 32 to F16.
DType ChooseGgufType(GgufMix mix, const std::string& name, const std::vector<uint64_t>& ne, int64_t n_layers,
                     int64_t n_experts);

struct HfToGgufOptions {
  GgufMix mix = GgufMix::kQ8_0;
  // tokenizer.json (+ tokenizer_config.json) file or folder; empty: the model folder.
  std::string tokenizer_path;
  // Called after each tensor with (done, total, GGUF name).
  std::function<void(size_t, size_t, const std::string&)> progress;
};

// general.*, <arch>.* and tokenizer.ggml.* metadata as llama.cpp's converter writes them for `c`
// (tokenizer from `tokenizer_path`: a tokenizer.json or a folder with tokenizer.json and
// tokenizer_config.json); general.name is the model folder's name.
Status AddGgufMetadata(GgufWriter& w, const ModelConfig& c, GgufMix mix, const std::string& model_dir,
                       const std::string& tokenizer_path);

// Converts the folder `model_dir` (config.json, *.safetensors, tokenizer.json) into `out_path`.
Status ConvertHfToGguf(const std::string& model_dir, const std::string& out_path, const HfToGgufOptions& options);

}  // namespace ds
