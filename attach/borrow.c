/*
 * borrow.c — choosing the thread and stopping it at a safe point (see
 * borrow.h).
 */
#include "borrow.h"

#include <errno.h>
#include <signal.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#include "procfs.h"
#include "stackscan.h"
#include "target.h"

enum tier { TIER_WAITING, TIER_RUNNING, TIER_RESTARTBLOCK, TIER_EINTR, TIERS, TIER_NONE = TIERS };

static const char *const tier_names[] = {"waiting", "running", "restart_block", "EINTR"};

/* What a first look, without stopping it, says of a thread's stack. */
enum look { LOOK_UNKNOWN, LOOK_CLEAN, LOOK_DOUBT, LOOK_UNSAFE };

struct cand {
	pid_t tid;
	uint64_t sp, pc; /* blocked: where, as /proc says */
	int tier;
	int look;          /* enum look */
	bool holder_check; /* blocked where it may hold a lock of the set */
	size_t order;      /* in /proc/PID/task: the main thread, then by age */
};

/* A blocked thread stopped and looked at: while /proc shows it blocked
 * at the same sp and pc, the verdict holds and it is not stopped again. */
struct seen {
	pid_t tid;
	uint64_t sp, pc;
	bool clean;
	char why[sizeof(((struct stackscan *)0)->why)]; /* not clean: where */
};

#define BORROW_SEEN 64

struct borrow {
	pid_t pid;
	struct seen seen[BORROW_SEEN];
	size_t nseen;
	bool holder;      /* the last round ended on a thread blocked in the set */
	struct maps maps; /* read again each round */
	struct stackscan_ctx scan;
	bool debug;
	uint64_t start;
	struct borrow_stats *stats;
	unsigned exist[TIERS]; /* threads of each kind this round, clean or not */
	char why[400];         /* the last thread passed over, and why */
};

static void borrow_pass(struct borrow *b, pid_t tid, const char *why)
{
	snprintf(b->why, sizeof(b->why), "thread %d %s", tid, why);
	if (b->debug)
		fprintf(stderr, "lockcontend-attach: debug: %.1f ms: %s\n",
		        (remote_now() - b->start) / 1e6, b->why);
}

/* How a thread blocked in system call sc comes back from a stop. */
static int borrow_syscall_tier(const struct procfs_syscall *sc)
{
	int op = (int)(sc->args[1] & FUTEX_CMD_MASK);

	switch (sc->nr) {
	case SYS_nanosleep:
	case SYS_clock_nanosleep:
	case SYS_restart_syscall: return TIER_RESTARTBLOCK;
	case SYS_futex:
		return (op == FUTEX_WAIT || op == FUTEX_WAIT_BITSET) && sc->args[3]
		           ? TIER_RESTARTBLOCK
		           : TIER_WAITING;
	case SYS_poll: return (int)sc->args[2] >= 0 ? TIER_RESTARTBLOCK : TIER_WAITING;
	case SYS_epoll_wait:
	case SYS_epoll_pwait:
	case SYS_epoll_pwait2:
	case SYS_rt_sigtimedwait:
	case SYS_semop:
	case SYS_semtimedop:
	case SYS_io_getevents:
	case SYS_io_pgetevents: return TIER_EINTR;
	default: return TIER_WAITING;
	}
}

/* Why /proc says thread tid must not be stopped, or NULL. */
static const char *borrow_unfit(const struct procfs_status *st, char *why, size_t cap)
{
	if (st->state == 'D')
		return "is in an uninterruptible sleep";
	if (st->state == 'T' || st->state == 't')
		return "is stopped";
	if (st->state == 'Z' || st->state == 'X')
		return "has exited";
	if (st->tracer) {
		snprintf(why, cap, "is traced by pid %d", st->tracer);
		return why;
	}
	return NULL;
}

/* A thread blocked in system call sc inside the set may keep a lock of it
 * for as long as it is blocked, unless it waits for a lock itself (a futex
 * wait: pthread_join, or a lock of the set it does not hold yet). */
static bool borrow_may_hold(const struct procfs_syscall *sc)
{
	return sc->nr != SYS_futex;
}

