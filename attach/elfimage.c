/*
 * elfimage.c — an ELF file on disk, mapped read-only (see elfimage.h).
 *
 * Every offset and size read from the file is checked against the file's
 * size before use: the file comes from the target's view of the file
 * system and is only trusted to be an ELF file after these checks.
 */
#include "elfimage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static bool elf_fits(const struct elf_image *img, uint64_t off, uint64_t len)
{
	return off <= img->size && len <= img->size - off;
}

static int elf_check_header(struct elf_image *img, struct fail *f)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)img->data;

	if (img->size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return fail_set(f, FAIL_REFUSED, "%s is not an ELF file", img->path);
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64)
		return fail_set(f, FAIL_REFUSED, "%s is not a 64-bit x86-64 ELF file", img->path);
	if (eh->e_phentsize != sizeof(Elf64_Phdr) ||
	    !elf_fits(img, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)))
		return fail_set(f, FAIL_REFUSED, "%s: bad program headers", img->path);
	img->eh = eh;
	img->ph = (const Elf64_Phdr *)(img->data + eh->e_phoff);
	if (eh->e_shnum && eh->e_shentsize == sizeof(Elf64_Shdr) && eh->e_shstrndx < eh->e_shnum &&
	    elf_fits(img, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr))) {
		img->sh = (const Elf64_Shdr *)(img->data + eh->e_shoff);
		const Elf64_Shdr *s = &img->sh[eh->e_shstrndx];
		if (elf_fits(img, s->sh_offset, s->sh_size) && s->sh_size > 0 &&
		    img->data[s->sh_offset + s->sh_size - 1] == '\0')
			img->shstr = (const char *)img->data + s->sh_offset;
		else
			img->sh = NULL;
	}
	return 0;
}

/* .dynsym, its string table and .gnu.version, when they are sound. */
static void elf_find_dynsym(struct elf_image *img)
{
	for (size_t i = 0; img->sh && i < img->eh->e_shnum; i++) {
		const Elf64_Shdr *s = &img->sh[i];
		if (s->sh_type != SHT_DYNSYM || s->sh_link >= img->eh->e_shnum ||
		    s->sh_entsize != sizeof(Elf64_Sym) || !elf_fits(img, s->sh_offset, s->sh_size))
			continue;
		const Elf64_Shdr *str = &img->sh[s->sh_link];
		if (!elf_fits(img, str->sh_offset, str->sh_size) || str->sh_size == 0)
			continue;
		img->dynsym = (const Elf64_Sym *)(img->data + s->sh_offset);
		img->nsyms = s->sh_size / sizeof(Elf64_Sym);
		img->dynstr = (const char *)img->data + str->sh_offset;
		img->dynstr_size = str->sh_size;
	}
	for (size_t i = 0; img->dynsym && img->sh && i < img->eh->e_shnum; i++) {
		const Elf64_Shdr *s = &img->sh[i];
		if (s->sh_type == SHT_GNU_versym && elf_fits(img, s->sh_offset, s->sh_size) &&
		    s->sh_size / sizeof(Elf64_Half) == img->nsyms)
			img->versym = (const Elf64_Half *)(img->data + s->sh_offset);
	}
}

