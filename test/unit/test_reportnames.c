/*
 * test_reportnames.c — what the text report calls a function
 * (symbolize/report_names.c) and where it says it.
 *
 * On a hand-built profile: a name up to REPORT_NAME_MAX characters prints
 * whole, templates and all; a longer one has its template arguments
 * elided, nested ones inside the outermost, operators (<<, <, ->) kept;
 * one-line stacks drop parameters and templates, keep the last
 * REPORT_BRIEF_MAX characters; two overloads, which would read alike
 * without their parameters, keep them (mysql_lock_tables), and two long
 * instantiations that would read alike with their templates elided print
 * in full; a function of one name in two entries (two files) is no
 * overload.  The text report's stacks, its functions table and its lock
 * table show the short forms, the folded output the full names.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "report.h"
#include "viewkind.h"

#define LONG_ARGS                                                                          \
	"std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >, "  \
	"std::pair<std::__cxx11::basic_string<char, std::char_traits<char>, "                 \
	"std::allocator<char> > const, int>"

static const char *const names[] = {
    /* 0, 1: overloads */
    "mysql_lock_tables(THD*, TABLE**, unsigned int, unsigned int)",
    "mysql_lock_tables(THD*, TABLE_LIST*, unsigned int, unsigned int)",
    /* 2: short, templates kept in a frame */
    "std::vector<int, std::allocator<int> >::push_back(int const&)",
    /* 3: long */
    "std::_Rb_tree<" LONG_ARGS ">::find(std::__cxx11::basic_string<char, "
    "std::char_traits<char>, std::allocator<char> > const&)",
    /* 4, 5: long, alike once elided */
    "ns::Big<" LONG_ARGS ", 1>::run()",
    "ns::Big<" LONG_ARGS ", 2>::run()",
    /* 6: an operator in a long name */
    "std::ostream& operator<< <ns::Thing<" LONG_ARGS "> >(std::ostream&, ns::Thing<int> const&)",
    /* 7: C, and 8: a method alone */
    "lock_user",
    "Cache::lookup(int) const",
    /* 9: 7 again, from another file: no overload */
    "lock_user",
    /* 10: long without templates */
    "a_rather_long_namespace::another_long_namespace::SomeClass::method(int)",
};
#define NFN (sizeof(names) / sizeof(names[0]))

static struct prof_function fns[NFN];
static struct prof_line lines[NFN];
static struct prof_location locs[NFN];
static uint32_t stack[NFN];
static struct prof_sample sample;
static struct prof_lock lock;
static struct profile p;
static char *interned[NFN];

/* One stack through every function; a lock with a long name.  Names are
 * interned, as profile.c does: one pointer per distinct name. */
