#include "deepseek/version.h"

namespace deepseek {

const char* Version() { return "0.1.0"; }

}  // namespace deepseek
