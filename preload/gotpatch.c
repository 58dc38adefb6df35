/*
 * gotpatch.c — rewrite and restore GOT slots (see gotpatch.h).
 *
 * A pass walks dl_iterate_phdr.  Its callback names the object (load
 * address and PT_DYNAMIC), finds it among those met before (marking it
 * seen) and, in a patching pass, reads a new one's relocations.  After the
 * walk, objects not seen were unloaded: their records and slots are
 * dropped.  The tables stay packed and in order: an object's slots are
 * contiguous, objects in the order they were met.
 *
 * ld.so has already made PT_DYNAMIC's pointers absolute in every object
 * it loaded (it adds the load address in place); an object whose dynamic
 * section it could not write keeps them relative.  A pointer inside the
 * object's extent is taken as it is, any other has the load address
 * added; every table is then checked to lie inside a PT_LOAD segment
 * before it is read.
 */
#include "gotpatch.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "procmaps.h"

struct gotpatch_obj {
	uintptr_t base;    /* dlpi_addr */
	uintptr_t dynamic; /* its PT_DYNAMIC at run time */
	uint32_t first, n; /* its slots: [first, first + n) */
	uint32_t seen;     /* the last pass that found it */
	bool other_ns;     /* of another namespace: never patched */
};

struct gotpatch_slot {
	uintptr_t *at;
	uintptr_t old; /* what it held before */
	uintptr_t to;  /* our hook */
};

/* A store into a page that may be read-only: made writable for it, given
 * back its protection after; consecutive stores into one page share the
 * change. */
struct page_write {
	uintptr_t page; /* made writable now; 0: none */
	int prot;       /* what it had */
	struct procmaps_vma vma;
	bool have; /* vma: the last mapping looked up */
};

struct pass {
	struct gotpatch *g;
	bool restore; /* else patch */
	bool first;   /* the callback's first call reads the loader's counters */
	uint64_t adds, subs;
	struct page_write w;
	const struct dl_phdr_info *info; /* the object being visited */
};

static uintptr_t rtld_base, vdso_base;

int gotpatch_init(struct gotpatch *g, const struct gotpatch_hook *hooks, size_t n, const void *self,
                  modmap_iterate_fn iterate)
{
	size_t objs = GOTPATCH_MAX_OBJECTS * sizeof(struct gotpatch_obj);
	size_t bytes = objs + GOTPATCH_MAX_SLOTS * sizeof(struct gotpatch_slot);
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return errno;
	memset(g, 0, sizeof(*g));
	g->hooks = hooks;
	g->nhooks = n;
	g->self = self;
	g->iterate = iterate;
	g->page = (uintptr_t)getpagesize();
	g->objs = p;
	g->slots = (struct gotpatch_slot *)((char *)p + objs);
	g->dirty = true;
	rtld_base = getauxval(AT_BASE);
	vdso_base = getauxval(AT_SYSINFO_EHDR);
	return 0;
}

uint32_t gotpatch_live(const struct gotpatch *g)
{
	return g->nslots;
}

/* ---- the object ------------------------------------------------------------ */

/* Does [addr, addr + len) lie inside one of the object's PT_LOAD segments? */
static bool in_load(const struct dl_phdr_info *info, uintptr_t addr, size_t len)
{
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && addr >= lo && len <= ph->p_memsz &&
		    addr - lo <= ph->p_memsz - len)
			return true;
	}
	return false;
}

static uintptr_t obj_dynamic(const struct dl_phdr_info *info)
{
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
			return info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
	return 0;
}

/* Our own library, the dynamic linker, the vDSO. */
static bool obj_never(const struct gotpatch *g, const struct dl_phdr_info *info)
{
	return in_load(info, (uintptr_t)g->self, 1) ||
	       (rtld_base && info->dlpi_addr == rtld_base) ||
	       (vdso_base && in_load(info, vdso_base, 1));
}

static struct gotpatch_obj *obj_find(struct gotpatch *g, uintptr_t base, uintptr_t dynamic)
{
	for (uint32_t i = 0; i < g->nobjs; i++)
		if (g->objs[i].base == base && g->objs[i].dynamic == dynamic)
			return &g->objs[i];
	return NULL;
}

