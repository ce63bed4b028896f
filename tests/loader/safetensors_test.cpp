// SafetensorsFile / WeightStore on malformed files: every one must fail cleanly with a message
// naming the file and the tensor or field at fault; and valid files read back the values written.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "loader/safetensors.h"
#include "test_safetensors_writer.h"

namespace ds {
namespace {

using testutil::BuildSafetensors;
using testutil::F32Tensor;
using testutil::RawSafetensors;
using testutil::TempDir;
using testutil::WriteFile;

// The status is an error whose message contains every one of `parts`.
void ExpectErrorNaming(const Status& st, std::initializer_list<std::string> parts) {
  ASSERT_FALSE(st.ok()) << "expected an error mentioning " << *parts.begin();
  const std::string msg(st.message());
  for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
}

class SafetensorsBad : public ::testing::Test {
 protected:
  // Writes `content` as bad.safetensors and opens it both ways; returns SafetensorsFile's status.
  Status Open(const std::string& content) {
    WriteFile(path_, content);
    auto f = SafetensorsFile::Open(path_);
    auto s = WeightStore::Open(path_);
    EXPECT_EQ(f.ok(), s.ok());
    if (!f.ok() && !s.ok()) {
      EXPECT_EQ(f.status(), s.status());
    }
    return f.status();
  }
  // One tensor "w" with the given JSON entry and 16 bytes of data.
  Status OpenEntry(const std::string& entry) { return Open(RawSafetensors("{\"w\":" + entry + "}", std::string(16, 'x'))); }
  TempDir dir_;
  std::string path_ = dir_ / "bad.safetensors";
};

TEST_F(SafetensorsBad, EmptyFile) { ExpectErrorNaming(Open(""), {path_, "too short"}); }
TEST_F(SafetensorsBad, ShorterThanEightBytes) { ExpectErrorNaming(Open("abc"), {path_, "too short"}); }
TEST_F(SafetensorsBad, HeaderLengthBeyondFile) {
  ExpectErrorNaming(Open(RawSafetensors("{}", "", 100)), {path_, "header length 100"});
}
TEST_F(SafetensorsBad, HeaderLengthAbsurd) {
  ExpectErrorNaming(Open(RawSafetensors("{}", "", uint64_t{1} << 63)), {path_, "header length"});
  ExpectErrorNaming(Open(RawSafetensors("{}", "", UINT64_MAX - 3)), {path_, "header length"});
}
TEST_F(SafetensorsBad, HeaderLengthZero) { ExpectErrorNaming(Open(RawSafetensors("", "")), {path_, "JSON"}); }
TEST_F(SafetensorsBad, BadJson) { ExpectErrorNaming(Open(RawSafetensors("{\"w\": {", "")), {path_, "invalid JSON"}); }
TEST_F(SafetensorsBad, JsonNotAnObject) { ExpectErrorNaming(Open(RawSafetensors("[1, 2]", "")), {path_, "not a JSON object"}); }
TEST_F(SafetensorsBad, MetadataNotAnObject) {
  ExpectErrorNaming(Open(RawSafetensors("{\"__metadata__\": 3}", "")), {path_, "__metadata__"});
}
TEST_F(SafetensorsBad, EntryNotAnObject) { ExpectErrorNaming(OpenEntry("5"), {path_, "'w'", "not an object"}); }
TEST_F(SafetensorsBad, UnknownDtype) {
  ExpectErrorNaming(OpenEntry(R"({"dtype":"F7","shape":[4],"data_offsets":[0,16]})"), {path_, "'w'", "F7"});
}
TEST_F(SafetensorsBad, MissingDtype) {
  ExpectErrorNaming(OpenEntry(R"({"shape":[4],"data_offsets":[0,16]})"), {path_, "'w'", "dtype"});
}
TEST_F(SafetensorsBad, DtypeNotAString) {
  ExpectErrorNaming(OpenEntry(R"({"dtype":7,"shape":[4],"data_offsets":[0,16]})"), {path_, "'w'", "dtype"});
}
TEST_F(SafetensorsBad, MissingShape) {
  ExpectErrorNaming(OpenEntry(R"({"dtype":"F32","data_offsets":[0,16]})"), {path_, "'w'", "shape"});
}
TEST_F(SafetensorsBad, MissingOffsets) {
  ExpectErrorNaming(OpenEntry(R"({"dtype":"F32","shape":[4]})"), {path_, "'w'", "data_offsets"});
}
TEST_F(SafetensorsBad, NegativeShape) {
  ExpectErrorNaming(OpenEntry(R"({"dtype":"F32","shape":[-4],"data_offsets":[0,16]})"), {path_, "'w'", "shape", "-4"});
}
TEST_F(SafetensorsBad, NonIntegerShape) {
  ExpectErrorNaming(OpenEntry(R"({"dtype":"F32","shape":[2.5],"data_offsets":[0,16]})"), {path_, "'w'", "shape"});
  ExpectErrorNaming(OpenEntry(R"({"dtype":"F32","shape":["4"],"data_offsets":[0,16]})"), {path_, "'w'", "shape"});
  ExpectErrorNaming(OpenEntry(R"({"dtype":"F32","shape":4,"data_offsets":[0,16]})"), {path_, "'w'", "shape"});
}
TEST_F(SafetensorsBad, HugeShapeDoesNotOverflow) {
  // 2^63 and 2^64-1 fit nlohmann's unsigned integers but not int64: must be rejected, not wrapped.
  ExpectErrorNaming(OpenEntry(R"({"dtype":"F32","shape":[9223372036854775808, 9223372036854775808],"data_offsets":[0,16]})"),
                    {path_, "'w'", "shape"});
  ExpectErrorNaming(OpenEntry(R"({"dtype":"F32","shape":[18446744073709551615, 2],"data_offsets":[0,16]})"),
                    {path_, "'w'", "shape"});
  ExpectErrorNaming(OpenEntry(R"({"dtype":"F32","shape":[4294967296, 4294967296, 4294967296],"data_offsets":[0,16]})"),
                    {path_, "'w'", "shape"});
}
TEST_F(SafetensorsBad, BadOffsets) {
  ExpectErrorNaming(OpenEntry(R"({"dtype":"F32","shape":[4],"data_offsets":[0]})"), {path_, "'w'", "data_offsets"});
  ExpectErrorNaming(OpenEntry(R"({"dtype":"F32","shape":[4],"data_offsets":[-16,0]})"), {path_, "'w'", "data_offsets"});
  ExpectErrorNaming(OpenEntry(R"({"dtype":"F32","shape":[4],"data_offsets":[0,"16"]})"), {path_, "'w'", "data_offsets"});
}
TEST_F(SafetensorsBad, OffsetsOutOfRange) {
  ExpectErrorNaming(OpenEntry(R"({"dtype":"F32","shape":[8],"data_offsets":[0,32]})"), {path_, "'w'", "beyond"});
}
TEST_F(SafetensorsBad, TruncatedData) {
  std::string good = BuildSafetensors({F32Tensor("a", {4}, {1, 2, 3, 4}), F32Tensor("b", {4}, {5, 6, 7, 8})});
  ExpectErrorNaming(Open(good.substr(0, good.size() - 5)), {path_, "'b'", "truncated"});
}
TEST_F(SafetensorsBad, ReversedOffsets) {
  ExpectErrorNaming(OpenEntry(R"({"dtype":"F32","shape":[4],"data_offsets":[16,0]})"), {path_, "'w'", "reversed"});
}
TEST_F(SafetensorsBad, ByteCountNotMatchingShape) {
  ExpectErrorNaming(OpenEntry(R"({"dtype":"F32","shape":[3],"data_offsets":[0,16]})"), {path_, "'w'", "12"});
  ExpectErrorNaming(OpenEntry(R"({"dtype":"BF16","shape":[4],"data_offsets":[0,16]})"), {path_, "'w'", "bf16"});
}
TEST_F(SafetensorsBad, OverlappingTensors) {
  const std::string h = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  ExpectErrorNaming(Open(RawSafetensors(h, std::string(16, 'x'))), {path_, "'a'", "'b'", "overlap"});
}
TEST_F(SafetensorsBad, MissingFile) {
  auto f = SafetensorsFile::Open(dir_ / "nope.safetensors");
  ExpectErrorNaming(f.status(), {dir_ / "nope.safetensors"});
  EXPECT_EQ(f.status().code(), absl::StatusCode::kNotFound);
}

TEST(SafetensorsGood, ZeroSizedTensorsAreAccepted) {
  // Empty tensors occupy no bytes, so sharing an offset with a neighbour is not an overlap.
  TempDir dir;
  const std::string h =
      R"({"e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("z":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}})";
  WriteFile(dir / "m.safetensors", RawSafetensors(h, std::string(8, '\0')));
  auto f = SafetensorsFile::Open(dir / "m.safetensors");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->Get("e")->numel(), 0);
}

