// Minimal leveled logging to stderr (or a caller-installed sink). Thread-safe.
#pragma once

#include <functional>
#include <string_view>

#include "common/strings.h"

namespace ds {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kSilent = 4 };

// Messages below this level are dropped. Default: kWarning, or DS_LOG_LEVEL from the environment
// (debug|info|warning|error|silent).
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();

// Replaces the stderr sink; pass an empty function to restore it.
void SetLogSink(std::function<void(LogLevel, std::string_view)> sink);

void LogMessage(LogLevel level, std::string_view message);

template <typename... Args>
void LogInfo(const Args&... args) {
  if (GetLogLevel() <= LogLevel::kInfo) LogMessage(LogLevel::kInfo, StrCat(args...));
}
template <typename... Args>
void LogWarning(const Args&... args) {
  if (GetLogLevel() <= LogLevel::kWarning) LogMessage(LogLevel::kWarning, StrCat(args...));
}
template <typename... Args>
void LogDebug(const Args&... args) {
  if (GetLogLevel() <= LogLevel::kDebug) LogMessage(LogLevel::kDebug, StrCat(args...));
}

}  // namespace ds
