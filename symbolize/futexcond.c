/*
 * futexcond.c — the per-library rules that tell a futex condition wait
 * from a futex lock wait (see futexcond.h).
 *
 * One row per library: the frames of its condition waits, of its lock
 * waits, of its notifies, of its unlocks and of its own sleep (below), as
 * fnmatch(3) patterns on the demangled function name without its
 * parameters.  To teach lockcontend a new library, add a row (and a line
 * to docs/format.md's table).  The names were read from real stacks of the fixtures (test/fixtures/
 * rust_mutex.rs, absl_mutex.cpp) under the preload:
 *
 *   Rust std (1.62+)  <std::sys::sync::condvar::futex::Condvar>::wait
 *                     <std::sys::sync::mutex::futex::Mutex>::lock_contended
 *   Abseil            (CondVar::WaitCommon: no symbol in Debian's .so)
 *                     absl::debian3::Mutex::Block
 *
 * A library's sleep (ROLE_SLEEP: Abseil's per-thread semaphore wait)
 * reached from no lock-wait frame is a condition wait: Debian's libabsl
 * has no symbol for CondVar::WaitCommon (a local function, stripped), so
 * its frame is "libabsl_synchronization.so+0x...", while every wait of a
 * Mutex sleeps under the exported Mutex::Block.  A stack cut short by the
 * depth limit before its lock frame would be called a condition wait.
 * absl::Mutex::Await and LockWhen (a Mutex's own conditions) sleep under
 * Mutex::Block: lock waits by these rules.
 *
 * The patterns are loose on the module path (std has moved its futex
 * Condvar from sys::unix::locks to sys::sync::condvar), strict on the type
 * and method.  A frame no row knows is neither: a stack none of whose
 * frames is known stays a lock wait, as it was before these rules.
 */
#include "futexcond.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockcontend/dumpfmt.h"

/* From libstdc++ and libiberty, as resolve.c uses them. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);
extern char *rust_demangle(const char *mangled, int options);

enum role {
	ROLE_NONE,
	ROLE_COND_WAIT,
	ROLE_LOCK_WAIT,
	ROLE_NOTIFY,
	ROLE_UNLOCK,
	ROLE_SLEEP,
	ROLE_OWN, /* any other frame of the library (naming a per-thread word) */
	ROLE_N
};

#define FUTEXCOND_PATTERNS 6

static const struct futexcond_rule {
	const char *library;
	const char *pattern[ROLE_N][FUTEXCOND_PATTERNS]; /* by role; NULL ends a list */
	/* The library parks a thread on a futex word of the thread's own, not
	 * of the lock: what such a word is called (futexcond_word_name), as a
	 * lock's word and as a condition's; NULL: its words are its locks'. */
	const char *lock_word, *cond_word;
} rules[] = {
    {"Rust std",
     {[ROLE_COND_WAIT] = {"*std::sys::*Condvar*::wait*", "*std::sync::*Condvar*::wait*",
                          "*std::sys::*Parker*::park*", "std::thread::park*"},
      [ROLE_LOCK_WAIT] = {"*std::sys::*Mutex*::lock*", "*std::sys::*RwLock*::read*",
                          "*std::sys::*RwLock*::write*"},
      [ROLE_NOTIFY] = {"*std::sys::*Condvar*::notify*", "*std::sync::*Condvar*::notify*",
                       "*std::sys::*Parker*::unpark*", "*std::thread::Thread*::unpark*"},
      [ROLE_UNLOCK] = {"*std::sys::*Mutex*::unlock*", "*std::sys::*RwLock*::*unlock*",
                       "*std::sys::*RwLock*::wake*"}},
     NULL,
     NULL},
    {"parking_lot",
     {[ROLE_COND_WAIT] = {"*parking_lot::condvar::Condvar*::wait*"},
      [ROLE_LOCK_WAIT] = {"*parking_lot::raw_*::Raw*::lock*slow*"},
      [ROLE_NOTIFY] = {"*parking_lot::condvar::Condvar*::notify*"},
      [ROLE_UNLOCK] = {"*parking_lot::raw_*::Raw*::unlock*slow*"},
      [ROLE_OWN] = {"*parking_lot::*", "*parking_lot_core::*", "*lock_api::*"}},
     "a parking_lot lock",
     "a parking_lot Condvar"},
    {"Abseil",
     {[ROLE_COND_WAIT] = {"absl::*CondVar::Wait*"},
      [ROLE_LOCK_WAIT] = {"absl::*Mutex::Lock*", "absl::*Mutex::ReaderLock*",
                          "absl::*Mutex::WriterLock*", "absl::*Mutex::Block"},
      [ROLE_SLEEP] = {"AbslInternalPerThreadSemWait*"},
      [ROLE_NOTIFY] = {"absl::*CondVar::Signal*"},
      [ROLE_UNLOCK] = {"absl::*Mutex::*Unlock*"},
      [ROLE_OWN] = {"absl::*", "Absl*"}},
     "an absl::Mutex",
     "an absl::CondVar"},
};

#define NRULES (sizeof(rules) / sizeof(rules[0]))

/* A function's row and role, as the cache keeps them: row * ROLE_N + role
 * (ROLE_NONE: row 0). */