/* Has the loader finished with the object (relocated, RELRO applied: it
 * is in _dl_find_object's data), and is it of the base namespace (in
 * _r_debug's list, which changes only under the lock dl_iterate_phdr
 * holds while we look)? */
enum ready { READY, NOT_YET, OTHER_NS };

static enum ready obj_ready(uintptr_t base, uintptr_t dynamic)
{
	struct dl_find_object f;
	if (_dl_find_object((void *)dynamic, &f) != 0 || !f.dlfo_link_map)
		return NOT_YET;
	struct link_map *lm = f.dlfo_link_map;
	if ((uintptr_t)lm->l_ld != dynamic || lm->l_addr != base)
		return NOT_YET;
	for (struct link_map *l = _r_debug.r_map; l; l = l->l_next)
		if (l == lm)
			return READY;
	return OTHER_NS;
}

/* ---- stores ---------------------------------------------------------------- */

static void page_close(struct pass *p)
{
	if (p->w.page) {
		mprotect((void *)p->w.page, p->g->page, p->w.prot);
		p->w.page = 0;
	}
}

/* Is addr in a readable mapping?  The last mapping looked up is kept:
 * an object's slots lie together. */
static bool page_readable(struct pass *p, uintptr_t addr)
{
	struct page_write *w = &p->w;
	if (!w->have || addr < w->vma.lo || addr >= w->vma.hi)
		w->have = procmaps_find(addr, &w->vma);
	return w->have && (w->vma.prot & PROT_READ);
}

/* Make the page of addr writable if it is not; false if it is not mapped
 * (or not readable), or its protection cannot be changed. */
static bool page_open(struct pass *p, uintptr_t addr)
{
	struct page_write *w = &p->w;
	uintptr_t page = addr & ~(p->g->page - 1);
	if (w->page == page)
		return true;
	page_close(p);
	if (!page_readable(p, addr))
		return false;
	if (w->vma.prot & PROT_WRITE)
		return true;
	if (mprotect((void *)page, p->g->page, w->vma.prot | PROT_WRITE) != 0)
		return false;
	w->page = page;
	w->prot = w->vma.prot;
	return true;
}

/* Swap `want` for `to` in the slot; true if it held want. */
static bool slot_swap(uintptr_t *at, uintptr_t want, uintptr_t to)
{
	return __atomic_compare_exchange_n(at, &want, to, false, __ATOMIC_SEQ_CST,
	                                   __ATOMIC_RELAXED);
}

/* The slot, restored if it still holds our hook (its page mapped). */
static void slot_restore(struct pass *p, const struct gotpatch_slot *s)
{
	struct gotpatch *g = p->g;
	if (__atomic_load_n(s->at, __ATOMIC_RELAXED) != s->to)
		g->sums.left++;
	else if (!page_open(p, (uintptr_t)s->at) || !slot_swap(s->at, s->to, s->old))
		g->sums.left++;
	else
		g->sums.restored++;
}

/* ---- reading an object's relocations ------------------------------------- */

struct dyn {
	const ElfW(Rela) * rela, *jmprel;
	size_t relasz, pltrelsz;
	const ElfW(Sym) * symtab;
	const char *strtab;
	size_t strsz;
};

/* A d_ptr: absolute if the loader made it so (inside the object), else
 * relative to the load address. */
static uintptr_t dyn_ptr(const struct dl_phdr_info *info, uintptr_t v)
{
	return in_load(info, v, 1) ? v : info->dlpi_addr + v;
}

