// Child processes: posix_spawn with clean signal state, bounded waits, kill by PID.
#include "process.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <fmt/format.h>

extern char** environ;

namespace ringlb::it {
namespace {

// Spawns argv with fds 1 and 2 taken from out_fd/err_fd (already open; -1: /dev/null).
// The child starts with default signal dispositions and an empty mask (the test process
// ignores SIGPIPE, and ignored signals survive exec), and no fd above 2. It runs under
// `setpriv --pdeathsig KILL` (util-linux), which execs argv in its place (same PID): should the
// test process die without running its destructors (a sanitizer abort, a crash), the kernel
// kills the child too, instead of leaving a ringlb or nginx running. The death signal follows
// the spawning thread, so children are spawned from the test thread only, and a child that
// changes its uid (ringlb's `user =`) loses it.
int spawn_raw(const std::vector<std::string>& argv, int out_fd, int err_fd, pid_t* pid) {
  static const std::vector<std::string> kPdeathsig = {"setpriv", "--pdeathsig", "KILL", "--"};
  std::vector<char*> args;
  for (const auto& a : kPdeathsig) args.push_back(const_cast<char*>(a.c_str()));
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (out_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  } else {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  }
  if (err_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  } else {
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  }
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  const int rc = ::posix_spawnp(pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc;
}

int open_out(const std::string& path) {
  if (path.empty()) return -1;
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

}  // namespace

ChildProcess::~ChildProcess() {
  if (!running()) return;
  ::kill(pid_, stop_signal_);
  if (stop_signal_ != SIGKILL && wait_exit(stop_grace_)) return;
  ::kill(pid_, SIGKILL);
  wait_exit(seconds(10));
}

bool ChildProcess::spawn(const std::vector<std::string>& argv, const std::string& stdout_path,
                         const std::string& stderr_path, std::string* err) {
  Fd out(open_out(stdout_path));
  Fd errf(open_out(stderr_path));
  const int rc = spawn_raw(argv, out.get(), errf.get(), &pid_);
  if (rc != 0) {
    pid_ = -1;
    if (err) *err = fmt::format("spawn {}: {}", argv.empty() ? "" : argv[0], std::strerror(rc));
    return false;
  }
  status_.reset();
  return true;
}

bool ChildProcess::running() {
  if (pid_ <= 0 || status_) return false;
  int st = 0;
  const pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    return false;
  }
  return r == 0;
}

void ChildProcess::signal(int sig) const {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::optional<int> ChildProcess::wait_exit(milliseconds timeout) {
  const Deadline d = deadline_in(timeout);
  for (;;) {
    if (!running()) return status_;
    if (Clock::now() >= d) return std::nullopt;
    std::this_thread::sleep_for(milliseconds(10));
  }
}

std::string describe_status(std::optional<int> status) {
  if (!status) return "still running";
  if (WIFEXITED(*status)) return fmt::format("exit {}", WEXITSTATUS(*status));
  if (WIFSIGNALED(*status)) return fmt::format("killed by signal {}", WTERMSIG(*status));
  return fmt::format("wait status {}", *status);
}

int exit_code(std::optional<int> status) {
  if (!status || !WIFEXITED(*status)) return -1;
  return WEXITSTATUS(*status);
}

CommandResult run_command(const std::vector<std::string>& argv, milliseconds timeout) {
  CommandResult res;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) {
    res.status = 127 << 8;
    res.err = "pipe failed";
    return res;
  }
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]), err_r(err_pipe[0]), err_w(err_pipe[1]);
  pid_t pid = -1;
  const int rc = spawn_raw(argv, out_w.get(), err_w.get(), &pid);
  out_w.reset();
  err_w.reset();
  if (rc != 0) {
    res.status = 127 << 8;
    res.err = fmt::format("spawn {}: {}", argv[0], std::strerror(rc));
    return res;
  }
  const Deadline d = deadline_in(timeout);
  bool killed = false;
  char buf[16384];
  // A grandchild may keep the pipes open past the kill: stop reading 2 s after the deadline.
  while ((out_r.valid() || err_r.valid()) && !(killed && Clock::now() > d + seconds(2))) {
    pollfd p[2] = {{out_r.get(), POLLIN, 0}, {err_r.get(), POLLIN, 0}};
    const int n = ::poll(p, 2, poll_ms(d, 200));
    if (n == 0 && Clock::now() >= d && !killed) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    for (int i = 0; i < 2; ++i) {
      if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Fd& f = i == 0 ? out_r : err_r;
      const ssize_t got = ::read(f.get(), buf, sizeof buf);
      if (got > 0) {
        (i == 0 ? res.out : res.err).append(buf, static_cast<size_t>(got));
      } else {
        f.reset();
      }
    }
  }
  int st = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &st, killed ? 0 : WNOHANG);
    if (r == pid) break;
    if (Clock::now() >= d && !killed) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  if (!killed) res.status = st;
  return res;
}

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  // sbin too: nginx lives in /usr/sbin, which a non-login PATH may lack.
  const std::string p = std::string(path ? path : "/usr/local/bin:/usr/bin:/bin") + ":/usr/sbin:/sbin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    const std::string cand = p.substr(start, end - start) + "/" + name;
    struct stat sb{};
    if (::stat(cand.c_str(), &sb) == 0 && S_ISREG(sb.st_mode) && ::access(cand.c_str(), X_OK) == 0) return cand;
    start = end + 1;
  }
  return "";
}

}  // namespace ringlb::it
