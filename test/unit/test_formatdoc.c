/*
 * test_formatdoc.c — docs/format.md says what include/lockcontend/dumpfmt.h
 * and symbolize/names.c say: one format, whichever of them is read.
 *
 * The document is read as Markdown tables, each under its nearest heading:
 *   - a layout table (columns offset, type, field, ...) under the heading
 *     that names its struct ("### META (type 1)", "#### Segment (32
 *     bytes)"): every row's offset and type against offsetof and sizeof,
 *     the fields in the struct's order, and the arrays that follow the
 *     struct (the row whose type is sized by a field: "u64[nframes]");
 *     a heading's "(type N)" against the record type's value and name, its
 *     "(N bytes)" against sizeof;
 *   - an enum table (columns #, NAME, ... or type, record, ...): one row per
 *     value, in order, each name names.c's (record types, views, kinds and
 *     states in capitals; a view's command-line word in parentheses where
 *     it differs);
 *   - the title's version, the magics and the header's fixed values.
 * The test's own field lists (LAYOUTS below) are checked to tile each
 * struct exactly, from 0 to its sizeof: a field added to dumpfmt.h and
 * nowhere else fails here too, not only a row changed in the document.
 *
 * Every disagreement is reported (cr_expect), each naming the document's
 * heading and row.  The document is found from this file's path, so run
 * the test from the repository root, as make does.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockcontend/dumpfmt.h"
#include "names.h"

/* ---- what dumpfmt.h says ------------------------------------------------------ */

struct field {
	const char *name;
	size_t offset, size;
};

/* A field's name, offset and size, as the compiler lays it out. */
#define FIELD(type, member) {#member, offsetof(type, member), sizeof(((type *)0)->member)}

/* An array that follows a struct, sized by one of its fields. */
struct tail {
	const char *name;  /* as dumpfmt.h's "followed by:" comment names it */
	size_t elem;       /* bytes of one element */
	const char *count; /* the struct's field that counts the elements */
};

struct layout {
	const char *heading; /* how its heading starts: "META", "File header" */
	uint32_t rec_type;   /* enum lc_rec_type; 0: not a record */
	size_t size;         /* sizeof the struct */
	const struct field *fields;
	size_t nfields;
	const struct tail *tails;
	size_t ntails;
};

