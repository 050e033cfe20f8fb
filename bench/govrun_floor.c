/* The floor for govrun's speed (bench/bench_govrun): the smallest wrapper
 * that stays the parent of the program it runs, as govrun must (issue 4,
 * 2.7). Statically linked, it posix_spawn's PROGRAM, waits for it and exits
 * with its status (128 + N for a signal N). Whatever this costs over the
 * bare program, no wrapper that stays the parent can avoid on this machine.
 * Usage: govrun_floor PROGRAM [ARGS...] */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/wait.h>

extern char** environ;

int main(int argc, char** argv) {
  if (argc < 2) {
    fputs("usage: govrun_floor PROGRAM [ARGS...]\n", stderr);
    return 2;
  }
  pid_t pid;
  if (posix_spawn(&pid, argv[1], NULL, NULL, argv + 1, environ) != 0) {
    return 127;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return 70;
    }
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
