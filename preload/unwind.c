/*
 * unwind.c — stack capture: a walk by cached frame rules, libgcc's
 * unwinder for the rest (see unwind.h).
 *
 * The walk starts at its own frame (kept with a frame pointer: it asks
 * for its frame address) and steps out one frame at a time: the rule of
 * the frame at pc (cfi.h) gives its CFA, the return address and the
 * caller's rbp; every read is a word of the thread's own stack, between
 * the stack pointer and the top stackroom.h knows, so a wrong rule gives a
 * wrong stack, never a fault.  Rules are cached by pc in a table of
 * UNWIND_CACHE slots, written and read without a lock: a writer claims a
 * slot by compare-and-swap (busy) or gives up, stores the rule, then the
 * pc; a reader takes the rule only if the slot held its pc before and
 * after (a seqlock's check).  unwind_forget empties the table when a
 * module goes: another object may be loaded at its address.
 */
#include "unwind.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <string.h>
#include <unwind.h>

#include "cfi.h"
#include "stash.h"

#define UNWIND_CACHE 4096 /* slots; a power of two */
#define UNWIND_BUSY 1     /* a slot being written (no pc is 1) */

extern void *__libc_stack_end; /* the kernel's stack top at start-up (ld.so) */

static uintptr_t self_lo, self_hi;
static uintptr_t trampoline_return; /* unwind_trampoline's */

static struct {
	_Atomic uint64_t pc; /* 0: empty */
	_Atomic uint64_t rule;
} cache[UNWIND_CACHE];

/* ---- the cache ---------------------------------------------------------- */

static uint64_t unwind_pack(const struct cfi_rule *r)
{
	return (uint64_t)(uint32_t)r->cfa_off | (uint64_t)(uint16_t)r->rbp_off << 32 |
	       (uint64_t)(uint8_t)r->ra_off << 48 | (uint64_t)r->kind << 56 |
	       (uint64_t)r->cfa_rbp << 60 | (uint64_t)r->rbp_saved << 61;
}

static void unwind_unpack(uint64_t v, struct cfi_rule *r)
{
	r->cfa_off = (int32_t)(uint32_t)v;
	r->rbp_off = (int16_t)(uint16_t)(v >> 32);
	r->ra_off = (int8_t)(uint8_t)(v >> 48);
	r->kind = (v >> 56) & 3;
	r->cfa_rbp = (v >> 60) & 1;
	r->rbp_saved = (v >> 61) & 1;
}

static size_t unwind_slot(uintptr_t pc)
{
	return (size_t)((pc * 0x9e3779b97f4a7c15ull) >> 52) & (UNWIND_CACHE - 1);
}

/* The rule at pc, from the cache or read and cached now. */
static void unwind_rule(uintptr_t pc, struct cfi_rule *r)
{
	size_t i = unwind_slot(pc);
	/* A rule stored after a writer claimed the slot (released, acquired
	 * here) shows the second look the claim. */
	if (atomic_load_explicit(&cache[i].pc, memory_order_acquire) == pc) {
		uint64_t v = atomic_load_explicit(&cache[i].rule, memory_order_acquire);
		if (atomic_load_explicit(&cache[i].pc, memory_order_relaxed) == pc) {
			unwind_unpack(v, r);
			return;
		}
	}
	cfi_rule_at(pc, r);
	uint64_t seen = atomic_load_explicit(&cache[i].pc, memory_order_relaxed);
	if (seen == UNWIND_BUSY ||
	    !atomic_compare_exchange_strong(&cache[i].pc, &seen, (uint64_t)UNWIND_BUSY))
		return; /* another writer has it: do without */
	atomic_store_explicit(&cache[i].rule, unwind_pack(r), memory_order_release);
	atomic_store_explicit(&cache[i].pc, pc, memory_order_release);
}

void unwind_trampoline(uintptr_t ret)
{
	trampoline_return = ret;
}

void unwind_forget(void)
{
	for (size_t i = 0; i < UNWIND_CACHE; i++)
		atomic_store_explicit(&cache[i].pc, 0, memory_order_relaxed);
}

/* ---- the walk ----------------------------------------------------------- */

/* A word of the stack between sp and hi, or false. */
static bool unwind_read(uintptr_t at, uintptr_t sp, uintptr_t hi, uintptr_t *v)
{
	if (at < sp || at > hi - sizeof(uintptr_t) || at % sizeof(uintptr_t))
		return false;
	*v = *(const uintptr_t *)at;
	return true;
}

/* From the frame of this function out, into buf (room entries): the number
 * of frames, or -1 where a rule is not one the walk follows (the caller
 * then asks libgcc).  *more: a frame past the room. */
