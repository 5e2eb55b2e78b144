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
  const std::atomic<bool>* stop = nullptr;  // set by SIGINT/SIGTERM handlers
  int hardware_threads = 1;
  std::istream* in = nullptr;  // standard input, for `report -`
};

// args excludes the program name. Returns the exit status (README.md, "Exit status").
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, const Environment& env);

}  // namespace fakeless::cli
