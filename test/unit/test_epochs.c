/*
 * test_epochs.c — module epochs in the symbolizer (dumpread.c, resolve.c,
 * profile.c, locknames.c): a library unloaded and another loaded at the
 * same address are not confused.
 *
 * The dump describes two real ELF files at one address: this test program
 * (loaded in epochs 0..1, then again, the same object at the same place,
 * from epoch 3 on) and the C library, placed so that a return address
 * inside app_wait() of this program is, in the C library, inside qsort()
 * (epoch 2).  Three buckets hold that one address, in epochs 1, 2 and 3:
 * libdwfl must resolve each in its own epoch's file — app_wait, qsort,
 * app_wait — not by address alone, and the object loaded twice is read
 * once, without a warning.  A LOCK record's first frames are looked up in
 * its own epoch likewise: the lock first contended in epoch 1 is named
 * after app_wait, the one in epoch 2 after the C library's function (the
 * latest module there is this program again).
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dumpread.h"
#include "locknames.h"
#include "profile.h"
#include "report.h"
#include "resolve.h"
#include "unit/dumpbuild.h"
#include "viewkind.h"

__attribute__((noinline)) int app_wait(volatile int *x)
{
	for (int i = 0; i < 8; i++)
		*x += i * *x + 1;
	return *x;
}

struct object {
	uint64_t bias;
	struct lc_rec_segment seg[LC_DUMP_MAX_SEGMENTS];
	uint32_t nseg;
	uint8_t id[LC_DUMP_MAX_BUILD_ID];
	uint32_t id_len;
	char path[4096];
};

static struct object exe, libc;

/* The object whose segments hold addr, as dl_iterate_phdr sees it. */
struct find {
	uintptr_t addr;
	struct object *o;
};

static int find_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct find *f = arg;
	struct object *o = f->o;
	(void)size;
	bool holds = false;
	o->nseg = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		o->seg[o->nseg++] = (struct lc_rec_segment){ph->p_vaddr, ph->p_memsz, ph->p_offset,
		                                            ph->p_flags, 0};
		holds |= f->addr >= info->dlpi_addr + ph->p_vaddr &&
		         f->addr < info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	if (!holds)
		return 0;
	o->bias = info->dlpi_addr;
	o->id_len = db_build_id(info, o->id);
	if (info->dlpi_name[0]) {
		snprintf(o->path, sizeof(o->path), "%s", info->dlpi_name);
	} else {
		ssize_t n = readlink("/proc/self/exe", o->path, sizeof(o->path) - 1);
		o->path[n > 0 ? n : 0] = '\0';
	}
	return 1;
}

static void object_of(const void *addr, struct object *o)
{
	struct find f = {(uintptr_t)addr, o};
	cr_assert_eq(dl_iterate_phdr(find_object, &f), 1, "no object holds %p", addr);
}

static struct dumpbuild b;
static struct dump d;
static uint64_t pc;
static char libc_name[256];

/* qsort's name as the C library's symbol table gives it (an alias may be
 * listed first). */
static void expect_libc_name(void)
{
	Dl_info info;
	cr_assert(dladdr((void *)qsort, &info) && info.dli_sname);
	snprintf(libc_name, sizeof(libc_name), "%s", info.dli_sname);
}

