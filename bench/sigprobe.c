/*
 * Signal probe for benchmark 6 (bench/README.md): run as the command of a
 * wrapper (baton, tini, dumb-init, catatonit) or bare.
 *
 * Blocks SIGTERM, writes "ready\n" on stdout, waits in sigwaitinfo() until
 * SIGTERM arrives, then writes "<CLOCK_MONOTONIC ns at arrival> <si_pid>\n"
 * and exits 0. The harness reads CLOCK_MONOTONIC just before its kill() to
 * the wrapper; the difference is the forwarding latency. si_pid names the
 * process that sent the signal (the wrapper, when it was forwarded).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int write_all(const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(STDOUT_FILENO, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

int main(void) {
  sigset_t set;
  siginfo_t info;
  struct timespec ts;
  char line[64];
  int len;

  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) return 2;
  if (write_all("ready\n", 6) != 0) return 3;
  for (;;) {
    int sig = sigwaitinfo(&set, &info);
    if (sig == SIGTERM) break;
    if (sig < 0 && errno != EINTR) return 4;
  }
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) return 5;
  len = snprintf(line, sizeof line, "%lld %d\n",
                 (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, (int)info.si_pid);
  if (len <= 0 || write_all(line, (size_t)len) != 0) return 6;
  return 0;
}
