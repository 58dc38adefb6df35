/*
 * test_initsite.c — the table of where locks were initialised
 * (preload/initsite.c), and its LOCK_INIT records through lockstate.
 *
 * Tests: note then find gives the stack and epoch back (cut at
 * LC_LOCK_INIT_FRAMES); a lock initialised again without a destroy keeps
 * one key and its last stack; forget makes find say none and frees the key
 * for another lock; a tiny table (its size is INITSITE_PROBES: every
 * lock's probes are the whole table) refuses the lock that finds no free
 * key, counts it, and still finds the others; init fails on an arena too
 * small.  publish appends nothing for an unknown lock and one LOCK_INIT
 * record, whole, for a known one; lockstate_get of a new lock appends its
 * LOCK record and then its LOCK_INIT record, once (a second get adds
 * nothing), and none without init sites (inits NULL) or for a lock the
 * table does not know.
 * Threads: four threads note, find and forget locks of their own over and
 * over in one small table: each find gives exactly the thread's own
 * stack.  A writer that initialises one lock again and again, each time
 * with a stack whose every frame is the round's number, while a reader
 * finds it: the reader never copies a torn stack (frames of two rounds) —
 * a copy caught in the middle of a write is refused (seqlock), not used.
 * Nothing here depends on timing: the assertions hold for any
 * interleaving.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "initsite.h"
#include "lockstate.h"
#include "pfiletest.h"

static struct arena arena;
static struct initsite is;

static void is_make(uint64_t nent)
{
	cr_assert_eq(arena_init(&arena, 4u << 20), 0);
	cr_assert_eq(initsite_init(&is, &arena, nent), 0);
}

/* n frames, each base + its index. */
static void stack_of(uintptr_t base, uintptr_t *pcs, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		pcs[i] = base + i;
}

static void expect_stack(uintptr_t lock, uintptr_t base, uint32_t n, uint32_t epoch)
{
	struct initsite_stack st;
	cr_assert(initsite_find(&is, lock, &st), "lock %#lx not found", (unsigned long)lock);
	cr_expect_eq(st.nframes, n);
	cr_expect_eq(st.epoch, epoch);
	for (uint32_t i = 0; i < st.nframes && i < n; i++)
		cr_expect_eq(st.pcs[i], base + i, "frame %u", i);
}

Test(initsite, note_then_find_gives_the_stack_back)
{
	uintptr_t pcs[LC_LOCK_INIT_FRAMES + 4];
	is_make(1024);
	stack_of(0x5000, pcs, 3);
	initsite_note(&is, 0x1000, pcs, 3, 7);
	expect_stack(0x1000, 0x5000, 3, 7);
	struct initsite_stack st;
	cr_expect(!initsite_find(&is, 0x2000, &st), "a lock never noted");
	stack_of(0x6000, pcs, LC_LOCK_INIT_FRAMES + 4);
	initsite_note(&is, 0x3000, pcs, LC_LOCK_INIT_FRAMES + 4, 0);
	expect_stack(0x3000, 0x6000, LC_LOCK_INIT_FRAMES, 0);
	initsite_note(&is, 0x4000, pcs, 0, 0);
	cr_expect(!initsite_find(&is, 0x4000, &st), "no frames: nothing noted");
}

Test(initsite, a_lock_initialised_again_keeps_its_last_stack)
{
	uintptr_t pcs[4];
	is_make(16);
	stack_of(0x5000, pcs, 4);
	initsite_note(&is, 0x1000, pcs, 4, 1);
	stack_of(0x7000, pcs, 2);
	initsite_note(&is, 0x1000, pcs, 2, 2);
	expect_stack(0x1000, 0x7000, 2, 2);
	/* one key: the other 15 still take 15 more locks */
	for (uintptr_t l = 1; l < INITSITE_PROBES; l++)
		initsite_note(&is, 0x10000 + 64 * l, pcs, 2, 0);
	cr_expect_eq(atomic_load(&is.refused), 0);
}

