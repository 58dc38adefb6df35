/*
 * unsafe.c — the safe-point rule's set of code ranges (see unsafe.h), and
 * the list of libc functions it starts from.
 *
 * The list names the functions that hold a libc-internal lock that the
 * borrowed thread's calls (dlopen, dlsym, dlerror, and the library's
 * lockcontend_attach or lockcontend_detach) may take, or that leave state
 * those calls read half-changed.  docs/attach.md argues each group; in
 * short:
 *
 *   allocator  the arena locks, list_lock, free_list_lock: dlopen allocates
 *              its link map, dlerror its message, the library its tables
 *   loader     dl_load_lock (recursive: a second dlopen inside a first one
 *              is let in and corrupts it), dl_load_write_lock; the code
 *              that takes them in libc (the loader's own is all of ld.so)
 *   threads    the thread-stack cache lock: dlopen of a library with
 *              static TLS writes its TLS image into every thread's block
 *              under it
 *   process    fork holds every arena lock, the stdio list lock and
 *              atfork's; exit and atexit hold __exit_funcs_lock, which a
 *              library's destructor registration takes
 *   environment setenv and kin rewrite environ under envlock
 *   stdio      the list of open streams (fopen, fclose, fflush(NULL))
 *   messages   gettext's locks and the locale's: dlerror translates its
 *              message
 *
 * getenv is not listed: it takes no lock and writes nothing.  Per-stream
 * stdio locks (printf, fwrite) are not listed: the calls write to no
 * stream (the library writes its lines with write(2)).
 *
 * Tail calls and cold parts.  A jump out of a listed function (jmp,
 * jcc) leaves the thread in the target's code with no return address
 * inside the function: so the code a jump reaches joins the set, as the
 * unwind table bounds it, and its own jumps are followed in turn.  Jumps
 * are found by looking at every byte of the code for the opcodes of a
 * 32-bit relative jmp or jcc (E9, 0F 80-8F), and of an 8-bit one (EB,
 * 70-7F) whose target is exactly the start of a function: bytes that only
 * look like a jump add code that need not be there, which costs a false
 * alarm, never a missed lock.  Jumps to an exported function are not
 * followed (a function that jumps away has already let go of its locks;
 * the exported function is on the list or holds none), nor jumps out of
 * .text (to the PLT: an exported function again).
 */
#include "unsafe.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ehframe.h"

#define UNSAFE_MAX_RANGES 8192

static const char *const unsafe_allocator[] = {"malloc",          "free",
                                               "calloc",          "realloc",
                                               "reallocarray",    "memalign",
                                               "posix_memalign",  "aligned_alloc",
                                               "valloc",          "pvalloc",
                                               "malloc_trim",     "malloc_info",
                                               "malloc_stats",    "mallinfo",
                                               "mallinfo2",       "mallopt",
                                               "__libc_malloc",   "__libc_free",
                                               "__libc_calloc",   "__libc_realloc",
                                               "__libc_memalign", "__libc_valloc",
                                               "__libc_pvalloc",  "__libc_mallopt",
                                               "__libc_mallinfo", NULL};

static const char *const unsafe_loader[] = {"dlopen",
                                            "dlmopen",
                                            "dlclose",
                                            "dlsym",
                                            "dlvsym",
                                            "dladdr",
                                            "dladdr1",
                                            "dlinfo",
                                            "dlerror",
                                            "dl_iterate_phdr",
                                            "__libc_dlopen_mode",
                                            "__libc_dlsym",
                                            "__libc_dlvsym",
                                            "__libc_dlclose",
                                            "__cxa_thread_atexit_impl",
                                            NULL};

static const char *const unsafe_threads[] = {
    "pthread_create",       "pthread_exit",         "pthread_join",   "pthread_tryjoin_np",
    "pthread_timedjoin_np", "pthread_clockjoin_np", "pthread_detach", NULL};

static const char *const unsafe_process[] = {
    "fork",    "_Fork",          "vfork",         "__register_atfork",
    "exit",    "quick_exit",     "atexit",        "__cxa_atexit",
    "on_exit", "__cxa_finalize", "at_quick_exit", "__cxa_at_quick_exit",
    NULL};

static const char *const unsafe_environment[] = {"setenv", "unsetenv", "putenv", "clearenv", NULL};

static const char *const unsafe_stdio[] = {
    "fopen",    "fopen64",        "fdopen",          "freopen",     "freopen64",     "fclose",
    "fflush",   "fcloseall",      "popen",           "pclose",      "tmpfile",       "tmpfile64",
    "fmemopen", "open_memstream", "open_wmemstream", "fopencookie", "_IO_list_lock", "_flushlbf",
    NULL};

static const char *const unsafe_messages[] = {
    "gettext",   "dgettext",   "dcgettext",        "__dcgettext",    "ngettext",
    "dngettext", "dcngettext", "textdomain",       "bindtextdomain", "bind_textdomain_codeset",
    "strerror",  "strerror_r", "__xpg_strerror_r", "strerror_l",     "strsignal",
    "perror",    "psignal",    "psiginfo",         "setlocale",      "newlocale",
    "duplocale", "freelocale", "iconv_open",       "iconv_close",    NULL};

