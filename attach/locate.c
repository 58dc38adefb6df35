/*
 * locate.c — finding the objects, libc, the loader and the unsafe set in
 * the target (see locate.h).
 */
#include "locate.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"
#include "target.h"

#define DELETED " (deleted)"

static bool locate_is_deleted(const char *path)
{
	size_t n = strlen(path), k = strlen(DELETED);

	return n > k && strcmp(path + n - k, DELETED) == 0;
}

/* The file of mapping e, as the target sees it, checked to be the one
 * mapped; or, when it was deleted or replaced since, the mapping's own
 * file (/proc/PID/map_files: root, or CAP_CHECKPOINT_RESTORE). */
static int locate_open(pid_t pid, const struct maps_entry *e, struct object *o)
{
	struct fail ignore = {0};

	snprintf(o->file, sizeof(o->file), "/proc/%d/root%s", pid, e->path);
	if (!locate_is_deleted(e->path) && elf_open(&o->img, o->file, &ignore) == 0) {
		/* The inode only: btrfs and overlayfs report another st_dev than maps. */
		if (o->img.ino == e->ino)
			return 0;
		elf_close(&o->img);
	}
	snprintf(o->file, sizeof(o->file), "/proc/%d/map_files/%llx-%llx", pid,
	         (unsigned long long)e->start, (unsigned long long)e->end);
	memset(&ignore, 0, sizeof(ignore));
	return elf_open(&o->img, o->file, &ignore);
}

const struct object *objects_find(const struct objects *o, uint64_t pc)
{
	size_t lo = 0, hi = o->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (pc < o->v[mid].lo)
			hi = mid;
		else if (pc >= o->v[mid].hi)
			lo = mid + 1;
		else
			return &o->v[mid];
	}
	return NULL;
}

static int locate_read_maps(struct locate *l, struct fail *f)
{
	int rc = maps_read(l->pid, &l->maps);

	if (rc == -ENOENT || rc == -ESRCH)
		return fail_set(f, FAIL_REFUSED, "no process %d", l->pid);
	if (rc == -EACCES || rc == -EPERM)
		return target_explain_eperm(l->pid, f);
	if (rc != 0)
		return fail_set(f, FAIL_REFUSED, "cannot read /proc/%d/maps: %s", l->pid,
		                strerror(-rc));
	if (l->maps.n && l->maps.v[0].start == 0)
		return fail_set(f, FAIL_REFUSED,
		                "%d maps page 0: a call's return to address 0 would not fault",
		                l->pid);
	return 0;
}

/* Every executable mapping of a file that opens as an x86-64 ELF file. */
static int locate_objects(struct locate *l, struct fail *f)
{
	l->objects.v = calloc(l->maps.n + 1, sizeof(*l->objects.v));
	if (!l->objects.v)
		return fail_set(f, FAIL_REFUSED, "out of memory");
	for (size_t i = 0; i < l->maps.n; i++) {
		const struct maps_entry *e = &l->maps.v[i];
		struct object *o = &l->objects.v[l->objects.n];
		if (!e->exec || e->path[0] != '/' || locate_open(l->pid, e, o) != 0)
			continue;
		if (elf_bias(&o->img, e, &o->bias) != 0) {
			elf_close(&o->img);
			continue;
		}
		o->lo = e->start;
		o->hi = e->end;
		o->path = e->path;
		o->have_eh = ehframe_init(&o->eh, &o->img);
		l->objects.n++;
	}
	return 0;
}

static bool locate_is_libc(const char *path)
{
	const char *base = maps_basename(path);

	return strcmp(base, "libc.so.6") == 0 || strcmp(base, "libc.so.6" DELETED) == 0;
}

/* libc.so.6's object; refuses none, or two copies. */
static int locate_libc(struct locate *l, struct fail *f)
{
	const struct maps_entry *any = NULL;

	for (size_t i = 0; i < l->maps.n; i++) {
		const struct maps_entry *e = &l->maps.v[i];
		if (!locate_is_libc(e->path))
			continue;
		if (any && any->ino != e->ino)
			return fail_set(
			    f, FAIL_REFUSED,
			    "%d maps two copies of libc.so.6 (dlmopen namespaces?): not "
			    "supported",
			    l->pid);
		any = e;
		if (e->exec)
			l->libc = objects_find(&l->objects, e->start);
		if (e->exec && !l->libc)
			return fail_set(
			    f, FAIL_REFUSED,
			    "%d's libc.so.6 (%s) was replaced on disk since it started (a "
			    "glibc upgrade?), and the mapped one cannot be opened: restart it "
			    "to attach",
			    l->pid, e->path);
	}
	if (!l->libc)
		return fail_set(f, FAIL_REFUSED,
		                "%d has no libc.so.6 mapped (statically linked, or not a glibc "
		                "program): a library cannot be loaded into it",
		                l->pid);
	return 0;
}

