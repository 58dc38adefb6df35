/*
 * runstat.c — run one command, report its wall time and peak memory.
 *
 * usage: runstat [-i IN] [-o OUT] -- COMMAND [ARGS...]
 *   -i IN   the command's stdin (default: runstat's)
 *   -o OUT  the command's stdout (default: runstat's stderr, never the
 *           result line's stdout)
 * prints: "runstat wall_ns=W user_ns=U sys_ns=S maxrss_kb=M status=X"
 *   wall  CLOCK_MONOTONIC from just before fork to the reaping wait4
 *   maxrss the child's peak resident set (getrusage via wait4), in kB
 *   status its exit status, or 128+signal
 * Exits 0 when the command ran (whatever its status: the caller decides),
 * 2 on bad usage, 1 when it could not be run at all.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchutil.h"

static uint64_t tv_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
}

static int open_or_die(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0) {
		perror(path);
		exit(1);
	}
	return fd;
}

int main(int argc, char **argv)
{
	const char *in = NULL, *out = NULL;
	int c;
	while ((c = getopt(argc, argv, "+i:o:")) != -1) {
		switch (c) {
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		default:
			fprintf(stderr, "usage: runstat [-i IN] [-o OUT] -- COMMAND [ARGS...]\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: runstat [-i IN] [-o OUT] -- COMMAND [ARGS...]\n");
		return 2;
	}
	int fin = in ? open_or_die(in, O_RDONLY) : -1;
	int fout = out ? open_or_die(out, O_WRONLY | O_CREAT | O_TRUNC) : -1;
	fflush(stdout);

	uint64_t t0 = bench_now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		if ((fin >= 0 && dup2(fin, 0) < 0) || dup2(fout >= 0 ? fout : 2, 1) < 0)
			_exit(127);
		execvp(argv[optind], argv + optind);
		perror(argv[optind]);
		_exit(127);
	}
	int st;
	struct rusage ru;
	if (wait4(pid, &st, 0, &ru) < 0) {
		perror("wait4");
		return 1;
	}
	uint64_t wall = bench_now_ns() - t0;
	int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	printf("runstat wall_ns=%llu user_ns=%llu sys_ns=%llu maxrss_kb=%ld status=%d\n",
	       (unsigned long long)wall, (unsigned long long)tv_ns(ru.ru_utime),
	       (unsigned long long)tv_ns(ru.ru_stime), ru.ru_maxrss, status);
	return 0;
}