static void build(void)
{
	object_of((const void *)app_wait, &exe);
	object_of((const void *)qsort, &libc);
	cr_assert_neq(exe.bias, libc.bias);
	expect_libc_name();
	pc = (uint64_t)(uintptr_t)app_wait + 6;
	/* libc at a bias that puts qsort + 6 at pc */
	uint64_t libc_bias = pc - ((uint64_t)(uintptr_t)qsort + 6 - libc.bias);
	db_begin(&b, LC_DUMP_VERSION_MAJOR, exe.path, LC_META_STACKS, 0);
	db_module_epochs(&b, exe.bias, exe.seg, exe.nseg, exe.id, exe.id_len, exe.path, 0, 1);
	db_module_epochs(&b, libc_bias, libc.seg, libc.nseg, libc.id, libc.id_len, libc.path, 2, 2);
	db_module_epochs(&b, exe.bias, exe.seg, exe.nseg, exe.id, exe.id_len, exe.path, 3,
	                 UINT32_MAX);
	for (uint32_t epoch = 1; epoch <= 3; epoch++)
		db_bucket(&b, (struct db_bucket){LC_VIEW_WAIT, LC_KIND_MUTEX, 0x1000 * epoch, epoch,
		                                 100 * epoch, 100, 0, epoch}, &pc, 1);
	db_lock(&b, &(struct lc_rec_lock){0x1000, 0, 0, 0, LC_KIND_MUTEX, 1, .epoch = 1}, &pc);
	db_lock(&b, &(struct lc_rec_lock){0x2000, 0, 0, 0, LC_KIND_MUTEX, 1, .epoch = 2}, &pc);
	db_lost(&b, LC_VIEW_WAIT, NULL);
	db_totals(&b, (struct lc_rec_totals){0});
	db_trailer(&b);
	char err[256];
	cr_assert_eq(dump_parse(b.buf, b.len, &d, err, sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
	dump_free(&d);
	db_free(&b);
}

TestSuite(epochs, .init = build, .fini = teardown);

Test(epochs, each_bucket_finds_the_module_of_its_epoch)
{
	for (size_t i = 0; i < 3; i++) {
		const struct dump_module *m = dump_module_in_epoch(&d, pc, d.buckets[i].epoch);
		cr_assert_eq(m, &d.modules[i], "bucket of epoch %u", d.buckets[i].epoch);
	}
	cr_assert_eq(dump_module_of(&d, pc), &d.modules[2]);
}

/* Each module's libdwfl file, looked up in the module the caller names. */
Test(epochs, the_resolver_looks_up_in_the_given_module)
{
	char *log = NULL;
	size_t len = 0;
	FILE *warn = open_memstream(&log, &len);
	struct resolve_opts o = {.demangle = true};
	struct resolver *r = resolver_open(&d, &o, warn);
	cr_assert_not_null(r);
	struct resolve_frame f[RESOLVE_MAX_INLINE];
	const char *want[] = {"app_wait", libc_name, "app_wait"};
	for (size_t i = 0; i < 3; i++) {
		cr_assert(resolver_module_found(r, &d.modules[i]), "module %zu not found", i);
		int n = resolver_lookup(r, &d.modules[i], pc, f, RESOLVE_MAX_INLINE);
		cr_assert_gt(n, 0, "module %zu: no name", i);
		cr_assert_str_eq(f[n - 1].function, want[i], "module %zu", i);
	}
	cr_assert_eq(resolver_lookup(r, NULL, pc, f, RESOLVE_MAX_INLINE), 0);
	resolver_close(r);
	fclose(warn);
	cr_assert_eq(len, 0, "warnings: %s", log);
	free(log);
}

static char *folded(void)
{
	struct profile p;
	struct resolve_opts o = {.demangle = true};
	cr_assert_eq(profile_build(&p, &d, 1, &o, VIEWKIND_ALL_KINDS, NULL), 0);
	const char *path = "epochs.raw";
	struct report_input in = {&p, &d, &path, 1, 20, PROF_DELAY, LC_VIEW_WAIT, NULL, 0, false, 0, NULL};
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	report_folded_write(&in, f);
	fclose(f);
	profile_free(&p);
	return out;
}

/* One address, two functions: epochs 1 and 3 (100 + 300) in app_wait, 2 in
 * the C library's function. */
Test(epochs, the_profile_keeps_the_epochs_apart)
{
	char *out = folded(), want[300];
	cr_assert(strstr(out, "app_wait 400\n"), "%s", out);
	snprintf(want, sizeof(want), "\n%s 200\n", libc_name);
	cr_assert(strstr(out, want) || strncmp(out, want + 1, strlen(want + 1)) == 0, "%s", out);
	free(out);
}

/* A LOCK record's first frame is named in the module of the record's
 * epoch, not in the latest one at its address (this program, epoch 3 on):
 * in epoch 2 it is the C library's (a runtime library, passed over: then
 * the innermost frame names it, in that epoch too). */
Test(epochs, lock_frames_use_the_module_of_their_epoch)
{
	struct profile p;
	struct resolve_opts o = {.demangle = true};
	char want[300];
	cr_assert_eq(dump_lock_of(&d, 0x2000)->epoch, 2);
	cr_assert_eq(profile_build(&p, &d, 1, &o, VIEWKIND_ALL_KINDS, NULL), 0);
	const char *first = NULL, *second = NULL;
	for (size_t i = 0; i < p.nlocks; i++) {
		if (p.locks[i].addr == 0x1000)
			first = p.locks[i].name;
		if (p.locks[i].addr == 0x2000)
			second = p.locks[i].name;
	}
	cr_assert(first && second);
	cr_assert_str_eq(first, "0x1000 (first contended in app_wait)");
	snprintf(want, sizeof(want), "0x2000 (first contended in %s)", libc_name);
	cr_assert_str_eq(second, want, "a frame of epoch 2 named in the latest module");
	profile_free(&p);
}