static const struct field header_fields[] = {
    FIELD(struct lc_dump_header, magic),        FIELD(struct lc_dump_header, version_major),
    FIELD(struct lc_dump_header, version_minor), FIELD(struct lc_dump_header, pointer_size),
    FIELD(struct lc_dump_header, endian),       FIELD(struct lc_dump_header, header_size),
};
static const struct field head_fields[] = {
    FIELD(struct lc_rec_head, type),
    FIELD(struct lc_rec_head, size),
};
static const struct field meta_fields[] = {
    FIELD(struct lc_rec_meta, pid),           FIELD(struct lc_rec_meta, start_realtime_ns),
    FIELD(struct lc_rec_meta, end_realtime_ns), FIELD(struct lc_rec_meta, start_mono_ns),
    FIELD(struct lc_rec_meta, end_mono_ns),   FIELD(struct lc_rec_meta, clock),
    FIELD(struct lc_rec_meta, rate),          FIELD(struct lc_rec_meta, depth),
    FIELD(struct lc_rec_meta, flags),         FIELD(struct lc_rec_meta, arena_bytes),
    FIELD(struct lc_rec_meta, arena_used),    FIELD(struct lc_rec_meta, exe_len),
    FIELD(struct lc_rec_meta, hold_rate),
};
static const struct tail meta_tails[] = {{"exe", 1, "exe_len"}};
static const struct field live_fields[] = {
    FIELD(struct lc_rec_live, state),          FIELD(struct lc_rec_live, epoch),
    FIELD(struct lc_rec_live, snapshots),      FIELD(struct lc_rec_live, snapshot_mono_ns),
    FIELD(struct lc_rec_live, trylock_failures), FIELD(struct lc_rec_live, stacks_refused),
    FIELD(struct lc_rec_live, locks_refused),  FIELD(struct lc_rec_live, threads_seen),
    FIELD(struct lc_rec_live, modules_dropped),
};
static const struct field module_fields[] = {
    FIELD(struct lc_rec_module, id),           FIELD(struct lc_rec_module, nsegments),
    FIELD(struct lc_rec_module, load_bias),    FIELD(struct lc_rec_module, build_id_len),
    FIELD(struct lc_rec_module, path_len),     FIELD(struct lc_rec_module, epoch_first),
    FIELD(struct lc_rec_module, epoch_last),
};
static const struct tail module_tails[] = {
    {"segments", sizeof(struct lc_rec_segment), "nsegments"},
    {"build_id", 1, "build_id_len"},
    {"path", 1, "path_len"},
};
static const struct field segment_fields[] = {
    FIELD(struct lc_rec_segment, vaddr),  FIELD(struct lc_rec_segment, memsz),
    FIELD(struct lc_rec_segment, offset), FIELD(struct lc_rec_segment, flags),
    FIELD(struct lc_rec_segment, reserved),
};
static const struct field bucket_fields[] = {
    FIELD(struct lc_rec_bucket, count),  FIELD(struct lc_rec_bucket, delay_ns),
    FIELD(struct lc_rec_bucket, max_ns), FIELD(struct lc_rec_bucket, lock),
    FIELD(struct lc_rec_bucket, flags),  FIELD(struct lc_rec_bucket, nframes),
    FIELD(struct lc_rec_bucket, view),   FIELD(struct lc_rec_bucket, kind),
    FIELD(struct lc_rec_bucket, reserved0), FIELD(struct lc_rec_bucket, epoch),
};
static const struct tail pc_tails[] = {{"pc", sizeof(uint64_t), "nframes"}};
static const struct field lock_fields[] = {
    FIELD(struct lc_rec_lock, addr),         FIELD(struct lc_rec_lock, trylock_failures),
    FIELD(struct lc_rec_lock, timeouts),     FIELD(struct lc_rec_lock, uncharged_ns),
    FIELD(struct lc_rec_lock, kind),         FIELD(struct lc_rec_lock, nframes),
    FIELD(struct lc_rec_lock, epoch),        FIELD(struct lc_rec_lock, reserved),
};
static const struct field lock_init_fields[] = {
    FIELD(struct lc_rec_lock_init, addr),
    FIELD(struct lc_rec_lock_init, epoch),
    FIELD(struct lc_rec_lock_init, nframes),
};
static const struct field waiting_fields[] = {
    FIELD(struct lc_rec_waiting, seq),       FIELD(struct lc_rec_waiting, tid),
    FIELD(struct lc_rec_waiting, lock),      FIELD(struct lc_rec_waiting, since_ns),
    FIELD(struct lc_rec_waiting, owner_tid), FIELD(struct lc_rec_waiting, kind),
    FIELD(struct lc_rec_waiting, epoch),     FIELD(struct lc_rec_waiting, nframes),
    FIELD(struct lc_rec_waiting, frames),    FIELD(struct lc_rec_waiting, reserved),
    FIELD(struct lc_rec_waiting, name),
};
/* pc[frames], then the closing sequence word (one u64, no count) */
static const struct tail waiting_tails[] = {{"pc", sizeof(uint64_t), "frames"},
                                            {"seq_end", sizeof(uint64_t), ""}};
static const struct field lost_fields[] = {
    FIELD(struct lc_rec_lost, view),
    FIELD(struct lc_rec_lost, nreasons),
};
static const struct tail lost_tails[] = {{"reason", sizeof(struct lc_lost_entry), "nreasons"}};
static const struct field lost_entry_fields[] = {
    FIELD(struct lc_lost_entry, count),
    FIELD(struct lc_lost_entry, delay_ns),
};
static const struct field slot_fields[] = {
    FIELD(struct lc_rec_slot, count),    FIELD(struct lc_rec_slot, delay_ns),
    FIELD(struct lc_rec_slot, timeouts), FIELD(struct lc_rec_slot, uncharged_ns),
    FIELD(struct lc_rec_slot, lost),
};
static const struct field lock_lost_fields[] = {
    FIELD(struct lc_rec_lock_lost, addr),
    FIELD(struct lc_rec_lock_lost, lost),
};
static const struct field lock_uncharged_fields[] = {
    FIELD(struct lc_rec_lock_uncharged, addr),
    FIELD(struct lc_rec_lock_uncharged, uncharged_ns),
};
static const struct field lock_no_cell_fields[] = {
    FIELD(struct lc_rec_lock_no_cell, addr),
    FIELD(struct lc_rec_lock_no_cell, count),
    FIELD(struct lc_rec_lock_no_cell, delay_ns),
};
static const struct field series_fields[] = {
    FIELD(struct lc_rec_series, slot),     FIELD(struct lc_rec_series, interval_ns),
    FIELD(struct lc_rec_series, nentries), FIELD(struct lc_rec_series, used),
    FIELD(struct lc_rec_series, level),    FIELD(struct lc_rec_series, reserved),
};
static const struct tail series_tails[] = {
    {"entry", sizeof(struct lc_series_entry), "nentries"}};
