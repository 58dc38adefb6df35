/*
 * test_modmap.c — the module map and its epochs (preload/modmap.c), on
 * this process's real objects and on small libraries the test builds
 * (with cc, into a temporary directory) and dlopen()s.
 *
 * Tests: a refresh writes one published LC_REC_MODULE record per loaded
 * object, in the file (pfiletest.h) as dl_iterate_phdr reports it (id,
 * path, the executable under its given name, load bias, PT_LOAD segments,
 * epoch_first the current epoch, epoch_last UINT32_MAX), and a second
 * refresh adds nothing.  A dlopen()ed library is added in the current
 * epoch; after dlclose() a refresh sets its record's epoch_last to that
 * epoch and moves the epoch on (once: another refresh changes nothing),
 * and opening it again makes a new record whose epoch_first is the new
 * epoch, the old record kept; a library closed and another opened between
 * two refreshes: the gone one ends in the old epoch, the new one starts in
 * the next; two closed at once end one epoch.  A refresh that finds another under way does nothing;
 * modmap_refresh_final then adds what is new and marks nothing gone.  No
 * room in the file: the object is dropped (counted), not listed.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "modmap.h"
#include "pfiletest.h"

static struct arena arena;
static struct pfile file;
static struct modmap mods;
static _Atomic uint32_t *epoch; /* in the LIVE record, as the recorder has it */
static char dir[64];

#define EXE_NAME "/the/test/program"

static void mods_make_in(size_t file_cap)
{
	cr_assert_eq(arena_init(&arena, 8u << 20), 0);
	pft_open(&file, file_cap);
	struct lc_rec_live *live = pfile_record(&file, sizeof(*live));
	cr_assert_not_null(live);
	pfile_publish(live, LC_REC_LIVE);
	epoch = (_Atomic uint32_t *)&live->epoch;
	cr_assert_eq(modmap_init(&mods, dl_iterate_phdr, &arena, &file, epoch, EXE_NAME), 0);
}

static void setup(void)
{
	strcpy(dir, "/tmp/lockcontend-modmap-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	while (dp && (e = readdir(dp))) {
		char p[512];
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (e->d_name[0] != '.')
			unlink(p);
	}
	if (dp)
		closedir(dp);
	rmdir(dir);
	if (arena.base)
		munmap(arena.base, arena.size);
	memset(&arena, 0, sizeof(arena));
	pft_close(&file);
}

TestSuite(modmap, .init = setup, .fini = teardown);

/* Build lib<name>.so in the test's directory: one function returning v. */
static const char *build_lib(const char *name, int v, char *path, size_t cap)
{
	char src[256];
	snprintf(src, sizeof(src), "%s/%s.c", dir, name);
	snprintf(path, cap, "%s/lib%s.so", dir, name);
	FILE *f = fopen(src, "w");
	cr_assert_not_null(f);
	fprintf(f, "int %s_value(void) { return %d; }\n", name, v);
	fclose(f);
	const char *cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		execlp(cc, cc, "-shared", "-fPIC", "-o", path, src, (char *)NULL);
		_exit(127);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s could not build %s (status %#x)", cc,
	          path, st);
	return path;
}

static void *open_lib(const char *path, const char *name, int v)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	cr_assert_not_null(h, "dlopen: %s", dlerror());
	char sym[64];
	snprintf(sym, sizeof(sym), "%s_value", name);
	int (*fn)(void) = (int (*)(void))dlsym(h, sym);
	cr_assert(fn && fn() == v, "%s from %s", sym, path);
	return h;
}

static void close_lib(void *h, const char *path)
{
	cr_assert_eq(dlclose(h), 0);
	cr_assert_null(dlopen(path, RTLD_NOW | RTLD_NOLOAD), "%s is still loaded", path);
}

static uint32_t epoch_now(void)
{
	return atomic_load(epoch);
}

static const struct lc_rec_module *mod_rec(uint32_t i)
{
	return modmap_at(&mods, i)->pub;
}

