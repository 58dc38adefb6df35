/*
 * target.c — the refusals (see target.h).
 */
#include "target.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfimage.h"

#define CAP_SYS_PTRACE_BIT 19

static const char *target_user(uid_t uid, char *buf, size_t cap)
{
	struct passwd *pw = getpwuid(uid);

	snprintf(buf, cap, "%s (uid %u)", pw ? pw->pw_name : "?", (unsigned)uid);
	return buf;
}

static bool target_have_cap_ptrace(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return geteuid() == 0;
	buf[n] = '\0';
	const char *cap = strstr(buf, "CapEff:");
	return cap && (strtoull(cap + 7, NULL, 16) >> CAP_SYS_PTRACE_BIT & 1);
}

int target_explain_eperm(pid_t pid, struct fail *f)
{
	struct procfs_status st;
	char who[96], me[96];
	int scope = procfs_yama_scope();
	bool cap = target_have_cap_ptrace();
	uid_t uid;

	if (procfs_status(pid, 0, &st) == 0 && !cap && st.uid[0] != geteuid())
		return fail_set(
		    f, FAIL_REFUSED,
		    "not permitted to trace %d: it belongs to %s and you are %s; run as "
		    "that user, or as root (or with CAP_SYS_PTRACE)",
		    pid, target_user(st.uid[0], who, sizeof(who)),
		    target_user(geteuid(), me, sizeof(me)));
	if (!cap && scope >= 1 && scope <= 3)
		return fail_set(
		    f, FAIL_REFUSED,
		    "not permitted to trace %d: /proc/sys/kernel/yama/ptrace_scope is %d "
		    "(%s); run as root (or with CAP_SYS_PTRACE)%s",
		    pid, scope,
		    scope == 1   ? "only a parent may trace its children"
		    : scope == 2 ? "only CAP_SYS_PTRACE may trace"
		                 : "no process may trace another until reboot",
		    scope == 1 ? ", or set ptrace_scope to 0" : "");
	if (!cap && procfs_owner(pid, &uid) == 0 && uid == 0 && geteuid() != 0)
		return fail_set(f, FAIL_REFUSED,
		                "not permitted to trace %d: it is not dumpable (it changed its "
		                "credentials or asked not to be traced)",
		                pid);
	return fail_set(f, FAIL_REFUSED,
	                "not permitted to trace %d (a security module, SELinux or AppArmor, "
	                "forbids it?)",
	                pid);
}

/* A zombie whose threads all ended; a zombie leader whose threads run on
 * (main called pthread_exit) is not. */
static bool target_all_zombies(pid_t pid)
{
	pid_t *tids = NULL;
	size_t n = 0;
	bool all = true;

	if (procfs_tasks(pid, &tids, &n) != 0)
		return true;
	for (size_t i = 0; i < n && all; i++) {
		struct procfs_status t;
		all = procfs_status(pid, tids[i], &t) != 0 || t.state == 'Z' || t.state == 'X';
	}
	free(tids);
	return all;
}

static int target_check_tracer(pid_t pid, const struct procfs_status *st, struct fail *f)
{
	struct procfs_status tr;
	const char *name = procfs_status(st->tracer, 0, &tr) == 0 ? tr.name : "?";

	if (!st->tracer)
		return 0;
	return fail_set(f, FAIL_REFUSED,
	                "%d is already traced by %s (pid %d): a process has one tracer at a "
	                "time; detach or end it first",
	                pid, name, st->tracer);
}