Test(initsite, forget_frees_the_key_for_another_lock)
{
	uintptr_t pcs[2];
	struct initsite_stack st;
	is_make(16);
	stack_of(0x5000, pcs, 2);
	for (uintptr_t l = 0; l < INITSITE_PROBES; l++)
		initsite_note(&is, 0x10000 + 64 * l, pcs, 2, 0);
	initsite_note(&is, 0x9000, pcs, 2, 0);
	cr_expect_eq(atomic_load(&is.refused), 1, "a full table refuses");
	cr_expect(!initsite_find(&is, 0x9000, &st));
	expect_stack(0x10000 + 64 * 5, 0x5000, 2, 0);
	initsite_forget(&is, 0x10000 + 64 * 5);
	cr_expect(!initsite_find(&is, 0x10000 + 64 * 5, &st), "destroyed: forgotten");
	initsite_forget(&is, 0xdead0); /* never noted: nothing happens */
	stack_of(0x8000, pcs, 2);
	initsite_note(&is, 0x9000, pcs, 2, 3);
	expect_stack(0x9000, 0x8000, 2, 3);
	cr_expect_eq(atomic_load(&is.refused), 1);
	for (uintptr_t l = 0; l < INITSITE_PROBES; l++)
		if (l != 5)
			expect_stack(0x10000 + 64 * l, 0x5000, 2, 0);
}

Test(initsite, init_fails_on_an_arena_too_small)
{
	cr_assert_eq(arena_init(&arena, 1u << 20), 0);
	cr_expect_neq(initsite_init(&is, &arena, 1u << 20), 0);
}

/* ---- records ------------------------------------------------------------------- */

static struct pfile file;

static uint64_t count_of(uint32_t type)
{
	return pft_walk_file(&file, NULL, NULL).by_type[type];
}

Test(initsite, publish_appends_one_whole_record_for_a_known_lock)
{
	uintptr_t pcs[3];
	is_make(1024);
	pft_open(&file, 4u << 20);
	stack_of(0x5000, pcs, 3);
	initsite_note(&is, 0x1000, pcs, 3, 4);
	cr_expect(!initsite_publish(&is, &file, 0x2000));
	cr_expect_eq(count_of(LC_REC_LOCK_INIT), 0);
	cr_expect(initsite_publish(&is, &file, 0x1000));
	const struct lc_rec_lock_init *r = pft_nth(&file, LC_REC_LOCK_INIT, 0);
	cr_assert_not_null(r);
	cr_expect_eq(r->addr, 0x1000);
	cr_expect_eq(r->epoch, 4);
	cr_expect_eq(r->nframes, 3);
	const uint64_t *f = (const uint64_t *)(r + 1);
	for (int i = 0; i < 3; i++)
		cr_expect_eq(f[i], 0x5000u + (unsigned)i);
	pft_close(&file);
}

Test(initsite, a_new_lock_entry_brings_its_init_record_once)
{
	struct lockstate ls;
	uintptr_t pcs[2];
	is_make(1024);
	pft_open(&file, 4u << 20);
	cr_assert_eq(lockstate_init(&ls, &arena, &file, 256), 0);
	stack_of(0x5000, pcs, 2);
	initsite_note(&is, 0x1000, pcs, 2, 0);
	initsite_note(&is, 0x2000, pcs, 2, 0);
	cr_assert_not_null(lockstate_get(&ls, 0x1000, LC_KIND_MUTEX));
	cr_expect_eq(count_of(LC_REC_LOCK_INIT), 0, "init sites off (inits NULL)");
	ls.inits = &is;
	cr_assert_not_null(lockstate_get(&ls, 0x2000, LC_KIND_MUTEX));
	cr_assert_not_null(lockstate_get(&ls, 0x2000, LC_KIND_MUTEX));
	cr_assert_not_null(lockstate_get(&ls, 0x3000, LC_KIND_MUTEX));
	cr_expect_eq(count_of(LC_REC_LOCK), 3);
	cr_expect_eq(count_of(LC_REC_LOCK_INIT), 1, "one for 0x2000, none for 0x3000");
	const struct lc_rec_lock_init *r = pft_nth(&file, LC_REC_LOCK_INIT, 0);
	cr_assert_not_null(r);
	cr_expect_eq(r->addr, 0x2000);
	pft_close(&file);
}

