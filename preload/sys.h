/*
 * sys.h — the system calls lockcontend makes from inside the program.
 *
 * Raw syscalls, not glibc's wrappers: glibc's open, close, write, fallocate
 * are cancellation points, and a thread cancelled inside our code would
 * leave our state half-written (a registered waiter, a claimed record).
 * Not glibc's syscall() either: the library exports its own (the futex
 * hook, hooks_futex.c), which a call from in here would reach through the
 * PLT — our own futex wakes charged as the program's, our own waits
 * recorded.  So the instruction itself (x86-64, the only target).  Each
 * returns the result, or -errno; errno is never touched (the hooks
 * preserve the program's errno anyway, but these run in a signal handler
 * too).
 */
#ifndef LOCKCONTEND_SYS_H
#define LOCKCONTEND_SYS_H

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdint.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline long sys_raw(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long rc;
	__asm__ volatile("syscall"
	                 : "=a"(rc)
	                 : "0"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
	                 : "rcx", "r11", "memory");
	return rc;
}

static inline long sys_call(long nr, long a, long b, long c, long d)
{
	return sys_raw(nr, a, b, c, d, 0, 0);
}

static inline int sys_open(const char *path, int flags, mode_t mode)
{
	return (int)sys_call(SYS_openat, AT_FDCWD, (long)path, flags, mode);
}

static inline int sys_close(int fd)
{
	return (int)sys_call(SYS_close, fd, 0, 0, 0);
}

static inline int sys_fstat(int fd, struct stat *st)
{
	return (int)sys_call(SYS_fstat, fd, (long)st, 0, 0);
}

static inline int sys_lstat(const char *path, struct stat *st)
{
	return (int)sys_call(SYS_newfstatat, AT_FDCWD, (long)path, (long)st, AT_SYMLINK_NOFOLLOW);
}

static inline int sys_fallocate(int fd, off_t off, off_t len)
{
	return (int)sys_call(SYS_fallocate, fd, 0, off, len);
}

static inline int sys_ftruncate(int fd, off_t len)
{
	return (int)sys_call(SYS_ftruncate, fd, len, 0, 0);
}

static inline long sys_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return sys_call(SYS_pwrite64, fd, (long)buf, (long)n, off);
}

static inline long sys_write(int fd, const void *buf, size_t n)
{
	return sys_call(SYS_write, fd, (long)buf, (long)n, 0);
}

/* Sleep while *word holds val, for at most ns: woken by sys_futex_wake, a
 * signal, or the time.  Not a cancellation point, unlike pthread's waits. */
static inline void sys_futex_wait(_Atomic int *word, int val, uint64_t ns)
{
	struct timespec rel = {.tv_sec = (time_t)(ns / 1000000000u),
	                       .tv_nsec = (long)(ns % 1000000000u)};
	sys_call(SYS_futex, (long)word, FUTEX_WAIT_PRIVATE, val, (long)&rel);
}

/* Wake one thread asleep on a mutex's lock word, as glibc's unlock does
 * (shared: the mutex is process-shared, its sleepers maybe in another
 * process). */
static inline void sys_futex_wake_one(int *word, int shared)
{
	sys_call(SYS_futex, (long)word, shared ? FUTEX_WAKE : FUTEX_WAKE_PRIVATE, 1, 0);
}

/* A system call of at most three arguments with no libc code at all, for
 * what a fork child does at once (lifecycle.c): the child shares none of
 * its parent's page tables for libc's or our code, so every page of code
 * it runs costs it a page fault, and syscall() and errno are two pages.
 * The result or -errno; errno untouched. */
static inline long sys_bare(long nr, long a, long b, long c)
{
#if defined(__x86_64__)
	long rc;
	__asm__ volatile("syscall"
	                 : "=a"(rc)
	                 : "a"(nr), "D"(a), "S"(b), "d"(c)
	                 : "rcx", "r11", "memory");
	return rc;
#else
	return sys_call(nr, a, b, c, 0);
#endif
}

/* Wake every thread asleep on word. */
static inline void sys_futex_wake(_Atomic int *word)
{
	sys_call(SYS_futex, (long)word, FUTEX_WAKE_PRIVATE, INT32_MAX, 0);
}

#endif