static bool dyn_read(const struct dl_phdr_info *info, uintptr_t dynamic, struct dyn *d)
{
	memset(d, 0, sizeof(*d));
	bool plt_rela = true;
	for (const ElfW(Dyn) *e = (const ElfW(Dyn) *)dynamic;
	     in_load(info, (uintptr_t)e, sizeof(*e)) && e->d_tag != DT_NULL; e++) {
		switch (e->d_tag) {
		case DT_RELA: d->rela = (const void *)dyn_ptr(info, e->d_un.d_ptr); break;
		case DT_RELASZ: d->relasz = e->d_un.d_val; break;
		case DT_JMPREL: d->jmprel = (const void *)dyn_ptr(info, e->d_un.d_ptr); break;
		case DT_PLTRELSZ: d->pltrelsz = e->d_un.d_val; break;
		case DT_PLTREL: plt_rela = e->d_un.d_val == DT_RELA; break;
		case DT_SYMTAB: d->symtab = (const void *)dyn_ptr(info, e->d_un.d_ptr); break;
		case DT_STRTAB: d->strtab = (const void *)dyn_ptr(info, e->d_un.d_ptr); break;
		case DT_STRSZ: d->strsz = e->d_un.d_val; break;
		}
	}
	if (!plt_rela) /* DT_REL: not an x86-64 object */
		d->jmprel = NULL;
	if (d->rela && !in_load(info, (uintptr_t)d->rela, d->relasz))
		d->rela = NULL;
	if (d->jmprel && !in_load(info, (uintptr_t)d->jmprel, d->pltrelsz))
		d->jmprel = NULL;
	return d->symtab && d->strtab && in_load(info, (uintptr_t)d->strtab, d->strsz);
}

/* The hook of a symbol's name, by bisection; NULL if none. */
static const struct gotpatch_hook *hook_of(const struct gotpatch *g, const char *name)
{
	size_t lo = 0, hi = g->nhooks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, g->hooks[mid].name);
		if (c == 0)
			return &g->hooks[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static const struct gotpatch_hook *reloc_hook(const struct pass *p, const struct dyn *d,
                                              const ElfW(Rela) * r)
{
	uint32_t sym = ELF64_R_SYM(r->r_info);
	const ElfW(Sym) *s = d->symtab + sym;
	if (!sym || !in_load(p->info, (uintptr_t)s, sizeof(*s)) || s->st_name >= d->strsz)
		return NULL;
	return hook_of(p->g, d->strtab + s->st_name);
}

/* Rewrite one slot of object o to `to`, remembering what it held. */
static void slot_patch(struct pass *p, struct gotpatch_obj *o, uintptr_t *at, uintptr_t to)
{
	struct gotpatch *g = p->g;
	for (uint32_t i = o->first; i < o->first + o->n; i++)
		if (g->slots[i].at == at)
			return; /* listed twice: DT_RELASZ counted DT_JMPREL's too */
	if (g->nslots == GOTPATCH_MAX_SLOTS || ((uintptr_t)at & 7) ||
	    !in_load(p->info, (uintptr_t)at, sizeof(*at)) || !page_open(p, (uintptr_t)at)) {
		g->sums.failed++;
		return;
	}
	uintptr_t old = __atomic_load_n(at, __ATOMIC_RELAXED);
	while (old != to && !__atomic_compare_exchange_n(at, &old, to, false, __ATOMIC_SEQ_CST,
	                                                 __ATOMIC_RELAXED))
		;
	if (old == to)
		return; /* bound to us already: nothing to give back */
	g->slots[g->nslots++] = (struct gotpatch_slot){.at = at, .old = old, .to = to};
	o->n++;
	g->sums.slots++;
}

static void relocs_patch(struct pass *p, struct gotpatch_obj *o, const struct dyn *d,
                         const ElfW(Rela) * rel, size_t bytes)
{
	for (size_t i = 0; rel && i < bytes / sizeof(*rel); i++) {
		const ElfW(Rela) *r = &rel[i];
		const struct gotpatch_hook *h = reloc_hook(p, d, r);
		if (!h)
			continue;
		uint32_t type = ELF64_R_TYPE(r->r_info);
		if ((type == R_X86_64_JUMP_SLOT || type == R_X86_64_GLOB_DAT) && r->r_addend == 0)
			slot_patch(p, o, (uintptr_t *)(o->base + r->r_offset), (uintptr_t)h->to);
		else
			p->g->sums.out_of_reach++;
	}
}

/* A new object: remembered (with no slot, if it has none to patch, so
 * that later passes know it), and its slots rewritten. */
static void obj_patch(struct pass *p, uintptr_t dynamic)
{
	struct gotpatch *g = p->g;
	enum ready r = obj_ready(p->info->dlpi_addr, dynamic);
	if (r == NOT_YET || g->nobjs == GOTPATCH_MAX_OBJECTS) {
		g->dirty = true; /* to be looked at again */
		return;
	}
	struct gotpatch_obj *o = &g->objs[g->nobjs++];
	*o = (struct gotpatch_obj){.base = p->info->dlpi_addr,
	                           .dynamic = dynamic,
	                           .first = g->nslots,
	                           .seen = g->pass,
	                           .other_ns = r == OTHER_NS};
	struct dyn d;
	if (o->other_ns || !dyn_read(p->info, dynamic, &d))
		return;
	relocs_patch(p, o, &d, d.jmprel, d.pltrelsz);
	relocs_patch(p, o, &d, d.rela, d.relasz);
	page_close(p);
	if (o->n)
		g->sums.objects++;
}

static void obj_restore(struct pass *p, const struct gotpatch_obj *o)
{
	for (uint32_t i = o->first; i < o->first + o->n; i++)
		slot_restore(p, &p->g->slots[i]);
	page_close(p);
}

/* ---- passes ---------------------------------------------------------------- */

static int pass_visit(struct dl_phdr_info *info, size_t size, void *data)
{
	struct pass *p = data;
	struct gotpatch *g = p->g;
	if (p->first &&
	    size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
		p->adds = info->dlpi_adds;
		p->subs = info->dlpi_subs;
	}
	p->first = false;
	uintptr_t dynamic = obj_dynamic(info);
	if (!dynamic || obj_never(g, info))
		return 0;
	p->info = info;
	struct gotpatch_obj *o = obj_find(g, info->dlpi_addr, dynamic);
	if (o) {
		o->seen = g->pass;
		if (p->restore)
			obj_restore(p, o);
	} else if (!p->restore) {
		obj_patch(p, dynamic);
	}
	return 0;
}

/* Drop the objects the pass did not see (unloaded) and their slots. */
static void pass_forget(struct gotpatch *g)
{
	uint32_t no = 0, ns = 0;
	for (uint32_t i = 0; i < g->nobjs; i++) {
		struct gotpatch_obj o = g->objs[i];
		if (o.seen != g->pass) {
			g->sums.forgotten += o.n;
			continue;
		}
		memmove(&g->slots[ns], &g->slots[o.first], o.n * sizeof(g->slots[0]));
		o.first = ns;
		ns += o.n;
		g->objs[no++] = o;
	}
	g->nobjs = no;
	g->nslots = ns;
}

static int pass_counters(struct dl_phdr_info *info, size_t size, void *data)
{
	uint64_t *c = data;
	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
		c[0] = info->dlpi_adds;
		c[1] = info->dlpi_subs;
	}
	return 1; /* one object is enough */
}

