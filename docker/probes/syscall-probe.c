/*
 * syscall-probe io_uring_setup: makes one system call that the seccomp fault refuses (and the engine
 * default of Docker < 25 allows) and says whether the kernel let it through. It never forks, so it
 * runs under the fault as a single exec'd program. Exit 0: allowed; 1: refused (errno printed); 2: usage.
 */
#include <errno.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2 || strcmp(argv[1], "io_uring_setup") != 0) {
    fprintf(stderr, "usage: syscall-probe io_uring_setup\n");
    return 2;
  }
  struct io_uring_params params;
  memset(&params, 0, sizeof params);
  long fd = syscall(__NR_io_uring_setup, 1, &params);
  if (fd >= 0) {
    close((int)fd);
    printf("io_uring_setup: allowed\n");
    return 0;
  }
  int saved = errno;
  printf("io_uring_setup: refused errno=%d (%s)\n", saved, strerror(saved));
  return 1;
}
