/*
 * report_names.c — what the text report calls each function (report.h).
 *
 * C++ names run long: a frame of a RocksDB or MariaDB build is often 200+
 * characters, nearly all of them template arguments.  The text report is
 * read by people, so there
 *   - a frame (top functions, top stacks) is the full demangled name, but
 *     longer than REPORT_NAME_MAX its template arguments are elided
 *     ("std::map<…>::find(int const&)");
 *   - a one-line stack (the lock details) shows names without parameters,
 *     templates elided, cut to their last REPORT_BRIEF_MAX characters;
 * and wherever two functions of distinct names would print alike (two
 * overloads without their parameters, two instantiations with their
 * templates elided), both print more: the one-line form falls back to the
 * frame form (parameters shown), the frame form to the full name.  The
 * folded and pprof outputs keep full names (report_folded.c,
 * report_pprof.c): tools fold and search them.
 *
 * Pure string work on the profile's function table, computed once per
 * report; every string is owned by the struct report_names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define ELLIPSIS "\u2026" /* "…" */

/* ---- the shapes of a name ------------------------------------------------- */

/* Does name[i] belong to an operator's name ("operator<", "operator<<",
 * "operator->", "operator>>=") rather than open or close a template? */
static bool in_operator(const char *name, size_t i)
{
	size_t j = i;
	while (j > 0 && j + 3 > i && strchr("<>-=", name[j - 1]))
		j--; /* the operator's other characters before this one */
	return j >= 8 && strncmp(name + j - 8, "operator", 8) == 0;
}

/* Where the parameter list of a demangled C++ name starts ("f(int) const"
 * -> 1), or its length if it has none. */
static size_t params_start(const char *name, size_t len)
{
	static const char *const quals[] = {" const", " volatile", " &&", " &"};
	size_t end = len;
	for (size_t i = 0; i < sizeof(quals) / sizeof(quals[0]); i++) {
		size_t q = strlen(quals[i]);
		if (end > q && strncmp(name + end - q, quals[i], q) == 0) {
			end -= q;
			i = (size_t)-1; /* " const &" and the like: look again */
		}
	}
	if (end == 0 || name[end - 1] != ')')
		return len;
	int depth = 0;
	for (size_t i = end; i-- > 0;) {
		depth += name[i] == ')' ? 1 : name[i] == '(' ? -1 : 0;
		if (depth == 0) /* "operator()" alone is a name, not a parameter list */
			return i >= 8 && strncmp(name + i - 8, "operator", 8) == 0 && i + 2 == end
			           ? len
			           : i;
	}
	return len;
}

/* The first len characters of name with every outermost template argument
 * list elided to "<…>"; malloc'd ("<>" becomes five bytes: room for 3 len). */
static char *elide_templates(const char *name, size_t len)
{
	char *out = malloc(3 * len + 1), *o = out;
	int depth = 0;
	for (size_t i = 0; out && i < len; i++) {
		char ch = name[i];
		bool op = (ch == '<' || ch == '>') && in_operator(name, i);
		if (ch == '<' && !op && depth++ == 0) {
			memcpy(o, "<" ELLIPSIS, strlen("<" ELLIPSIS));
			o += strlen("<" ELLIPSIS);
		} else if (ch == '>' && !op && depth > 0) {
			if (--depth == 0)
				*o++ = '>';
		} else if (depth == 0) {
			*o++ = ch;
		}
	}
	if (out)
		*o = '\0';
	return out;
}

/* A frame: the full name, templates elided past REPORT_NAME_MAX. */
static char *frame_form(const char *name)
{
	size_t len = strlen(name);
	return len > REPORT_NAME_MAX ? elide_templates(name, len) : strdup(name);
}

/* A one-line stack's: no parameters, templates elided, the last
 * REPORT_BRIEF_MAX characters (where a method's own name is). */
static char *brief_form(const char *name)
{
	char *s = elide_templates(name, params_start(name, strlen(name)));
	size_t n = s ? strlen(s) : 0;
	if (n > REPORT_BRIEF_MAX) {
		size_t from = n - (REPORT_BRIEF_MAX - 3);
		while (((unsigned char)s[from] & 0xc0) == 0x80)
			from++; /* not inside a "…" */
		memmove(s + 3, s + from, n - from + 1);
		memcpy(s, "...", 3);
	}
	return s;
}

void report_name_short(const char *name, char *buf, size_t cap)
{
	char *s = frame_form(name);
	snprintf(buf, cap, "%s", s ? s : name);
	free(s);
}

/* ---- telling functions apart ------------------------------------------------ */

struct form_ref {
	const char *form, *name; /* name: interned, one pointer per distinct name */
	size_t fn;
};

static int cmp_form(const void *a, const void *b)
{
	const struct form_ref *x = a, *y = b;
	int c = strcmp(x->form, y->form);
	return c ? c : (uintptr_t)x->name < (uintptr_t)y->name ? -1 : x->name != y->name;
}

/* Wherever functions of distinct names share a form, replace theirs with
 * a copy of better[fn] (NULL: their full name).  Returns -1 out of memory. */
static int disambiguate(const struct profile *p, char **form, char *const *better)
{
	size_t n = p->nfunctions;
	struct form_ref *r = malloc((n ? n : 1) * sizeof(*r));
	bool *clash = calloc(n ? n : 1, sizeof(*clash));
	if (!r || !clash) {
		free(r);
		free(clash);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		r[i] = (struct form_ref){form[i], p->functions[i].name, i};
	qsort(r, n, sizeof(*r), cmp_form);
	for (size_t i = 0, j; i < n; i = j) {
		bool distinct = false;
		for (j = i + 1; j < n && strcmp(r[j].form, r[i].form) == 0; j++)
			distinct |= r[j].name != r[i].name;
		for (size_t k = i; distinct && k < j; k++)
			clash[r[k].fn] = true;
	}
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (!clash[i])
			continue;
		char *s = strdup(better ? better[i] : p->functions[i].name);
		if (!s)
			rc = -1;
		else {
			free(form[i]);
			form[i] = s;
		}
	}
	free(r);
	free(clash);
	return rc;
}

int report_names_build(struct report_names *rn, const struct profile *p)
{
	size_t n = p->nfunctions;
	rn->n = n;
	rn->frame = calloc(n ? n : 1, sizeof(*rn->frame));
	rn->brief = calloc(n ? n : 1, sizeof(*rn->brief));
	bool ok = rn->frame && rn->brief;
	for (size_t i = 0; ok && i < n; i++) {
		rn->frame[i] = frame_form(p->functions[i].name);
		rn->brief[i] = brief_form(p->functions[i].name);
		ok = rn->frame[i] && rn->brief[i];
	}
	/* frames first: a one-line name that clashes falls back to its frame,
	 * and a clash left after that to the full name */
	if (ok &&
	    (disambiguate(p, rn->frame, NULL) != 0 || disambiguate(p, rn->brief, rn->frame) != 0 ||
	     disambiguate(p, rn->brief, NULL) != 0))
		ok = false;
	if (!ok)
		report_names_free(rn);
	return ok ? 0 : -1;
}

void report_names_free(struct report_names *rn)
{
	for (size_t i = 0; i < rn->n; i++) {
		if (rn->frame)
			free(rn->frame[i]);
		if (rn->brief)
			free(rn->brief[i]);
	}
	free(rn->frame);
	free(rn->brief);
	memset(rn, 0, sizeof(*rn));
}
