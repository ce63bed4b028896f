// Where `deepseek run` / `deepseek chat` find the bundled demo model when no --model is given.
#pragma once

#include <string>
#include <vector>

namespace ds::cli {

// The folders searched: only $DEEPSEEK_MODEL when set; else, in order, <exe dir>/../share/deepseek/models/deepseek-demo
// (a relocated install); the configured install data dir; the source tree the binary was built from.
std::vector<std::string> DefaultModelCandidates();

// The first candidate holding a config.json, or "" when there is none.
std::string FindDefaultModel();

}  // namespace ds::cli
