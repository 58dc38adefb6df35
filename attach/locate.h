/*
 * locate.h — finding things in the target: the objects it has loaded,
 * its libc and the functions the attacher calls there, its dynamic
 * loader, the library if it is already loaded, and the unsafe set built
 * from them.
 *
 * All of it from /proc/PID/maps, /proc/PID/auxv and the files themselves,
 * opened through /proc/PID/root (the target's view; target.h has refused
 * another mount namespace) and checked to be the very file mapped (its
 * inode), or else through /proc/PID/map_files: a libc upgraded on disk
 * since the target started is never read for addresses.  Addresses are the
 * target's: the file's plus the load bias of its mapping.  Every object
 * stays open (mapped read-only here) for the session: the frame walk
 * (framewalk.h) reads their unwind tables.  Done before any thread is
 * stopped.
 */
#ifndef LOCKCONTEND_ATTACH_LOCATE_H
#define LOCKCONTEND_ATTACH_LOCATE_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "ehframe.h"
#include "elfimage.h"
#include "fail.h"
#include "maps.h"
#include "unsafe.h"

/* An executable mapping of an ELF file, and the file. */
struct object {
	uint64_t lo, hi;     /* the mapping: [lo, hi) */
	const char *path;    /* as /proc/PID/maps names it */
	char file[PATH_MAX]; /* what was opened */
	struct elf_image img;
	uint64_t bias;
	struct ehframe eh;
	bool have_eh;
};

struct objects {
	struct object *v; /* sorted by address, as the maps are */
	size_t n;
};

/* The object whose executable mapping holds pc, or NULL. */
const struct object *objects_find(const struct objects *o, uint64_t pc);

struct locate {
	pid_t pid;
	struct maps maps;
	struct objects objects;
	const struct object *libc, *loader;
	uint64_t dlopen, dlsym, dlerror, errno_location; /* in the target */
	struct unsafe_set unsafe;
	uint64_t export;         /* the function asked for, in an object that defines it */
	const char *export_path; /* that object */
	const char *other;       /* a liblockcontend* object without it, if any */
};

/* Everything above; export names the function to look for in the loaded
 * objects other than libc ("lockcontend_attach"), NULL for none. */
int locate_target(struct locate *l, pid_t pid, const char *export, struct fail *f);

void locate_free(struct locate *l);

#endif