static const char *rec_path(const struct lc_rec_module *r, char *buf, size_t cap)
{
	const char *p = (const char *)((const struct lc_rec_segment *)(r + 1) + r->nsegments) +
	                r->build_id_len;
	snprintf(buf, cap, "%.*s", (int)r->path_len, p);
	return buf;
}

/* The records of `path`, in map order, up to 8. */
static int records_of(const char *path, const struct lc_rec_module **out)
{
	char buf[4096];
	int n = 0;
	for (uint32_t i = 0; i < modmap_count(&mods) && n < 8; i++)
		if (strcmp(rec_path(mod_rec(i), buf, sizeof(buf)), path) == 0)
			out[n++] = mod_rec(i);
	return n;
}

static uint64_t module_records(void)
{
	return pft_walk_file(&file, NULL, NULL).by_type[LC_REC_MODULE];
}

/* ---- what a refresh writes -------------------------------------------------- */

struct phdr_check {
	uint32_t seen, loaded;
	char bad[256];
};

/* Each object dl_iterate_phdr reports with a PT_LOAD has one record. */
static int phdr_check_visit(struct dl_phdr_info *info, size_t size, void *ctx)
{
	struct phdr_check *c = ctx;
	(void)size;
	uint32_t nload = 0;
	for (int i = 0; i < info->dlpi_phnum; i++)
		nload += info->dlpi_phdr[i].p_type == PT_LOAD;
	if (!nload)
		return 0;
	c->loaded++;
	const char *path = info->dlpi_name[0] ? info->dlpi_name : EXE_NAME;
	char buf[4096];
	for (uint32_t i = 0; i < modmap_count(&mods); i++) {
		const struct lc_rec_module *r = mod_rec(i);
		if (r->load_bias != info->dlpi_addr || strcmp(rec_path(r, buf, sizeof(buf)), path))
			continue;
		const struct lc_rec_segment *seg = (const struct lc_rec_segment *)(r + 1);
		uint32_t k = 0;
		for (int j = 0; j < info->dlpi_phnum; j++) {
			const ElfW(Phdr) *ph = &info->dlpi_phdr[j];
			if (ph->p_type != PT_LOAD)
				continue;
			if (k >= r->nsegments || seg[k].vaddr != ph->p_vaddr ||
			    seg[k].memsz != ph->p_memsz || seg[k].offset != ph->p_offset ||
			    seg[k].flags != ph->p_flags)
				snprintf(c->bad, sizeof(c->bad), "%s: segment %u", path, k);
			k++;
		}
		if (k != r->nsegments)
			snprintf(c->bad, sizeof(c->bad), "%s: %u segments, %u recorded", path, k,
			         r->nsegments);
		c->seen++;
		return 0;
	}
	snprintf(c->bad, sizeof(c->bad), "%s (bias %#lx) has no record", path,
	         (unsigned long)info->dlpi_addr);
	return 0;
}

Test(modmap, refresh_writes_a_record_per_loaded_object)
{
	mods_make_in(4u << 20);
	cr_assert(modmap_refresh(&mods));
	uint32_t n = modmap_count(&mods);
	cr_assert_gt(n, 2, "only %u modules", n);
	cr_assert_eq(module_records(), n, "%llu MODULE records for %u modules",
	             (unsigned long long)module_records(), n);
	for (uint32_t i = 0; i < n; i++) {
		const struct lc_rec_module *r = mod_rec(i);
		cr_assert(pfile_contains(&file, r));
		cr_assert_eq(((const struct lc_rec_head *)r - 1)->type, LC_REC_MODULE);
		cr_assert_eq(r->id, i, "record %u has id %u", i, r->id);
		cr_assert_eq(r->epoch_first, 0);
		cr_assert_eq(r->epoch_last, UINT32_MAX, "a loaded module marked gone");
		cr_assert_eq(pft_nth(&file, LC_REC_MODULE, i), r, "records out of map order");
	}
	struct phdr_check c = {0};
	dl_iterate_phdr(phdr_check_visit, &c);
	cr_assert_str_empty(c.bad, "%s", c.bad);
	cr_assert_eq(c.seen, c.loaded);
	cr_assert_eq(c.loaded, n);
	const struct lc_rec_module *exe[8];
	cr_assert_eq(records_of(EXE_NAME, exe), 1, "the executable is not under its given name");
	cr_assert(modmap_refresh(&mods));
	cr_assert_eq(modmap_count(&mods), n, "a second refresh added modules");
	cr_assert_eq(module_records(), n);
	cr_assert_eq(epoch_now(), 0, "nothing was unloaded, yet the epoch moved");
}

