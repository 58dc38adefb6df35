/*
 * resolve.c — libdwfl symbolization of raw return addresses (resolve.h).
 *
 * The lookup follows eu-stack: pc - 1, the CU DIE at that address, its
 * scopes from the innermost out; every inlined subroutine is a frame whose
 * caller's file:line is the inline's DW_AT_call_file/line, and the
 * enclosing subprogram ends the chain.  Without DWARF, the ELF symbol table
 * names the function; so does it a C++ function whose DWARF has no linkage
 * name (internal linkage), so that its parameters tell overloads apart.
 * Names are demangled as Rust (legacy and v0, libiberty's rust_demangle)
 * or else as C++ (libstdc++'s __cxa_demangle), unless --no-demangle.
 *
 * libdwfl starts only when an answer is needed: with a cache (symcache.h)
 * that holds every module's file status and every address asked for, a
 * resolver opens no file at all, which is what makes lockcontend-top's
 * refreshes cheap.  Every answer goes into the cache as it is found.
 */
#include "resolve.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "safeopen.h"
#include "symcache.h"

/* From libstdc++: the Itanium C++ ABI demangler. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);
/* From libiberty (libiberty-dev; its demangle.h is not included: its
 * libiberty.h redeclares libc's functions): Rust's legacy mangling (_ZN...
 * ending in a hash, 17h<16 hex>E, which it drops) and v0 (_R...).  NULL for
 * anything else, C++ included. */
extern char *rust_demangle(const char *mangled, int options);
#define RESOLVE_DMGL_PARAMS_ANSI 3 /* demangle.h's DMGL_PARAMS | DMGL_ANSI */

struct resolver {
	Dwfl *dwfl;
	Dwfl_Callbacks cb;
	char *debuginfo_path;
	const struct dump *dump;
	Dwfl_Module **mods; /* per dump module: its libdwfl module, or NULL */
	size_t *same;       /* per dump module: the first module of the same object */
	bool *found;        /* per dump module: a matching file was reported */
	bool *warned;       /* per first module of an object: its missing file was reported */
	FILE *warn;
	struct resolve_opts opts;
	bool demangle;
	bool started;                        /* libdwfl was set up (resolver_start) */
	struct symcache_module **cached;     /* per dump module: its cache entry (opts.cache) */
	char *demangled[RESOLVE_MAX_INLINE]; /* owned results of the last lookup */
};

static bool build_id_of_fd(int fd, uint8_t *out, size_t *len)
{
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	const void *id = NULL;
	ssize_t n = elf ? dwelf_elf_gnu_build_id(elf, &id) : -1;
	bool ok = n > 0 && (size_t)n <= LC_DUMP_MAX_BUILD_ID;
	if (ok) {
		memcpy(out, id, (size_t)n);
		*len = (size_t)n;
	}
	if (elf)
		elf_end(elf);
	return ok;
}

/* Open path if it is an ELF file whose build-id is the module's (or the
 * module has none recorded).  Returns an fd or -1.  The path comes from
 * the dump: a FIFO or a device there is a missing file, never opened
 * (safeopen.h). */
static int open_matching(const char *path, const struct dump_module *m)
{
	struct stat st;
	int fd = safeopen_regular(path, &st);
	if (fd < 0)
		return -1;
	uint8_t id[LC_DUMP_MAX_BUILD_ID];
	size_t len = 0;
	bool has = build_id_of_fd(fd, id, &len);
	if (m->build_id_len == 0
	        ? true
	        : has && len == m->build_id_len && memcmp(id, m->build_id, len) == 0)
		return fd;
	close(fd);
	return -1;
}

/* <dir>/.build-id/xx/rest<suffix> */
static int open_by_build_id(const char *dir, const struct dump_module *m, const char *suffix,
                            char *path, size_t cap)
{
	if (m->build_id_len < 2)
		return -1;
	int n = snprintf(path, cap, "%s/.build-id/%02x/", dir, m->build_id[0]);
	for (uint32_t i = 1; i < m->build_id_len && n < (int)cap - 3; i++)
		n += snprintf(path + n, cap - (size_t)n, "%02x", m->build_id[i]);
	snprintf(path + n, cap - (size_t)n, "%s", suffix);
	return open_matching(path, m);
}

/* The file for module m: its recorded path (under the sysroot), else by
 * build-id.  The path actually opened goes to `found`. */