/* What a stop found of c, if it is still blocked where it was then. */
static const struct seen *borrow_seen(const struct borrow *b, const struct cand *c)
{
	for (size_t i = 0; i < b->nseen; i++)
		if (b->seen[i].tid == c->tid && b->seen[i].sp == c->sp && b->seen[i].pc == c->pc)
			return &b->seen[i];
	return NULL;
}

static void borrow_remember(struct borrow *b, const struct cand *c, const struct stackscan *scan)
{
	if (b->nseen >= BORROW_SEEN)
		return;
	struct seen *s = &b->seen[b->nseen++];
	*s = (struct seen){c->tid, c->sp, c->pc, scan->clean, ""};
	snprintf(s->why, sizeof(s->why), "%s", scan->why);
}

/* Look at thread tid from /proc alone: c->tier (TIER_NONE: not to be
 * stopped) and, blocked, c->look from its frozen stack.  1 when it is
 * blocked inside the set where it may hold a lock: the round ends. */
static int borrow_classify(struct borrow *b, pid_t tid, struct cand *c)
{
	struct procfs_status st;
	struct procfs_syscall sc;
	struct stackscan scan;
	char why[360];
	const char *unfit;

	c->tier = TIER_NONE;
	c->look = LOOK_UNKNOWN;
	if (procfs_status(b->pid, tid, &st) != 0)
		return 0;
	if ((unfit = borrow_unfit(&st, why, sizeof(why)))) {
		borrow_pass(b, tid, unfit);
		return 0;
	}
	if (procfs_syscall(b->pid, tid, &sc) != 0 || sc.where == PROCFS_RUNNING) {
		c->tier = TIER_RUNNING;
		return 0;
	}
	c->tier = sc.where == PROCFS_BLOCKED ? TIER_RUNNING : borrow_syscall_tier(&sc);
	c->holder_check = sc.where == PROCFS_IN_SYSCALL && borrow_may_hold(&sc);
	c->sp = sc.sp;
	c->pc = sc.pc;
	const struct seen *seen = borrow_seen(b, c);
	struct stackscan_regs regs = {.pc = sc.pc, .sp = sc.sp};
	if (seen)
		scan.verdict = seen->clean ? STACKSCAN_CLEAN : STACKSCAN_UNSAFE;
	else
		stackscan_thread(&b->scan, tid, &regs, &scan);
	c->look = scan.verdict == STACKSCAN_DOUBT    ? LOOK_DOUBT
	          : scan.verdict == STACKSCAN_UNSAFE ? LOOK_UNSAFE
	                                             : LOOK_CLEAN;
	if (c->look != LOOK_UNSAFE)
		return 0;
	/* Named again when the verdict is the one kept: the round may end on
	 * this thread, and the last reason must be its own, not one left by a
	 * thread tried since (it was: "was stopped", from its own restart). */
	snprintf(why, sizeof(why), "is blocked %s", seen ? seen->why : scan.why);
	borrow_pass(b, tid, why);
	return c->holder_check;
}

/* May a thread of this kind be taken in this round? */
static bool borrow_allowed(const struct borrow *b, int tier)
{
	bool half = remote_now() - b->start >= BORROW_BUDGET_NS / 2;
	unsigned better = b->exist[TIER_WAITING] + b->exist[TIER_RUNNING];

	switch (tier) {
	case TIER_WAITING:
	case TIER_RUNNING: return true;
	case TIER_RESTARTBLOCK: return b->stats->rounds >= 1 || better == 0;
	case TIER_EINTR: return half || better + b->exist[TIER_RESTARTBLOCK] == 0;
	default: return false;
	}
}

/* Give back a thread stopped for nothing (nothing was changed in it). */
static int borrow_give_back(struct borrow *b, struct remote *r, const char *why)
{
	borrow_pass(b, r->tid, why);
	remote_leave(r);
	return 1;
}

/* Stop thread tid and scan it with its registers: 0 stopped, its scan in
 * *scan; 1 it could not be stopped (gone, or stopped by a signal); -1. */
static int borrow_stop(struct borrow *b, pid_t tid, struct remote *r, struct stackscan *scan,
                       struct fail *f)
{
	int rc = remote_seize(r, b->pid, tid);

