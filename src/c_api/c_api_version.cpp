#include "deepseek/c_api.h"
#include "deepseek/version.h"

extern "C" const char* ds_version(void) { return deepseek::Version(); }