static int locate_func(struct locate *l, const char *name, uint64_t *addr, struct fail *f)
{
	uint64_t v, size;
	bool ifunc;

	if (!elf_func(&l->libc->img, name, &v, &size, &ifunc) || ifunc) {
		if (strcmp(name, "dlopen") == 0)
			return fail_set(
			    f, FAIL_REFUSED,
			    "%d runs a glibc older than 2.34 (no dlopen in its libc.so.6): "
			    "not supported",
			    l->pid);
		return fail_set(f, FAIL_REFUSED, "%s (%d's libc.so.6) has no function %s",
		                l->libc->path, l->pid, name);
	}
	*addr = v + l->libc->bias;
	return 0;
}

/* The loader: the object mapped where AT_BASE says it starts. */
static int locate_loader(struct locate *l, struct fail *f)
{
	uint64_t base = 0;
	const struct maps_entry *e = NULL;

	if (procfs_auxv(l->pid, AT_BASE, &base) == 0 && base)
		e = maps_find(&l->maps, base);
	for (size_t i = 0; e && i < l->objects.n && !l->loader; i++)
		if (l->objects.v[i].img.ino == e->ino)
			l->loader = &l->objects.v[i];
	if (!l->loader)
		return fail_set(f, FAIL_REFUSED,
		                "%d has no dynamic loader we can read (AT_BASE %#llx): a library "
		                "cannot be loaded into it",
		                l->pid, (unsigned long long)base);
	return 0;
}

/* libc's list, the loader's text, and every other object's allocator;
 * the export looked for on the way. */
static int locate_unsafe(struct locate *l, const char *export, struct fail *f)
{
	if (unsafe_add_libc(&l->unsafe, &l->libc->img, l->libc->bias, f) != 0)
		return -1;
	for (size_t i = 0; i < l->objects.n; i++) {
		const struct object *o = &l->objects.v[i];
		uint64_t v, size;
		bool ifunc;
		if (o->img.ino == l->loader->img.ino) {
			if (unsafe_add_text(&l->unsafe, o->lo, o->hi, "the dynamic loader") != 0)
				return fail_set(f, FAIL_REFUSED, "out of memory");
			continue;
		}
		if (o->img.ino == l->libc->img.ino)
			continue;
		if (unsafe_add_allocator(&l->unsafe, &o->img, o->bias, f) != 0)
			return -1;
		if (export && !l->export && elf_func(&o->img, export, &v, &size, &ifunc) &&
		    !ifunc) {
			l->export = v + o->bias;
			l->export_path = o->path;
		}
	}
	unsafe_finish(&l->unsafe);
	return 0;
}

int locate_target(struct locate *l, pid_t pid, const char *export, struct fail *f)
{
	memset(l, 0, sizeof(*l));
	l->pid = pid;
	if (locate_read_maps(l, f) != 0 || locate_objects(l, f) != 0 || locate_libc(l, f) != 0)
		return -1;
	if (locate_func(l, "dlopen", &l->dlopen, f) != 0 ||
	    locate_func(l, "dlsym", &l->dlsym, f) != 0 ||
	    locate_func(l, "dlerror", &l->dlerror, f) != 0 ||
	    locate_func(l, "__errno_location", &l->errno_location, f) != 0)
		return -1;
	if (locate_loader(l, f) != 0)
		return -1;
	return locate_unsafe(l, export, f);
}

void locate_free(struct locate *l)
{
	for (size_t i = 0; i < l->objects.n; i++)
		elf_close(&l->objects.v[i].img);
	free(l->objects.v);
	maps_free(&l->maps);
	unsafe_free(&l->unsafe);
	memset(l, 0, sizeof(*l));
}
