/*
 * step.h — a seam between the steps of the books' work, for tests.
 *
 * A signal handler may siglongjmp out of our work at any instruction
 * (docs/safety.md, 4); the books are kept so that their owner can put them
 * right afterwards (account_repair).  lc_step() marks the boundaries
 * between the stores that matter (account.c, stacktab.c, lockstate.c,
 * claim.h), and a test that sets lc_step_hook jumps out there, at each in
 * turn (test_account.c).  NULL in a real run: one load and a branch.
 */
#ifndef LOCKCONTEND_STEP_H
#define LOCKCONTEND_STEP_H

extern void (*lc_step_hook)(void);

static inline void lc_step(void)
{
	if (__builtin_expect(lc_step_hook != 0, 0))
		lc_step_hook();
}

#endif
