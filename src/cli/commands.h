// One function per `deepseek` subcommand, each in its own cmd_<name>.cpp.
// Each receives argv with argv[0] = the subcommand name and returns the process exit code.
#pragma once

namespace ds::cli {

int RunVersion(int argc, char** argv);

}  // namespace ds::cli