/* ---- threads ------------------------------------------------------------------- */

#define THREADS 4
#define ROUNDS 20000

static _Atomic int failures;

/* Each thread's locks and stacks are its own: every find sees them. */
static void *own_locks(void *arg)
{
	uintptr_t me = (uintptr_t)arg, pcs[LC_LOCK_INIT_FRAMES];
	for (int r = 0; r < ROUNDS; r++) {
		uintptr_t lock = 0x100000 * (me + 1) + 64 * (uintptr_t)(r % 8);
		stack_of(lock * 16, pcs, LC_LOCK_INIT_FRAMES);
		initsite_note(&is, lock, pcs, LC_LOCK_INIT_FRAMES, (uint32_t)me);
		struct initsite_stack st;
		bool ok = initsite_find(&is, lock, &st) && st.epoch == me &&
		          st.nframes == LC_LOCK_INIT_FRAMES;
		for (uint32_t i = 0; ok && i < st.nframes; i++)
			ok = st.pcs[i] == lock * 16 + i;
		if (!ok)
			atomic_fetch_add(&failures, 1);
		initsite_forget(&is, lock);
		if (initsite_find(&is, lock, &st))
			atomic_fetch_add(&failures, 1);
	}
	return NULL;
}

Test(initsite, threads_each_find_their_own_stacks)
{
	pthread_t th[THREADS];
	is_make(64);
	for (uintptr_t i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, own_locks, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	cr_expect_eq(atomic_load(&failures), 0);
	cr_expect_eq(atomic_load(&is.refused), 0, "8 locks a thread, 64 keys");
}

static _Atomic int writing = 1;

static void *reinit_forever(void *arg)
{
	(void)arg;
	uintptr_t pcs[LC_LOCK_INIT_FRAMES];
	for (uintptr_t r = 1; r <= ROUNDS * 10; r++) {
		for (int i = 0; i < LC_LOCK_INIT_FRAMES; i++)
			pcs[i] = r;
		initsite_note(&is, 0x1000, pcs, LC_LOCK_INIT_FRAMES, (uint32_t)r);
	}
	atomic_store(&writing, 0);
	return NULL;
}

Test(initsite, a_reader_never_copies_a_torn_stack)
{
	pthread_t th;
	uintptr_t pcs[LC_LOCK_INIT_FRAMES] = {0};
	is_make(64);
	initsite_note(&is, 0x1000, pcs, LC_LOCK_INIT_FRAMES, 0);
	pthread_create(&th, NULL, reinit_forever, NULL);
	long found = 0, torn = 0;
	while (atomic_load(&writing)) {
		struct initsite_stack st;
		if (!initsite_find(&is, 0x1000, &st))
			continue;
		found++;
		for (uint32_t i = 1; i < st.nframes; i++)
			torn += st.pcs[i] != st.pcs[0];
		torn += st.epoch != st.pcs[0];
	}
	pthread_join(th, NULL);
	cr_expect_eq(torn, 0, "%ld torn copies of %ld", torn, found);
	struct initsite_stack st;
	cr_assert(initsite_find(&is, 0x1000, &st), "the last stack, once the writer is done");
	cr_expect_eq(st.pcs[0], (uintptr_t)ROUNDS * 10);
	cr_expect_eq(st.pcs[LC_LOCK_INIT_FRAMES - 1], (uintptr_t)ROUNDS * 10);
}