TEST(SafetensorsGood, UnpaddedHeaderGivesAlignedTensors) {
  // Header of odd length and a 2-byte tensor first: the f32 tensor sits at an odd file offset.
  TempDir dir;
  const std::string h =
      R"({"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]},"b":{"dtype":"F32","shape":[2],"data_offsets":[2,10]}})";
  ASSERT_EQ(h.size() % 2, 1u);
  const std::vector<float> b = {1.25f, -7.5f};
  std::string data = "\x80\x3f" + testutil::Bytes(b);
  WriteFile(dir / "m.safetensors", RawSafetensors(h, data));
  auto f = SafetensorsFile::Open(dir / "m.safetensors");
  ASSERT_TRUE(f.ok()) << f.status();
  Tensor a = (*f)->Get("a").value(), t = (*f)->Get("b").value();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.raw()) % 2, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 4, 0u);
  EXPECT_EQ(a.ToF32().value().data<float>()[0], 1.0f);
  EXPECT_EQ(t.data<float>()[0], 1.25f);
  EXPECT_EQ(t.data<float>()[1], -7.5f);
}

TEST(SafetensorsGood, SingleFileReadsBackValues) {
  TempDir dir;
  const std::vector<uint16_t> bf = {0x3f80, 0xc000, 0x0000, 0x4040};  // 1, -2, 0, 3
  const std::vector<int32_t> ids = {7, -1, 1 << 30};
  WriteFile(dir / "model.safetensors",
            BuildSafetensors({F32Tensor("x.weight", {2, 3}, {1.5f, -2, 3, 4, 5, 6.25f}),
                              {"y", "BF16", {4}, testutil::Bytes(bf)},
                              {"ids", "I32", {3}, testutil::Bytes(ids)}},
                             {{"format", "pt"}}));
  for (const std::string& path : {dir.path(), dir / "model.safetensors"}) {
    auto store = WeightStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ((*store)->Names(), (std::vector<std::string>{"ids", "x.weight", "y"}));
    EXPECT_EQ((*store)->TotalBytes(), 24u + 8u + 12u);
    auto x = (*store)->Get("x.weight").value();
    EXPECT_EQ(x.dtype(), DType::kF32);
    EXPECT_EQ(x.shape(), (Tensor::Shape{2, 3}));
    EXPECT_EQ(x.data<float>()[0], 1.5f);
    EXPECT_EQ(x.data<float>()[5], 6.25f);
    auto y = (*store)->Get("y").value().ToF32().value();
    EXPECT_EQ(std::vector<float>(y.data<float>(), y.data<float>() + 4), (std::vector<float>{1, -2, 0, 3}));
    auto i = (*store)->Get("ids").value();
    EXPECT_EQ(i.data<int32_t>()[2], 1 << 30);
    EXPECT_EQ((*store)->Entry("y")->dtype, DType::kBF16);
    EXPECT_EQ((*store)->Entry("nope"), nullptr);
    ExpectErrorNaming((*store)->Get("nope").status(), {"'nope'"});
  }
  auto f = SafetensorsFile::Open(dir / "model.safetensors").value();
  EXPECT_EQ(f->metadata().at("format"), "pt");
}

