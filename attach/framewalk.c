/*
 * framewalk.c — the precise walk over a thread's frames (see framewalk.h).
 *
 * A frame is (pc, exact): exact for the innermost pc and for the one a
 * signal interrupted (the instruction itself), not for a return address
 * (the call is the byte before it).  The rule is looked up at pc, or
 * pc - 1.  The signal frame is the kernel's x86-64 rt_sigframe: when a
 * handler returns to __restore_rt its rsp points at the ucontext, whose
 * mcontext (at +40) holds the interrupted rbp, rsp and rip at indexes 10,
 * 15 and 16.
 */
#include "framewalk.h"

#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "cfi.h"

#define UC_MCONTEXT 40
#define GREG_RBP 10
#define GREG_RSP 15
#define GREG_RIP 16

struct regs {
	uint64_t pc, sp, bp;
	bool exact, bp_known;
};

static bool walk_read(pid_t tid, uint64_t addr, uint64_t *v)
{
	struct iovec local = {v, sizeof(*v)}, remote = {(void *)addr, sizeof(*v)};

	return process_vm_readv(tid, &local, 1, &remote, 1, 0) == (ssize_t)sizeof(*v);
}

static void walk_stop(struct framewalk *w, const char *why, uint64_t pc)
{
	w->end = FRAMEWALK_INCOMPLETE;
	snprintf(w->why, sizeof(w->why), "%s at pc %#llx", why, (unsigned long long)pc);
}

/* Step out of a signal frame: the interrupted registers. */
static bool walk_sigframe(pid_t tid, struct regs *r)
{
	uint64_t mc = r->sp + UC_MCONTEXT, sp, pc, bp;

	if (!walk_read(tid, mc + 8 * GREG_RSP, &sp) || !walk_read(tid, mc + 8 * GREG_RIP, &pc) ||
	    !walk_read(tid, mc + 8 * GREG_RBP, &bp))
		return false;
	*r = (struct regs){pc, sp, bp, true, true};
	return true;
}

/* One step out with the CFI rule at r->pc: 1 stepped, 0 the outermost
 * frame, -1 not understood (w says why). */
static int walk_step(const struct objects *objs, pid_t tid, struct regs *r, struct framewalk *w)
{
	uint64_t at = r->exact ? r->pc : r->pc - 1, start, end, cfa, ra, bp = r->bp;
	const struct object *o = objects_find(objs, at);
	const unsigned char *fde;
	struct cfi_rule rule;

	if (!o || !o->have_eh || !ehframe_find(&o->eh, at - o->bias, &start, &end, &fde)) {
		walk_stop(w, o ? "no unwind table entry" : "code of no known object", r->pc);
		return -1;
	}
	cfi_rule_in_fde(fde, (uintptr_t)start, (uintptr_t)(at - o->bias), &rule);
	if (rule.kind == CFI_END)
		return 0;
	if (rule.kind != CFI_STEP || (rule.cfa_rbp && !r->bp_known)) {
		walk_stop(w, "a frame rule not followed", r->pc);
		return -1;
	}
	cfa = (rule.cfa_rbp ? r->bp : r->sp) + (uint64_t)(int64_t)rule.cfa_off;
	if (cfa <= r->sp || !walk_read(tid, cfa + (uint64_t)(int64_t)rule.ra_off, &ra) ||
	    (rule.rbp_saved && !walk_read(tid, cfa + (uint64_t)(int64_t)rule.rbp_off, &bp))) {
		walk_stop(w, "a frame that cannot be read", r->pc);
		return -1;
	}
	*r = (struct regs){ra, cfa, bp, false, r->bp_known || rule.rbp_saved};
	return 1;
}

void framewalk_thread(const struct objects *objs, const struct unsafe_set *u, pid_t tid,
                      uint64_t rip, uint64_t rsp, uint64_t rbp, bool rbp_known, struct framewalk *w)
{
	struct regs r = {rip, rsp, rbp, true, rbp_known};

	memset(w, 0, sizeof(*w));
	for (w->frames = 0; w->frames < FRAMEWALK_MAX_FRAMES; w->frames++) {
		w->hit = r.exact ? unsafe_pc(u, r.pc) : unsafe_word(u, r.pc);
		if (w->hit) {
			w->end = FRAMEWALK_UNSAFE;
			return;
		}
		if (!r.exact && unsafe_is_restorer(u, r.pc)) {
			if (walk_sigframe(tid, &r))
				continue;
			walk_stop(w, "an unreadable signal frame", r.pc);
			return;
		}
		int rc = walk_step(objs, tid, &r, w);
		if (rc == 0)
			w->end = FRAMEWALK_COMPLETE;
		if (rc <= 0)
			return;
	}
	walk_stop(w, "too many frames", r.pc);
}
