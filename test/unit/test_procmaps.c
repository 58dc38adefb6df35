/*
 * test_procmaps.c — the mapping of an address, as preload/procmaps.c reads
 * it from /proc/self/maps with its small buffer.
 *
 * Tests: a stack, code, a page of each protection, half a mapping made
 * read-only (the kernel splits it), an address nobody maps; a mapping
 * listed after a line longer than the buffer (a file whose path is 700
 * bytes); lines parsed, and what is not one.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procmaps.h"

static struct procmaps_vma must_find(const void *p)
{
	struct procmaps_vma v;
	cr_assert(procmaps_find((uintptr_t)p, &v), "%p: no mapping found", p);
	cr_assert((uintptr_t)p >= v.lo && (uintptr_t)p < v.hi, "%p outside %#lx-%#lx", p,
	          (unsigned long)v.lo, (unsigned long)v.hi);
	return v;
}

Test(procmaps, the_stack_and_the_code)
{
	int local = 0;
	struct procmaps_vma v = must_find(&local);
	cr_assert_eq(v.prot, PROT_READ | PROT_WRITE);
	v = must_find((const void *)must_find);
	cr_assert_eq(v.prot, PROT_READ | PROT_EXEC);
}

Test(procmaps, each_protection_and_a_split)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(p, MAP_FAILED);
	cr_assert_eq(mprotect(p + 2 * pg, 2 * pg, PROT_READ), 0);
	struct procmaps_vma v = must_find(p + 2 * pg + 8);
	cr_assert_eq(v.lo, (uintptr_t)p + 2 * pg);
	cr_assert_eq(v.hi, (uintptr_t)p + 4 * pg);
	cr_assert_eq(v.prot, PROT_READ);
	v = must_find(p + 1);
	cr_assert_eq(v.hi, (uintptr_t)p + 2 * pg);
	cr_assert_eq(v.prot, PROT_READ | PROT_WRITE);
	cr_assert_eq(mprotect(p, pg, PROT_NONE), 0);
	cr_assert_eq(must_find(p).prot, 0);
	munmap(p, 4 * pg);
	cr_assert_not(procmaps_find((uintptr_t)p + pg, &v), "an unmapped page was found");
}

/* A file mapped under a 700-byte path: its line is longer than the
 * buffer, and the stack is listed after it. */
Test(procmaps, a_line_longer_than_the_buffer)
{
	char path[1024] = "/tmp/gotattach-procmaps-XXXXXX";
	cr_assert(mkdtemp(path));
	size_t n = strlen(path);
	while (n < 700) {
		memcpy(path + n, "/dddddddddddddddddddddddddddddddddddddddddddddddd", 50);
		n += 50;
		path[n] = '\0';
		cr_assert(mkdir(path, 0700) == 0 || errno == EEXIST);
	}
	strcat(path, "/f");
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 4096), 0);
	void *m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	cr_assert_neq(m, MAP_FAILED);
	close(fd);
	int local = 0;
	struct procmaps_vma v = must_find(m);
	cr_assert_eq(v.prot, PROT_READ);
	must_find(&local);
	munmap(m, 4096);
	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%.30s'", path);
	cr_assert_eq(system(cmd), 0);
}

Test(procmaps, lines)
{
	struct procmaps_vma v;
	const char *l = "7f0000001000-7f0000003000 r-xp 00000000 08:01 42 /lib/x.so";
	cr_assert(procmaps_parse(l, strlen(l), &v));
	cr_assert_eq(v.lo, 0x7f0000001000);
	cr_assert_eq(v.hi, 0x7f0000003000);
	cr_assert_eq(v.prot, PROT_READ | PROT_EXEC);
	l = "1000-2000 -w-p";
	cr_assert(procmaps_parse(l, strlen(l), &v));
	cr_assert_eq(v.prot, PROT_WRITE);
	const char *bad[] = {"", "1000", "1000-", "x000-2000 r--p", "2000-1000 r--p", "1000-2000",
	                     "1000-2000 r"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(procmaps_parse(bad[i], strlen(bad[i]), &v), "'%s' parsed", bad[i]);
}
