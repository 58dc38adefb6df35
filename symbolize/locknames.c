/*
 * locknames.c — name a lock by its address (see locknames.h).
 *
 * A global is named by the ELF symbol that holds it (resolve.c); anything
 * else has only its address, which means little to a reader, so the
 * function that first waited on it goes beside it.  That function must be
 * the caller's own: the innermost frame is often a lock wrapper inlined
 * into it (std::mutex::lock, __gthread_mutex_lock) or a C library routine
 * that locks on the caller's behalf, and naming those would name every
 * heap lock of a C++ program "std::mutex::lock".
 */
#include "locknames.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Libraries whose frames are lock plumbing, not the program's code. */
bool locknames_is_runtime_library(const char *path)
{
	static const char *const prefixes[] = {"libc.so", "libc-", "libpthread", "libstdc++"};
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(base, prefixes[i], strlen(prefixes[i])) == 0)
			return true;
	return false;
}

/* Lock wrappers by name; the mangled std:: prefixes catch --no-demangle. */
bool locknames_is_wrapper(const char *function, const char *system_name)
{
	static const char *const names[] = {"std::", "__gthread", "__glibcxx_", "pthread_", "mtx_"};
	static const char *const mangled[] = {"_ZSt", "_ZNSt", "_ZNKSt"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strncmp(function, names[i], strlen(names[i])) == 0)
			return true;
	for (size_t i = 0; i < sizeof(mangled) / sizeof(mangled[0]); i++)
		if (strncmp(system_name, mangled[i], strlen(mangled[i])) == 0)
			return true;
	return false;
}

/* The innermost frame of pc (taken in module epoch `epoch`) as a label:
 * its function, else module+0xoff, else the address. */
static void frame_label(struct resolver *r, const struct dump *d, uint64_t pc, uint32_t epoch,
                        char *buf, size_t cap)
{
	struct resolve_frame f[RESOLVE_MAX_INLINE];
	const struct dump_module *m = dump_module_in_epoch(d, pc, epoch);
	const char *base = m ? strrchr(m->path, '/') : NULL;
	if (resolver_lookup(r, m, pc, f, RESOLVE_MAX_INLINE) > 0)
		snprintf(buf, cap, "%s", f[0].function);
	else if (m)
		snprintf(buf, cap, "%s+%#" PRIx64, base ? base + 1 : m->path,
		         pc - 1 - m->load_bias);
	else
		snprintf(buf, cap, "0x%" PRIx64, pc);
}

/* The function that first contended the lock, as locknames.h says. */
static void first_contender(struct resolver *r, const struct dump *d, const struct dump_lock *l,
                            char *buf, size_t cap)
{
	struct resolve_frame f[RESOLVE_MAX_INLINE];
	for (uint32_t i = 0; i < l->nframes; i++) {
		const struct dump_module *m = dump_module_in_epoch(d, l->pcs[i], l->epoch);
		if (m && locknames_is_runtime_library(m->path))
			continue;
		int n = resolver_lookup(r, m, l->pcs[i], f, RESOLVE_MAX_INLINE);
		for (int k = 0; k < n; k++) {
			if (!locknames_is_wrapper(f[k].function, f[k].system_name)) {
				snprintf(buf, cap, "%s", f[k].function);
				return;
			}
		}
	}
	frame_label(r, d, l->pcs[0], l->epoch, buf, cap);
}

void locknames_name(struct resolver *r, const struct dump *d, uint64_t addr,
                    const struct dump_lock *lock, char *buf, size_t cap)
{
	if (resolver_data_symbol(r, addr, buf, cap) >= 0)
		return;
	if (!lock || lock->nframes == 0) {
		snprintf(buf, cap, "0x%" PRIx64, addr);
		return;
	}
	char fn[512];
	first_contender(r, d, lock, fn, sizeof(fn));
	snprintf(buf, cap, "0x%" PRIx64 " (first contended in %s)", addr, fn);
}