static const struct field series_entry_fields[] = {
    FIELD(struct lc_series_entry, interval), FIELD(struct lc_series_entry, level),
    FIELD(struct lc_series_entry, view),     FIELD(struct lc_series_entry, flags),
    FIELD(struct lc_series_entry, reserved), FIELD(struct lc_series_entry, lock),
    FIELD(struct lc_series_entry, stack),    FIELD(struct lc_series_entry, count),
    FIELD(struct lc_series_entry, delay_ns),
};
static const struct field attach_fields[] = {
    FIELD(struct lc_rec_attach, objects),  FIELD(struct lc_rec_attach, later),
    FIELD(struct lc_rec_attach, slots),    FIELD(struct lc_rec_attach, out_of_reach),
    FIELD(struct lc_rec_attach, failed),   FIELD(struct lc_rec_attach, restored),
    FIELD(struct lc_rec_attach, left),     FIELD(struct lc_rec_attach, forgotten),
    FIELD(struct lc_rec_attach, flags),    FIELD(struct lc_rec_attach, reserved),
};
static const struct field writer_fields[] = {
    FIELD(struct lc_rec_writer, version_len),
    FIELD(struct lc_rec_writer, reserved),
};
static const struct tail writer_tails[] = {{"version", 1, "version_len"}};
static const struct field thread_fields[] = {
    FIELD(struct lc_rec_thread, slot),       FIELD(struct lc_rec_thread, tid),
    FIELD(struct lc_rec_thread, flags),      FIELD(struct lc_rec_thread, start_ns),
    FIELD(struct lc_rec_thread, end_ns),     FIELD(struct lc_rec_thread, name),
    FIELD(struct lc_rec_thread, base_count), FIELD(struct lc_rec_thread, base_delay_ns),
    FIELD(struct lc_rec_thread, end_count),  FIELD(struct lc_rec_thread, end_delay_ns),
};
static const struct field totals_fields[] = {
    FIELD(struct lc_rec_totals, contentions),    FIELD(struct lc_rec_totals, delay_ns),
    FIELD(struct lc_rec_totals, timeouts),       FIELD(struct lc_rec_totals, buckets),
    FIELD(struct lc_rec_totals, modules),        FIELD(struct lc_rec_totals, stacks_refused),
    FIELD(struct lc_rec_totals, threads_unread), FIELD(struct lc_rec_totals, threads_seen),
    FIELD(struct lc_rec_totals, caused_count),   FIELD(struct lc_rec_totals, caused_ns),
    FIELD(struct lc_rec_totals, uncharged_ns),   FIELD(struct lc_rec_totals, holds),
    FIELD(struct lc_rec_totals, hold_ns),        FIELD(struct lc_rec_totals, trylock_failures),
    FIELD(struct lc_rec_totals, locks),          FIELD(struct lc_rec_totals, locks_refused),
};
static const struct field trailer_fields[] = {
    FIELD(struct lc_rec_trailer, records),
    FIELD(struct lc_rec_trailer, bytes),
    FIELD(struct lc_rec_trailer, end_magic),
};

#define LEN(a) (sizeof(a) / sizeof((a)[0]))
#define LAYOUT(heading, rec_type, type, fields, tails, ntails) \
	{heading, rec_type, sizeof(type), fields, LEN(fields), tails, ntails}

