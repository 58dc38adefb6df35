/*
 * test_loader.c — the phdr rule and the fork gate (preload/loader.c), on a
 * struct loader of the test's own, with real threads.
 *
 * Tests: an unsafe child never enters; a thread that meets the shut gate
 * sleeps until the fork is done and then enters; it gives up after its
 * bound for one fork that never ends, but not while forks come and go (the
 * bound is for each fork); fork's prepare waits for a stretch in flight to
 * end, and not for the forking thread's own; a child whose fork caught
 * another thread inside is unsafe, one that forked from inside its own
 * stretch is not and ends it with the count at zero; an unwind waits for
 * neither dl_iterate_phdr nor a fork, and an unsafe child takes none.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "loader.h"
#include "stash.h"

static struct loader l;

static void loader_fresh(void)
{
	memset(&l, 0, sizeof(l));
}

TestSuite(loader, .init = loader_fresh);

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

Test(loader, an_unsafe_child_never_enters)
{
	struct lc_tls t = {0};
	struct loader_stretch s;
	l.unsafe = true;
	cr_assert(!loader_enter(&l, &t, &s));
	cr_assert_eq(atomic_load(&l.users), 0);
}

struct entrant {
	atomic_bool started;
	bool entered;
	uint64_t waited_ns, entered_ns;
};

static void *entrant_main(void *arg)
{
	struct entrant *e = arg;
	struct lc_tls t = {0};
	struct loader_stretch s;
	uint64_t t0 = clock_mono_ns();
	atomic_store(&e->started, true);
	e->entered = loader_enter(&l, &t, &s);
	e->entered_ns = clock_mono_ns();
	e->waited_ns = e->entered_ns - t0;
	if (e->entered)
		loader_leave(&l, &t, &s);
	return NULL;
}

Test(loader, the_shut_gate_holds_a_thread_until_the_fork_is_done)
{
	pthread_t th;
	struct entrant e = {0};
	loader_fork_prepare(&l, &(struct lc_tls){0});
	pthread_create(&th, NULL, entrant_main, &e);
	while (!atomic_load(&e.started))
		sleep_ms(1);
	sleep_ms(100);
	/* Not "waited 90 ms": a thread of a loaded machine may reach the
	 * gate late.  Whenever it reached it, it entered after the fork. */
	uint64_t done_ns = clock_mono_ns();
	loader_fork_parent(&l);
	pthread_join(th, NULL);
	cr_assert(e.entered, "entered once the fork was done");
	cr_assert_geq(e.entered_ns, done_ns, "entered %lu ns before the fork was done",
	              (unsigned long)(done_ns - e.entered_ns));
	cr_assert_eq(atomic_load(&l.users), 0);
}

Test(loader, a_fork_that_never_ends_is_waited_for_a_bounded_time)
{
	pthread_t th;
	struct entrant e = {0};
	atomic_store(&l.fork_gate, 1); /* prepared, and never done */
	pthread_create(&th, NULL, entrant_main, &e);
	pthread_join(th, NULL);
	cr_assert(!e.entered);
	cr_assert_geq(e.waited_ns, LOADER_GATE_WAIT_NS);
	cr_assert_lt(e.waited_ns, 3 * LOADER_GATE_WAIT_NS);
}

/* Forks one after another, each shorter than the bound, the gate never
 * open for long: a waiter that sleeps through one into the next waits
 * for the next afresh, and enters when they stop. */
Test(loader, the_bound_is_for_each_fork)
{
	pthread_t th;
	struct entrant e = {0};
	struct lc_tls self = {0};
	loader_fork_prepare(&l, &self);
	pthread_create(&th, NULL, entrant_main, &e);
	uint64_t until = clock_mono_ns() + 2 * LOADER_GATE_WAIT_NS;
	while (clock_mono_ns() < until) {
		sleep_ms(300);
		/* done and the next one prepared at once: the gate stays shut */
		atomic_fetch_add(&l.fork_gate, 1);
		loader_fork_parent(&l);
	}
	loader_fork_parent(&l);
	pthread_join(th, NULL);
	cr_assert(e.entered, "the bound ran out over several forks");
	cr_assert_geq(e.waited_ns, 2 * LOADER_GATE_WAIT_NS);
}