static void build(void)
{
	for (size_t i = 0; i < NFN; i++) {
		interned[i] = NULL;
		for (size_t j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				interned[i] = interned[j];
		if (!interned[i])
			interned[i] = strdup(names[i]);
		fns[i] = (struct prof_function){interned[i], interned[i], i == 9 ? "b.c" : "a.c", 0,
		                                false};
		lines[i] = (struct prof_line){(uint32_t)i, 10 + (int64_t)i};
		locs[i] = (struct prof_location){0x1000 + 16 * i, -1, 1, &lines[i]};
		stack[i] = (uint32_t)i;
	}
	lock = (struct prof_lock){.name = "0x55 (made in ns::Big<" LONG_ARGS ", 1>::run())",
	                          .addr = 0x55, .kinds = 1};
	sample = (struct prof_sample){.nlocs = NFN, .locs = stack, .value = {3, 3000},
	                              .view = LC_VIEW_WAIT, .kind = LC_KIND_MUTEX,
	                              .lock = lock.name, .lock_addr = 0x55, .max_ns = 1000};
	p = (struct profile){.functions = fns, .nfunctions = NFN, .locations = locs,
	                     .nlocations = NFN, .samples = &sample, .nsamples = 1, .locks = &lock,
	                     .nlocks = 1, .kinds = VIEWKIND_ALL_KINDS, .period = 1};
}

static void teardown(void)
{
	for (size_t i = 0; i < NFN; i++) {
		bool first = true;
		for (size_t j = 0; j < i; j++)
			first &= interned[j] != interned[i];
		if (first)
			free(interned[i]);
	}
}

TestSuite(reportnames, .init = build, .fini = teardown);

static struct report_names rn;

Test(reportnames, frames_are_whole_up_to_the_limit_then_elided)
{
	cr_assert_eq(report_names_build(&rn, &p), 0);
	cr_expect_str_eq(rn.frame[2], names[2], "short: templates kept");
	cr_expect_str_eq(rn.frame[3], "std::_Rb_tree<…>::find(std::__cxx11::basic_string<…> const&)");
	cr_expect_str_eq(rn.frame[6], "std::ostream& operator<< <…>(std::ostream&, ns::Thing<…> const&)");
	cr_expect_str_eq(rn.frame[7], "lock_user");
	cr_expect_str_eq(rn.frame[0], names[0]);
	report_names_free(&rn);
}

Test(reportnames, long_names_alike_once_elided_print_in_full)
{
	cr_assert_eq(report_names_build(&rn, &p), 0);
	cr_expect_str_eq(rn.frame[4], names[4]);
	cr_expect_str_eq(rn.frame[5], names[5]);
	cr_expect_str_eq(rn.brief[4], names[4], "their one-line form too");
	report_names_free(&rn);
}

Test(reportnames, one_line_names_drop_parameters_unless_overloaded)
{
	cr_assert_eq(report_names_build(&rn, &p), 0);
	cr_expect_str_eq(rn.brief[0], names[0], "an overload keeps its parameters");
	cr_expect_str_eq(rn.brief[1], names[1]);
	cr_expect_str_eq(rn.brief[8], "Cache::lookup");
	cr_expect_str_eq(rn.brief[7], "lock_user");
	cr_expect_str_eq(rn.brief[9], "lock_user", "one name in two files is no overload");
	cr_expect_str_eq(rn.brief[2], "std::vector<…>::push_back");
	cr_expect_str_eq(rn.brief[3], "std::_Rb_tree<…>::find");
	cr_expect_eq(strlen(rn.brief[10]), REPORT_BRIEF_MAX, "%s", rn.brief[10]);
	cr_expect(strncmp(rn.brief[10], "...", 3) == 0, "%s", rn.brief[10]);
	cr_expect(strstr(rn.brief[10], "::SomeClass::method") &&
	              !strchr(rn.brief[10], '('),
	          "the end, without parameters: %s", rn.brief[10]);
	report_names_free(&rn);
}

Test(reportnames, short_lock_names)
{
	char buf[512];
	report_name_short(lock.name, buf, sizeof(buf));
	cr_expect_str_eq(buf, "0x55 (made in ns::Big<…>::run())");
	report_name_short("0x55 (made in Shard<int>::Shard())", buf, sizeof(buf));
	cr_expect_str_eq(buf, "0x55 (made in Shard<int>::Shard())", "short: as it is");
}

static char *write_report(void (*writer)(const struct report_input *, FILE *), int view)
{
	const char *path = "x.raw";
	struct report_input in = {&p, NULL, &path, 0, 20, PROF_DELAY, view, NULL, 0, false, 0, NULL};
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	writer(&in, f);
	fclose(f);
	return out;
}

Test(reportnames, the_text_report_shortens_and_folded_keeps_full_names)
{
	char *text = write_report(report_text_write, LC_VIEW_WAIT);
	cr_expect(strstr(text, "      std::_Rb_tree<…>::find(std::__cxx11::basic_string<…> const&) (a.c:13)"),
	          "a frame of the top stack:\n%s", text);
	cr_expect(!strstr(text, names[3]), "a long name in full:\n%s", text);
	cr_expect(strstr(text, "on 0x55 (made in ns::Big<…>::run())"), "%s", text);
	cr_expect(strstr(text, "mysql_lock_tables(THD*, TABLE**, unsigned int, unsigned int) (a.c:10) < "
	                       "mysql_lock_tables(THD*, TABLE_LIST*, unsigned int, unsigned int) < "),
	          "the overloads in the lock details:\n%s", text);
	free(text);
	char *folded = write_report(report_folded_write, LC_VIEW_WAIT);
	cr_expect(strstr(folded, names[3]), "folded keeps full names:\n%s", folded);
	cr_expect(!strstr(folded, "…"), "%s", folded);
	free(folded);
}
