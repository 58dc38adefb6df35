/*
 * mkdump.c — a synthetic but valid raw dump for the symbolizer bench.
 *
 * usage: mkdump [-n STACKS] [-d DEPTH] [-a DISTINCT] [-s SEED] [-u USES] BIN DUMP ADDRS
 *        defaults: 10000 stacks of 20 frames over 2500 distinct return addresses
 *
 * BIN is any ELF file with a symbol table (the bench uses one with full
 * DWARF).  The dump has one module, BIN itself: its real GNU build-id, its
 * PT_LOAD segments and a load bias (0x555555554000 for a PIE executable,
 * 0x7f3a5c200000 for a shared object, 0 for a fixed-address one).  DISTINCT
 * return addresses are drawn inside BIN's functions (FUNC symbols in
 * executable segments, aliases counted once): a function chosen uniformly,
 * then a byte inside it, so that pc - 1 lies in the function, past its
 * first byte, like the address after a call.  They need not be instruction
 * boundaries.  STACKS distinct stacks of DEPTH frames are drawn from them;
 * the first DISTINCT frame slots take every address once, in a shuffled
 * order, so every address is used.  Counts and delays are random, nothing
 * is lost (a LOST record of zeros for each view), and TOTALS add up
 * exactly.  Format 3.0, as the in-place writer leaves a complete file: META,
 * LIVE (exited), the module (loaded since epoch 0, never unloaded), the
 * buckets, the locks (their stacks, first ones too, taken in epoch 0), one
 * SLOT per thread whose totals add up to the buckets', then LOST, TOTALS
 * and TRAILER.  Every bucket is a
 * mutex wait (the waiter view, which the folded report shows) on one of
 * NLOCKS heap locks, each with a LOCK record (with room for
 * LC_LOCK_FIRST_FRAMES frames) whose first-contended stack is that of its
 * first bucket (so the symbolizer names them the way it names a real
 * program's); the holder view is off and the hold view empty.
 *
 * ADDRS receives the distinct file addresses, pc - 1 - bias, one per line
 * in hex, in the order the dump first uses them: the input of
 * `eu-addr2line -i -f -e BIN`, which resolves what the symbolizer resolves.
 * USES (optional) gets, line for line, how many frames of the dump hold
 * each of them: with the length of each address's inline chain (from
 * llvm-symbolizer or eu-addr2line) that gives the number of frames a
 * folded report must have.
 *
 * Prints one line: "mkdump stacks=N depth=D distinct=A functions=F
 * bias=0x... build_id=HEX bytes=SIZE".
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lockcontend/dumpfmt.h"

#define NT_GNU_BUILD_ID_TYPE 3
#define NLOCKS 16
#define NTHREADS 8
#define LOCK_BASE 0x5555a0001000ull /* heap-like: in no module */

static void die(const char *fmt, const char *arg)
{
	fprintf(stderr, "mkdump: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	exit(1);
}

/* xorshift64*: reproducible for a seed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}
static uint64_t rnd_below(uint64_t n)
{
	return rnd() % n;
}

/* ---- the ELF file -------------------------------------------------------- */

struct func {
	uint64_t start, size;
};

struct bin {
	struct lc_rec_segment seg[LC_DUMP_MAX_SEGMENTS];
	uint32_t nseg;
	uint8_t build_id[LC_DUMP_MAX_BUILD_ID];
	uint32_t build_id_len;
	uint64_t bias;
	struct func *funcs;
	size_t nfuncs;
};

static int in_exec_segment(const struct bin *b, uint64_t a, uint64_t size)
{
	for (uint32_t i = 0; i < b->nseg; i++)
		if ((b->seg[i].flags & PF_X) && a >= b->seg[i].vaddr &&
		    a + size <= b->seg[i].vaddr + b->seg[i].memsz)
			return 1;
	return 0;
}

static void read_build_id(Elf *elf, struct bin *b)
{
	size_t nph;
	if (elf_getphdrnum(elf, &nph) != 0)
		return;
	for (size_t i = 0; i < nph && !b->build_id_len; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_NOTE)
			continue;
		Elf_Data *d = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz,
		                                   ph.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;
		while (d && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID_TYPE && nh.n_namesz == 4 &&
			    memcmp((char *)d->d_buf + name_off, "GNU", 4) == 0 &&
			    nh.n_descsz > 0 && nh.n_descsz <= LC_DUMP_MAX_BUILD_ID) {
				memcpy(b->build_id, (char *)d->d_buf + desc_off, nh.n_descsz);
				b->build_id_len = nh.n_descsz;
				break;
			}
		}
	}
}

