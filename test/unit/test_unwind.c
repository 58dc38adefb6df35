/*
 * test_unwind.c — stack capture (preload/unwind.c, preload/cfi.c) on this
 * test's own stacks, built -O2 without frame pointers: the unwind tables
 * only.  Each test runs on a thread with a stack of its own memory, whose
 * top it passes as stackroom.c's bounds would.
 *
 * Tests: the walk by cached frame rules gives the very frames libgcc's
 * unwinder gives, through this program, libcriterion and libc, the first
 * time and from the cache; a stack cut at depth is truncated and one that
 * fits is not, to the frame; an unwind in a signal handler goes on through
 * the signal frame (libgcc's part) past the function that raised it; the
 * stack an unwind uses below its caller leaves half of stackroom.h's
 * STACKROOM_UNWIND; unwind_init called from deep inside a program (a
 * constructor run by dlopen) stays in its buffer.
 */
#include <criterion/criterion.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "stackroom.h"
#include "stash.h"
#include "unwind.h"

#define THREAD_STACK (256 * 1024)
static unsigned char *stack_mem;

/* Run fn on a thread with a stack of its own memory, its bounds known. */
static uintptr_t stack_hi; /* what the captures pass: 0 asks for libgcc's */

static void *on_known_stack_main(void *arg)
{
	stack_hi = (uintptr_t)stack_mem + THREAD_STACK;
	((void (*)(void))arg)();
	return NULL;
}

static void on_known_stack(void (*fn)(void))
{
	stack_mem = aligned_alloc(4096, THREAD_STACK);
	cr_assert(stack_mem);
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setstack(&at, stack_mem, THREAD_STACK);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, &at, on_known_stack_main, (void *)fn), 0);
	pthread_join(th, NULL);
	pthread_attr_destroy(&at);
	free(stack_mem);
}

/* Recursion that neither inlines nor becomes a loop: each level a frame,
 * in two functions that call each other by the bits of path. */
static __attribute__((noinline)) void at_depth_b(int d, unsigned path, void (*fn)(void));

static __attribute__((noinline)) void at_depth_a(int d, unsigned path, void (*fn)(void))
{
	if (d == 0)
		fn();
	else if (path & 1)
		at_depth_b(d - 1, path >> 1, fn);
	else
		at_depth_a(d - 1, path >> 1, fn);
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void at_depth_b(int d, unsigned path, void (*fn)(void))
{
	char pad[64 * ((path & 3) + 1)]; /* frames of several sizes */
	__asm__ volatile("" : : "r"(pad) : "memory");
	if (d == 0)
		fn();
	else if (path & 2)
		at_depth_a(d - 1, path >> 1, fn);
	else
		at_depth_b(d - 1, path >> 1, fn);
	__asm__ volatile("" ::: "memory");
}

/* ---- the walk and libgcc agree ---- */

static uintptr_t walked[LC_DUMP_MAX_DEPTH + STASH_SLACK], by_gcc[LC_DUMP_MAX_DEPTH + STASH_SLACK];
static uint32_t n_walked, n_gcc;

static void capture_both(void)
{
	bool t;
	n_walked = unwind_capture(walked, LC_DUMP_MAX_DEPTH, stack_hi, &t);
	n_gcc = unwind_capture(by_gcc, LC_DUMP_MAX_DEPTH, 0, &t); /* libgcc's */
}

/* The two differ at the inner end only: unwind.c's own frames, and the
 * two calls in capture_both.  From capture_both's caller on (the walk's
 * third frame), the same. */
static void assert_same_frames(unsigned path)
{
	cr_assert_gt(n_walked, 20, "path %u: the walk gave %u frames", path, n_walked);
	/* the innermost frame is where each began: not the same place */
	cr_assert_neq(walked[0], by_gcc[0], "path %u: the walk gave up and asked libgcc", path);
	uint32_t j = 0;
	while (j < n_gcc && by_gcc[j] != walked[2])
		j++;
	cr_assert_lt(j, n_gcc, "path %u: libgcc never reaches the walk's third frame", path);
	cr_assert_eq(n_walked - 2, n_gcc - j, "path %u: %u frames walked, %u by libgcc", path,
	             n_walked, n_gcc);
	for (uint32_t i = 2; i < n_walked; i++)
		cr_assert_eq(walked[i], by_gcc[j + i - 2], "path %u: frame %u differs", path, i);
}

static void agree_on_paths(void)
{
	for (unsigned path = 0; path < 64; path++) {
		for (int twice = 0; twice < 2; twice++) { /* rules read, then cached */
			at_depth_a(20, path * 2654435761u, capture_both);
			assert_same_frames(path);
		}
	}
}

Test(unwind, the_walk_gives_the_frames_libgcc_gives)
{
	on_known_stack(agree_on_paths);
}

/* ---- truncation ---- */

static uintptr_t pcs[LC_DUMP_MAX_DEPTH + STASH_SLACK];
static uint32_t whole, cut, all;
static bool whole_trunc, cut_trunc, wide_trunc, all_trunc;

static void capture_three_ways(void)
{
	all = unwind_capture(pcs, LC_DUMP_MAX_DEPTH, stack_hi, &all_trunc);
	whole = unwind_capture(pcs, all, stack_hi, &whole_trunc);
	cut = unwind_capture(pcs, all - 1, stack_hi, &cut_trunc);
	(void)unwind_capture(pcs, all + 1, stack_hi, &wide_trunc);
}

static void truncate_at_depth(void)
{
	at_depth_a(24, 0, capture_three_ways);
}

Test(unwind, truncated_exactly_when_the_stack_is_deeper_than_depth)
{
	on_known_stack(truncate_at_depth);
	cr_assert(!all_trunc && all > 24 && all < 60, "%u frames, truncated %d", all, all_trunc);
	cr_assert_eq(whole, all);
	cr_assert(!whole_trunc, "a stack of exactly depth frames is whole");
	cr_assert_eq(cut, all - 1);
	cr_assert(cut_trunc, "one frame more than depth is cut");
	cr_assert(!wide_trunc);
}

/* ---- signal frames ---- */

static uint32_t in_handler;
static uintptr_t handler_pcs[LC_DUMP_MAX_DEPTH + STASH_SLACK];
static uintptr_t beyond;

static void on_usr1(int sig)
{
	(void)sig;
	bool t;
	in_handler = unwind_capture(handler_pcs, LC_DUMP_MAX_DEPTH, stack_hi, &t);
}

/* Returns where it will return to: a frame only an unwind through the
 * signal frame reaches. */
static __attribute__((noinline)) uintptr_t raise_here(void)
{
	raise(SIGUSR1);
	__asm__ volatile("" ::: "memory");
	return (uintptr_t)__builtin_return_address(0);
}

static void raise_usr1(void)
{
	beyond = raise_here();
}

Test(unwind, a_handler_unwinds_through_the_signal_frame)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	on_known_stack(raise_usr1);
	cr_assert_gt(in_handler, 3);
	bool found = false;
	for (uint32_t i = 0; i < in_handler; i++)
		found |= handler_pcs[i] == beyond;
	cr_assert(found, "the handler's stack (%u frames) stops at the signal frame", in_handler);
}

