// GGUF reader on hand-built and corrupted files: every malformed header fails with an error naming
// the file and the field / tensor at fault, never a crash; every metadata type round-trips.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "loader/gguf.h"
#include "loader/gguf_writer.h"
#include "models/architectures.h"

namespace ds {
namespace {

// Little-endian GGUF bytes, built field by field.
struct Bytes {
  std::string b;
  Bytes& U32(uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); return *this; }
  Bytes& U64(uint64_t v) { b.append(reinterpret_cast<const char*>(&v), 8); return *this; }
  Bytes& Str(const std::string& s) { U64(s.size()); b += s; return *this; }
  Bytes& Header(uint64_t tensors, uint64_t kvs, uint32_t version = 3) {
    b += "GGUF";
    return U32(version).U64(tensors).U64(kvs);
  }
  // Tensor info: name, dims, ggml type, offset.
  Bytes& Info(const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    Str(name).U32(static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) U64(d);
    return U32(type).U64(offset);
  }
  Bytes& PadTo(size_t align) { b.resize((b.size() + align - 1) / align * align, '\0'); return *this; }
  Bytes& Zeros(size_t n) { b.append(n, '\0'); return *this; }
};

class GgufReader : public ::testing::Test {
 protected:
  std::string Write(const std::string& bytes) {
    std::ofstream(path_, std::ios::binary) << bytes;
    return path_;
  }
  // Opens `bytes` and expects an error of `code` mentioning every part of `parts` and the file name.
  void ExpectError(const std::string& bytes, absl::StatusCode code, std::vector<std::string> parts) {
    auto g = GgufFile::Open(Write(bytes));
    ASSERT_FALSE(g.ok());
    EXPECT_EQ(g.status().code(), code) << g.status();
    const std::string msg(g.status().message());
    EXPECT_NE(msg.find(path_), std::string::npos) << msg;
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::string path_ = (std::filesystem::temp_directory_path() / ("ds_gguf_" + std::to_string(::getpid()) + ".gguf")).string();
};

constexpr auto kDataLoss = absl::StatusCode::kDataLoss;

TEST_F(GgufReader, BadMagic) {
  Bytes b;
  b.b = "GGML";
  b.U32(3).U64(0).U64(0);
  ExpectError(b.b, kDataLoss, {"not a GGUF file"});
  ExpectError("GG", kDataLoss, {"not a GGUF file"});
}

TEST_F(GgufReader, TruncatedHeader) {
  ExpectError(Bytes().Header(0, 0).b.substr(0, 10), kDataLoss, {"truncated", "tensor count"});
  Bytes b;
  b.Header(0, 1).Str("general.name").U32(8);  // value missing
  ExpectError(b.b, kDataLoss, {"truncated", "general.name"});
}

TEST_F(GgufReader, UnsupportedVersions) {
  ExpectError(Bytes().Header(0, 0, 1).b, absl::StatusCode::kUnimplemented, {"version 1"});
  ExpectError(Bytes().Header(0, 0, 0x03000000).b, kDataLoss, {"version", "big-endian"});
}

TEST_F(GgufReader, StringLengthPastEnd) {
  Bytes b;
  b.Header(0, 1).Str("general.name").U32(8).U64(1ull << 40);
  b.b += "short";
  ExpectError(b.b, kDataLoss, {"general.name", "past the end"});
  Bytes key;
  key.Header(0, 1).U64(1ull << 62).Zeros(16);
  ExpectError(key.b, kDataLoss, {"metadata key #0", "past the end"});
}

TEST_F(GgufReader, ArrayCountPastEnd) {
  Bytes b;
  b.Header(0, 1).Str("tokenizer.ggml.tokens").U32(9).U32(8).U64(1ull << 60);
  ExpectError(b.b, kDataLoss, {"tokenizer.ggml.tokens", "past the end"});
}

TEST_F(GgufReader, UnknownValueTypeAndBadBool) {
  Bytes b;
  b.Header(0, 1).Str("x.y").U32(13).U32(0);
  ExpectError(b.b, kDataLoss, {"'x.y'", "unknown value type 13"});
  Bytes c;
  c.Header(0, 1).Str("x.flag").U32(7);
  c.b += '\x05';
  ExpectError(c.b, kDataLoss, {"'x.flag'", "bool"});
}

TEST_F(GgufReader, BadAlignment) {
  Bytes b;
  b.Header(0, 1).Str("general.alignment").U32(4).U32(24);
  ExpectError(b.b, kDataLoss, {"general.alignment", "power of two"});
}

// One f32 tensor [32] at `offset` with 128 data bytes after the header.
std::string OneTensor(std::vector<uint64_t> ne, uint32_t type, uint64_t offset, size_t data = 128) {
  Bytes b;
  b.Header(1, 0).Info("w", std::move(ne), type, offset).PadTo(32).Zeros(data);
  return b.b;
}

TEST_F(GgufReader, TensorOffsetPastEnd) {
  ExpectError(OneTensor({32}, 0, 1024), kDataLoss, {"tensor 'w'", "past the end"});
  ExpectError(OneTensor({64}, 0, 0), kDataLoss, {"tensor 'w'", "past the end"});  // 256 bytes, 128 present
  ExpectError(OneTensor({32}, 0, ~0ull - 31), kDataLoss, {"tensor 'w'"});
}

TEST_F(GgufReader, TensorOffsetMisaligned) {
  ExpectError(OneTensor({8}, 0, 4), kDataLoss, {"tensor 'w'", "offset 4", "alignment 32"});
}

TEST_F(GgufReader, UnknownAndUnsupportedTensorTypes) {
  ExpectError(OneTensor({32}, 77, 0), kDataLoss, {"tensor 'w'", "unknown ggml type 77"});
  ExpectError(OneTensor({256}, 10, 0), absl::StatusCode::kUnimplemented, {"tensor 'w'", "Q2_K"});
}

TEST_F(GgufReader, DimsOverflow64Bits) {
  ExpectError(OneTensor({1ull << 32, 1ull << 32, 4}, 0, 0), kDataLoss, {"tensor 'w'", "overflow"});
  ExpectError(OneTensor({~0ull}, 0, 0), kDataLoss, {"tensor 'w'", "overflow"});
  ExpectError(OneTensor({1ull << 61}, 0, 0), kDataLoss, {"tensor 'w'"});  // bytes overflow
  ExpectError(OneTensor({32, 0}, 0, 0), kDataLoss, {"tensor 'w'", "zero"});
  ExpectError(OneTensor({1, 1, 1, 1, 1}, 0, 0), kDataLoss, {"tensor 'w'", "dimensions"});
}

TEST_F(GgufReader, RowNotAMultipleOfTheBlock) {
  ExpectError(OneTensor({48}, 8, 0), kDataLoss, {"tensor 'w'", "Q8_0", "block of 32"});
}

TEST_F(GgufReader, DuplicateTensorName) {
  Bytes b;
  b.Header(2, 0).Info("w", {8}, 0, 0).Info("w", {8}, 0, 32).PadTo(32).Zeros(64);
  ExpectError(b.b, kDataLoss, {"tensor 'w'", "twice"});
}

// Every metadata type, nested arrays included, through the writer and back; then every strict
// prefix of the file must fail cleanly.
TEST_F(GgufReader, EveryValueTypeRoundTripsAndEveryPrefixFails) {
  GgufWriter w;
  auto scalar = [](GgufType t, uint64_t u, int64_t i, double f) {
    GgufValue v;
    v.type = t;
    v.u64 = u;
    v.i64 = i;
    v.f64 = f;
    return v;
  };
  w.Add("u8", scalar(GgufType::kU8, 200, 0, 0));
  w.Add("i8", scalar(GgufType::kI8, 0, -100, 0));
  w.Add("u16", scalar(GgufType::kU16, 60000, 0, 0));
  w.Add("i16", scalar(GgufType::kI16, 0, -30000, 0));
  w.AddU32("u32", 4000000000u);
  w.AddI32("i32", -2000000000);
  w.Add("u64", scalar(GgufType::kU64, 1ull << 63, 0, 0));
  w.Add("i64", scalar(GgufType::kI64, 0, -(1ll << 62), 0));
  w.AddF32("f32", 0.25f);
  w.Add("f64", scalar(GgufType::kF64, 0, 0, 1e300));
  w.AddBool("bool", true);
  w.AddString("str", "héllo");
  w.AddStringArray("strs", {"a", "", "ccc"});
  GgufValue nested;
  nested.type = GgufType::kArray;
  nested.elem_type = GgufType::kArray;
  GgufValue inner;
  inner.type = GgufType::kArray;
  inner.elem_type = GgufType::kU16;
  inner.items = {scalar(GgufType::kU16, 7, 0, 0)};
  nested.items = {inner, inner};
  w.Add("nested", nested);
  w.AddTensor("t", DType::kF32, {4, 2});
  ASSERT_TRUE(w.Begin(path_).ok());
  const float data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  ASSERT_TRUE(w.Write(data, sizeof data).ok());
  ASSERT_TRUE(w.Finish().ok());

  auto g = GgufFile::Open(path_);
  ASSERT_TRUE(g.ok()) << g.status();
  const GgufFile& f = **g;
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.GetInt("u8").value(), 200);
  EXPECT_EQ(f.GetInt("i8").value(), -100);
  EXPECT_EQ(f.GetInt("u16").value(), 60000);
  EXPECT_EQ(f.GetInt("i16").value(), -30000);
  EXPECT_EQ(f.GetInt("u32").value(), 4000000000ll);
  EXPECT_EQ(f.GetInt("i32").value(), -2000000000);
  EXPECT_FALSE(f.GetInt("u64").ok());  // 2^63 does not fit int64: an error, not a wrap
  EXPECT_EQ(f.Find("u64")->u64, 1ull << 63);
  EXPECT_EQ(f.GetInt("i64").value(), -(1ll << 62));
  EXPECT_EQ(f.GetFloat("f32").value(), 0.25);
  EXPECT_EQ(f.GetFloat("f64").value(), 1e300);
  EXPECT_TRUE(f.GetBool("bool").value());
  EXPECT_EQ(f.GetString("str").value(), "héllo");
  const auto* strs = f.GetArray("strs", GgufType::kString).value();
  ASSERT_EQ(strs->size(), 3u);
  EXPECT_EQ((*strs)[2].str, "ccc");
  const auto* outer = f.GetArray("nested", GgufType::kArray).value();
  ASSERT_EQ(outer->size(), 2u);
  EXPECT_EQ((*outer)[1].items[0].u64, 7u);
  // Wrong-type access names the key and both types.
  auto wrong = f.GetString("u32");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(std::string(wrong.status().message()).find("'u32' is UINT32, expected STRING"), std::string::npos);
  Tensor t = f.GetTensor("t").value();
  EXPECT_EQ(t.shape(), (Tensor::Shape{2, 4}));  // ne [4, 2] -> row-major [2, 4]
  EXPECT_EQ(t.data<float>()[5], 6.0f);

