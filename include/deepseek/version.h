// deepseek/version.h: library version.
#pragma once

namespace deepseek {

// The library version as "MAJOR.MINOR.PATCH".
const char* Version();

}  // namespace deepseek
