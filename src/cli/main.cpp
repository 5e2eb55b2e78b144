// main only wires: streams, terminal detection, signals.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <exception>
#include <iostream>
#include <thread>

#include "fakeless/cli/cli.hpp"

namespace {
std::atomic<bool> g_stop{false};
volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_signal(int sig) {
  g_signal = sig;
  g_stop.store(true);
  std::signal(sig, SIG_DFL);  // a second Ctrl-C ends the process at once
}
}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    fakeless::cli::Environment env;
    env.stdout_is_terminal = ::isatty(STDOUT_FILENO) == 1;
    env.stop = &g_stop;
    env.in = &std::cin;
    env.hardware_threads = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
    const int status = fakeless::cli::run_cli(args, std::cout, std::cerr, env);
    std::cout.flush();
    if (g_signal != 0) std::raise(g_signal);  // die by the signal, as a Unix tool should
    return status;
  } catch (const std::exception& e) {
    std::cerr << "fakeless: fatal: " << e.what() << '\n';
    return 2;
  }
}
