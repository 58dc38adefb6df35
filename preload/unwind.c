/*
 * unwind.c — libunwind stack capture (see unwind.h).
 */
#define UNW_LOCAL_ONLY
#include "unwind.h"

#include <libunwind.h>

#include "modmap.h"
#include "stash.h"

static uintptr_t self_lo, self_hi;

void unwind_init(modmap_iterate_fn iterate)
{
	uintptr_t buf[8];
	bool truncated;
	unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
	if (!modmap_self_range(iterate, (const void *)unwind_init, &self_lo, &self_hi))
		self_lo = self_hi = 0;
	(void)unwind_capture(buf, 4, &truncated); /* loads libunwind's lazy state now */
}

uint32_t unwind_capture(uintptr_t *buf, uint32_t depth, bool *truncated)
{
	int want = (int)depth + STASH_SLACK;
	int n = unw_backtrace((void **)buf, want);
	if (n <= 0) {
		*truncated = false;
		return 0;
	}
	/* Our frames out, wherever they are: the hooks' at the inner end,
	 * the thread start wrapper's (hooks_thread.c) at the outer. */
	uint32_t got = 0;
	for (int i = 0; i < n; i++)
		if (buf[i] < self_lo || buf[i] >= self_hi)
			buf[got++] = buf[i];
	/* A full buffer means there may be more frames above: call it cut. */
	*truncated = got > depth || n == want;
	return got > depth ? depth : got;
}