static const char *const *const unsafe_libc_lists[] = {
    unsafe_allocator,   unsafe_loader, unsafe_threads,  unsafe_process,
    unsafe_environment, unsafe_stdio,  unsafe_messages, NULL};

static const char *const *const unsafe_allocator_lists[] = {unsafe_allocator, NULL};

/* ---- the set --------------------------------------------------------------- */

static int unsafe_push(struct unsafe_set *s, uint64_t start, uint64_t end, const char *name,
                       bool reached)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256;
		if (cap > UNSAFE_MAX_RANGES)
			return -ENOSPC;
		struct unsafe_range *v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = (struct unsafe_range){start, end, name, reached};
	if (reached)
		s->reached++;
	else
		s->listed++;
	return 0;
}

int unsafe_add_text(struct unsafe_set *s, uint64_t start, uint64_t end, const char *name)
{
	return unsafe_push(s, start, end, name, false);
}

/* Is [start, end) already inside a range added from index `from` on? */
static bool unsafe_covered(const struct unsafe_set *s, size_t from, uint64_t start, uint64_t end)
{
	for (size_t i = from; i < s->n; i++)
		if (s->v[i].start <= start && end <= s->v[i].end)
			return true;
	return false;
}

/* ---- following jumps ---------------------------------------------------------- */

/* What the jumps of one object may reach, and how to bound it. */
struct reach {
	const struct elf_image *img;
	struct ehframe eh;
	uint64_t bias;
	uint64_t text_lo, text_hi; /* .text, file addresses */
	uint64_t *exports;         /* exported function starts, sorted */
	size_t nexports;
	size_t first; /* this object's first range in the set */
};