static int find_module_file(const struct dump_module *m, const struct resolve_opts *o, char *found,
                            size_t cap)
{
	snprintf(found, cap, "%s%s", o->sysroot ? o->sysroot : "", m->path);
	int fd = m->path[0] == '/' ? open_matching(found, m) : -1;
	for (size_t i = 0; fd < 0 && i <= o->ndebug_dirs; i++) {
		const char *dir = i < o->ndebug_dirs ? o->debug_dirs[i] : "/usr/lib/debug";
		fd = open_by_build_id(dir, m, "", found, cap);
		if (fd < 0)
			fd = open_by_build_id(dir, m, ".debug", found, cap);
	}
	return fd;
}

static void warn_module(FILE *warn, const struct dump_module *m, const struct resolve_opts *o)
{
	char id[2 * LC_DUMP_MAX_BUILD_ID + 1] = "none";
	for (uint32_t i = 0; i < m->build_id_len; i++)
		snprintf(id + 2 * i, 3, "%02x", m->build_id[i]);
	fprintf(warn,
	        "lockcontend-symbolize: warning: no file for %s%s with build-id %s; its frames are "
	        "shown as module+offset\n",
	        o->sysroot ? o->sysroot : "", m->path, id);
}

static char *debuginfo_path_for(const struct resolve_opts *o)
{
	size_t len = 32;
	for (size_t i = 0; i < o->ndebug_dirs; i++)
		len += strlen(o->debug_dirs[i]) + 1;
	char *p = malloc(len);
	if (!p)
		return NULL;
	strcpy(p, ":.debug");
	for (size_t i = 0; i < o->ndebug_dirs; i++) {
		strcat(p, ":");
		strcat(p, o->debug_dirs[i]);
	}
	strcat(p, ":/usr/lib/debug");
	return p;
}

static bool is_vdso(const struct dump_module *m)
{
	return strcmp(m->path, "linux-vdso.so.1") == 0 || strcmp(m->path, "[vdso]") == 0;
}

/* The same object at the same place (unloaded, then loaded again at the
 * same address, or listed twice). */
static bool same_object(const struct dump_module *a, const struct dump_module *b)
{
	return a->load_bias == b->load_bias && a->nsegments == b->nsegments &&
	       a->build_id_len == b->build_id_len &&
	       memcmp(a->build_id, b->build_id, a->build_id_len) == 0 &&
	       strcmp(a->path, b->path) == 0 &&
	       memcmp(a->segments, b->segments, a->nsegments * sizeof(*a->segments)) == 0;
}

/* Report module i of the dump.  libdwfl takes a second module of the same
 * name and extent for the first one (and drops both), so a name already
 * used gets the module's index: the name is only a label here. */
static void report_module(struct resolver *r, size_t i, const struct resolve_opts *o)
{
	const struct dump *d = r->dump;
	const struct dump_module *m = &d->modules[i];
	bool name_used = false;
	r->same[i] = i;
	for (size_t j = 0; j < i; j++) {
		if (r->same[j] == j && same_object(&d->modules[j], m)) {
			r->same[i] = j;
			r->mods[i] = r->mods[j];
			r->found[i] = r->found[j];
			return;
		}
		name_used |= strcmp(d->modules[j].path, m->path) == 0;
	}
	char path[2 * 4096], name[4096 + 32];
	snprintf(name, sizeof(name), name_used ? "%s#%zu" : "%s", m->path, i);
	int fd = find_module_file(m, o, path, sizeof(path));
	if (fd >= 0)
		r->mods[i] = dwfl_report_elf(r->dwfl, name, path, fd, m->load_bias, true);
	r->found[i] = r->mods[i] != NULL;
	if (fd >= 0 && !r->found[i])
		close(fd);
}

struct resolver *resolver_open(const struct dump *d, const struct resolve_opts *o, FILE *warn)
{
	struct resolver *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	size_t n = d->nmodules ? d->nmodules : 1;
	r->dump = d;
	r->demangle = o->demangle;
	r->debuginfo_path = debuginfo_path_for(o);
	r->mods = calloc(n, sizeof(*r->mods));
	r->same = calloc(n, sizeof(*r->same));
	r->found = calloc(n, sizeof(bool));
	r->warned = calloc(n, sizeof(bool));
	r->cached = calloc(n, sizeof(*r->cached));
	r->warn = warn;
	r->opts = *o;
	bool ok = r->mods && r->same && r->found && r->warned && r->cached && r->debuginfo_path;
	for (size_t i = 0; ok && o->cache && i < d->nmodules; i++)
		ok = (r->cached[i] = symcache_module(o->cache, &d->modules[i])) != NULL;
	if (!ok) {
		resolver_close(r);
		return NULL;
	}
	return r;
}

