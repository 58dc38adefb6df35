/*
 * test_attach.c — lockcontend-attach's parts that need no target process:
 * what it refuses from an executable's ELF header (target.c), the unsafe
 * set built from this machine's libc (unsafe.c), and its bounds.
 *
 * The executables are files the test writes: an ELF header says 32-bit
 * x86, x32, AArch64, or x86-64 without a PT_INTERP (static); this test
 * program itself is the dynamic one.  No x86 kernel here runs a 32-bit
 * program (no IA32 emulation), so the refusal of one is tested on its
 * file.  The unsafe set is built from the libc this test runs with, at
 * bias 0: it must hold the listed functions and the code their tail
 * jumps reach (glibc 2.36's memalign jumps to _mid_memalign, setenv to
 * __add_to_environ, dladdr to _dl_addr, each outside the function), and
 * the signal return trampoline.
 */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elfimage.h"
#include "target.h"
#include "unsafe.h"

/* A file holding only an ELF header of this class and machine. */
static const char *elf_header_file(unsigned char class, uint16_t machine)
{
	static char path[64];
	Elf64_Ehdr eh;

	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = class;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = machine;
	eh.e_phentsize = sizeof(Elf64_Phdr);
	snprintf(path, sizeof(path), "/tmp/test_attach.%d.elf", (int)getpid());
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	cr_assert(fd >= 0 && write(fd, &eh, sizeof(eh)) == (ssize_t)sizeof(eh));
	close(fd);
	return path;
}

static void expect_exe(unsigned char class, uint16_t machine, const char *says)
{
	struct fail f = {0};
	const char *path = elf_header_file(class, machine);

	cr_expect_eq(target_check_exe(4242, path, &f), -1);
	cr_expect_eq(f.status, FAIL_REFUSED);
	cr_expect(strstr(f.line, says), "no '%s' in: %s", says, f.line);
	unlink(path);
}

Test(attach, executables_that_are_not_dynamic_x86_64_are_refused)
{
	struct fail f = {0};

	expect_exe(ELFCLASS32, EM_386, "4242 is a 32-bit x86 program");
	expect_exe(ELFCLASS32, EM_X86_64, "is a x32 (ILP32) program");
	expect_exe(ELFCLASS64, EM_AARCH64, "is not an x86-64 program (ELF machine 183)");
	expect_exe(ELFCLASS64, EM_X86_64, "is statically linked");
	cr_expect_eq(target_check_exe(4242, "/proc/self/exe", &f), 0, "%s", f.line);
}

/* The libc this test runs with: its path, from dladdr. */
static void libc_open(struct elf_image *img)
{
	Dl_info info;
	struct fail f = {0};

	cr_assert(dladdr((void *)&malloc, &info) && info.dli_fname);
	cr_assert_eq(elf_open(img, info.dli_fname, &f), 0, "%s", f.line);
}

static const struct unsafe_range *set_find(const struct unsafe_set *s, const char *name,
                                           bool reached)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0 && s->v[i].reached == reached)
			return &s->v[i];
	return NULL;
}

Test(attach, the_unsafe_set_holds_the_list_and_what_it_jumps_to)
{
	struct elf_image libc;
	struct unsafe_set s = {0};
	struct fail f = {0};
	uint64_t v, size;
	bool ifunc;

	libc_open(&libc);
	cr_assert_eq(unsafe_add_libc(&s, &libc, 0, &f), 0, "%s", f.line);
	unsafe_finish(&s);
	cr_assert(elf_func(&libc, "malloc", &v, &size, &ifunc));
	cr_expect_null(unsafe_word(&s, v), "a pointer to malloc is no return address into it");
	cr_expect_not_null(unsafe_word(&s, v + 1));
	cr_expect_not_null(unsafe_word(&s, v + size), "a call as its last instruction");
	cr_expect_not_null(unsafe_pc(&s, v));
	cr_expect_null(unsafe_pc(&s, v + size));
	cr_expect(elf_func(&libc, "getenv", &v, &size, &ifunc));
	cr_expect_null(unsafe_word(&s, v + size / 2), "getenv is not listed");
	const char *jumpers[] = {"memalign", "setenv", "dladdr", "__cxa_atexit"};
	for (size_t i = 0; i < sizeof(jumpers) / sizeof(jumpers[0]); i++) {
		const struct unsafe_range *r = set_find(&s, jumpers[i], true);
		cr_expect_not_null(r, "nothing %s jumps to", jumpers[i]);
		cr_assert(elf_func(&libc, jumpers[i], &v, &size, &ifunc));
		cr_expect(r && (r->end <= v || r->start >= v + size), "%s: not outside it",
		          jumpers[i]);
	}
	cr_expect_eq(s.nrestorers, 1, "__restore_rt found %zu times", s.nrestorers);
	unsafe_free(&s);
	elf_close(&libc);
}