// ---- Folders and sharded checkpoints ----

class ShardedFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_ / "model-00001-of-00002.safetensors",
              BuildSafetensors({F32Tensor("a", {2}, {1, 2}), F32Tensor("b", {1}, {3})}));
    WriteFile(dir_ / "model-00002-of-00002.safetensors", BuildSafetensors({F32Tensor("c", {3}, {4, 5, 6})}));
  }
  void WriteIndex(const nlohmann::json& weight_map) {
    WriteFile(dir_ / "model.safetensors.index.json",
              nlohmann::json{{"metadata", {{"total_size", 24}}}, {"weight_map", weight_map}}.dump());
  }
  TempDir dir_;
};

TEST_F(ShardedFolder, IndexedShardsLoadWithTheirValues) {
  WriteIndex({{"a", "model-00001-of-00002.safetensors"}, {"b", "model-00001-of-00002.safetensors"},
              {"c", "model-00002-of-00002.safetensors"}});
  auto store = WeightStore::Open(dir_.path());
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->files().size(), 2u);
  EXPECT_EQ((*store)->Get("a")->data<float>()[1], 2.0f);
  EXPECT_EQ((*store)->Get("b")->data<float>()[0], 3.0f);
  EXPECT_EQ((*store)->Get("c")->data<float>()[2], 6.0f);
  EXPECT_EQ((*store)->FileOf("c"), dir_ / "model-00002-of-00002.safetensors");
}

