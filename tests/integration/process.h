// Child processes for the integration tests: spawn with output to files, signal, bounded waits,
// and a destructor that always ends the child by its PID. Plus run_command() for short external
// tools (openssl, curl, ringlb --check/route) with a timeout. Test thread only.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "fd.h"

namespace ringlb::it {

class ChildProcess {
 public:
  ChildProcess() = default;
  // Ends a still-running child: `stop_signal` first (SIGKILL by default), then SIGKILL after
  // `stop_grace`, then reaps it.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // argv[0] is a path (or a name looked up in PATH). stdout and stderr go to the given files
  // (empty: /dev/null); stdin is /dev/null. Returns false (and fills *err) if spawning failed.
  bool spawn(const std::vector<std::string>& argv, const std::string& stdout_path,
             const std::string& stderr_path, std::string* err = nullptr);

  pid_t pid() const { return pid_; }
  bool running();  // reaps the child if it exited
  void signal(int sig) const;
  // The wait status once the child has exited, or nullopt if still running at the deadline.
  std::optional<int> wait_exit(milliseconds timeout);
  std::optional<int> status() const { return status_; }

  void set_stop(int sig, milliseconds grace) {
    stop_signal_ = sig;
    stop_grace_ = grace;
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  int stop_signal_ = 9;  // SIGKILL
  milliseconds stop_grace_{0};
};

// "exit 2", "signal 9", "running".
std::string describe_status(std::optional<int> status);
// The exit code, or -1 when the process did not exit normally.
int exit_code(std::optional<int> status);

struct CommandResult {
  std::optional<int> status;  // nullopt: killed at the timeout
  std::string out;
  std::string err;
  int code() const { return exit_code(status); }
  bool timed_out() const { return !status.has_value(); }
};
// Runs argv to completion (killing it at `timeout`), capturing stdout and stderr.
CommandResult run_command(const std::vector<std::string>& argv, milliseconds timeout = milliseconds(20000));

// The full path of `name` from PATH (plus /usr/sbin and /sbin), or "" when it is not
// installed: tests GTEST_SKIP() on "".
std::string find_program(const std::string& name);

}  // namespace ringlb::it
