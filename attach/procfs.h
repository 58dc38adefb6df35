/*
 * procfs.h — what /proc says about a process and its threads, read without
 * touching them.
 *
 * Every reader returns 0, or a negative errno: -ENOENT when the process or
 * thread is gone (or never was), -EACCES/-EPERM when /proc hides it from
 * us.  Nothing here stops, signals or traces anything; what a reader gives
 * may be stale by the time it returns (a thread exits, a syscall ends), so
 * callers treat it as advice and let ptrace have the last word.
 */
#ifndef LOCKCONTEND_ATTACH_PROCFS_H
#define LOCKCONTEND_ATTACH_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCFS_GROUPS_MAX 64

/* /proc/PID[/task/TID]/status, the lines we use. */
struct procfs_status {
	char state;    /* R S D T t Z X I ... */
	char name[64]; /* comm */
	pid_t tgid;
	pid_t tracer; /* TracerPid, 0 if none */
	uid_t uid[4]; /* real, effective, saved, filesystem */
	gid_t gid[4];
	size_t ngroups; /* supplementary groups (first PROCFS_GROUPS_MAX) */
	gid_t groups[PROCFS_GROUPS_MAX];
};

/* tid 0: the process's own status (its main thread's). */
int procfs_status(pid_t pid, pid_t tid, struct procfs_status *st);

/* The thread ids in /proc/PID/task, malloc'd, in directory order. */
int procfs_tasks(pid_t pid, pid_t **tids, size_t *n);

/* /proc/PID/task/TID/syscall: where a thread is, as the kernel sees it. */
enum procfs_where {
	PROCFS_RUNNING,    /* on a CPU or runnable: no sp or pc */
	PROCFS_BLOCKED,    /* blocked, but not in a system call (a fault) */
	PROCFS_IN_SYSCALL, /* blocked in system call nr */
};
struct procfs_syscall {
	enum procfs_where where;
	long nr;
	uint64_t args[6];
	uint64_t sp, pc;
};
int procfs_syscall(pid_t pid, pid_t tid, struct procfs_syscall *sc);

/* An entry of /proc/PID/auxv (AT_BASE: where the dynamic loader is). */
int procfs_auxv(pid_t pid, unsigned long type, uint64_t *value);

/* Does the process see the file system as we do: the same mount
 * namespace and the same root directory?  *what names the difference. */
int procfs_same_fs(pid_t pid, bool *same, const char **what);

/* The owner of /proc/PID: root (or the namespace's root) for a process
 * that is not dumpable, whatever its own uid. */
int procfs_owner(pid_t pid, uid_t *uid);

/* /proc/sys/kernel/yama/ptrace_scope, or -1 without Yama. */
int procfs_yama_scope(void);

#endif
