/*
 * test_gotpatch.c — GOT slots rewritten and given back
 * (preload/gotpatch.c), on this test program's own slots: getsid's in the
 * PLT (R_X86_64_JUMP_SLOT, lazily bound, a writable page) and the GOT
 * entry getpgrp is called through and its address read from
 * (R_X86_64_GLOB_DAT, in PT_GNU_RELRO: read-only).  `self` is libc, so
 * libc's own slots are left alone.
 *
 * Tests: after an update both the call and the address are the
 * replacement's, and each page has the protection it had; a second update
 * changes nothing; the address stored in data (R_X86_64_64) is out of
 * reach and counted; a restore gives both slots back; a slot changed by
 * the program since is left as it is, and counted.
 */
#include <criterion/criterion.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gotpatch.h"
#include "procmaps.h"

static pid_t instead(void)
{
	return -4242;
}

static pid_t instead_sid(pid_t pid)
{
	(void)pid;
	return -2121;
}

static pid_t other(void)
{
	return -1717;
}

/* getpgrp's address, stored in data at load time: not a GOT slot. */
static pid_t (*volatile in_data)(void) = getpgrp;

static const struct gotpatch_hook hooks[] = {{"getpgrp", (const void *)instead},
                                             {"getsid", (const void *)instead_sid}};

/* Calls through the PLT and reads the GOT, every time (no caching of
 * either by the compiler). */
static __attribute__((noinline)) pid_t call_it(void)
{
	__asm__ volatile("" ::: "memory");
	return getpgrp();
}

static __attribute__((noinline)) pid_t call_sid(void)
{
	__asm__ volatile("" ::: "memory");
	return getsid(0);
}

static __attribute__((noinline)) void *its_address(void)
{
	pid_t (*volatile fp)(void) = getpgrp;
	return (void *)fp;
}

static struct gotpatch g;

static void start(void)
{
	cr_assert_eq(gotpatch_init(&g, hooks, 2, (const void *)getpgrp, dl_iterate_phdr), 0);
}

/* The protection of the page that holds the GOT entry of getpgrp. */
static int got_prot(void)
{
	extern char _GLOBAL_OFFSET_TABLE_[] __attribute__((visibility("hidden")));
	struct procmaps_vma v;
	cr_assert(procmaps_find((uintptr_t)_GLOBAL_OFFSET_TABLE_ - 8, &v));
	return v.prot;
}

Test(gotpatch, rewritten_then_given_back, .init = start)
{
	pid_t real = call_it(), sid = call_sid();
	void *addr = its_address();
	int prot = got_prot();
	cr_assert_eq(prot & PROT_WRITE, 0, "the RELRO GOT is read-only before");
	gotpatch_update(&g);
	cr_assert_eq(call_it(), -4242);
	cr_assert_eq(call_sid(), -2121);
	cr_assert_eq(its_address(), (void *)instead);
	cr_assert_eq(got_prot(), prot, "the page has its protection back");
	cr_assert_geq(g.sums.slots, 2, "the PLT's slot and the GOT entry");
	cr_assert_geq(g.sums.objects, 1);
	cr_assert_geq(g.sums.out_of_reach, 1, "the address stored in data");
	cr_assert_eq(in_data(), real, "data is out of reach");
	uint64_t slots = g.sums.slots;
	gotpatch_update(&g);
	cr_assert_eq(g.sums.slots, slots, "nothing new to patch");
	gotpatch_restore(&g);
	cr_assert_eq(call_it(), real);
	cr_assert_eq(call_sid(), sid);
	cr_assert_eq(its_address(), addr);
	cr_assert_eq(g.sums.restored, slots);
	cr_assert_eq(g.sums.left, 0);
	cr_assert_eq(gotpatch_live(&g), 0);
}

/* A slot the program rewrote since (here: the GOT entry) stays the
 * program's. */
Test(gotpatch, a_slot_changed_since_is_left, .init = start)
{
	pid_t sid = call_sid();
	gotpatch_update(&g);
	void **entry = NULL;
	extern char _GLOBAL_OFFSET_TABLE_[] __attribute__((visibility("hidden")));
	for (void **p = (void **)_GLOBAL_OFFSET_TABLE_ - 64; p < (void **)_GLOBAL_OFFSET_TABLE_; p++)
		if (*p == (void *)instead)
			entry = p;
	cr_assert(entry, "no GOT entry holds the replacement");
	long pg = sysconf(_SC_PAGESIZE);
	void *page = (void *)((uintptr_t)entry & ~(uintptr_t)(pg - 1));
	cr_assert_eq(mprotect(page, (size_t)pg, PROT_READ | PROT_WRITE), 0);
	*entry = (void *)other;
	cr_assert_eq(mprotect(page, (size_t)pg, PROT_READ), 0);
	gotpatch_restore(&g);
	cr_assert_eq(g.sums.left, 1);
	cr_assert_eq(its_address(), (void *)other);
	cr_assert_eq(call_sid(), sid, "the PLT slot was given back");
}
