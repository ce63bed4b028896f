#include "common/logging.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace ds {
namespace {

LogLevel LevelFromEnv() {
  const char* env = std::getenv("DS_LOG_LEVEL");
  if (env == nullptr) return LogLevel::kWarning;
  std::string v(env);
  if (v == "debug") return LogLevel::kDebug;
  if (v == "info") return LogLevel::kInfo;
  if (v == "error") return LogLevel::kError;
  if (v == "silent") return LogLevel::kSilent;
  return LogLevel::kWarning;
}

std::atomic<LogLevel>& Level() {
  static std::atomic<LogLevel> level{LevelFromEnv()};
  return level;
}

std::mutex& SinkMutex() {
  static std::mutex m;
  return m;
}

std::function<void(LogLevel, std::string_view)>& Sink() {
  static std::function<void(LogLevel, std::string_view)> sink;
  return sink;
}

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
    default: return "";
  }
}

}  // namespace

void SetLogLevel(LogLevel level) { Level().store(level); }
LogLevel GetLogLevel() { return Level().load(); }

void SetLogSink(std::function<void(LogLevel, std::string_view)> sink) {
  std::lock_guard<std::mutex> lock(SinkMutex());
  Sink() = std::move(sink);
}

void LogMessage(LogLevel level, std::string_view message) {
  if (level < GetLogLevel()) return;
  std::lock_guard<std::mutex> lock(SinkMutex());
  if (Sink()) {
    Sink()(level, message);
    return;
  }
  std::fprintf(stderr, "deepseek %s: %.*s\n", LevelName(level), static_cast<int>(message.size()),
               message.data());
}

}  // namespace ds
