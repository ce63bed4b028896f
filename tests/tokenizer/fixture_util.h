// Shared helpers for the tokenizer tests: fixture paths, JSON Lines reading, a loaded-once cache.
#pragma once

#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/json_util.h"
#include "tokenizer/tokenizer.h"

namespace ds::testing {

inline std::string TokenizerDir(const std::string& name) {
  return std::string(DS_TEST_DATA_DIR) + "/tokenizers/" + name;
}

// Every line of a .jsonl fixture, parsed; fails the test on an unreadable file or line.
inline std::vector<Json> ReadJsonl(const std::string& path) {
  std::vector<Json> rows;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    auto j = ParseJson(line, path + ":" + std::to_string(n));
    EXPECT_TRUE(j.ok()) << j.status();
    if (j.ok()) rows.push_back(std::move(*j));
  }
  return rows;
}

// One Tokenizer per fixture folder, loaded on first use.
inline const Tokenizer& Shared(const std::string& name) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[name];
  if (!slot) {
    auto t = Tokenizer::Load(TokenizerDir(name));
    if (!t.ok()) {
      ADD_FAILURE() << t.status();
      std::abort();
    }
    slot = std::move(*t);
  }
  return *slot;
}

inline std::string IdsToString(const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s + "]";
}

}  // namespace ds::testing
