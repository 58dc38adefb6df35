/*
 * hooks_process.c — the program's own life: exec() and dlclose().
 *
 * exec() replaces the program and its memory: the profile is ended first
 * (lifecycle_exec: stashes published, closing records written), and the new
 * image, preloaded again, starts a profile of its own.  If exec fails the
 * program runs on unprofiled: its profile is already complete.  A vfork()
 * child shares the parent's memory and must not end the parent's profile:
 * only the process that owns the profile ends it.  glibc's execl* and
 * execvp* reach execve internally, so each is hooked; posix_spawn needs
 * nothing (the parent runs on).
 *
 * _exit() and _Exit() end the profile as exit() does; a child of _Fork()
 * forgets its parent's thread id.
 *
 * dlclose(): the module map is refreshed before (the object about to go is
 * in it) and after (it is marked gone and the module epoch moves on), so
 * contention inside a library unloaded later keeps its names and a library
 * loaded at the same address later is not taken for it (modmap.h).
 * Attached, the GOT slots patched in an object unloaded are forgotten
 * after it (attach_loaded): another object may be mapped there next.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <unistd.h>

#include "attach.h"
#include "hooks.h"
#include "lifecycle.h"
#include "real.h"

typedef int (*dlclose_fn)(void *);
typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execvp_fn)(const char *, char *const[]);
typedef int (*execvpe_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*execveat_fn)(int, const char *, char *const[], char *const[], int);
typedef void (*exit_fn)(int);
typedef pid_t (*fork_fn)(void);

EXPORT int dlclose(void *handle)
{
	struct lc_tls *t = &lc_tls;
	dlclose_fn fn = real_sym_lazy(&real.dlclose, "dlclose");
	if (!fn)
		return -1;
	recorder_dlclose(t);
	int rc = fn(handle);
	recorder_dlclose(t);
	attach_loaded(); /* attached: the slots of an object unloaded are forgotten */
	return rc;
}

/* execve and execvpe, for the hooks of the exec functions that glibc
 * builds on them: called directly, not by their exported names, which
 * the loader binds to glibc's when the library was loaded by dlopen (an
 * attach: execv would then leave the profile unfinished). */
static int process_execve(const char *path, char *const argv[], char *const envp[])
{
	execve_fn fn = real_sym_lazy(&real.execve, "execve");
	if (!fn) {
		errno = ENOSYS;
		return -1;
	}
	lifecycle_exec();
	return fn(path, argv, envp);
}

static int process_execvpe(const char *file, char *const argv[], char *const envp[])
{
	execvpe_fn fn = real_sym_lazy(&real.execvpe, "execvpe");
	if (!fn) {
		errno = ENOSYS;
		return -1;
	}
	lifecycle_exec();
	return fn(file, argv, envp);
}

EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	return process_execve(path, argv, envp);
}

EXPORT int execv(const char *path, char *const argv[])
{
	return process_execve(path, argv, environ);
}

EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	return process_execvpe(file, argv, envp);
}

EXPORT int execvp(const char *file, char *const argv[])
{
	return process_execvpe(file, argv, environ);
}

EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	fexecve_fn fn = real_sym_lazy(&real.fexecve, "fexecve");
	if (!fn) {
		errno = ENOSYS;
		return -1;
	}
	lifecycle_exec();
	return fn(fd, argv, envp);
}

EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	execveat_fn fn = real_sym_lazy(&real.execveat, "execveat");
	if (!fn) {
		errno = ENOSYS;
		return -1;
	}
	lifecycle_exec();
	return fn(dirfd, path, argv, envp, flags);
}

/* A fork without fork's handlers (glibc's _Fork, which fork() itself
 * calls inside glibc, not through here): its child's thread runs none of
 * ours, so its cached thread id would stay its parent's, the owner its
 * inline locks store (hooks.c, hooks_tid).  The child forgets it, as
 * fork's child handler makes it; the rest of a child's own profile starts
 * at its first event (lifecycle.c).  Async-signal-safe, as _Fork is:
 * resolved at start-up. */
EXPORT pid_t _Fork(void)
{
	fork_fn fn = real_get(&real._Fork);
	if (!fn) {
		errno = ENOSYS;
		return -1;
	}
	pid_t pid = fn();
	if (pid == 0)
		hooks_fork_child();
	return pid;
}

/* A normal end that skips exit()'s destructors (stress-ng's workers, dash's
 * `exit 3`, every fork child that fails to exec): the profile is ended as
 * at exit, not left to read as a writer that died.  Often called from a
 * signal handler: the end is async-signal-safe (lifecycle.c).  Resolved at
 * start-up, since a handler may not call dlsym. */
EXPORT void _exit(int status)
{
	lifecycle_exit();
	exit_fn fn = real_get(&real._exit);
	fn(status);
	__builtin_unreachable();
}

EXPORT void _Exit(int status)
{
	lifecycle_exit();
	exit_fn fn = real_get(&real._Exit);
	fn(status);
	__builtin_unreachable();
}

/* execl, execlp, execle: the arguments as an array, on the stack.
 * glibc declares arg0 non-null, but execl(path, (char *)NULL) is common
 * and valid: the pointer is hidden from the optimiser before it is
 * tested. */
static const char *hooks_opaque(const char *p)
{
	__asm__("" : "+r"(p));
	return p;
}

enum exec_by { EXEC_PATH, EXEC_SEARCH, EXEC_PATH_ENV };

static int hooks_execl(enum exec_by by, const char *path, const char *arg0, va_list ap)
{
	va_list count;
	va_copy(count, ap);
	size_t n = 0;
	for (const char *a = arg0; a; a = va_arg(count, const char *))
		n++;
	va_end(count);
	char *argv[n + 1];
	argv[0] = (char *)arg0;
	for (size_t i = 1; i <= n; i++)
		argv[i] = va_arg(ap, char *); /* the last is the NULL that ends the list */
	char *const *envp = by == EXEC_PATH_ENV ? va_arg(ap, char *const *) : environ;
	return by == EXEC_SEARCH ? process_execvpe(path, argv, envp)
	                         : process_execve(path, argv, envp);
}

EXPORT int execl(const char *path, const char *arg0, ...)
{
	va_list ap;
	va_start(ap, arg0);
	int rc = hooks_execl(EXEC_PATH, path, hooks_opaque(arg0), ap);
	va_end(ap);
	return rc;
}

EXPORT int execlp(const char *file, const char *arg0, ...)
{
	va_list ap;
	va_start(ap, arg0);
	int rc = hooks_execl(EXEC_SEARCH, file, hooks_opaque(arg0), ap);
	va_end(ap);
	return rc;
}

EXPORT int execle(const char *path, const char *arg0, ...)
{
	va_list ap;
	va_start(ap, arg0);
	int rc = hooks_execl(EXEC_PATH_ENV, path, hooks_opaque(arg0), ap);
	va_end(ap);
	return rc;
}

/* The hooks' own addresses, for an attach (hooks.h). */
#pragma GCC diagnostic ignored "-Wmissing-attributes"
HOOK_ALIAS(dlclose);
HOOK_ALIAS(execve);
HOOK_ALIAS(execv);
HOOK_ALIAS(execvpe);
HOOK_ALIAS(execvp);
HOOK_ALIAS(fexecve);
HOOK_ALIAS(execveat);
HOOK_ALIAS(_exit);
HOOK_ALIAS(_Exit);
HOOK_ALIAS(_Fork);
HOOK_ALIAS(execl);
HOOK_ALIAS(execlp);
HOOK_ALIAS(execle);
