// One function per `deepseek` subcommand, each in its own cmd_<name>.cpp.
// Each receives argv with argv[0] = the subcommand name and returns the process exit code.
#pragma once

namespace ds::cli {

int RunLogits(int argc, char** argv);
int RunInfo(int argc, char** argv);
int RunRun(int argc, char** argv);
int RunChat(int argc, char** argv);
int RunVersion(int argc, char** argv);
int RunTokenize(int argc, char** argv);
int RunChatTemplate(int argc, char** argv);
int RunBench(int argc, char** argv);
int RunSynth(int argc, char** argv);
int RunQuantize(int argc, char** argv);

}  // namespace ds::cli
