/*
 * modmap.c — module map from dl_iterate_phdr (see modmap.h).
 */
#include "modmap.h"

#include <elf.h>
#include <link.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "clock.h"

#define MODMAP_HELD 2u /* refreshing: modmap_hold's, not a refresh's */

int modmap_init(struct modmap *m, modmap_iterate_fn iterate, struct arena *a, struct pfile *f,
                _Atomic uint32_t *epoch, const char *exe_path)
{
	m->iterate = iterate;
	m->arena = a;
	m->file = f;
	m->epoch = epoch;
	atomic_store(&m->epoch_now, atomic_load(epoch));
	m->pass = 0;
	m->exe_path = exe_path;
	m->mods = arena_alloc(a, MODMAP_MAX * sizeof(*m->mods));
	atomic_store(&m->count, 0);
	atomic_store(&m->reserved, 0);
	atomic_store(&m->refreshing, 0);
	atomic_store(&m->dropped, 0);
	return m->mods ? 0 : -1;
}

void modmap_reset(struct modmap *m)
{
	memset((void *)m->mods, 0, MODMAP_MAX * sizeof(*m->mods));
	atomic_store(&m->count, 0);
	atomic_store(&m->reserved, 0);
	atomic_store(&m->refreshing, 0);
	atomic_store(&m->dropped, 0);
	atomic_store(&m->epoch_now, atomic_load(m->epoch));
}

uint32_t modmap_count(const struct modmap *m)
{
	return atomic_load_explicit(&m->count, memory_order_acquire);
}

const struct module *modmap_at(const struct modmap *m, uint32_t i)
{
	return atomic_load_explicit(&m->mods[i], memory_order_acquire);
}

static bool module_loaded(const struct module *mod);

/* Does the loaded module hold pc?  (One unloaded since may have left its
 * range to a new object the map does not know yet.) */
static bool module_holds(const struct module *mod, uintptr_t pc)
{
	return pc >= mod->lo && pc < mod->hi && module_loaded(mod);
}

/* The loaded module holding pc, or NULL; *hint (an index) is tried first
 * and then set: a stack's frames are mostly in a few objects. */
static const struct module *modmap_find(const struct modmap *m, uintptr_t pc, uint32_t *hint)
{
	uint32_t n = modmap_count(m);
	if (*hint < n) {
		const struct module *mod = modmap_at(m, *hint);
		if (module_holds(mod, pc))
			return mod;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct module *mod = modmap_at(m, i);
		if (module_holds(mod, pc)) {
			*hint = i;
			return mod;
		}
	}
	return NULL;
}

bool modmap_covers(const struct modmap *m, const uintptr_t *pcs, uint32_t n)
{
	uint32_t hint = 0;
	for (uint32_t i = 0; i < n; i++)
		if (!modmap_find(m, pcs[i], &hint))
			return false;
	return true;
}

/* Is [vaddr, vaddr+len) inside a PT_LOAD segment's file-backed part?  A
 * note outside every loaded segment is not in memory and must not be read. */
static bool phdr_loaded(const struct dl_phdr_info *info, uint64_t vaddr, uint64_t len)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && vaddr >= ph->p_vaddr &&
		    vaddr + len <= ph->p_vaddr + ph->p_filesz)
			return true;
	}
	return false;
}

/* GNU build-id from the object's PT_NOTE segments, as mapped in memory. */
static uint32_t phdr_build_id(const struct dl_phdr_info *info, uint8_t *out)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE || !phdr_loaded(info, ph->p_vaddr, ph->p_memsz))
			continue;
		const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		const char *end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			size_t name_sz = (nh->n_namesz + 3) & ~3u;
			size_t desc_sz = (nh->n_descsz + 3) & ~3u;
			const char *name = p + sizeof(*nh);
			const char *desc = name + name_sz;
			if (desc + desc_sz > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
			    memcmp(name, "GNU", 4) == 0 && nh->n_descsz > 0 &&
			    nh->n_descsz <= LC_DUMP_MAX_BUILD_ID) {
				memcpy(out, desc, nh->n_descsz);
				return nh->n_descsz;
			}
			p = desc + desc_sz;
		}
	}
	return 0;
}