/* Set libdwfl up and report every module of the dump: once, when the
 * first answer not in the cache is asked for.  False if libdwfl could not
 * start (out of memory): every module is then missing. */
static bool resolver_start(struct resolver *r)
{
	const struct dump *d = r->dump;
	if (r->started)
		return r->dwfl != NULL;
	r->started = true;
	r->cb.find_elf = dwfl_build_id_find_elf;
	r->cb.find_debuginfo = dwfl_standard_find_debuginfo;
	r->cb.section_address = dwfl_offline_section_address;
	r->cb.debuginfo_path = &r->debuginfo_path;
	if (!(r->dwfl = dwfl_begin(&r->cb)))
		return false;
	dwfl_report_begin(r->dwfl);
	for (size_t i = 0; i < d->nmodules; i++) {
		r->same[i] = i;
		if (!is_vdso(&d->modules[i]))
			report_module(r, i, &r->opts);
	}
	dwfl_report_end(r->dwfl, NULL, NULL);
	return true;
}

void resolver_close(struct resolver *r)
{
	if (!r)
		return;
	if (r->dwfl)
		dwfl_end(r->dwfl);
	for (int i = 0; i < RESOLVE_MAX_INLINE; i++)
		free(r->demangled[i]);
	free(r->debuginfo_path);
	free(r->mods);
	free(r->same);
	free(r->found);
	free(r->warned);
	free(r->cached);
	free(r);
}

/* Index of dump module m, or nmodules if m is not one. */
static size_t module_index(const struct resolver *r, const struct dump_module *m)
{
	size_t n = r->dump->nmodules;
	if (!m || m < r->dump->modules || m >= r->dump->modules + n)
		return n;
	return (size_t)(m - r->dump->modules);
}

bool resolver_module_found(struct resolver *r, const struct dump_module *m)
{
	size_t i = module_index(r, m);
	if (i == r->dump->nmodules)
		return false;
	struct symcache_module *cm = r->cached[i];
	if (cm && cm->found >= 0)
		return cm->found;
	resolver_start(r);
	if (cm)
		cm->found = r->found[i];
	return r->found[i];
}

/* ---- lookup ------------------------------------------------------------- */

static const char *die_name(Dwarf_Die *die, const char **linkage)
{
	Dwarf_Attribute attr;
	const char *l = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	if (!l)
		l = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
	*linkage = l ? l : name;
	return name ? name : l;
}

/* The demangled form of sys, owned by r until the next lookup. */
static const char *demangle(struct resolver *r, int slot, const char *sys, const char *plain)
{
	free(r->demangled[slot]);
	r->demangled[slot] = NULL;
	if (!r->demangle || !sys || (strncmp(sys, "_Z", 2) != 0 && strncmp(sys, "_R", 2) != 0))
		return r->demangle || !sys ? plain : sys;
	/* Rust first: a legacy Rust name is also a valid C++ one, but its hash
	 * and $u7b$-style escapes would stay in. */
	int status = 0;
	char *d = rust_demangle(sys, RESOLVE_DMGL_PARAMS_ANSI);
	if (!d && sys[1] == 'Z')
		d = __cxa_demangle(sys, NULL, NULL, &status);
	if (status != 0 || !d) {
		free(d);
		return plain;
	}
	r->demangled[slot] = d;
	return d;
}

static const char *call_file(Dwarf_Die *cudie, Dwarf_Die *inl)
{
	Dwarf_Attribute attr;
	Dwarf_Word idx;
	Dwarf_Files *files;
	size_t nfiles;
	if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &attr), &idx) != 0 ||
	    dwarf_getsrcfiles(cudie, &files, &nfiles) != 0 || idx >= nfiles)
		return "";
	const char *f = dwarf_filesrc(files, idx, NULL, NULL);
	return f ? f : "";
}