static int8_t role_of_name(const char *name)
{
	for (size_t r = 0; r < NRULES; r++)
		for (int k = ROLE_COND_WAIT; k < ROLE_N; k++)
			for (int i = 0; i < FUTEXCOND_PATTERNS && rules[r].pattern[k][i]; i++)
				if (fnmatch(rules[r].pattern[k][i], name, 0) == 0)
					return (int8_t)(r * ROLE_N + (size_t)k);
	return ROLE_NONE;
}

/* The demangled name of fn (whatever --no-demangle said), without a C++
 * parameter list, malloc'd; NULL when out of memory. */
static char *plain_name(const struct prof_function *fn)
{
	const char *sys = fn->system_name;
	char *d = NULL;
	int status = 0;
	if (sys && (strncmp(sys, "_R", 2) == 0 || strncmp(sys, "_Z", 2) == 0)) {
		d = rust_demangle(sys, 3 /* DMGL_PARAMS | DMGL_ANSI */);
		if (!d && sys[1] == 'Z')
			d = __cxa_demangle(sys, NULL, NULL, &status);
	}
	if (!d)
		d = strdup(fn->name);
	if (d)
		d[strcspn(d, "(")] = '\0';
	return d;
}

/* Function f's row * ROLE_N + role (role_of_name), looked up once. */
static int function_rule(struct futexcond_cache *c, const struct profile *p, uint32_t f)
{
	if (f >= c->n) {
		size_t n = p->nfunctions > f ? p->nfunctions : f + 1;
		int8_t *role = realloc(c->role, n);
		if (!role)
			return ROLE_NONE;
		memset(role + c->n, -1, n - c->n);
		c->role = role;
		c->n = n;
	}
	if (c->role[f] < 0) {
		char *name = plain_name(&p->functions[f]);
		if (!name)
			return ROLE_NONE;
		c->role[f] = role_of_name(name);
		free(name);
	}
	return c->role[f];
}

static enum role function_role(struct futexcond_cache *c, const struct profile *p, uint32_t f)
{
	return (enum role)(function_rule(c, p, f) % ROLE_N);
}

bool futexcond_stack(struct futexcond_cache *c, const struct profile *p, const uint32_t *locs,
                     uint32_t nlocs, int view)
{
	enum role cond = view == LC_VIEW_WAIT ? ROLE_COND_WAIT : ROLE_NOTIFY;
	enum role lock = view == LC_VIEW_WAIT ? ROLE_LOCK_WAIT : ROLE_UNLOCK;
	bool slept = false;
	for (uint32_t i = 0; i < nlocs; i++) {
		const struct prof_location *l = &p->locations[locs[i]];
		for (uint32_t k = 0; k < l->nlines; k++) {
			enum role r = function_role(c, p, l->lines[k].function);
			if (r == cond || r == lock)
				return r == cond;
			slept |= r == ROLE_SLEEP && view == LC_VIEW_WAIT;
		}
	}
	return slept;
}

/* The innermost frame a rule knows as a lock or condition wait, else the
 * library's sleep (a condition wait, as in futexcond_stack), of a library
 * with per-thread words: its location *at, *row, *cond; false if none. */
static bool word_wait_frame(struct futexcond_cache *c, const struct profile *p,
                            const uint32_t *locs, uint32_t nlocs, uint32_t *at, size_t *row,
                            bool *cond)
{
	bool slept = false;
	for (uint32_t i = 0; i < nlocs; i++) {
		const struct prof_location *l = &p->locations[locs[i]];
		for (uint32_t k = 0; k < l->nlines; k++) {
			int rule = function_rule(c, p, l->lines[k].function);
			enum role r = (enum role)(rule % ROLE_N);
			if (r == ROLE_SLEEP && !slept) {
				slept = *cond = true;
				*at = i;
				*row = (size_t)rule / ROLE_N;
			}
			if (r != ROLE_LOCK_WAIT && r != ROLE_COND_WAIT)
				continue;
			*at = i;
			*row = (size_t)rule / ROLE_N;
			*cond = r == ROLE_COND_WAIT;
			return rules[*row].lock_word != NULL;
		}
	}
	return slept && rules[*row].lock_word != NULL;
}

bool futexcond_word_name(struct futexcond_cache *c, const struct profile *p, const uint32_t *locs,
                         uint32_t nlocs, char *buf, size_t cap)
{
	size_t row;
	bool cond;
	uint32_t at;
	if (!word_wait_frame(c, p, locs, nlocs, &at, &row, &cond))
		return false;
	/* the caller: the next named frame that is not the library's */
	const char *caller = NULL;
	for (uint32_t i = at; i < nlocs && !caller; i++) {
		const struct prof_location *l = &p->locations[locs[i]];
		for (uint32_t k = 0; k < l->nlines && !caller; k++) {
			int rule = function_rule(c, p, l->lines[k].function);
			if (rule == ROLE_NONE || (size_t)rule / ROLE_N != row)
				caller = p->functions[l->lines[k].function].name;
		}
	}
	const struct futexcond_rule *r = &rules[row];
	snprintf(buf, cap, "%s %s %s (threads' own futex words)",
	         cond ? r->cond_word : r->lock_word, cond ? "waited for in" : "taken in",
	         caller ? caller : "?");
	return true;
}

void futexcond_cache_free(struct futexcond_cache *c)
{
	free(c->role);
	*c = (struct futexcond_cache){0};
}