TEST_F(ShardedFolder, FolderWithoutIndexLoadsEveryFile) {
  auto store = WeightStore::Open(dir_.path());
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->Names().size(), 3u);
}

TEST_F(ShardedFolder, DuplicateTensorAcrossShards) {
  WriteFile(dir_ / "model-00002-of-00002.safetensors", BuildSafetensors({F32Tensor("a", {3}, {4, 5, 6})}));
  ExpectErrorNaming(WeightStore::Open(dir_.path()).status(),
                    {"'a'", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"});
}

TEST_F(ShardedFolder, IndexNamesAMissingShard) {
  WriteIndex({{"a", "model-00001-of-00002.safetensors"}, {"c", "model-00003-of-00003.safetensors"}});
  ExpectErrorNaming(WeightStore::Open(dir_.path()).status(), {"model-00003-of-00003.safetensors"});
}

TEST_F(ShardedFolder, TensorNotInItsShard) {
  WriteIndex({{"a", "model-00001-of-00002.safetensors"}, {"zz", "model-00002-of-00002.safetensors"},
              {"c", "model-00002-of-00002.safetensors"}});
  ExpectErrorNaming(WeightStore::Open(dir_.path()).status(), {"model.safetensors.index.json", "'zz'",
                                                             "model-00002-of-00002.safetensors"});
}

TEST_F(ShardedFolder, TensorInAnotherShardThanIndexed) {
  WriteIndex({{"a", "model-00002-of-00002.safetensors"}, {"b", "model-00001-of-00002.safetensors"},
              {"c", "model-00002-of-00002.safetensors"}});
  ExpectErrorNaming(WeightStore::Open(dir_.path()).status(), {"model.safetensors.index.json", "'a'",
                                                             "model-00002-of-00002.safetensors"});
}

TEST_F(ShardedFolder, ShardNameLeavingTheFolder) {
  for (const char* bad : {"../model-00001-of-00002.safetensors", "/etc/passwd", "..", "sub/x.safetensors"}) {
    WriteIndex({{"a", bad}});
    ExpectErrorNaming(WeightStore::Open(dir_.path()).status(), {"model.safetensors.index.json", bad});
  }
}

TEST_F(ShardedFolder, BadIndex) {
  WriteFile(dir_ / "model.safetensors.index.json", "{\"weight_map\": ");
  ExpectErrorNaming(WeightStore::Open(dir_.path()).status(), {"model.safetensors.index.json"});
  WriteFile(dir_ / "model.safetensors.index.json", "{\"metadata\": {}}");
  ExpectErrorNaming(WeightStore::Open(dir_.path()).status(), {"model.safetensors.index.json", "weight_map"});
  WriteIndex({{"a", 5}});
  ExpectErrorNaming(WeightStore::Open(dir_.path()).status(), {"model.safetensors.index.json", "'a'"});
}

TEST_F(ShardedFolder, BrokenShardNamesTheShard) {
  WriteFile(dir_ / "model-00002-of-00002.safetensors", "garbage!garbage!");
  ExpectErrorNaming(WeightStore::Open(dir_.path()).status(), {"model-00002-of-00002.safetensors"});
}

TEST(WeightStoreFolders, ModelSafetensorsWinsOverOtherFiles) {
  // e.g. the fixtures' expected.safetensors next to model.safetensors is not part of the model.
  TempDir dir;
  WriteFile(dir / "model.safetensors", BuildSafetensors({F32Tensor("w", {1}, {1})}));
  WriteFile(dir / "expected.safetensors", BuildSafetensors({F32Tensor("logits", {2}, {1, 2})}));
  auto store = WeightStore::Open(dir.path());
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->Names(), std::vector<std::string>{"w"});
}

TEST(WeightStoreFolders, FolderWithoutWeights) {
  TempDir dir;
  WriteFile(dir / "config.json", "{}");
  auto s = WeightStore::Open(dir.path());
  ExpectErrorNaming(s.status(), {dir.path(), "safetensors"});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
}

TEST(WeightStoreFolders, FolderThatDoesNotExist) {
  TempDir dir;
  auto s = WeightStore::Open(dir / "missing");
  ExpectErrorNaming(s.status(), {dir / "missing"});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
}

TEST(TempDirCleanup, RemovesItself) {
  std::string p;
  {
    TempDir dir;
    p = dir.path();
    WriteFile(dir / "x", "y");
    EXPECT_TRUE(std::filesystem::exists(p));
  }
  EXPECT_FALSE(std::filesystem::exists(p));
}

}  // namespace
}  // namespace ds