static int call_line(Dwarf_Die *inl)
{
	Dwarf_Attribute attr;
	Dwarf_Word line;
	return dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &attr), &line) == 0 ? (int)line : 0;
}

/* The line table's file:line at a ("", 0 when there is none). */
static void source_line(Dwfl_Module *mod, Dwarf_Addr a, const char **file, int *line)
{
	Dwfl_Line *l = dwfl_module_getsrc(mod, a);
	const char *f = l ? dwfl_lineinfo(l, NULL, line, NULL, NULL, NULL) : NULL;
	if (!f)
		*line = 0;
	*file = f ? f : "";
}

/* The inline chain at a from DWARF scopes; 0 if there is no DWARF here. */
static bool scopes_inlined(Dwarf_Die *scopes, int nscopes)
{
	for (int i = 0; i < nscopes; i++) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag == DW_TAG_inlined_subroutine)
			return true;
		if (tag == DW_TAG_subprogram || tag == DW_TAG_entry_point)
			return false;
	}
	return false;
}

static bool cu_is_cxx(Dwarf_Die *cudie)
{
	int lang = dwarf_srclang(cudie);
	return lang == DW_LANG_C_plus_plus || lang == DW_LANG_C_plus_plus_03 ||
	       lang == DW_LANG_C_plus_plus_11 || lang == DW_LANG_C_plus_plus_14;
}

/* A C++ function with internal linkage (static, or in an anonymous
 * namespace) has no linkage name in gcc's DWARF, only its bare name: two
 * static overloads would both be "wait_on".  The ELF symbol at a, if it is
 * a mangled name, names it with its parameters. */
static const char *static_linkage(Dwfl_Module *mod, Dwarf_Addr a, const char *sys)
{
	GElf_Off off;
	GElf_Sym sym;
	const char *s = dwfl_module_addrinfo(mod, a, &off, &sym, NULL, NULL, NULL);
	return s && strncmp(s, "_Z", 2) == 0 ? s : sys;
}

static int lookup_dwarf(struct resolver *r, Dwfl_Module *mod, Dwarf_Addr a,
                        struct resolve_frame *frames, int max)
{
	Dwarf_Addr bias;
	Dwarf_Die *cudie = dwfl_module_addrdie(mod, a, &bias), *scopes = NULL;
	int nscopes = cudie ? dwarf_getscopes(cudie, a - bias, &scopes) : 0;
	/* Inside inlined code dwarf_getscopes goes on into the inline's
	 * abstract origin; the physical nesting (the callers it was inlined
	 * into) needs a second walk, dwarf_getscopes_die, which costs as much
	 * again: only when an inline comes before the first subprogram. */
	if (nscopes > 0 && scopes_inlined(scopes, nscopes)) {
		Dwarf_Die innermost = scopes[0], *chain = NULL;
		int n = dwarf_getscopes_die(&innermost, &chain);
		free(scopes);
		scopes = chain;
		nscopes = n > 0 ? n : 0;
	}
	const char *file;
	int line, n = 0;
	source_line(mod, a, &file, &line);
	for (int i = 0; i < nscopes && n < max; i++) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram &&
		    tag != DW_TAG_entry_point)
			continue;
		const char *sys, *name = die_name(&scopes[i], &sys);
		if (!name)
			name = sys = "??";
		else if (tag != DW_TAG_inlined_subroutine && sys == name && cu_is_cxx(cudie))
			sys = static_linkage(mod, a, sys);
		frames[n] = (struct resolve_frame){demangle(r, n, sys, name), sys, file, line};
		n++;
		if (tag != DW_TAG_inlined_subroutine)
			break;
		file = call_file(cudie, &scopes[i]);
		line = call_line(&scopes[i]);
	}
	free(scopes);
	return n;
}

/* Warn once per object, and only for one a stack or a lock points into;
 * with a cache, once for every resolver that shares it. */
static void warn_missing(struct resolver *r, const struct dump_module *m)
{
	size_t k = (size_t)(m - r->dump->modules), i = r->same[k];
	struct symcache_module *cm = r->cached[k];
	if (!r->warned[i] && !(cm && cm->warned) && r->warn && !is_vdso(m))
		warn_module(r->warn, m, &r->opts);
	r->warned[i] = true;
	if (cm)
		cm->warned = true;
}