static int target_check_ids(pid_t pid, const struct procfs_status *st, struct fail *f)
{
	uid_t owner;

	if (st->uid[0] != st->uid[1] || st->uid[0] != st->uid[2])
		return fail_set(
		    f, FAIL_REFUSED,
		    "%d runs a set-user-ID program (real uid %u, effective %u, saved %u): "
		    "lockcontend does not attach to one",
		    pid, st->uid[0], st->uid[1], st->uid[2]);
	if (st->gid[0] != st->gid[1] || st->gid[0] != st->gid[2])
		return fail_set(
		    f, FAIL_REFUSED,
		    "%d runs a set-group-ID program (real gid %u, effective %u, saved %u): "
		    "lockcontend does not attach to one",
		    pid, st->gid[0], st->gid[1], st->gid[2]);
	/* A daemon that dropped root's ids (memcached -u, a server's workers)
	 * is not dumpable; whoever may trace it anyway (root, CAP_SYS_PTRACE)
	 * adds nothing it did not have by loading a library into it. */
	if (!target_have_cap_ptrace() && procfs_owner(pid, &owner) == 0 && owner == 0 &&
	    st->uid[1] != 0)
		return fail_set(f, FAIL_REFUSED,
		                "%d is not dumpable (it changed its credentials or asked not to be "
		                "traced): lockcontend does not attach to it",
		                pid);
	return 0;
}

static int target_check_state(pid_t pid, const struct procfs_status *st, struct fail *f)
{
	if (st->tgid != pid)
		return fail_set(f, FAIL_REFUSED,
		                "%d is a thread of process %d: give the process id", pid, st->tgid);
	if ((st->state == 'Z' || st->state == 'X') && target_all_zombies(pid))
		return fail_set(f, FAIL_REFUSED,
		                "%d is a zombie: it has exited and waits for its parent to reap it",
		                pid);
	if (st->state == 'T')
		return fail_set(
		    f, FAIL_REFUSED,
		    "%d is stopped (SIGSTOP, Ctrl-Z): continue it first (kill -CONT %d)", pid, pid);
	return 0;
}

static int target_check_fs(pid_t pid, struct fail *f)
{
	bool same = true;
	const char *what = "";
	int rc = procfs_same_fs(pid, &same, &what);

	if (rc == -EACCES || rc == -EPERM)
		return target_explain_eperm(pid, f);
	if (rc != 0)
		return fail_set(f, FAIL_REFUSED, "cannot read /proc/%d/ns/mnt: %s", pid,
		                strerror(-rc));
	if (!same)
		return fail_set(
		    f, FAIL_REFUSED,
		    "%d is in another %s (a container?): its libc and the library's path "
		    "are not ours; run lockcontend-attach in its namespace (nsenter -t %d "
		    "-m)",
		    pid, what, pid);
	return 0;
}

int target_check_exe(pid_t pid, const char *path, struct fail *f)
{
	Elf64_Ehdr eh;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 && (errno == EACCES || errno == EPERM) && pid > 0)
		return target_explain_eperm(pid, f);
	if (fd < 0)
		return fail_set(f, FAIL_REFUSED, "cannot open %s: %s", path, strerror(errno));
	ssize_t n = pread(fd, &eh, sizeof(eh), 0);
	close(fd);
	if (n < EI_NIDENT || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
		return fail_set(f, FAIL_REFUSED, "%d: its program %s is not an ELF file", pid,
		                path);
	if (eh.e_ident[EI_CLASS] == ELFCLASS32 &&
	    (eh.e_machine == EM_386 || eh.e_machine == EM_X86_64))
		return fail_set(
		    f, FAIL_REFUSED,
		    "%d is a %s program: lockcontend-attach works on x86-64 programs only", pid,
		    eh.e_machine == EM_386 ? "32-bit x86" : "x32 (ILP32)");
	if (n != sizeof(eh) || eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64)
		return fail_set(
		    f, FAIL_REFUSED,
		    "%d is not an x86-64 program (ELF machine %u): lockcontend-attach works "
		    "on x86-64 programs only",
		    pid, eh.e_machine);
	struct elf_image img;
	struct fail ignore = {0};
	if (elf_open(&img, path, &ignore) != 0)
		return fail_set(f, FAIL_REFUSED, "%d: cannot read its program %s: %s", pid, path,
		                ignore.line);
	bool dynamic = elf_phdr(&img, PT_INTERP) != NULL;
	elf_close(&img);
	if (!dynamic)
		return fail_set(f, FAIL_REFUSED,
		                "%d is statically linked (no dynamic loader): a library cannot be "
		                "loaded into it",
		                pid);
	return 0;
}