static void phdr_extent(const struct dl_phdr_info *info, uint64_t *lo, uint64_t *hi,
                        uint32_t *nload)
{
	*lo = UINT64_MAX;
	*hi = 0;
	*nload = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uint64_t a = info->dlpi_addr + ph->p_vaddr;
		if (a < *lo)
			*lo = a;
		if (a + ph->p_memsz > *hi)
			*hi = a + ph->p_memsz;
		(*nload)++;
	}
}

static bool module_loaded(const struct module *mod)
{
	return atomic_load_explicit((_Atomic uint32_t *)&mod->pub->epoch_last,
	                            memory_order_relaxed) == UINT32_MAX;
}

/* A loaded module for this object, marked seen by this pass, or NULL. */
static struct module *modmap_known(const struct modmap *m, const char *path, uint64_t bias,
                                   uint64_t lo, uint64_t hi)
{
	uint32_t n = modmap_count(m);
	for (uint32_t i = 0; i < n; i++) {
		struct module *mod = (struct module *)modmap_at(m, i);
		if (mod->load_bias == bias && mod->lo == lo && mod->hi == hi &&
		    module_loaded(mod) && mod->path_len == strnlen(path, LC_DUMP_MAX_PATH) &&
		    memcmp(mod->path, path, mod->path_len) == 0) {
			mod->seen = m->pass;
			return mod;
		}
	}
	return NULL;
}

static void module_fill_segments(struct module *mod, const struct dl_phdr_info *info)
{
	uint32_t k = 0;
	for (int i = 0; i < info->dlpi_phnum && k < mod->nsegments; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		mod->segments[k].vaddr = ph->p_vaddr;
		mod->segments[k].memsz = ph->p_memsz;
		mod->segments[k].offset = ph->p_offset;
		mod->segments[k].flags = ph->p_flags;
		k++;
	}
}

/* Reserve an index, store the entry, publish the count in index order: a
 * second appender (the dumper) waits only for the few instructions between
 * an earlier reservation and its publication. */
static void modmap_append(struct modmap *m, struct module *mod)
{
	uint32_t idx = atomic_fetch_add(&m->reserved, 1);
	if (idx >= MODMAP_MAX) {
		atomic_fetch_add(&m->dropped, 1);
		return;
	}
	mod->pub->id = idx;
	pfile_publish(mod->pub, LC_REC_MODULE);
	atomic_store_explicit(&m->mods[idx], mod, memory_order_release);
	while (atomic_load_explicit(&m->count, memory_order_acquire) != idx)
		sched_yield();
	atomic_store_explicit(&m->count, idx + 1, memory_order_release);
}

/* The module's record: header, segments, build-id, path. */
static bool module_record(struct modmap *m, struct module *mod)
{
	uint32_t size = sizeof(struct lc_rec_module) +
	                mod->nsegments * sizeof(struct lc_rec_segment) + mod->build_id_len +
	                mod->path_len;
	struct lc_rec_module *r = pfile_record(m->file, size);
	if (!r)
		return false;
	r->nsegments = mod->nsegments;
	r->load_bias = mod->load_bias;
	r->build_id_len = mod->build_id_len;
	r->path_len = mod->path_len;
	r->epoch_first = atomic_load(m->epoch);
	r->epoch_last = UINT32_MAX;
	struct lc_rec_segment *seg = (struct lc_rec_segment *)(r + 1);
	memcpy(seg, mod->segments, mod->nsegments * sizeof(*seg));
	uint8_t *bid = (uint8_t *)(seg + mod->nsegments);
	memcpy(bid, mod->build_id, mod->build_id_len);
	memcpy(bid + mod->build_id_len, mod->path, mod->path_len);
	mod->pub = r;
	return true;
}

struct visit {
	struct modmap *m;
	bool add;      /* second pass: append what is new */
	uint32_t news; /* first pass: objects not known */
};