static void pass_run(struct gotpatch *g, bool restore)
{
	struct pass p = {.g = g, .restore = restore, .first = true};
	g->pass++;
	g->dirty = false;
	g->iterate(pass_visit, &p);
	page_close(&p);
	pass_forget(g);
	g->adds = p.adds;
	g->subs = p.subs;
}

void gotpatch_update(struct gotpatch *g)
{
	uint64_t c[2] = {0, 0};
	if (!g->dirty && g->iterate(pass_counters, c) && c[0] == g->adds && c[1] == g->subs)
		return;
	pass_run(g, false);
}

void gotpatch_restore(struct gotpatch *g)
{
	pass_run(g, true); /* objects gone meanwhile: forgotten */
	g->nobjs = g->nslots = 0;
	g->dirty = true;
}

void gotpatch_restore_child(struct gotpatch *g, bool consistent)
{
	struct pass p = {.g = g, .restore = true};
	for (uint32_t i = 0; consistent && i < g->nslots; i++) {
		const struct gotpatch_slot *s = &g->slots[i];
		if (page_readable(&p, (uintptr_t)s->at))
			slot_restore(&p, s);
		else
			g->sums.forgotten++;
	}
	page_close(&p);
	g->nobjs = g->nslots = 0;
	g->dirty = true;
}