	if (rc == -EPERM)
		return target_explain_eperm(b->pid, f);
	if (rc == -ESRCH) {
		borrow_pass(b, tid, "has exited");
		return 1;
	}
	if (rc != 0)
		return fail_set(f, FAIL_REFUSED, "cannot trace thread %d of %d: %s", tid, b->pid,
		                strerror(-rc));
	if ((rc = remote_stop(r, f)) != 0) {
		if (rc == 1)
			borrow_pass(b, tid, r->skip);
		return rc;
	}
	b->stats->tries++;
	struct stackscan_regs regs = {r->saved.rip, r->saved.rsp, r->saved.rbp, true};
	stackscan_thread(&b->scan, tid, &regs, scan);
	if (b->debug && scan->verdict == STACKSCAN_STALE)
		borrow_pass(b, tid, scan->why);
	return 0;
}

/* 0 with a thread stopped where it may be borrowed, 1 to go on, -1. */
static int borrow_try(struct borrow *b, pid_t tid, struct remote *r, struct fail *f)
{
	struct stackscan scan;
	char why[360];
	int rc = borrow_stop(b, tid, r, &scan, f);

	if (rc != 0)
		return rc;
	if (r->in_restartblock && !borrow_allowed(b, TIER_RESTARTBLOCK))
		return borrow_give_back(b, r, "is in a call that restarts through restart_block");
	if (!scan.clean) {
		snprintf(why, sizeof(why), "was stopped %s", scan.why);
		return borrow_give_back(b, r, why);
	}
	if (!scan.on_main_stack && r->saved.rsp - scan.stack_start < BORROW_MIN_STACK) {
		snprintf(why, sizeof(why), "has less than %u KiB of stack left",
		         BORROW_MIN_STACK >> 10);
		return borrow_give_back(b, r, why);
	}
	return 0;
}

/* A blocked thread whose first look was in doubt, and which may hold a
 * lock: stopped a moment (its system call restarts exactly) for a look
 * with its registers.  1 if it holds one: the round ends. */
static int borrow_settle(struct borrow *b, struct cand *c, struct fail *f)
{
	struct remote r;
	struct stackscan scan;
	char why[360];
	int rc = borrow_stop(b, c->tid, &r, &scan, f);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	remote_leave(&r);
	c->look = scan.clean ? LOOK_CLEAN : LOOK_UNSAFE;
	borrow_remember(b, c, &scan);
	if (scan.clean)
		return 0;
	snprintf(why, sizeof(why), "is blocked %s", scan.why);
	borrow_pass(b, c->tid, why);
	return 1;
}

static int borrow_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->tier != y->tier)
		return x->tier - y->tier;
	if (x->look != y->look)
		return x->look - y->look; /* unknown (running) and clean before in doubt */
	return x->order < y->order ? -1 : x->order > y->order;
}

/* This round's threads, looked at from /proc (*n of them, best first);
 * 1 if one is blocked holding a lock of the set. */
static int borrow_candidates(struct borrow *b, struct cand *c, size_t *n, const pid_t *tids,
                             size_t ntids, struct fail *f)
{
	memset(b->exist, 0, sizeof(b->exist));
	b->holder = false;
	*n = 0;
	for (size_t i = 0; i < ntids; i++) {
		c[*n].tid = tids[i];
		c[*n].order = i;
		if (borrow_classify(b, tids[i], &c[*n]) != 0) {
			b->holder = true;
			return 1;
		}
		if (c[*n].tier != TIER_NONE)
			b->exist[c[(*n)++].tier]++;
	}
	for (size_t i = 0; i < *n; i++) {
		bool harmless = c[i].tier == TIER_WAITING || c[i].tier == TIER_RESTARTBLOCK;
		int rc = c[i].look == LOOK_DOUBT && c[i].holder_check && harmless
		             ? borrow_settle(b, &c[i], f)
		             : 0;
		if (rc < 0)
			return -1;
		if (rc > 0) {
			b->holder = true;
			return 1;
		}
	}
	qsort(c, *n, sizeof(*c), borrow_cmp);
	return 0;
}

