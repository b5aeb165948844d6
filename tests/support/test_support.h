// Small helpers shared by the test suites: counting live objects (to prove destructors ran when
// fibers were cancelled) and running a command to check its exit status and output.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace cairn::testing {

// Increments a counter while alive.
struct Tracked {
  explicit Tracked(int* counter) : live(counter) { ++*live; }
  ~Tracked() { --*live; }
  Tracked(const Tracked&) = delete;
  Tracked& operator=(const Tracked&) = delete;
  int* live;
};

struct CommandOutcome {
  int exit_code;       // -1 if the command died of a signal
  std::string output;  // stdout and stderr together
};

// Runs `program arguments` through the shell and collects what it prints.
inline CommandOutcome run_command(const std::string& program, const std::string& arguments) {
  const std::string command = program + " " + arguments + " 2>&1";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  std::string output;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

}  // namespace cairn::testing
