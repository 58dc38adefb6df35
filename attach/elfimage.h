/*
 * elfimage.h — an ELF file on disk, mapped read-only, and what the
 * attacher asks of it: its exported functions (.dynsym, at their default
 * version), the bytes at a virtual address, the load bias of a mapping of
 * it, the bounds of a section.
 *
 * Only 64-bit little-endian x86-64 files open (elf_open says what else
 * it found).  The image is the file: callers that need it to be what a
 * process runs compare its device and inode with the mapping's.  Nothing
 * here writes, and no pointer it returns outlives elf_close.
 */
#ifndef LOCKCONTEND_ATTACH_ELFIMAGE_H
#define LOCKCONTEND_ATTACH_ELFIMAGE_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fail.h"
#include "maps.h"

struct elf_image {
	const char *path;
	const unsigned char *data;
	size_t size;
	dev_t dev;
	ino_t ino;
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph;
	const Elf64_Shdr *sh; /* NULL if the file has no section headers */
	const char *shstr;
	const Elf64_Sym *dynsym;
	size_t nsyms;
	const char *dynstr;
	size_t dynstr_size;
	const Elf64_Half *versym; /* NULL if unversioned */
};

/* Map path; fails (FAIL_REFUSED, naming what) if it is not a 64-bit
 * x86-64 ELF file. */
int elf_open(struct elf_image *img, const char *path, struct fail *f);
void elf_close(struct elf_image *img);

/* The defined function `name` at its default version (dlopen@@GLIBC_2.34,
 * not dlopen@GLIBC_2.2.5); false if there is none.  *ifunc says it is an
 * IFUNC: value is then the resolver's address, not the function's. */
bool elf_func(const struct elf_image *img, const char *name, uint64_t *value, uint64_t *size,
              bool *ifunc);

/* The addresses where exported functions start, sorted (malloc'd). */
int elf_func_starts(const struct elf_image *img, uint64_t **starts, size_t *n);

/* len bytes of file content at virtual address vaddr, or NULL. */
const unsigned char *elf_bytes(const struct elf_image *img, uint64_t vaddr, size_t len);

/* [lo, hi) of section `name` (virtual addresses); false if absent. */
bool elf_section(const struct elf_image *img, const char *name, uint64_t *lo, uint64_t *hi);

/* The program header of type `type` (PT_INTERP, PT_GNU_EH_FRAME), or NULL. */
const Elf64_Phdr *elf_phdr(const struct elf_image *img, uint32_t type);

/* The value of dynamic tag `tag` (DT_FLAGS_1); false if absent. */
bool elf_dynamic(const struct elf_image *img, int64_t tag, uint64_t *value);

/* The load bias of mapping m of this file: its address minus the file's
 * virtual address for the same bytes. */
int elf_bias(const struct elf_image *img, const struct maps_entry *m, uint64_t *bias);

#endif