static int modmap_visit(struct dl_phdr_info *info, size_t size, void *ctx)
{
	struct visit *v = ctx;
	struct modmap *m = v->m;
	(void)size;
	uint64_t lo, hi;
	uint32_t nload;
	phdr_extent(info, &lo, &hi, &nload);
	const char *path = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : m->exe_path;
	if (nload == 0 || modmap_known(m, path, info->dlpi_addr, lo, hi))
		return 0;
	v->news++;
	if (!v->add)
		return 0;
	size_t path_len = strnlen(path, LC_DUMP_MAX_PATH);
	if (nload > LC_DUMP_MAX_SEGMENTS)
		nload = LC_DUMP_MAX_SEGMENTS;
	struct module *mod = NULL;
	if (atomic_load(&m->reserved) < MODMAP_MAX)
		mod = arena_alloc(m->arena, sizeof(*mod) + nload * sizeof(struct lc_rec_segment) +
		                                path_len + 1);
	if (!mod) {
		atomic_fetch_add(&m->dropped, 1);
		return 0;
	}
	mod->load_bias = info->dlpi_addr;
	mod->lo = lo;
	mod->hi = hi;
	mod->nsegments = nload;
	mod->segments = (struct lc_rec_segment *)(mod + 1);
	mod->path = (char *)(mod->segments + nload);
	mod->path_len = (uint32_t)path_len;
	mod->seen = m->pass;
	memcpy(mod->path, path, path_len);
	mod->build_id_len = phdr_build_id(info, mod->build_id);
	module_fill_segments(mod, info);
	if (!module_record(m, mod)) {
		atomic_fetch_add(&m->dropped, 1);
		return 0;
	}
	modmap_append(m, mod);
	return 0;
}

/* Modules that were loaded but this pass did not see are gone: their
 * last epoch is the current one, and the epoch moves on. */
static void modmap_mark_gone(struct modmap *m)
{
	bool gone = false;
	uint32_t epoch = atomic_load(m->epoch);
	uint32_t n = modmap_count(m);
	for (uint32_t i = 0; i < n; i++) {
		struct module *mod = (struct module *)modmap_at(m, i);
		if (mod->seen != m->pass && module_loaded(mod)) {
			atomic_store_explicit((_Atomic uint32_t *)&mod->pub->epoch_last, epoch,
			                      memory_order_relaxed);
			gone = true;
		}
	}
	if (gone)
		atomic_store_explicit(&m->epoch_now, atomic_fetch_add(m->epoch, 1) + 1,
		                      memory_order_release);
}

/* One refresh (the caller holds `refreshing`): see what is loaded, mark
 * what is gone, then add what is new in the (maybe new) epoch.  glibc's
 * dl_iterate_phdr (m->iterate), not our hook: the caller's stretch is quiet already
 * (loader.h), and our own calls are not the application's. */
static void modmap_scan(struct modmap *m)
{
	struct visit v = {.m = m};
	m->pass++;
	m->iterate(modmap_visit, &v);
	modmap_mark_gone(m);
	if (v.news) {
		v.add = true;
		m->iterate(modmap_visit, &v);
	}
}

bool modmap_refresh(struct modmap *m)
{
	uint32_t expect = 0;
	if (!atomic_compare_exchange_strong(&m->refreshing, &expect, 1))
		return false;
	modmap_scan(m);
	atomic_store(&m->refreshing, 0);
	return true;
}

bool modmap_hold(struct modmap *m, uint64_t max_ns)
{
	uint64_t deadline = 0;
	for (;;) {
		uint32_t expect = 0;
		if (atomic_compare_exchange_strong(&m->refreshing, &expect, MODMAP_HELD))
			return true;
		if (!max_ns || !clock_wait_turn(&deadline, max_ns))
			return false;
	}
}

void modmap_unhold(struct modmap *m)
{
	atomic_store(&m->refreshing, 0);
}

void modmap_refresh_final(struct modmap *m, uint64_t max_ns)
{
	uint64_t deadline = clock_mono_ns() + max_ns;
	while (!modmap_refresh(m)) {
		if (clock_mono_ns() > deadline) {
			/* held while the profile moves into its file: an append
			 * now would be lost from it (filing.c); do without */
			if (atomic_load(&m->refreshing) == MODMAP_HELD)
				return;
			/* the holder is stuck: append what is new, mark nothing */
			struct visit v = {.m = m, .add = true};
			m->iterate(modmap_visit, &v);
			return;
		}
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
}
