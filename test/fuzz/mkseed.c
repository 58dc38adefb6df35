/*
 * mkseed.c — derive fuzz seeds from a real dump (used by mkcorpus.sh).
 *
 *   mkseed records IN                          print "offset type size" per record
 *   mkseed insert IN OUT TYPE LEN BEFORE_TYPE  add a TYPE record with LEN payload
 *                                              bytes before the first BEFORE_TYPE
 *                                              record, trailer fixed to match
 *   mkseed version IN OUT MAJOR MINOR          rewrite the header's version
 *   mkseed set IN OUT TYPE NTH OFF BYTES VALUE write VALUE (BYTES 1, 2, 4 or 8,
 *                                              little-endian) at payload offset
 *                                              OFF of the NTH (1..) TYPE record
 *   mkseed retype IN OUT TYPE NTH NEWTYPE      give the NTH TYPE record another
 *                                              type (8: PENDING, being written)
 *   mkseed limits                              print, as shell assignments,
 *                                              the first values past this
 *                                              version's (a record type and
 *                                              a lock kind a next minor may
 *                                              add, that minor; a view and a
 *                                              lock's frame count, which are
 *                                              corrupt) and the major version
 *   mkseed end IN OUT TYPE ZEROS               the file as a running writer (or
 *                                              one that died) leaves it: cut
 *                                              before the first TYPE record (0:
 *                                              where the records end), then
 *                                              ZEROS zero bytes
 *
 * The records end at the end of the file or at a head of zeros (format 3.0:
 * the file is written in place and holds zeros past its last record).
 * The reader is not used on purpose: seeds must be crafted from the format
 * (dumpfmt.h) alone, so a reader bug cannot shape its own test inputs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockcontend/dumpfmt.h"

static uint8_t *buf;
static size_t len;

static void die(const char *msg)
{
	fprintf(stderr, "mkseed: %s\n", msg);
	exit(1);
}

static void load(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f || !(buf = malloc(4 << 20)))
		die("cannot read input");
	len = fread(buf, 1, 4 << 20, f);
	fclose(f);
	if (len < sizeof(struct lc_dump_header) || memcmp(buf, LC_DUMP_MAGIC, 8) != 0)
		die("input is not a dump");
}

static void save(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		die("cannot write output");
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* Where the records end: the end of the file, a head of zeros, or the
 * first record that does not fit. */
static size_t records_end;

/* Offset of the nth (1..) record of `type` (0: print every record), or 0. */
static size_t walk_nth(uint32_t type, unsigned nth)
{
	size_t off = sizeof(struct lc_dump_header);
	records_end = off;
	while (len - off >= sizeof(struct lc_rec_head)) {
		uint32_t t = get32(buf + off), size = get32(buf + off + 4);
		records_end = off;
		if (t == 0)
			return 0;
		if (type == 0)
			printf("%zu %u %u\n", off, t, size);
		else if (t == type && --nth == 0)
			return off;
		if (size > LC_DUMP_MAX_RECORD || len - off - 8 < lc_dump_pad(size))
			return 0;
		off += 8 + lc_dump_pad(size);
		records_end = off;
	}
	return 0;
}

static size_t walk(uint32_t type)
{
	return walk_nth(type, 1);
}

static void set(const char *out, uint32_t type, unsigned nth, uint32_t off, int bytes,
                uint64_t value)
{
	size_t at = walk_nth(type, nth);
	if (!at || (bytes != 1 && bytes != 2 && bytes != 4 && bytes != 8) ||
	    off + (uint32_t)bytes > get32(buf + at + 4))
		die("no such record, or the field is outside its payload");
	put(buf + at + 8 + off, value, bytes);
	save(out, buf, len);
}

static void retype(const char *out, uint32_t type, unsigned nth, uint32_t newtype)
{
	size_t at = walk_nth(type, nth);
	if (!at)
		die("no such record");
	put(buf + at, newtype, 4);
	save(out, buf, len);
}

static void end(const char *out, uint32_t type, size_t zeros)
{
	size_t at = type ? walk(type) : (walk_nth(UINT32_MAX, 1), records_end);
	if (!at)
		die("no such record");
	uint8_t *o = calloc(at + zeros, 1);
	if (!o)
		die("out of memory");
	memcpy(o, buf, at);
	save(out, o, at + zeros);
	free(o);
}

static void insert(const char *out, uint32_t type, uint32_t size, uint32_t before)
{
	size_t at = walk(before), trailer = walk(LC_REC_TRAILER);
	if (!at || !trailer || at > trailer)
		die("no such record, or no trailer after it");
	size_t add = 8 + lc_dump_pad(size);
	uint8_t *o = calloc(len + add, 1);
	if (!o)
		die("out of memory");
	memcpy(o, buf, at);
	put(o + at, type, 4);
	put(o + at + 4, size, 4);
	for (uint32_t i = 0; i < size; i++) /* a payload no known record has */
		o[at + 8 + i] = (uint8_t)(0xc0 + i);
	memcpy(o + at + add, buf + at, len - at);
	uint8_t *t = o + trailer + add + 8; /* trailer payload: records, bytes */
	put(t, get64(t) + 1, 8);
	put(t + 8, get64(t + 8) + add, 8);
	save(out, o, len + add);
	free(o);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "records")) {
		load(argv[2]);
		walk(0);
	} else if (argc == 7 && !strcmp(argv[1], "insert")) {
		load(argv[2]);
		insert(argv[3], (uint32_t)strtoul(argv[4], NULL, 0),
		       (uint32_t)strtoul(argv[5], NULL, 0), (uint32_t)strtoul(argv[6], NULL, 0));
	} else if (argc == 6 && !strcmp(argv[1], "version")) {
		load(argv[2]);
		put(buf + 8, strtoul(argv[4], NULL, 0), 2);
		put(buf + 10, strtoul(argv[5], NULL, 0), 2);
		save(argv[3], buf, len);
	} else if (argc == 9 && !strcmp(argv[1], "set")) {
		load(argv[2]);
		set(argv[3], (uint32_t)strtoul(argv[4], NULL, 0), (unsigned)strtoul(argv[5], NULL, 0),
		    (uint32_t)strtoul(argv[6], NULL, 0), (int)strtol(argv[7], NULL, 0),
		    strtoull(argv[8], NULL, 0));
	} else if (argc == 7 && !strcmp(argv[1], "retype")) {
		load(argv[2]);
		retype(argv[3], (uint32_t)strtoul(argv[4], NULL, 0), (unsigned)strtoul(argv[5], NULL, 0),
		       (uint32_t)strtoul(argv[6], NULL, 0));
	} else if (argc == 2 && !strcmp(argv[1], "limits")) {
		printf("new_type=%d major=%d new_minor=%d bad_view=%d new_kind=%d bad_frames=%d\n",
		       LC_REC_NTYPES, LC_DUMP_VERSION_MAJOR, LC_DUMP_VERSION_MINOR + 1, LC_NVIEWS,
		       LC_NKINDS, LC_LOCK_FIRST_FRAMES + 1);
	} else if (argc == 6 && !strcmp(argv[1], "end")) {
		load(argv[2]);
		end(argv[3], (uint32_t)strtoul(argv[4], NULL, 0), (size_t)strtoul(argv[5], NULL, 0));
	} else {
		die("usage: mkseed records IN | insert IN OUT TYPE LEN BEFORE_TYPE | "
		    "version IN OUT MAJOR MINOR | set IN OUT TYPE NTH OFF BYTES VALUE | "
		    "retype IN OUT TYPE NTH NEWTYPE | limits | end IN OUT TYPE ZEROS");
	}
	return 0;
}