static int cmp_func(const void *x, const void *y)
{
	const struct func *a = x, *b = y;
	return a->start < b->start ? -1 : a->start > b->start;
}

/* FUNC symbols of .symtab (else .dynsym), sorted, one per address. */
static void read_funcs(Elf *elf, struct bin *b, const char *path)
{
	Elf_Scn *scn = NULL, *use = NULL;
	GElf_Shdr sh;
	while ((scn = elf_nextscn(elf, scn)) != NULL) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB || (sh.sh_type == SHT_DYNSYM && !use))
			use = scn;
	}
	if (!use || !gelf_getshdr(use, &sh) || !sh.sh_entsize)
		die("%s has no symbol table", path);
	Elf_Data *d = elf_getdata(use, NULL);
	size_t n = sh.sh_size / sh.sh_entsize, cap = 1024;
	b->funcs = malloc(cap * sizeof(*b->funcs));
	for (size_t i = 0; d && i < n; i++) {
		GElf_Sym s;
		if (!gelf_getsym(d, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC ||
		    s.st_shndx == SHN_UNDEF || s.st_size < 2 ||
		    !in_exec_segment(b, s.st_value, s.st_size))
			continue;
		if (b->nfuncs == cap)
			b->funcs = realloc(b->funcs, (cap *= 2) * sizeof(*b->funcs));
		b->funcs[b->nfuncs++] = (struct func){s.st_value, s.st_size};
	}
	qsort(b->funcs, b->nfuncs, sizeof(*b->funcs), cmp_func);
	size_t k = 0;
	for (size_t i = 0; i < b->nfuncs; i++)
		if (!k || b->funcs[k - 1].start != b->funcs[i].start)
			b->funcs[k++] = b->funcs[i];
	b->nfuncs = k;
	if (!k)
		die("%s has no functions in an executable segment", path);
}

static void read_bin(const char *path, struct bin *b)
{
	elf_version(EV_CURRENT);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("cannot open %s", path);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr eh;
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64)
		die("%s is not a 64-bit ELF file", path);
	size_t nph;
	if (elf_getphdrnum(elf, &nph) != 0)
		die("%s has no program headers", path);
	int pie = 0;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph))
			continue;
		if (ph.p_type == PT_INTERP)
			pie = 1;
		if (ph.p_type != PT_LOAD)
			continue;
		if (b->nseg == LC_DUMP_MAX_SEGMENTS)
			die("%s has too many PT_LOAD segments", path);
		b->seg[b->nseg++] = (struct lc_rec_segment){ph.p_vaddr, ph.p_memsz, ph.p_offset,
		                                            ph.p_flags, 0};
	}
	if (!b->nseg)
		die("%s has no PT_LOAD segment", path);
	b->bias = eh.e_type != ET_DYN ? 0 : pie ? 0x555555554000ull : 0x7f3a5c200000ull;
	read_build_id(elf, b);
	read_funcs(elf, b, path);
	elf_end(elf);
	close(fd);
}

/* ---- a set of uint64 (open addressing, 0 is never a key) ----------------- */

struct set {
	uint64_t *k;
	size_t cap;
};