/* Ctrl-C and kin are blocked while we work; between rounds they end it. */
static bool borrow_interrupted(void)
{
	sigset_t pending;

	return sigpending(&pending) == 0 &&
	       (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM) ||
	        sigismember(&pending, SIGHUP) || sigismember(&pending, SIGQUIT));
}

/* Try the candidates in order: 0 borrowed, 1 none. */
static int borrow_pick(struct borrow *b, const struct cand *c, size_t n, struct remote *r,
                       struct fail *f)
{
	int rc = 1;

	for (size_t i = 0; i < n && rc == 1 && b->stats->tries < BORROW_MAX_TRIES; i++) {
		if (c[i].look == LOOK_UNSAFE || !borrow_allowed(b, c[i].tier))
			continue;
		if (b->debug)
			fprintf(stderr,
			        "lockcontend-attach: debug: %.1f ms: trying thread %d (%s%s)\n",
			        (remote_now() - b->start) / 1e6, c[i].tid, tier_names[c[i].tier],
			        c[i].look == LOOK_DOUBT ? ", in doubt" : "");
		rc = borrow_try(b, c[i].tid, r, f);
	}
	return rc;
}

/* One round: 0 borrowed, 1 none this time, -1. */
static int borrow_round(struct borrow *b, struct remote *r, struct fail *f)
{
	pid_t *tids = NULL;
	size_t ntids = 0, n = 0;

	if (borrow_interrupted())
		return fail_set(f, FAIL_REFUSED, "interrupted; nothing was changed in %d", b->pid);
	maps_free(&b->maps);
	if (maps_read(b->pid, &b->maps) != 0 || remote_target_gone(b->pid) ||
	    procfs_tasks(b->pid, &tids, &ntids) != 0)
		return fail_set(f, FAIL_TARGET,
		                "%d exited while lockcontend-attach looked for a thread to borrow",
		                b->pid);
	struct cand *c = calloc(ntids + 1, sizeof(*c));
	int rc = c ? borrow_candidates(b, c, &n, tids, ntids, f)
	           : fail_set(f, FAIL_TARGET, "out of memory");
	if (rc == 0)
		rc = borrow_pick(b, c, n, r, f);
	free(c);
	free(tids);
	return rc;
}

static void borrow_nap(unsigned round, uint64_t left)
{
	uint64_t ns = (2ull * 1000 * 1000) << (round < 4 ? round : 4);

	if (ns > 20ull * 1000 * 1000)
		ns = 20ull * 1000 * 1000;
	if (ns > left)
		ns = left;
	struct timespec ts = {0, (long)ns};
	nanosleep(&ts, NULL);
}

/* Rounds until one borrows a thread, it fails, or the time is up. */
static int borrow_rounds(struct borrow *b, struct remote *r, struct fail *f)
{
	for (;; b->stats->rounds++) {
		int rc = borrow_round(b, r, f);
		if (rc <= 0)
			return rc;
		uint64_t spent = remote_now() - b->start;
		if (spent >= BORROW_BUDGET_NS || b->stats->tries >= BORROW_MAX_TRIES)
			return 1;
		borrow_nap(b->stats->rounds, BORROW_BUDGET_NS - spent);
	}
}

int borrow_thread(const struct locate *l, bool debug, struct remote *r, struct borrow_stats *stats,
                  struct fail *f)
{
	struct borrow b = {.pid = l->pid, .debug = debug, .stats = stats};

	memset(stats, 0, sizeof(*stats));
	b.scan = (struct stackscan_ctx){&l->unsafe, &b.maps, &l->objects};
	b.start = remote_now();
	snprintf(b.why, sizeof(b.why), "no thread could be borrowed");
	int rc = borrow_rounds(&b, r, f);
	maps_free(&b.maps);
	if (rc <= 0)
		return rc;
	if (b.holder)
		return fail_set(f, FAIL_REFUSED,
		                "%d: %s, where it may hold a lock that loading the library needs: "
		                "nothing was changed; try again when it has left",
		                l->pid, b.why);
	return fail_set(f, FAIL_REFUSED,
	                "no thread of %d was at a safe point within %.1f s (%u stopped and given "
	                "back untouched; last, %s): nothing was changed, try again",
	                l->pid, BORROW_BUDGET_NS / 1e9, stats->tries, b.why);
}