static bool reach_is_export(const struct reach *r, uint64_t t)
{
	size_t lo = 0, hi = r->nexports;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->exports[mid] == t)
			return true;
		if (r->exports[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* The target of the jump at p[i] (a file address), if it is one; short
 * says it is an 8-bit one. */
static bool reach_jump_at(const unsigned char *p, size_t i, size_t len, uint64_t at, uint64_t *t,
                          bool *short_jump)
{
	int32_t rel;

	*short_jump = false;
	if (p[i] == 0xe9 && i + 5 <= len) {
		memcpy(&rel, p + i + 1, 4);
		*t = at + i + 5 + (uint64_t)(int64_t)rel;
		return true;
	}
	if (p[i] == 0x0f && i + 6 <= len && (p[i + 1] & 0xf0) == 0x80) {
		memcpy(&rel, p + i + 2, 4);
		*t = at + i + 6 + (uint64_t)(int64_t)rel;
		return true;
	}
	if ((p[i] == 0xeb || (p[i] & 0xf0) == 0x70) && i + 2 <= len) {
		*t = at + i + 2 + (uint64_t)(int64_t)(int8_t)p[i + 1];
		*short_jump = true;
		return true;
	}
	return false;
}

/* Add what the code of range k (file addresses start..end) jumps to. */
static int reach_from(struct unsafe_set *s, const struct reach *r, size_t k)
{
	uint64_t start = s->v[k].start - r->bias, end = s->v[k].end - r->bias;
	const unsigned char *p = elf_bytes(r->img, start, (size_t)(end - start));

	for (size_t i = 0; p && i < end - start; i++) {
		uint64_t t, fs, fe;
		bool short_jump;
		if (!reach_jump_at(p, i, (size_t)(end - start), start, &t, &short_jump))
			continue;
		if ((t >= start && t < end) || t < r->text_lo || t >= r->text_hi ||
		    reach_is_export(r, t) || !ehframe_find(&r->eh, t, &fs, &fe, NULL))
			continue;
		if ((short_jump && t != fs) ||
		    unsafe_covered(s, r->first, fs + r->bias, fe + r->bias))
			continue;
		int rc = unsafe_push(s, fs + r->bias, fe + r->bias, s->v[k].name, true);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int reach_init(struct reach *r, const struct elf_image *img, uint64_t bias, size_t first)
{
	memset(r, 0, sizeof(*r));
	r->img = img;
	r->bias = bias;
	r->first = first;
	if (!ehframe_init(&r->eh, img) || !elf_section(img, ".text", &r->text_lo, &r->text_hi))
		return -ENOENT;
	return elf_func_starts(img, &r->exports, &r->nexports);
}

/* Add the functions of `lists` that img defines, then everything they
 * reach; *added says how many were listed. */
static int unsafe_add_lists(struct unsafe_set *s, const struct elf_image *img, uint64_t bias,
                            const char *const *const *lists, size_t *added, struct fail *f)
{
	struct reach r;
	size_t first = s->n;
	int rc = 0;

	*added = 0;
	if (reach_init(&r, img, bias, first) != 0) {
		free(r.exports);
		return fail_set(f, FAIL_REFUSED,
		                "cannot read the unwind table (.eh_frame_hdr) or .text of %s: the "
		                "safe-point rule needs it",
		                img->path);
	}
	for (size_t l = 0; lists[l] && rc == 0; l++)
		for (size_t i = 0; lists[l][i] && rc == 0; i++) {
			uint64_t v, size;
			bool ifunc;
			if (!elf_func(img, lists[l][i], &v, &size, &ifunc) || ifunc || size == 0 ||
			    unsafe_covered(s, first, v + bias, v + size + bias))
				continue;
			rc = unsafe_push(s, v + bias, v + size + bias, lists[l][i], false);
			*added += rc == 0;
		}
	for (size_t k = first; k < s->n && rc == 0; k++)
		rc = reach_from(s, &r, k);
	free(r.exports);
	if (rc != 0)
		return fail_set(f, FAIL_REFUSED, "%s: too much code for the safe-point rule (%s)",
		                img->path, strerror(-rc));
	return 0;
}

/* libc's signal return trampoline: mov $15 (rt_sigreturn), %rax; syscall. */
static void unsafe_find_restorers(struct unsafe_set *s, const struct elf_image *libc, uint64_t bias)
{
	static const unsigned char code[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};

	for (size_t i = 0; i < libc->eh->e_phnum; i++) {
		const Elf64_Phdr *p = &libc->ph[i];
		const unsigned char *b = elf_bytes(libc, p->p_vaddr, p->p_filesz);
		if (p->p_type != PT_LOAD || !(p->p_flags & PF_X) || !b)
			continue;
		for (const unsigned char *q = b;
		     (q = memmem(q, p->p_filesz - (size_t)(q - b), code, sizeof(code))); q++)
			if (s->nrestorers < UNSAFE_MAX_RESTORERS)
				s->restorers[s->nrestorers++] =
				    p->p_vaddr + (uint64_t)(q - b) + bias;
	}
}

int unsafe_add_libc(struct unsafe_set *s, const struct elf_image *libc, uint64_t bias,
                    struct fail *f)
{
	size_t added;

	if (unsafe_add_lists(s, libc, bias, unsafe_libc_lists, &added, f) != 0)
		return -1;
	if (added == 0)
		return fail_set(f, FAIL_REFUSED,
		                "%s exports none of malloc, dlopen, fork...: not glibc",
		                libc->path);
	unsafe_find_restorers(s, libc, bias);
	if (s->nrestorers == 0)
		return fail_set(f, FAIL_REFUSED,
		                "cannot find the signal return code (__restore_rt) in %s: the "
		                "safe-point rule needs it to read signal frames",
		                libc->path);
	return 0;
}

int unsafe_add_allocator(struct unsafe_set *s, const struct elf_image *img, uint64_t bias,
                         struct fail *f)
{
	uint64_t v, size;
	bool ifunc;
	size_t added;

	if (!elf_func(img, "malloc", &v, &size, &ifunc))
		return 0;
	return unsafe_add_lists(s, img, bias, unsafe_allocator_lists, &added, f);
}

/* ---- lookups --------------------------------------------------------------------- */

static int unsafe_cmp(const void *a, const void *b)
{
	const struct unsafe_range *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end > y->end ? -1 : x->end < y->end; /* the wider first */
}

void unsafe_finish(struct unsafe_set *s)
{
	size_t k = 0;

	qsort(s->v, s->n, sizeof(*s->v), unsafe_cmp);
	for (size_t i = 0; i < s->n; i++) {
		if (k > 0 && s->v[i].start < s->v[k - 1].end) { /* adjacent ones keep their names */
			if (s->v[i].end > s->v[k - 1].end)
				s->v[k - 1].end = s->v[i].end;
			continue;
		}
		s->v[k++] = s->v[i];
	}
	s->n = k;
	s->lo = k ? s->v[0].start : 0;
	s->hi = k ? s->v[k - 1].end : 0;
}

void unsafe_free(struct unsafe_set *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* The last range whose start is below v (strictly when strict). */
static const struct unsafe_range *unsafe_below(const struct unsafe_set *s, uint64_t v, bool strict)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strict ? s->v[mid].start < v : s->v[mid].start <= v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &s->v[lo - 1] : NULL;
}

const struct unsafe_range *unsafe_word(const struct unsafe_set *s, uint64_t v)
{
	if (v <= s->lo || v > s->hi)
		return NULL;
	const struct unsafe_range *r = unsafe_below(s, v, true);
	return r && v <= r->end ? r : NULL;
}

const struct unsafe_range *unsafe_pc(const struct unsafe_set *s, uint64_t pc)
{
	if (pc < s->lo || pc >= s->hi)
		return NULL;
	const struct unsafe_range *r = unsafe_below(s, pc, false);
	return r && pc < r->end ? r : NULL;
}

bool unsafe_is_restorer(const struct unsafe_set *s, uint64_t v)
{
	for (size_t i = 0; i < s->nrestorers; i++)
		if (s->restorers[i] == v)
			return true;
	return false;
}
