/*
 * hooks_jump.c — leaving a wait without returning from it.
 *
 * The old alarm-timeout idiom: alarm(), pthread_mutex_lock(), and a SIGALRM
 * handler that siglongjmps out of the lock call.  Undefined behaviour, but
 * real code does it; so does a handler that calls pthread_exit.  The
 * recorder's wait then never reaches recorder_end: its cell on the lock
 * would be charged to every later unlock, and the thread's sampling state
 * would stay stuck.  So the jump functions and pthread_exit tell the
 * recorder first (recorder_abandon), while the wait's frame is still on
 * the stack below the handler; the wait ends there as one that gave up.
 * Everything else about them is the real function, resolved at start-up
 * (dlsym is not for signal handlers).  A handler that interrupted our own
 * work (the guard is up) and leaves it is told too: recorder_abandon
 * repairs that work first.  The cleanup buffers our waits registered with
 * the thread (hooks.h's HOOKS_CANCEL_PUSH) and the jump leaves are
 * unregistered too: a later cancellation would unwind into their dead
 * frames.  Otherwise: three TLS loads.
 */
#include <setjmp.h>

#include "hooks.h"
#include "real.h"

typedef void (*jump_fn)(void *, int);

/* Our cleanup buffers the jump leaves (hooks.h's HOOKS_CANCEL_PUSH), by
 * the rule recorder_abandon follows too (recorder_jump_leaves); the thread's chain is put back to
 * what was registered before the outermost of them.  Their notes are still on the stack: the
 * handler runs on top of them. */
static void hooks_jump_cancel_bufs(struct lc_tls *t, const void *env, const void *here)
{
	struct hooks_cancel_note *n = t->cancel_note, *last = NULL;
	while (n && recorder_jump_leaves(env, here, (uintptr_t)n)) {
		last = n;
		n = n->outer;
	}
	if (last) {
		__pthread_unregister_cancel(last->buf);
		t->cancel_note = n;
	}
}

static __attribute__((noreturn)) void hooks_jump(void **slot, void *env, int val)
{
	struct lc_tls *t = &lc_tls;
	if (unlikely(t->cancel_note != NULL))
		hooks_jump_cancel_bufs(t, env, __builtin_frame_address(0));
	if (unlikely(t->wait != NULL || t->guard))
		recorder_abandon(t, env, __builtin_frame_address(0));
	jump_fn fn = real_get(slot);
	fn(env, val);
	__builtin_unreachable();
}

EXPORT void longjmp(jmp_buf env, int val)
{
	hooks_jump(&real.longjmp, env, val);
}

EXPORT void siglongjmp(sigjmp_buf env, int val)
{
	hooks_jump(&real.siglongjmp, env, val);
}

EXPORT void _longjmp(jmp_buf env, int val)
{
	hooks_jump(&real._longjmp, env, val);
}

/* What _FORTIFY_SOURCE builds call instead of longjmp. */
EXPORT void __longjmp_chk(jmp_buf env, int val)
{
	hooks_jump(&real.longjmp_chk, env, val);
}

EXPORT void pthread_exit(void *ret)
{
	struct lc_tls *t = &lc_tls;
	if (unlikely(t->wait != NULL || t->guard))
		recorder_abandon(t, NULL, NULL);
	void (*fn)(void *) = real_get(&real.pthread_exit);
	fn(ret);
	__builtin_unreachable();
}

/* The hooks' own addresses, for an attach (hooks.h). */
#pragma GCC diagnostic ignored "-Wmissing-attributes"
HOOK_ALIAS(longjmp);
HOOK_ALIAS(siglongjmp);
HOOK_ALIAS(_longjmp);
HOOK_ALIAS(__longjmp_chk);
HOOK_ALIAS(pthread_exit);