static const struct layout LAYOUTS[] = {
    LAYOUT("File header", 0, struct lc_dump_header, header_fields, NULL, 0),
    LAYOUT("Record head", 0, struct lc_rec_head, head_fields, NULL, 0),
    LAYOUT("META", LC_REC_META, struct lc_rec_meta, meta_fields, meta_tails, 1),
    LAYOUT("LIVE", LC_REC_LIVE, struct lc_rec_live, live_fields, NULL, 0),
    LAYOUT("ATTACH", LC_REC_ATTACH, struct lc_rec_attach, attach_fields, NULL, 0),
    LAYOUT("WRITER", LC_REC_WRITER, struct lc_rec_writer, writer_fields, writer_tails, 1),
    LAYOUT("THREAD", LC_REC_THREAD, struct lc_rec_thread, thread_fields, NULL, 0),
    LAYOUT("MODULE", LC_REC_MODULE, struct lc_rec_module, module_fields, module_tails, 3),
    LAYOUT("Segment", 0, struct lc_rec_segment, segment_fields, NULL, 0),
    LAYOUT("BUCKET", LC_REC_BUCKET, struct lc_rec_bucket, bucket_fields, pc_tails, 1),
    LAYOUT("LOCK", LC_REC_LOCK, struct lc_rec_lock, lock_fields, pc_tails, 1),
    LAYOUT("LOCK_INIT", LC_REC_LOCK_INIT, struct lc_rec_lock_init, lock_init_fields, pc_tails, 1),
    LAYOUT("WAITING", LC_REC_WAITING, struct lc_rec_waiting, waiting_fields, waiting_tails, 2),
    LAYOUT("LOST", LC_REC_LOST, struct lc_rec_lost, lost_fields, lost_tails, 1),
    LAYOUT("SLOT", LC_REC_SLOT, struct lc_rec_slot, slot_fields, NULL, 0),
    LAYOUT("LOCK_LOST", LC_REC_LOCK_LOST, struct lc_rec_lock_lost, lock_lost_fields, NULL, 0),
    LAYOUT("LOCK_UNCHARGED", LC_REC_LOCK_UNCHARGED, struct lc_rec_lock_uncharged,
           lock_uncharged_fields, NULL, 0),
    LAYOUT("LOCK_NO_CELL", LC_REC_LOCK_NO_CELL, struct lc_rec_lock_no_cell, lock_no_cell_fields,
           NULL, 0),
    LAYOUT("SERIES", LC_REC_SERIES, struct lc_rec_series, series_fields, series_tails, 1),
    LAYOUT("Series entry", 0, struct lc_series_entry, series_entry_fields, NULL, 0),
    LAYOUT("TOTALS", LC_REC_TOTALS, struct lc_rec_totals, totals_fields, NULL, 0),
    LAYOUT("TRAILER", LC_REC_TRAILER, struct lc_rec_trailer, trailer_fields, NULL, 0),
};

/* ---- docs/format.md, as tables ------------------------------------------------ */

#define MAX_CELLS 8
#define MAX_ROWS 32
#define MAX_TABLES 64

struct table {
	const char *heading; /* the nearest heading above it, without its #s */
	const char *head[MAX_CELLS];          /* the header row's cells */
	int nrows;
	const char *row[MAX_ROWS][MAX_CELLS]; /* cells, trimmed; "" past the last */
};

static char *doc;          /* docs/format.md, cut into cells in place */
static const char *title;  /* its first line, without "# " */
static struct table tables[MAX_TABLES];
static int ntables;

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* "| a | b |" into its cells, "" past the last (a short row is then
 * reported as wrong, not read past); the separator row "|---|" gives none. */
static int split_row(char *line, const char **cells)
{
	int n = 0;
	char *p = strchr(line, '|') + 1, *bar;
	while ((bar = strchr(p, '|')) && n < MAX_CELLS) {
		*bar = '\0';
		cells[n++] = trim(p);
		p = bar + 1;
	}
	for (int i = n; i < MAX_CELLS; i++)
		cells[i] = "";
	return n && strncmp(cells[0], "---", 3) == 0 ? 0 : n;
}

static void add_line(char *line, const char *heading, bool *in_table)
{
	const char *cells[MAX_CELLS] = {0};
	if (line[0] != '|') {
		*in_table = false;
		return;
	}
	if (!split_row(line, cells))
		return;
	if (!*in_table) {
		cr_assert_lt(ntables, MAX_TABLES, "more tables than the test has room for");
		tables[ntables++] = (struct table){.heading = heading};
		memcpy(tables[ntables - 1].head, cells, sizeof(cells));
		*in_table = true;
		return;
	}
	struct table *t = &tables[ntables - 1];
	cr_assert_lt(t->nrows, MAX_ROWS, "a table under '%s' has too many rows", heading);
	memcpy(t->row[t->nrows++], cells, sizeof(cells));
}

