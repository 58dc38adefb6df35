/*
 * target.h — the refusals: what makes lockcontend-attach leave a process
 * alone, decided from /proc and the files before anything is touched.
 *
 * Each check fails with FAIL_REFUSED and one line that says what the
 * process is and what to do: no such process, a thread id rather than a
 * process, a zombie, a stopped process, one that is already traced (the
 * tracer named), a set-user-ID or set-group-ID program (real and
 * effective or saved ids differ) or one that is not dumpable, one in
 * another mount namespace or root directory, an executable that is not
 * x86-64 (32-bit x86 named) or is statically linked.  And for the library
 * to load: it must be a readable x86-64 shared object, and readable by
 * the target's own user (its dlopen opens it with the target's
 * credentials).  A check passed is advice only: ptrace has the last word
 * (target_explain_eperm turns its EPERM into the same kind of line).
 */
#ifndef LOCKCONTEND_ATTACH_TARGET_H
#define LOCKCONTEND_ATTACH_TARGET_H

#include <stddef.h>
#include <sys/types.h>

#include "fail.h"
#include "procfs.h"

/* The process checks; *st gets its status. */
int target_check(pid_t pid, struct procfs_status *st, struct fail *f);

/* The executable at path (the target's /proc/PID/exe): x86-64, dynamic. */
int target_check_exe(pid_t pid, const char *path, struct fail *f);

/* lib as an absolute path in abs, checked for us and for the target. */
int target_check_lib(const struct procfs_status *st, const char *lib, char *abs, size_t cap,
                     struct fail *f);

/* PTRACE_SEIZE (or a /proc file) said EPERM or EACCES: why, what to do. */
int target_explain_eperm(pid_t pid, struct fail *f);

#endif