  std::ifstream in(path_, std::ios::binary);
  const std::string full((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (size_t len = 0; len + 1 < full.size(); len += (len < 400 ? 1 : 7)) {
    auto p = GgufFile::Open(Write(full.substr(0, len)));
    EXPECT_FALSE(p.ok()) << "prefix of " << len << " bytes was accepted";
  }
}

TEST_F(GgufReader, ModelErrorsNameTheProblem) {
  // A valid GGUF of an architecture this library does not run.
  GgufWriter w;
  w.AddString("general.architecture", "mamba");
  ASSERT_TRUE(w.Begin(path_).ok());
  ASSERT_TRUE(w.Finish().ok());
  auto m = LoadCausalLm(path_, {});
  ASSERT_FALSE(m.ok());
  EXPECT_NE(std::string(m.status().message()).find("'mamba'"), std::string::npos) << m.status();
  // deepseek2 metadata missing a required key.
  GgufWriter d;
  d.AddString("general.architecture", "deepseek2");
  d.AddU32("deepseek2.embedding_length", 64);
  ASSERT_TRUE(d.Begin(path_).ok());
  ASSERT_TRUE(d.Finish().ok());
  m = LoadCausalLm(path_, {});
  ASSERT_FALSE(m.ok());
  EXPECT_NE(std::string(m.status().message()).find("deepseek2.block_count"), std::string::npos) << m.status();
}

}  // namespace
}  // namespace ds