/* docs/format.md, from this file's path (test/unit/ -> docs/). */
static void load_doc(void)
{
	char path[4096];
	const char *unit = strstr(__FILE__, "unit/test_formatdoc.c");
	cr_assert_not_null(unit);
	snprintf(path, sizeof(path), "%.*s../docs/format.md", (int)(unit - __FILE__), __FILE__);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "cannot open %s (run from the repository root)", path);
	doc = calloc(1, 1 << 20);
	size_t len = fread(doc, 1, (1 << 20) - 1, f);
	fclose(f);
	cr_assert(len > 0 && len < (1 << 20) - 1, "%s: empty or too long", path);
	const char *heading = "";
	bool in_table = false;
	char *rest = doc, *line;
	while ((line = strsep(&rest, "\n"))) { /* strtok would skip the blank lines */
		if (line[0] == '#') {
			heading = line + strspn(line, "# ");
			if (!title)
				title = heading;
		}
		add_line(line, heading, &in_table);
	}
}

static void unload_doc(void)
{
	free(doc);
}

TestSuite(formatdoc, .init = load_doc, .fini = unload_doc);

/* ---- helpers ---------------------------------------------------------------- */

/* Does the heading start with `word`, as a whole word? */
static bool heading_is(const char *heading, const char *word)
{
	size_t n = strlen(word);
	return strncmp(heading, word, n) == 0 && (heading[n] == '\0' || heading[n] == ' ');
}

/* A cell that is a decimal number; -1 otherwise. */
static long cell_number(const char *cell)
{
	char *end;
	long v = strtol(cell, &end, 10);
	return end != cell && *end == '\0' && v >= 0 ? v : -1;
}

static bool same_name(const char *doc_name, const char *name, bool upper)
{
	size_t n = strlen(name);
	if (strlen(doc_name) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (doc_name[i] != (upper ? toupper((unsigned char)name[i]) : name[i]))
			return false;
	return true;
}

/* The field list tiles the struct: no byte of dumpfmt.h's struct is
 * missing from the test's list (so none is missing from the document). */
static void expect_tiles(const char *what, const struct field *f, size_t n, size_t size)
{
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		cr_expect_eq(f[i].offset, at, "%s: the test lists %s at %zu, the last field ended at %zu",
		             what, f[i].name, f[i].offset, at);
		at = f[i].offset + f[i].size;
	}
	cr_expect_eq(at, size, "%s: the test's fields end at %zu, sizeof is %zu: a field of "
	             "dumpfmt.h is missing here (and in docs/format.md?)", what, at, size);
}

Test(formatdoc, the_tests_field_lists_tile_every_struct)
{
	for (size_t i = 0; i < LEN(LAYOUTS); i++)
		expect_tiles(LAYOUTS[i].heading, LAYOUTS[i].fields, LAYOUTS[i].nfields, LAYOUTS[i].size);
	expect_tiles("lost entry", lost_entry_fields, LEN(lost_entry_fields),
	             sizeof(struct lc_lost_entry));
}

/* ---- layout tables ------------------------------------------------------------ */

/* A type as the document writes it: "u32", "char[8]", "u64[3]",
 * "{u64 count, u64 delay_ns}[3][7]", "segment[nsegments]". */
struct doc_type {
	size_t elem;  /* bytes of one element of its base type */
	size_t count; /* elements: the product of its numeric dimensions */
	char var[32]; /* the dimension that is a field's name, "" if none */
};

static const char *scalar_name(size_t size)
{
	return size == 1 ? "u8" : size == 2 ? "u16" : size == 4 ? "u32" : size == 8 ? "u64" : "?";
}

/* "{u64 count, u64 delay_ns}": struct lc_lost_entry, as the document
 * spells it. */
static void lost_entry_spelling(char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap, "{");
	for (size_t i = 0; i < LEN(lost_entry_fields) && n < cap; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%s%s %s", i ? ", " : "",
		                      scalar_name(lost_entry_fields[i].size), lost_entry_fields[i].name);
	snprintf(buf + n, n < cap ? cap - n : 0, "}");
}

