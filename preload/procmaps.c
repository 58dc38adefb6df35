/*
 * procmaps.c — find an address's mapping in /proc/self/maps (procmaps.h).
 *
 * The file is read in PROCMAPS_BUF chunks; each complete line is parsed
 * where it lies in the buffer, the unfinished tail moved to the front
 * before the next read.  A line that fills the buffer by itself is parsed
 * from its first bytes (the range and the protection come first) and the
 * rest of it skipped.
 */
#include "procmaps.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>

#include "sys.h"

static bool hex_field(const char **p, const char *end, char stop, uintptr_t *out)
{
	uintptr_t v = 0;
	const char *s = *p;
	if (s == end || *s == stop)
		return false;
	for (; s < end && *s != stop; s++) {
		int d = *s >= '0' && *s <= '9'   ? *s - '0'
		        : *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
		                                 : -1;
		if (d < 0 || v >> 60)
			return false;
		v = v << 4 | (uintptr_t)d;
	}
	if (s == end)
		return false;
	*p = s + 1;
	*out = v;
	return true;
}

bool procmaps_parse(const char *line, size_t len, struct procmaps_vma *vma)
{
	const char *p = line, *end = line + len;
	if (!hex_field(&p, end, '-', &vma->lo) || !hex_field(&p, end, ' ', &vma->hi) || end - p < 3)
		return false;
	vma->prot = (p[0] == 'r' ? PROT_READ : 0) | (p[1] == 'w' ? PROT_WRITE : 0) |
	            (p[2] == 'x' ? PROT_EXEC : 0);
	return vma->lo < vma->hi;
}

/* Look at the line that starts the buffer's [at, at + len); true when it
 * is the mapping of addr. */
static bool procmaps_line(const char *line, size_t len, uintptr_t addr, struct procmaps_vma *vma)
{
	return procmaps_parse(line, len, vma) && addr >= vma->lo && addr < vma->hi;
}

bool procmaps_find(uintptr_t addr, struct procmaps_vma *vma)
{
	char buf[PROCMAPS_BUF];
	size_t have = 0;
	bool skipping = false, found = false;
	int fd = sys_open("/proc/self/maps", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return false;
	while (!found) {
		long n = sys_call(SYS_read, fd, (long)(buf + have), (long)(sizeof(buf) - have), 0);
		if (n == -EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		size_t at = 0;
		for (char *nl; !found && (nl = memchr(buf + at, '\n', have - at));
		     at = nl + 1 - buf) {
			if (!skipping)
				found =
				    procmaps_line(buf + at, (size_t)(nl - (buf + at)), addr, vma);
			skipping = false;
		}
		if (at == 0 && have == sizeof(buf)) {
			/* one line fills the buffer: its start says enough */
			if (!skipping)
				found = procmaps_line(buf, have, addr, vma);
			skipping = true;
			at = have;
		}
		memmove(buf, buf + at, have - at);
		have -= at;
	}
	sys_close(fd);
	return found;
}