int target_check(pid_t pid, struct procfs_status *st, struct fail *f)
{
	char exe[64];
	int rc = procfs_status(pid, 0, st);

	if (rc == -ENOENT || rc == -ESRCH)
		return fail_set(f, FAIL_REFUSED, "no process %d", pid);
	if (rc != 0)
		return fail_set(f, FAIL_REFUSED, "cannot read /proc/%d/status: %s", pid,
		                strerror(-rc));
	if (target_check_state(pid, st, f) != 0 || target_check_tracer(pid, st, f) != 0 ||
	    target_check_ids(pid, st, f) != 0 || target_check_fs(pid, f) != 0)
		return -1;
	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	return target_check_exe(pid, exe, f);
}

/* ---- the library --------------------------------------------------------------- */

/* May the target's file-system ids read (R_OK) or search (X_OK) s? */
static bool target_may(const struct stat *s, const struct procfs_status *t, int want)
{
	uid_t uid = t->uid[3];
	gid_t gid = t->gid[3];
	unsigned bits = s->st_mode;
	bool group = s->st_gid == gid;

	if (uid == 0) /* CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH */
		return true;
	for (size_t i = 0; i < t->ngroups && !group; i++)
		group = s->st_gid == t->groups[i];
	if (s->st_uid == uid)
		bits >>= 6;
	else if (group)
		bits >>= 3;
	return bits & (want == R_OK ? 4 : 1);
}

/* Every directory on abs's way searchable, and abs readable, for t. */
static int target_lib_reachable(const struct procfs_status *t, const char *abs, struct fail *f)
{
	char part[PATH_MAX], who[96];
	struct stat s;

	for (const char *slash = abs;; slash = strchr(slash + 1, '/')) {
		bool last = slash == NULL;
		size_t n = last ? strlen(abs) : (size_t)(slash - abs);
		snprintf(part, sizeof(part), "%.*s", (int)(n ? n : 1), abs);
		if (stat(part, &s) != 0)
			return fail_set(f, FAIL_REFUSED, "--lib %s: %s: %s", abs, part,
			                strerror(errno));
		if (!target_may(&s, t, last ? R_OK : X_OK))
			return fail_set(
			    f, FAIL_REFUSED,
			    "the target runs as %s, which cannot %s %s (mode %04o): put the "
			    "library where it can read it",
			    target_user(t->uid[3], who, sizeof(who)), last ? "read" : "search",
			    part, (unsigned)(s.st_mode & 07777));
		if (last)
			return 0;
	}
}

int target_check_lib(const struct procfs_status *st, const char *lib, char *abs, size_t cap,
                     struct fail *f)
{
	char real[PATH_MAX];
	struct elf_image img;

	if (!realpath(lib, real))
		return fail_set(f, FAIL_REFUSED, "--lib %s: %s", lib, strerror(errno));
	if (strlen(real) >= cap)
		return fail_set(f, FAIL_REFUSED, "--lib %s: path too long", lib);
	if (elf_open(&img, real, f) != 0)
		return -1;
	uint64_t flags = 0;
	bool pie = elf_dynamic(&img, DT_FLAGS_1, &flags) && (flags & DF_1_PIE);
	int type = img.eh->e_type;
	elf_close(&img);
	if (type != ET_DYN || pie)
		return fail_set(f, FAIL_REFUSED, "--lib %s is %s, not a shared library", real,
		                pie ? "a program" : "not position-independent");
	snprintf(abs, cap, "%s", real);
	return target_lib_reachable(st, abs, f);
}