static int set_add(struct set *s, uint64_t key)
{
	size_t j = (key * 0x9e3779b97f4a7c15ull) >> 20 & (s->cap - 1);
	while (s->k[j]) {
		if (s->k[j] == key)
			return 0;
		j = (j + 1) & (s->cap - 1);
	}
	s->k[j] = key;
	return 1;
}

static void set_init(struct set *s, size_t n)
{
	for (s->cap = 1024; s->cap < 2 * n;)
		s->cap *= 2;
	s->k = calloc(s->cap, sizeof(*s->k));
}

/* ---- writing ------------------------------------------------------------- */

struct out {
	FILE *f;
	uint64_t off;     /* bytes written */
	uint64_t records; /* records written */
};

static void put(struct out *o, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, o->f) != n)
		die("write failed: %s", strerror(errno));
	o->off += n;
}

/* A record: head, then the payload parts, then zero padding. */
static void record(struct out *o, uint32_t type, const void *const *parts, const size_t *lens,
                   int nparts)
{
	static const uint8_t zero[8];
	size_t size = 0;
	for (int i = 0; i < nparts; i++)
		size += lens[i];
	if (size > LC_DUMP_MAX_RECORD)
		die("%s", "record too large");
	struct lc_rec_head h = {type, (uint32_t)size};
	put(o, &h, sizeof(h));
	for (int i = 0; i < nparts; i++)
		put(o, parts[i], lens[i]);
	put(o, zero, lc_dump_pad((uint32_t)size) - size);
	o->records++;
}

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*end || v <= 0)
		die("bad number '%s'", s);
	return (size_t)v;
}

static void usage(void)
{
	fprintf(stderr, "usage: mkdump [-n STACKS] [-d DEPTH] [-a DISTINCT] [-s SEED] [-u USES] "
	                "BIN DUMP ADDRS\n");
	exit(2);
}