/* ---- stack room ---- */

#define PAINT 0xa5
static size_t used_most;

/* Paint the stack below this frame, leaving a little for the call. */
static __attribute__((noinline)) void paint_below(void)
{
	uintptr_t end = (uintptr_t)__builtin_frame_address(0) - 256;
	for (volatile unsigned char *p = stack_mem; (uintptr_t)p < end; p++)
		*p = PAINT;
}

static __attribute__((noinline)) void measure_one(bool walk)
{
	uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
	bool t;
	paint_below();
	(void)unwind_capture(pcs, LC_DUMP_MAX_DEPTH, walk ? stack_hi : 0, &t);
	const unsigned char *p = stack_mem;
	while (*p == PAINT)
		p++;
	if (frame - (uintptr_t)p > used_most)
		used_most = frame - (uintptr_t)p;
}

static void measure(void)
{
	for (int i = 0; i < 20; i++)
		measure_one(i % 2);
}

static void measure_deep(void)
{
	at_depth_a(40, 0, measure);
}

Test(unwind, an_unwind_fits_in_half_of_stackroom)
{
	on_known_stack(measure_deep);
	/* our own frames above the unwinder take a few hundred bytes more */
	cr_assert_leq(used_most * 2, STACKROOM_UNWIND, "an unwind used %zu bytes of stack",
	              used_most);
}

/* ---- start-up from deep inside a program ---- */

/* unwind_init's warm-up capture once had room for 8 frames and asked for
 * up to depth + STASH_SLACK (20): called from deeper than 8 frames — a
 * library loaded by dlopen, whose constructor runs under a dozen of the
 * loader's frames — it wrote past its buffer over its own saved registers
 * (the program crashed in dlopen's caller). */
static volatile uintptr_t canary_seen;

static __attribute__((noinline)) void init_here(void)
{
	volatile uintptr_t canary[4] = {0xfeedface, 0xfeedface, 0xfeedface, 0xfeedface};
	unwind_init();
	canary_seen = canary[0] & canary[1] & canary[2] & canary[3];
}

static void init_deep(void)
{
	at_depth_a(24, 0, init_here);
}

Test(unwind, init_from_deep_inside_a_program_stays_in_its_buffer)
{
	on_known_stack(init_deep);
	cr_assert_eq(canary_seen, 0xfeedface);
}
