#pragma once
// The command-line front end. main() only wires: it hands its streams, whether stdout is
// a terminal, and the interruption flag to run_cli, and returns its status. Tests call
// run_cli directly with string streams.
#include <atomic>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace fakeless::cli {

struct Environment {
  bool stdout_is_terminal = false;
  bool stderr_is_terminal = false;          // progress display with --progress auto
  bool no_color = false;                    // NO_COLOR is set (and not empty): never colour
  std::istream* in = nullptr;               // standard input, for --files-from - and report -
  const std::atomic<bool>* stop = nullptr;  // set by SIGINT/SIGTERM handlers
  int hardware_threads = 1;
};

// args excludes the program name. Returns the exit status (README.md, "Exit status").
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, const Environment& env);

}  // namespace fakeless::cli