/* ---- epochs --------------------------------------------------------------- */

Test(modmap, dlclose_ends_the_epoch_and_a_reopen_is_a_new_module)
{
	char path[256];
	build_lib("plugin", 7, path, sizeof(path));
	mods_make_in(4u << 20);
	cr_assert(modmap_refresh(&mods));
	uint32_t base = modmap_count(&mods);
	const struct lc_rec_module *r[8];
	cr_assert_eq(records_of(path, r), 0);

	void *h = open_lib(path, "plugin", 7);
	cr_assert(modmap_refresh(&mods));
	cr_assert_eq(modmap_count(&mods), base + 1);
	cr_assert_eq(records_of(path, r), 1, "the dlopen()ed library has no record");
	const struct lc_rec_module *first = r[0];
	cr_assert_eq(first->epoch_first, 0);
	cr_assert_eq(first->epoch_last, UINT32_MAX);
	cr_assert_eq(epoch_now(), 0, "a dlopen moved the epoch");

	close_lib(h, path);
	cr_assert(modmap_refresh(&mods));
	cr_assert_eq(first->epoch_last, 0, "epoch_last %u after dlclose", first->epoch_last);
	cr_assert_eq(epoch_now(), 1, "the epoch did not move on after a dlclose");
	cr_assert_eq(modmap_count(&mods), base + 1, "a dlclose added a module");
	for (uint32_t i = 0; i < base; i++)
		cr_assert_eq(mod_rec(i)->epoch_last, UINT32_MAX, "module %u marked gone", i);
	cr_assert(modmap_refresh(&mods));
	cr_assert_eq(epoch_now(), 1, "a refresh with nothing gone moved the epoch");
	cr_assert_eq(first->epoch_last, 0);

	h = open_lib(path, "plugin", 7);
	cr_assert(modmap_refresh(&mods));
	cr_assert_eq(records_of(path, r), 2, "a reopened library is not a new module");
	cr_assert(r[0] == first && r[1] != first);
	cr_assert_eq(r[1]->epoch_first, 1, "epoch_first %u, not the new epoch", r[1]->epoch_first);
	cr_assert_eq(r[1]->epoch_last, UINT32_MAX);
	cr_assert_eq(first->epoch_last, 0, "the old record changed");
	cr_assert_eq(r[1]->id, base + 1);
	cr_assert_eq(epoch_now(), 1);

	close_lib(h, path);
	cr_assert(modmap_refresh(&mods));
	cr_assert_eq(r[1]->epoch_last, 1);
	cr_assert_eq(first->epoch_last, 0);
	cr_assert_eq(epoch_now(), 2);
	cr_assert_eq(module_records(), base + 2);
}

/* Gone ones are marked before new ones are added: an object loaded in the
 * same refresh as another was found gone starts in the next epoch. */
Test(modmap, one_closed_and_another_opened_between_refreshes)
{
	char pa[256], pb[256];
	build_lib("alpha", 1, pa, sizeof(pa));
	build_lib("beta", 2, pb, sizeof(pb));
	mods_make_in(4u << 20);
	void *a = open_lib(pa, "alpha", 1);
	cr_assert(modmap_refresh(&mods));
	close_lib(a, pa);
	void *b = open_lib(pb, "beta", 2);
	cr_assert(modmap_refresh(&mods));
	const struct lc_rec_module *ra[8], *rb[8];
	cr_assert_eq(records_of(pa, ra), 1);
	cr_assert_eq(records_of(pb, rb), 1);
	cr_assert_eq(ra[0]->epoch_first, 0);
	cr_assert_eq(ra[0]->epoch_last, 0);
	cr_assert_eq(rb[0]->epoch_first, 1, "beta starts in epoch %u, alpha ended in 0",
	             rb[0]->epoch_first);
	cr_assert_eq(rb[0]->epoch_last, UINT32_MAX);
	cr_assert_eq(epoch_now(), 1);
	dlclose(b);
}

