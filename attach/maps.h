/*
 * maps.h — a process's mappings, from /proc/PID/maps.
 *
 * One read makes a snapshot: sorted by address (the kernel's order), each
 * entry with its protection, file offset, device and inode, and its path
 * ("" for anonymous memory; "[stack]", "[heap]", "[vdso]" as the kernel
 * names them; a file deleted since it was mapped keeps the kernel's
 * " (deleted)" suffix).  A snapshot goes stale as the target runs on: the
 * attacher reads it before it stops anything and again only when it must
 * (a thread's stack pointer in no mapping it knows).
 */
#ifndef LOCKCONTEND_ATTACH_MAPS_H
#define LOCKCONTEND_ATTACH_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct maps_entry {
	uint64_t start, end; /* [start, end) */
	uint64_t offset;     /* file offset of start */
	dev_t dev;
	ino_t ino;
	bool read, write, exec;
	const char *path; /* into the snapshot's own copy of the text */
};

struct maps {
	struct maps_entry *v;
	size_t n;
	char *text; /* the file as read; paths point into it */
};

/* 0, or a negative errno (-ENOENT: no such process). */
int maps_read(pid_t pid, struct maps *m);
void maps_free(struct maps *m);

/* The entry that holds addr, or NULL. */
const struct maps_entry *maps_find(const struct maps *m, uint64_t addr);

/* The file name at the end of a path ("libc.so.6" of "/usr/lib/.../libc.so.6"). */
const char *maps_basename(const char *path);

#endif
