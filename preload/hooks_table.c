/*
 * hooks_table.c — the table of hooks an attach stores in the program's GOT
 * slots (gotpatch.h): every exported hook (hooklist.h), by its hidden alias
 * (hooks.h's HOOK_ALIAS), and the wrappers of dlopen and dlmopen
 * (hooks_dlopen.c), which the library does not export — a preload leaves
 * the program's dlopen to glibc.  Without them when dlopen cannot be
 * followed (hooks_dlopen_followed).
 *
 * Made and sorted by name on first use, by the first attach (under the
 * attach lock); read-only after.
 */
#include <dlfcn.h>
#include <link.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <unistd.h>

#include "gotpatch.h"
#include "hooklist.h"
#include "hooks.h"

#define HOOK_DECLARE(name) extern __typeof(name) hook_##name __attribute__((visibility("hidden")));
HOOKLIST(HOOK_DECLARE)

#define HOOK_ENTRY(name) {#name, (const void *)hook_##name},
static const struct gotpatch_hook exported[] = {HOOKLIST(HOOK_ENTRY)};

#define TABLE_MAX (sizeof(exported) / sizeof(exported[0]) + 2)

static struct gotpatch_hook table[TABLE_MAX];
static size_t ntable;

static void table_make(void)
{
	for (size_t i = 0; i < sizeof(exported) / sizeof(exported[0]); i++)
		table[ntable++] = exported[i];
	if (hooks_dlopen_followed()) {
		table[ntable++] = (struct gotpatch_hook){"dlopen", (const void *)hook_dlopen};
		table[ntable++] = (struct gotpatch_hook){"dlmopen", (const void *)hook_dlmopen};
	}
	/* insertion sort: sixty names, once */
	for (size_t i = 1; i < ntable; i++)
		for (size_t k = i; k > 0 && strcmp(table[k - 1].name, table[k].name) > 0; k--) {
			struct gotpatch_hook h = table[k];
			table[k] = table[k - 1];
			table[k - 1] = h;
		}
}

const struct gotpatch_hook *hooks_table(size_t *n)
{
	if (!ntable)
		table_make();
	*n = ntable;
	return table;
}

bool hooks_table_has(const void *p)
{
	size_t n;
	const struct gotpatch_hook *t = hooks_table(&n);
	for (size_t i = 0; i < n; i++)
		if (t[i].to == p)
			return true;
	return false;
}