/* Bytes of a base type (the type without its dimensions), 0 if unknown. */
static size_t base_size(const char *base, size_t len)
{
	static const struct {
		const char *name;
		size_t size;
	} bases[] = {{"u8", 1},  {"u16", 2},  {"u32", 4}, {"i32", 4},
	             {"u64", 8}, {"char", 1}, {"segment", sizeof(struct lc_rec_segment)},
	             {"series_entry", sizeof(struct lc_series_entry)}};
	char entry[128];
	lost_entry_spelling(entry, sizeof(entry));
	if (strlen(entry) == len && strncmp(base, entry, len) == 0)
		return sizeof(struct lc_lost_entry);
	for (size_t i = 0; i < LEN(bases); i++)
		if (strlen(bases[i].name) == len && strncmp(base, bases[i].name, len) == 0)
			return bases[i].size;
	return 0;
}

static bool parse_type(const char *s, struct doc_type *t)
{
	const char *brace = s[0] == '{' ? strchr(s, '}') : NULL;
	const char *dims = brace ? brace + 1 : s + strcspn(s, "[");
	*t = (struct doc_type){.elem = base_size(s, (size_t)(dims - s)), .count = 1};
	while (*dims == '[') {
		const char *close = strchr(dims, ']');
		char dim[32];
		if (!close || close - dims - 1 >= (long)sizeof(dim))
			return false;
		snprintf(dim, sizeof(dim), "%.*s", (int)(close - dims - 1), dims + 1);
		long v = cell_number(dim);
		if (v >= 0)
			t->count *= (size_t)v;
		else if (!t->var[0])
			snprintf(t->var, sizeof(t->var), "%s", dim);
		else
			return false;
		dims = close + 1;
	}
	return *dims == '\0' && t->elem != 0;
}

/* A layout's table: under a heading that starts with its name, columns
 * offset, type, field. */
static const struct table *layout_table(const struct layout *l)
{
	const struct table *found = NULL;
	for (int i = 0; i < ntables; i++) {
		const struct table *t = &tables[i];
		if (strcmp(t->head[0], "offset") != 0 || !heading_is(t->heading, l->heading))
			continue;
		cr_expect_null(found, "two tables of %s (under '%s' and '%s')", l->heading,
		               found ? found->heading : "", t->heading);
		found = t;
	}
	cr_expect_not_null(found, "docs/format.md has no table of %s (a heading '%s ...' and "
	                   "columns offset, type, field)", l->heading, l->heading);
	if (found)
		cr_expect(strcmp(found->head[1], "type") == 0 && strcmp(found->head[2], "field") == 0,
		          "%s: the columns must be offset, type, field", found->heading);
	return found;
}

/* "(type N)" names the record type, and "(N bytes)" is its size. */
static void expect_heading(const struct layout *l, const char *heading)
{
	const char *p = strstr(heading, "(type ");
	unsigned long type;
	size_t bytes;
	if (l->rec_type) {
		cr_expect(p && sscanf(p, "(type %lu)", &type) == 1 && type == l->rec_type,
		          "'%s': dumpfmt.h gives %s type %u", heading, l->heading, l->rec_type);
		cr_expect(same_name(l->heading, names_rec_type(l->rec_type), true),
		          "'%s': names.c calls type %u \"%s\"", heading, l->rec_type,
		          names_rec_type(l->rec_type));
	} else {
		cr_expect_null(p, "'%s' is no record", heading);
	}
	p = strchr(heading, '(');
	if (p && sscanf(p, "(%zu bytes)", &bytes) == 1)
		cr_expect_eq(bytes, l->size, "'%s': sizeof is %zu", heading, l->size);
}

static void expect_field_row(const char *heading, const char *const *row, const struct field *f)
{
	struct doc_type t;
	cr_expect_str_eq(row[2], f->name, "%s: row '%s' where dumpfmt.h has %s", heading, row[2],
	                 f->name);
	cr_expect_eq(cell_number(row[0]), (long)f->offset, "%s: %s at offset %s, dumpfmt.h: %zu",
	             heading, f->name, row[0], f->offset);
	bool ok = parse_type(row[1], &t);
	cr_expect(ok && !t.var[0], "%s: %s: type '%s' is not a fixed-size type", heading, f->name,
	          row[1]);
	if (ok)
		cr_expect_eq(t.elem * t.count, f->size, "%s: %s is %s (%zu bytes), dumpfmt.h: %zu bytes",
		             heading, f->name, row[1], t.elem * t.count, f->size);
}

/* An array after the struct: the first starts at its sizeof, the next
 * ones at "…" (after a variable length). */
