/*
 * stackscan.c — the conservative stack scan (see stackscan.h).
 *
 * Reads in chunks of STACKSCAN_CHUNK into one buffer; words are taken at
 * sp + 8k, where call and push leave them.  The signal frame's layout is
 * the kernel's x86-64 rt_sigframe: the restorer's address, then a
 * ucontext whose mcontext (at +48) holds the interrupted registers,
 * rsp at index 15.
 */
#include "stackscan.h"

#include "framewalk.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define STACKSCAN_CHUNK (256u << 10)
#define SIGFRAME_RSP (48 + 15 * 8) /* from the restorer's word */

struct region {
	uint64_t start, end;
};

struct scan {
	const struct unsafe_set *u;
	const struct maps *m;
	pid_t tid;
	struct region todo[STACKSCAN_REGIONS];
	size_t ntodo;
	struct stackscan *r;
	uint64_t *buf;
};

static bool scan_read(pid_t tid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {buf, len}, remote = {(void *)addr, len};

	return process_vm_readv(tid, &local, 1, &remote, 1, 0) == (ssize_t)len;
}

static void scan_unsafe(struct scan *s, const char *fmt, const struct unsafe_range *u)
{
	s->r->clean = false;
	if (!u)
		snprintf(s->r->why, sizeof(s->r->why), "%s", fmt);
	else if (u->reached)
		snprintf(s->r->why, sizeof(s->r->why), "%s code that %s jumps to", fmt, u->name);
	else
		snprintf(s->r->why, sizeof(s->r->why), "%s %s", fmt, u->name);
}

/* Queue [sp, end of its mapping), unless already queued. */
static bool scan_queue(struct scan *s, uint64_t sp)
{
	const struct maps_entry *e = maps_find(s->m, sp);

	for (size_t i = 0; i < s->ntodo; i++)
		if (sp >= s->todo[i].start && sp < s->todo[i].end)
			return true;
	if (!e || !e->read) {
		scan_unsafe(s, "its stack pointer is in no readable mapping", NULL);
		return false;
	}
	if (s->ntodo == STACKSCAN_REGIONS) {
		scan_unsafe(s, "too many stacks (nested signal frames) to scan", NULL);
		return false;
	}
	s->todo[s->ntodo++] = (struct region){sp & ~7ull, e->end};
	return true;
}

/* A signal frame at addr: go on from the stack pointer it saved. */
static bool scan_sigframe(struct scan *s, uint64_t addr)
{
	uint64_t rsp;

	if (!scan_read(s->tid, addr + SIGFRAME_RSP, &rsp, sizeof(rsp)))
		return true; /* not a whole frame: a stale word, nothing to follow */
	return maps_find(s->m, rsp) ? scan_queue(s, rsp) : true;
}

static bool scan_region(struct scan *s, struct region g)
{
	for (uint64_t at = g.start; at < g.end;) {
		size_t len = g.end - at > STACKSCAN_CHUNK ? STACKSCAN_CHUNK : (size_t)(g.end - at);
		if ((s->r->bytes += len) > STACKSCAN_MAX_BYTES) {
			scan_unsafe(s, "its stack is larger than the scan's limit", NULL);
			return false;
		}
		if (!scan_read(s->tid, at, s->buf, len)) {
			scan_unsafe(s, "its stack cannot be read", NULL);
			return false;
		}
		for (size_t i = 0; i < len / 8; i++) {
			const struct unsafe_range *u = unsafe_word(s->u, s->buf[i]);
			if (u) {
				s->r->hit_at = at + 8 * i;
				s->r->hit = s->buf[i];
				scan_unsafe(s, "inside", u);
				return false;
			}
			if (unsafe_is_restorer(s->u, s->buf[i]) && !scan_sigframe(s, at + 8 * i))
				return false;
		}
		at += len;
	}
	return true;
}

/* The conservative scan alone. */
static void scan_conservative(struct scan *s, uint64_t sp, uint64_t pc)
{
	const struct unsafe_range *at = unsafe_pc(s->u, pc);

	if (at) {
		scan_unsafe(s, "executing", at);
		return;
	}
	if (!scan_queue(s, sp))
		return;
	s->buf = malloc(STACKSCAN_CHUNK);
	if (!s->buf) {
		scan_unsafe(s, "out of memory for its stack", NULL);
		return;
	}
	for (size_t i = 0; i < s->ntodo; i++)
		if (!scan_region(s, s->todo[i]))
			break;
	free(s->buf);
}

/* The walk's opinion of a hit. */
static void scan_second_opinion(const struct stackscan_ctx *c, pid_t tid,
                                const struct stackscan_regs *regs, struct stackscan *r)
{
	struct framewalk w;
	char hit[128];

	framewalk_thread(c->objs, c->u, tid, regs->pc, regs->sp, regs->bp, regs->bp_known, &w);
	snprintf(hit, sizeof(hit), "%.127s", r->why);
	if (w.end == FRAMEWALK_COMPLETE) {
		r->verdict = STACKSCAN_STALE;
		r->clean = true;
		snprintf(r->why, sizeof(r->why), "a stale word %s (%u frames, none there)", hit,
		         w.frames);
	} else if (w.end == FRAMEWALK_UNSAFE) {
		r->verdict = STACKSCAN_UNSAFE;
		if (w.hit->reached)
			snprintf(r->why, sizeof(r->why), "inside code that %s jumps to",
			         w.hit->name);
		else
			snprintf(r->why, sizeof(r->why), "inside %s", w.hit->name);
	} else {
		r->verdict = STACKSCAN_DOUBT;
		snprintf(r->why, sizeof(r->why),
		         "%s (maybe stale: the frame walk stopped at %.90s)", hit, w.why);
	}
}

void stackscan_thread(const struct stackscan_ctx *c, pid_t tid, const struct stackscan_regs *regs,
                      struct stackscan *r)
{
	struct scan s = {.u = c->u, .m = c->maps, .tid = tid, .r = r};
	const struct maps_entry *e = maps_find(c->maps, regs->sp);

	memset(r, 0, sizeof(*r));
	r->clean = true;
	r->stack_start = e ? e->start : 0;
	r->stack_end = e ? e->end : 0;
	r->on_main_stack = e && strcmp(e->path, "[stack]") == 0;
	scan_conservative(&s, regs->sp, regs->pc);
	if (r->clean)
		return;
	r->verdict = STACKSCAN_UNSAFE;
	if (!unsafe_pc(c->u, regs->pc)) /* a pc in the set is no stale word */
		scan_second_opinion(c, tid, regs, r);
}