/* Two objects gone in one refresh: one epoch ends for both. */
Test(modmap, two_closed_between_refreshes_end_one_epoch)
{
	char pa[256], pb[256];
	build_lib("alpha", 1, pa, sizeof(pa));
	build_lib("beta", 2, pb, sizeof(pb));
	mods_make_in(4u << 20);
	void *a = open_lib(pa, "alpha", 1), *b = open_lib(pb, "beta", 2);
	cr_assert(modmap_refresh(&mods));
	close_lib(a, pa);
	close_lib(b, pb);
	cr_assert(modmap_refresh(&mods));
	const struct lc_rec_module *ra[8], *rb[8];
	cr_assert_eq(records_of(pa, ra), 1);
	cr_assert_eq(records_of(pb, rb), 1);
	cr_assert(ra[0]->epoch_last == 0 && rb[0]->epoch_last == 0, "epoch_last %u and %u",
	          ra[0]->epoch_last, rb[0]->epoch_last);
	cr_assert_eq(epoch_now(), 1, "two objects gone at once moved the epoch to %u",
	             epoch_now());
}

Test(modmap, a_refresh_under_way_is_not_waited_for_and_final_marks_nothing)
{
	char path[256];
	build_lib("gamma", 3, path, sizeof(path));
	mods_make_in(4u << 20);
	cr_assert(modmap_refresh(&mods));
	uint32_t base = modmap_count(&mods);
	void *h = open_lib(path, "gamma", 3);
	atomic_store(&mods.refreshing, 1); /* another thread, stuck in the loader */
	cr_assert(!modmap_refresh(&mods), "a second refresh ran");
	cr_assert_eq(modmap_count(&mods), base);
	modmap_refresh_final(&mods, 2 * 1000 * 1000);
	const struct lc_rec_module *r[8];
	cr_assert_eq(records_of(path, r), 1, "the final refresh did not add the library");
	close_lib(h, path);
	modmap_refresh_final(&mods, 2 * 1000 * 1000);
	cr_assert_eq(r[0]->epoch_last, UINT32_MAX, "the stuck-path refresh marked a module gone");
	cr_assert_eq(epoch_now(), 0);
	atomic_store(&mods.refreshing, 0);
	cr_assert(modmap_refresh(&mods));
	cr_assert_eq(r[0]->epoch_last, 0);
	cr_assert_eq(epoch_now(), 1);
}

/* ---- no room ---------------------------------------------------------------- */

Test(modmap, no_room_in_the_file_drops_the_object)
{
	char path[256];
	build_lib("delta", 4, path, sizeof(path));
	/* room for LIVE and a few records: not for every object of this process */
	mods_make_in(PFILE_RESERVE + 16 + 8 + sizeof(struct lc_rec_live) + 3 * 200);
	void *h = open_lib(path, "delta", 4);
	cr_assert(modmap_refresh(&mods));
	uint32_t n = modmap_count(&mods);
	uint64_t dropped = atomic_load(&mods.dropped);
	cr_assert_gt(dropped, 0, "every object fit in %zu bytes", file.cap);
	cr_assert_eq(module_records(), n, "a dropped object has a record");
	struct phdr_check c = {0};
	dl_iterate_phdr(phdr_check_visit, &c);
	cr_assert_eq(c.loaded, n + dropped);
	uintptr_t pc = (uintptr_t)dlsym(h, "delta_value");
	const struct lc_rec_module *r[8];
	if (records_of(path, r) == 0)
		cr_assert(!modmap_covers(&mods, &pc, 1), "a dropped object covers its pcs");
	dlclose(h);
}