static void expect_tail_row(const struct layout *l, const char *heading, const char *const *row,
                            size_t k)
{
	const struct tail *tl = &l->tails[k];
	struct doc_type t;
	cr_expect_str_eq(row[2], tl->name, "%s: row '%s' where dumpfmt.h has %s[%s]", heading, row[2],
	                 tl->name, tl->count);
	if (k == 0)
		cr_expect_eq(cell_number(row[0]), (long)l->size, "%s: %s at offset %s, sizeof is %zu",
		             heading, tl->name, row[0], l->size);
	else
		cr_expect_str_eq(row[0], "…", "%s: %s follows a variable length: offset '…'", heading,
		                 tl->name);
	bool ok = parse_type(row[1], &t);
	cr_expect(ok && t.count == 1 && strcmp(t.var, tl->count) == 0 && t.elem == tl->elem,
	          "%s: %s is '%s', dumpfmt.h: %zu-byte elements, [%s] of them", heading, tl->name,
	          row[1], tl->elem, tl->count);
}

static void expect_layout(const struct layout *l)
{
	const struct table *t = layout_table(l);
	if (!t)
		return;
	expect_heading(l, t->heading);
	size_t rows = l->nfields + l->ntails;
	cr_expect_eq((size_t)t->nrows, rows, "%s: %d rows, dumpfmt.h: %zu fields and %zu arrays "
	             "after them", t->heading, t->nrows, l->nfields, l->ntails);
	for (size_t i = 0; i < rows && i < (size_t)t->nrows; i++) {
		if (i < l->nfields)
			expect_field_row(t->heading, t->row[i], &l->fields[i]);
		else
			expect_tail_row(l, t->heading, t->row[i], i - l->nfields);
	}
}

Test(formatdoc, every_layout_table_is_dumpfmt_h)
{
	for (size_t i = 0; i < LEN(LAYOUTS); i++)
		expect_layout(&LAYOUTS[i]);
}

/* No layout table the test does not check, no record type without one. */
Test(formatdoc, every_layout_is_checked)
{
	for (int i = 0; i < ntables; i++) {
		if (strcmp(tables[i].head[0], "offset") != 0)
			continue;
		bool known = false;
		for (size_t k = 0; k < LEN(LAYOUTS); k++)
			known |= heading_is(tables[i].heading, LAYOUTS[k].heading);
		cr_expect(known, "'%s': a layout this test does not know: add it to LAYOUTS",
		          tables[i].heading);
	}
	for (uint32_t type = 1; type < LC_REC_NTYPES; type++) {
		bool known = type == LC_REC_PENDING; /* no payload of its own */
		for (size_t k = 0; k < LEN(LAYOUTS); k++)
			known |= LAYOUTS[k].rec_type == type;
		cr_expect(known, "record type %u (%s) has no layout in this test", type,
		          names_rec_type(type));
	}
}

/* ---- enum tables ------------------------------------------------------------- */

struct enum_table {
	const char *column;              /* the name column's heading */
	uint32_t first, end;             /* its values: first .. end - 1 */
	const char *(*name)(uint32_t);   /* names.c's name of a value */
	const char *(*alias)(uint32_t);  /* a second word, in parentheses where it
	                                  * differs from the name; NULL: none */
	bool upper;                      /* the document writes the name in capitals */
};

static const struct enum_table ENUMS[] = {
    {"record", 1, LC_REC_NTYPES, names_rec_type, NULL, true},
    {"view", 0, LC_NVIEWS, names_view, names_view_cli, true},
    {"kind", 0, LC_NKINDS, names_kind, NULL, true},
    {"reason", 0, LC_LOST_NREASONS, names_lost, NULL, false},
    {"state", 0, LC_LIVE_NSTATES, names_live_state, NULL, true},
};

/* The table whose columns start "#" (or "type") and e->column. */
static const struct table *enum_table(const struct enum_table *e)
{
	const struct table *found = NULL;
	for (int i = 0; i < ntables; i++) {
		const struct table *t = &tables[i];
		if (strcmp(t->head[1], e->column) != 0 ||
		    (strcmp(t->head[0], "#") != 0 && strcmp(t->head[0], "type") != 0))
			continue;
		cr_expect_null(found, "two tables of %ss", e->column);
		found = t;
	}
	cr_expect_not_null(found, "docs/format.md has no table of %ss (columns # or type, then %s)",
	                   e->column, e->column);
	return found;
}