int elf_open(struct elf_image *img, const char *path, struct fail *f)
{
	struct stat st;

	memset(img, 0, sizeof(*img));
	img->path = path;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_set(f, FAIL_REFUSED, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
		close(fd);
		return fail_set(f, FAIL_REFUSED, "%s is not an ELF file", path);
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return fail_set(f, FAIL_REFUSED, "cannot map %s: %s", path, strerror(errno));
	img->data = p;
	img->size = (size_t)st.st_size;
	img->dev = st.st_dev;
	img->ino = st.st_ino;
	if (elf_check_header(img, f) != 0) {
		elf_close(img);
		return -1;
	}
	elf_find_dynsym(img);
	return 0;
}

void elf_close(struct elf_image *img)
{
	if (img->data)
		munmap((void *)img->data, img->size);
	memset(img, 0, sizeof(*img));
}

static const char *elf_sym_name(const struct elf_image *img, const Elf64_Sym *s)
{
	if (s->st_name >= img->dynstr_size)
		return "";
	return img->dynstr + s->st_name;
}

/* A defined function (or IFUNC) that the dynamic linker would bind to:
 * global or weak, and not a hidden (non-default) version. */
static bool elf_sym_is_default_func(const struct elf_image *img, size_t i)
{
	const Elf64_Sym *s = &img->dynsym[i];
	int type = ELF64_ST_TYPE(s->st_info), bind = ELF64_ST_BIND(s->st_info);

	if (s->st_shndx == SHN_UNDEF || (type != STT_FUNC && type != STT_GNU_IFUNC))
		return false;
	if (bind != STB_GLOBAL && bind != STB_WEAK)
		return false;
	return !img->versym || !(img->versym[i] & 0x8000);
}

bool elf_func(const struct elf_image *img, const char *name, uint64_t *value, uint64_t *size,
              bool *ifunc)
{
	for (size_t i = 1; i < img->nsyms; i++) {
		if (!elf_sym_is_default_func(img, i) ||
		    strcmp(elf_sym_name(img, &img->dynsym[i]), name) != 0)
			continue;
		*value = img->dynsym[i].st_value;
		*size = img->dynsym[i].st_size;
		*ifunc = ELF64_ST_TYPE(img->dynsym[i].st_info) == STT_GNU_IFUNC;
		return true;
	}
	return false;
}

static int elf_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int elf_func_starts(const struct elf_image *img, uint64_t **starts, size_t *n)
{
	*n = 0;
	*starts = malloc((img->nsyms + 1) * sizeof(**starts));
	if (!*starts)
		return -ENOMEM;
	for (size_t i = 1; i < img->nsyms; i++) {
		const Elf64_Sym *s = &img->dynsym[i];
		if (s->st_shndx != SHN_UNDEF && ELF64_ST_TYPE(s->st_info) == STT_FUNC)
			(*starts)[(*n)++] = s->st_value;
	}
	qsort(*starts, *n, sizeof(**starts), elf_cmp_u64);
	return 0;
}

const unsigned char *elf_bytes(const struct elf_image *img, uint64_t vaddr, size_t len)
{
	for (size_t i = 0; i < img->eh->e_phnum; i++) {
		const Elf64_Phdr *p = &img->ph[i];
		if (p->p_type != PT_LOAD || vaddr < p->p_vaddr ||
		    vaddr - p->p_vaddr > p->p_filesz || len > p->p_filesz - (vaddr - p->p_vaddr))
			continue;
		uint64_t off = p->p_offset + (vaddr - p->p_vaddr);
		return elf_fits(img, off, len) ? img->data + off : NULL;
	}
	return NULL;
}

bool elf_section(const struct elf_image *img, const char *name, uint64_t *lo, uint64_t *hi)
{
	for (size_t i = 0; img->sh && i < img->eh->e_shnum; i++) {
		const Elf64_Shdr *s = &img->sh[i];
		const Elf64_Shdr *strs = &img->sh[img->eh->e_shstrndx];
		if (s->sh_name >= strs->sh_size || strcmp(img->shstr + s->sh_name, name) != 0)
			continue;
		*lo = s->sh_addr;
		*hi = s->sh_addr + s->sh_size;
		return true;
	}
	return false;
}

const Elf64_Phdr *elf_phdr(const struct elf_image *img, uint32_t type)
{
	for (size_t i = 0; i < img->eh->e_phnum; i++)
		if (img->ph[i].p_type == type)
			return &img->ph[i];
	return NULL;
}

bool elf_dynamic(const struct elf_image *img, int64_t tag, uint64_t *value)
{
	const Elf64_Phdr *p = elf_phdr(img, PT_DYNAMIC);
	const Elf64_Dyn *d = p && elf_fits(img, p->p_offset, p->p_filesz)
	                         ? (const Elf64_Dyn *)(img->data + p->p_offset)
	                         : NULL;

	for (size_t i = 0; d && i < p->p_filesz / sizeof(*d) && d[i].d_tag != DT_NULL; i++)
		if (d[i].d_tag == tag) {
			*value = d[i].d_un.d_val;
			return true;
		}
	return false;
}

int elf_bias(const struct elf_image *img, const struct maps_entry *m, uint64_t *bias)
{
	for (size_t i = 0; i < img->eh->e_phnum; i++) {
		const Elf64_Phdr *p = &img->ph[i];
		uint64_t page_off = p->p_offset & ~0xfffull;
		if (p->p_type != PT_LOAD || m->offset < page_off ||
		    m->offset >= p->p_offset + p->p_filesz)
			continue;
		/* The mapping starts at file offset m->offset, which the segment
		 * places at p_vaddr + (m->offset - p_offset). */
		*bias = m->start - (p->p_vaddr + (m->offset - p->p_offset));
		return 0;
	}
	return -ENOENT;
}