static __attribute__((noinline)) int unwind_walk(uintptr_t *buf, uint32_t room, bool *more,
                                                 uintptr_t hi)
{
	const uintptr_t *fp = __builtin_frame_address(0);
	uintptr_t pc = fp[1], sp = (uintptr_t)(fp + 2), rbp = fp[0];
	uint32_t n = 0;
	while (pc) {
		if (n == room) {
			*more = true;
			break;
		}
		buf[n++] = pc;
		struct cfi_rule r;
		unwind_rule(pc, &r);
		if (r.kind == CFI_END)
			break;
		if (r.kind != CFI_STEP)
			return -1;
		uintptr_t cfa = (r.cfa_rbp ? rbp : sp) + (intptr_t)r.cfa_off;
		if (cfa <= sp || cfa > hi || !unwind_read(cfa + (intptr_t)r.ra_off, sp, hi, &pc) ||
		    (r.rbp_saved && !unwind_read(cfa + (intptr_t)r.rbp_off, sp, hi, &rbp)))
			return -1;
		sp = cfa;
	}
	return (int)n;
}

/* ---- libgcc's unwinder, for the stacks the walk does not follow -------- */

struct unwind_gcc {
	uintptr_t *buf;
	uint32_t n, room;
	bool more;
};

static _Unwind_Reason_Code unwind_gcc_frame(struct _Unwind_Context *ctx, void *arg)
{
	struct unwind_gcc *w = arg;
	int before; /* 1: a signal frame, the pc is not a return address */
	uintptr_t pc = _Unwind_GetIPInfo(ctx, &before);
	if (!pc)
		return _URC_END_OF_STACK;
	if (w->n == w->room) {
		w->more = true;
		return _URC_END_OF_STACK;
	}
	w->buf[w->n++] = pc + (before != 0);
	return _URC_NO_REASON;
}

static uint32_t unwind_gcc(uintptr_t *buf, uint32_t room, bool *more)
{
	struct unwind_gcc w = {.buf = buf, .room = room};
	/* Whatever it returns, the frames before an error are good. */
	(void)_Unwind_Backtrace(unwind_gcc_frame, &w);
	*more = w.more;
	return w.n;
}

/* ---- capture ------------------------------------------------------------ */

/* Our own object's range from _dl_find_object, which takes no lock: the
 * profile may be begun by a thread that holds a mutex while another, made
 * by glibc itself (a SIGEV_THREAD timer), holds the loader's lock in a
 * dl_iterate_phdr callback that waits for that mutex (loader.h's phdr
 * rule).  The whole mapping, not only its text: no return address lies in
 * our data. */
void unwind_init(void)
{
	uintptr_t buf[4 + STASH_SLACK]; /* what unwind_capture may fill for depth 4 */
	bool truncated;
	struct dl_find_object f;
	if (_dl_find_object((void *)unwind_init, &f) == 0) {
		self_lo = (uintptr_t)f.dlfo_map_start;
		self_hi = (uintptr_t)f.dlfo_map_end;
	} else {
		self_lo = self_hi = 0;
	}
	(void)unwind_capture(buf, 4, 0, &truncated); /* libgcc's pthread_once, now */
}

/* The highest stack address the walk may read: the thread's top; the
 * main thread's frames all lie below where the kernel started it. */
static uintptr_t unwind_top(uintptr_t hi)
{
	uintptr_t start = (uintptr_t)__libc_stack_end;
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	return start > here && start < hi ? start : hi;
}

uint32_t unwind_capture(uintptr_t *buf, uint32_t depth, uintptr_t stack_hi, bool *truncated)
{
	uint32_t room = depth + STASH_SLACK, n;
	bool more = false;
	int walked = stack_hi ? unwind_walk(buf, room, &more, unwind_top(stack_hi)) : -1;
	if (walked >= 0) {
		n = (uint32_t)walked;
	} else {
		more = false;
		n = unwind_gcc(buf, room, &more);
	}
	/* Our frames out, wherever they are: the hooks' at the inner end,
	 * the thread start wrapper's (hooks_thread.c) at the outer; and the
	 * frame a trampoline of ours made return through (unwind.h). */
	uint32_t got = 0;
	for (uint32_t i = 0; i < n; i++)
		if ((buf[i] < self_lo || buf[i] >= self_hi) &&
		    !(i + 1 < n && buf[i + 1] == trampoline_return && trampoline_return))
			buf[got++] = buf[i];
	*truncated = got > depth || more;
	return got > depth ? depth : got;
}