/* "WAIT (waiter)": the name, then the alias where it differs. */
static void expect_enum_name(const struct enum_table *e, const struct table *t, uint32_t v,
                             const char *cell)
{
	char name[64], alias[64] = "";
	if (sscanf(cell, "%63[^ (] (%63[^)])", name, alias) < 1)
		name[0] = '\0';
	cr_expect(same_name(name, e->name(v), e->upper), "%s: %s %u is '%s', names.c: \"%s\"",
	          t->heading, e->column, v, name, e->name(v));
	const char *want = e->alias && strcmp(e->alias(v), e->name(v)) != 0 ? e->alias(v) : "";
	cr_expect_str_eq(alias, want, "%s: %s %u: in parentheses '%s', names.c's other word: '%s'",
	                 t->heading, e->column, v, alias, want);
}

Test(formatdoc, every_enum_table_is_dumpfmt_h_and_names_c)
{
	for (size_t i = 0; i < LEN(ENUMS); i++) {
		const struct enum_table *e = &ENUMS[i];
		const struct table *t = enum_table(e);
		if (!t)
			continue;
		cr_expect_eq((uint32_t)t->nrows, e->end - e->first, "%s: %d %ss, dumpfmt.h: %u",
		             t->heading, t->nrows, e->column, e->end - e->first);
		for (uint32_t v = e->first; v < e->end && v - e->first < (uint32_t)t->nrows; v++) {
			const char *const *row = t->row[v - e->first];
			cr_expect_eq(cell_number(row[0]), (long)v, "%s: row '%s' where %s %u belongs",
			             t->heading, row[0], e->column, v);
			expect_enum_name(e, t, v, row[1]);
		}
	}
}

/* ---- fixed values ------------------------------------------------------------ */

/* The cell of `column` in the row of `field` in the layout table of l. */
static const char *layout_cell(const struct layout *l, const char *field, int column)
{
	const struct table *t = layout_table(l);
	for (int i = 0; t && i < t->nrows; i++)
		if (strcmp(t->row[i][2], field) == 0)
			return t->row[i][column];
	cr_expect_fail("%s: no row %s", l->heading, field);
	return "";
}

/* The number a cell starts with ("3; a reader refuses..."), -1 if none. */
static long leading_number(const char *cell)
{
	char *end;
	long v = strtol(cell, &end, 10);
	return end != cell ? v : -1;
}

static const struct layout *layout_named(const char *heading)
{
	for (size_t i = 0; i < LEN(LAYOUTS); i++)
		if (strcmp(LAYOUTS[i].heading, heading) == 0)
			return &LAYOUTS[i];
	cr_assert_fail("no layout %s in this test", heading);
	return NULL;
}

Test(formatdoc, version_magics_and_fixed_values_are_dumpfmt_h)
{
	char want[64];
	snprintf(want, sizeof(want), "The raw dump format (version %d.%d)", LC_DUMP_VERSION_MAJOR,
	         LC_DUMP_VERSION_MINOR);
	cr_expect_str_eq(title, want, "the title says '%s'", title);
	const struct layout *h = layout_named("File header");
	snprintf(want, sizeof(want), "`%s`", LC_DUMP_MAGIC);
	cr_expect_str_eq(layout_cell(h, "magic", 3), want);
	cr_expect_eq(leading_number(layout_cell(h, "version_major", 3)), LC_DUMP_VERSION_MAJOR);
	cr_expect_eq(leading_number(layout_cell(h, "version_minor", 3)), LC_DUMP_VERSION_MINOR);
	cr_expect_eq(leading_number(layout_cell(h, "endian", 3)), LC_DUMP_ENDIAN_LITTLE);
	cr_expect_eq(leading_number(layout_cell(h, "header_size", 3)),
	             (long)sizeof(struct lc_dump_header));
	snprintf(want, sizeof(want), "`%s`", LC_DUMP_END_MAGIC);
	cr_expect_str_eq(layout_cell(layout_named("TRAILER"), "end_magic", 3), want);
	snprintf(want, sizeof(want), "%d; %d before 3.8, %d before 3.1", LC_LOST_NREASONS,
	         LC_LOST_NREASONS_3_1, LC_LOST_NREASONS_3_0);
	cr_expect_str_eq(layout_cell(layout_named("LOST"), "nreasons", 3), want);
}