/* The libdwfl module of dump module m, or NULL (after a warning, the first
 * time, if its file is missing). */
static Dwfl_Module *dwfl_module_for(struct resolver *r, const struct dump_module *m)
{
	size_t i = module_index(r, m);
	if (i == r->dump->nmodules || !resolver_start(r))
		return NULL;
	if (!r->found[i])
		warn_missing(r, m);
	return r->mods[i];
}

/* resolver_lookup by libdwfl, the cache left aside. */
static int lookup_frames(struct resolver *r, const struct dump_module *m, uint64_t pc,
                         struct resolve_frame *frames, int max)
{
	Dwarf_Addr a = dump_frame_addr(pc); /* the one pc rule (dumpread.h) */
	Dwfl_Module *mod = dwfl_module_for(r, m);
	if (!mod)
		return 0;
	int n = lookup_dwarf(r, mod, a, frames, max);
	if (n > 0)
		return n;
	GElf_Off off;
	GElf_Sym sym;
	const char *sys = dwfl_module_addrinfo(mod, a, &off, &sym, NULL, NULL, NULL);
	if (!sys)
		return 0;
	const char *file;
	int line;
	source_line(mod, a, &file, &line);
	frames[0] = (struct resolve_frame){demangle(r, 0, sys, sys), sys, file, line};
	return 1;
}

int resolver_lookup(struct resolver *r, const struct dump_module *m, uint64_t pc,
                    struct resolve_frame *frames, int max)
{
	if (pc == 0 || max <= 0)
		return 0;
	if (max > RESOLVE_MAX_INLINE)
		max = RESOLVE_MAX_INLINE;
	size_t i = module_index(r, m);
	struct symcache_module *cm = i < r->dump->nmodules ? r->cached[i] : NULL;
	if (!cm)
		return lookup_frames(r, m, pc, frames, max);
	/* The whole chain goes into the cache, whatever this caller's max. */
	struct resolve_frame all[RESOLVE_MAX_INLINE];
	const struct resolve_frame *got = all;
	int n = symcache_frames(cm, pc, &got);
	if (n < 0) {
		got = all;
		n = lookup_frames(r, m, pc, all, RESOLVE_MAX_INLINE);
		symcache_put_frames(r->opts.cache, cm, pc, all, n); /* not kept: asked again */
	}
	n = n < max ? n : max;
	memcpy(frames, got, (size_t)n * sizeof(*frames));
	return n;
}

/* resolver_data_symbol by libdwfl, in module m, the cache left aside. */
static int data_symbol(struct resolver *r, const struct dump_module *m, uint64_t addr, char *buf,
                       size_t cap)
{
	size_t i = module_index(r, m);
	Dwfl_Module *mod = resolver_start(r) && r->found[i] ? r->mods[i] : NULL;
	GElf_Off off = 0;
	GElf_Sym sym;
	const char *sys =
	    mod ? dwfl_module_addrinfo(mod, addr, &off, &sym, NULL, NULL, NULL) : NULL;
	/* libdwfl falls back to the nearest symbol below (a sizeless label,
	 * or one that ends before addr): that would be a wrong name. */
	if (sys && (off < sym.st_size || off == 0)) {
		const char *name = demangle(r, 0, sys, sys);
		if (off)
			snprintf(buf, cap, "%s+%#" PRIx64, name, (uint64_t)off);
		else
			snprintf(buf, cap, "%s", name);
		return 1;
	}
	if (r->started && !r->found[i])
		warn_missing(r, m);
	const char *base = strrchr(m->path, '/');
	snprintf(buf, cap, "%s+%#" PRIx64, base ? base + 1 : m->path, addr - m->load_bias);
	return 0;
}

int resolver_data_symbol(struct resolver *r, uint64_t addr, char *buf, size_t cap)
{
	const struct dump_module *m = dump_module_of(r->dump, addr);
	if (!m)
		return -1;
	struct symcache_module *cm = r->cached[m - r->dump->modules];
	const char *name;
	int rc;
	if (cm && symcache_data(cm, addr, &rc, &name)) {
		snprintf(buf, cap, "%s", name);
		return rc;
	}
	rc = data_symbol(r, m, addr, buf, cap);
	if (cm)
		symcache_put_data(r->opts.cache, cm, addr, rc, buf); /* not kept: asked again */
	return rc;
}