struct stretcher {
	int hold_ms;
	_Atomic int inside;
	_Atomic uint64_t left_ns;
};

static void *stretcher_main(void *arg)
{
	struct stretcher *st = arg;
	struct lc_tls t = {0};
	struct loader_stretch s;
	cr_assert(loader_enter(&l, &t, &s));
	atomic_store(&st->inside, 1);
	sleep_ms(st->hold_ms);
	atomic_store(&st->left_ns, clock_mono_ns());
	loader_leave(&l, &t, &s);
	return NULL;
}

Test(loader, fork_waits_for_a_stretch_in_flight_to_end)
{
	pthread_t th;
	struct stretcher st = {.hold_ms = 50};
	pthread_create(&th, NULL, stretcher_main, &st);
	while (!atomic_load(&st.inside))
		sleep_ms(1);
	loader_fork_prepare(&l, &(struct lc_tls){0});
	uint64_t done = clock_mono_ns();
	cr_assert_eq(atomic_load(&l.users), 0, "drained");
	cr_assert(atomic_load(&st.left_ns) && atomic_load(&st.left_ns) <= done,
	          "prepare returned before the stretch ended");
	loader_fork_parent(&l);
	pthread_join(th, NULL);
}

/* A handler that forks from inside its own thread's stretch: the drain
 * does not wait for it, and the child is not unsafe — it finishes the
 * stretch and the count comes back to zero. */
Test(loader, a_fork_from_inside_the_own_stretch)
{
	struct lc_tls t = {0};
	struct loader_stretch s;
	cr_assert(loader_enter(&l, &t, &s));
	uint64_t t0 = clock_mono_ns();
	loader_fork_prepare(&l, &t);
	cr_assert_lt(clock_mono_ns() - t0, LOADER_DRAIN_WAIT_NS, "waited for itself");
	loader_fork_child(&l, &t); /* as the child sees it */
	cr_assert(!l.unsafe, "the child's own stretch made it unsafe");
	loader_leave(&l, &t, &s);
	cr_assert_eq(atomic_load(&l.users), 0);
	struct loader_stretch s2;
	cr_assert(loader_enter(&l, &t, &s2), "the gate is open in the child");
	loader_leave(&l, &t, &s2);
}

Test(loader, a_child_whose_fork_caught_another_stretch_is_unsafe)
{
	struct lc_tls other = {0}, self = {0};
	struct loader_stretch s;
	cr_assert(loader_enter(&l, &other, &s));
	loader_fork_child(&l, &self);
	cr_assert(l.unsafe);
	cr_assert_eq(atomic_load(&l.users), 0);
	cr_assert(!loader_enter(&l, &self, &s));
}

Test(loader, unwinding_is_fenced_by_nothing_but_an_unsafe_child)
{
	static uintptr_t pcs[LC_DUMP_MAX_DEPTH + STASH_SLACK];
	struct lc_tls t = {.locks = 1}; /* holds a mutex */
	bool truncated;
	/* a thread holding a mutex while another is inside dl_iterate_phdr,
	 * one inside a callback, one during a fork being prepared: none of
	 * them waits for the loader, so each unwinds */
	atomic_store(&l.phdr_callers, 1);
	cr_assert_gt(loader_unwind(&l, &t, pcs, 32, &truncated), 0, "while dl_iterate_phdr runs");
	atomic_store(&l.fork_gate, 1);
	cr_assert_gt(loader_unwind(&l, &t, pcs, 32, &truncated), 0, "with the gate shut");
	cr_assert_eq(atomic_load(&l.users), 0, "an unwind is no stretch in the loader");
	l.unsafe = true;
	cr_assert_eq(loader_unwind(&l, &t, pcs, 32, &truncated), 0, "an unsafe child: never");
	cr_assert(!truncated);
}
