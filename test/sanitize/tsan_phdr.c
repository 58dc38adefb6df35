/*
 * tsan_phdr.c — `make sanitize`'s ThreadSanitizer run only: dl_iterate_phdr
 * straight to glibc's.
 *
 * ThreadSanitizer calls dl_iterate_phdr while it starts (the module list
 * of its called_from_lib suppressions), through its own interceptor, whose
 * REAL() is the next definition: the preload's hook.  Built with
 * -fsanitize=thread, the hook's first instruction calls into a runtime
 * that is not set up yet, and the process dies before main.  Preloaded
 * between libtsan and the preload, this uninstrumented forwarder is that
 * next definition instead, for every caller: the hook is left out of the
 * run (it only counts threads inside dl_iterate_phdr, and the stress
 * program never calls it; the preload's module map calls glibc's own).
 * ASan has the same order problem, but an option that skips its call
 * (verify_asan_link_order=0).  glibc's version of the symbol: x86-64's,
 * else AArch64's.
 */
#include <dlfcn.h>
#include <link.h>
#include <stddef.h>

typedef int (*phdr_cb)(struct dl_phdr_info *, size_t, void *);

int dl_iterate_phdr(phdr_cb cb, void *data)
{
	static int (*glibc)(phdr_cb, void *);
	if (!glibc)
		glibc = (int (*)(phdr_cb, void *))dlvsym(RTLD_NEXT, "dl_iterate_phdr", "GLIBC_2.2.5");
	if (!glibc)
		glibc = (int (*)(phdr_cb, void *))dlvsym(RTLD_NEXT, "dl_iterate_phdr", "GLIBC_2.17");
	return glibc ? glibc(cb, data) : 0;
}