int main(int argc, char **argv)
{
	size_t nstacks = 10000, depth = 20, ndistinct = 2500;
	const char *uses_path = NULL;
	int c;
	while ((c = getopt(argc, argv, "n:d:a:s:u:")) != -1) {
		switch (c) {
		case 'n': nstacks = num(optarg); break;
		case 'd': depth = num(optarg); break;
		case 'a': ndistinct = num(optarg); break;
		case 's': rng_state ^= num(optarg) * 0xbf58476d1ce4e5b9ull; break;
		case 'u': uses_path = optarg; break;
		default: usage();
		}
	}
	if (argc - optind != 3)
		usage();
	const char *path = argv[optind], *dump_path = argv[optind + 1],
	           *addrs_path = argv[optind + 2];
	if (depth > LC_DUMP_MAX_DEPTH)
		die("%s", "depth above LC_DUMP_MAX_DEPTH");
	if (ndistinct > nstacks * depth)
		die("%s", "more distinct addresses than frames");

	static struct bin b;
	read_bin(path, &b);

	/* The distinct return addresses (runtime pcs). */
	uint64_t *pool = malloc(ndistinct * sizeof(*pool));
	struct set seen;
	set_init(&seen, ndistinct);
	uint64_t room = 0;
	for (size_t i = 0; i < b.nfuncs; i++)
		room += b.funcs[i].size - 1;
	if (room < 2 * ndistinct)
		die("%s has too little code for that many distinct addresses", path);
	for (size_t n = 0; n < ndistinct;) {
		const struct func *f = &b.funcs[rnd_below(b.nfuncs)];
		uint64_t pc = b.bias + f->start + 1 + rnd_below(f->size - 1) + 1; /* pc-1 in f, past byte 0 */
		if (set_add(&seen, pc))
			pool[n++] = pc;
	}

	/* The stacks: slot s < ndistinct takes pool[s] (the pool is in random
	 * order already), the others a random pool entry; a stack equal to an
	 * earlier one is drawn again. */
	uint64_t *pcs = malloc(nstacks * depth * sizeof(*pcs));
	uint32_t *pick = malloc((nstacks * depth - ndistinct + 1) * sizeof(*pick));
	struct set stacks;
	set_init(&stacks, nstacks);
	for (size_t s = 0; s < nstacks; s++) {
		uint64_t *st = pcs + s * depth;
		for (;;) {
			uint64_t h = 0xcbf29ce484222325ull;
			for (size_t k = 0; k < depth; k++) {
				size_t slot = s * depth + k;
				if (slot < ndistinct) {
					st[k] = pool[slot];
				} else {
					pick[slot - ndistinct] = (uint32_t)rnd_below(ndistinct);
					st[k] = pool[pick[slot - ndistinct]];
				}
				h = (h ^ st[k]) * 0x100000001b3ull;
			}
			if (set_add(&stacks, h | 1))
				break;
			if ((s + 1) * depth <= ndistinct)
				die("%s", "a duplicate stack among the fixed slots");
		}
	}

	FILE *af = fopen(addrs_path, "w");
	if (!af)
		die("cannot create %s", addrs_path);
	for (size_t i = 0; i < ndistinct; i++)
		fprintf(af, "0x%" PRIx64 "\n", pool[i] - 1 - b.bias);
	if (fclose(af) != 0)
		die("cannot write %s", addrs_path);
	if (uses_path) {
		/* pool[i] is used by slot i and by the random slots that drew it. */
		uint32_t *uses = calloc(ndistinct, sizeof(*uses));
		for (size_t slot = ndistinct; slot < nstacks * depth; slot++)
			uses[pick[slot - ndistinct]]++;
		FILE *uf = fopen(uses_path, "w");
		if (!uf)
			die("cannot create %s", uses_path);
		for (size_t i = 0; i < ndistinct; i++)
			fprintf(uf, "%u\n", uses[i] + 1);
		if (fclose(uf) != 0)
			die("cannot write %s", uses_path);
		free(uses);
	}

	struct out o = {fopen(dump_path, "wb"), 0, 0};
	if (!o.f)
		die("cannot create %s", dump_path);
	struct lc_dump_header hdr = {.version_major = LC_DUMP_VERSION_MAJOR,
	                             .version_minor = LC_DUMP_VERSION_MINOR,
	                             .pointer_size = 8,
	                             .endian = LC_DUMP_ENDIAN_LITTLE,
	                             .header_size = sizeof(hdr)};
	memcpy(hdr.magic, LC_DUMP_MAGIC, 8);
	put(&o, &hdr, sizeof(hdr));

	uint64_t rt = now_ns(CLOCK_REALTIME), mono = now_ns(CLOCK_MONOTONIC);
	struct lc_rec_meta meta = {
	    .pid = (uint64_t)getpid(),
	    .start_realtime_ns = rt - 10000000000ull,
	    .end_realtime_ns = rt,
	    .start_mono_ns = mono - 10000000000ull,
	    .end_mono_ns = mono,
	    .clock = LC_CLOCK_MONOTONIC,
	    .rate = 1,
	    .depth = (uint32_t)depth,
	    .flags = LC_META_STACKS,
	    .arena_bytes = 64u << 20,
	    .arena_used = nstacks * (64 + 8 * depth),
	    .exe_len = (uint32_t)strlen(path),
	};
	record(&o, LC_REC_META, (const void *[]){&meta, path}, (size_t[]){sizeof(meta), meta.exe_len},
	       2);
	struct lc_rec_live live = {.state = LC_LIVE_EXITED, .threads_seen = NTHREADS};
	record(&o, LC_REC_LIVE, (const void *[]){&live}, (size_t[]){sizeof(live)}, 1);

	struct lc_rec_module mod = {.id = 0,
	                            .nsegments = b.nseg,
	                            .load_bias = b.bias,
	                            .build_id_len = b.build_id_len,
	                            .path_len = (uint32_t)strlen(path),
	                            .epoch_first = 0,
	                            .epoch_last = UINT32_MAX};
	record(&o, LC_REC_MODULE, (const void *[]){&mod, b.seg, b.build_id, path},
	       (size_t[]){sizeof(mod), b.nseg * sizeof(*b.seg), b.build_id_len, mod.path_len}, 4);

	uint64_t count = 0, delay = 0;
	static struct lc_rec_slot slots[NTHREADS];
	for (size_t s = 0; s < nstacks; s++) {
		struct lc_rec_bucket bk = {.count = 1 + rnd_below(1000), .nframes = (uint32_t)depth,
		                           .lock = LOCK_BASE + 64 * (s % NLOCKS),
		                           .view = LC_VIEW_WAIT, .kind = LC_KIND_MUTEX};
		bk.delay_ns = bk.count * (1000 + rnd_below(100000));
		bk.max_ns = bk.delay_ns / bk.count * 2;
		count += bk.count;
		delay += bk.delay_ns;
		slots[s % NTHREADS].count[LC_VIEW_WAIT] += bk.count;
		slots[s % NTHREADS].delay_ns[LC_VIEW_WAIT] += bk.delay_ns;
		record(&o, LC_REC_BUCKET, (const void *[]){&bk, pcs + s * depth},
		       (size_t[]){sizeof(bk), depth * sizeof(*pcs)}, 2);
	}

	size_t nlocks = nstacks < NLOCKS ? nstacks : NLOCKS;
	for (size_t l = 0; l < nlocks; l++) {
		struct lc_rec_lock lk = {.addr = LOCK_BASE + 64 * l, .kind = LC_KIND_MUTEX,
		                         .nframes = depth < LC_LOCK_FIRST_FRAMES
		                                        ? (uint32_t)depth : LC_LOCK_FIRST_FRAMES,
		                         .epoch = 0};
		static const uint64_t spare[LC_LOCK_FIRST_FRAMES];
		record(&o, LC_REC_LOCK, (const void *[]){&lk, pcs + l * depth, spare},
		       (size_t[]){sizeof(lk), lk.nframes * sizeof(*pcs),
		                  (LC_LOCK_FIRST_FRAMES - lk.nframes) * sizeof(*pcs)}, 3);
	}
	for (size_t t = 0; t < NTHREADS; t++)
		record(&o, LC_REC_SLOT, (const void *[]){&slots[t]}, (size_t[]){sizeof(slots[t])}, 1);

	struct lc_lost_entry reasons[LC_LOST_NREASONS] = {{0, 0}};
	for (uint32_t v = 0; v < LC_NVIEWS; v++) {
		struct lc_rec_lost lost = {.view = v, .nreasons = LC_LOST_NREASONS};
		record(&o, LC_REC_LOST, (const void *[]){&lost, reasons},
		       (size_t[]){sizeof(lost), sizeof(reasons)}, 2);
	}

	struct lc_rec_totals tot = {.contentions = count,
	                            .delay_ns = delay,
	                            .buckets = nstacks,
	                            .modules = 1,
	                            .threads_seen = NTHREADS,
	                            .locks = nlocks};
	record(&o, LC_REC_TOTALS, (const void *[]){&tot}, (size_t[]){sizeof(tot)}, 1);

	struct lc_rec_trailer tr = {.records = o.records, .bytes = o.off};
	memcpy(tr.end_magic, LC_DUMP_END_MAGIC, 8);
	record(&o, LC_REC_TRAILER, (const void *[]){&tr}, (size_t[]){sizeof(tr)}, 1);
	if (fclose(o.f) != 0)
		die("cannot write %s", dump_path);

	printf("mkdump stacks=%zu depth=%zu distinct=%zu functions=%zu bias=0x%" PRIx64 " build_id=",
	       nstacks, depth, ndistinct, b.nfuncs, b.bias);
	for (uint32_t i = 0; i < b.build_id_len; i++)
		printf("%02x", b.build_id[i]);
	printf("%s bytes=%" PRIu64 "\n", b.build_id_len ? "" : "none", o.off);
	return 0;
}
