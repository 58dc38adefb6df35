/*
 * test_ln.c — the preload's own logarithm (preload/ln.h) against libm's.
 *
 * Tests: ln_log on the draws recorder_hold_distance makes (u in (0, 1], 53
 * random bits, with its ends 2^-53 and 1) and on normal numbers of every
 * binade from 2^-1022 to 2^1023; ln_log1p on -1/hold for every hold rate
 * lifecycle.c may meet (2 .. 2^32) and on x from -0.999 to 1e6, the
 * reduction's switch points on both sides included — each within 2.5e-16 of
 * libm's value relatively (about 1 ulp), and exactly 0 at log(1).  And the
 * hold distance they feed: 1 + floor(log(u) / log1p(-1/100)) matches libm's
 * for 1e6 draws but for ties within rounding (at most 1 in 1e4).
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>

#include "ln.h"

static uint64_t ln_rng = 0x9E3779B97F4A7C15ull;

static uint64_t ln_next(void)
{
	ln_rng ^= ln_rng << 13;
	ln_rng ^= ln_rng >> 7;
	ln_rng ^= ln_rng << 17;
	return ln_rng;
}

static void ln_close(double got, double want, double x, const char *what)
{
	double err = fabs(got - want) / (fabs(want) > 0x1p-1022 ? fabs(want) : 1);
	cr_assert(err <= 2.5e-16, "%s(%a): %a, libm %a (relative error %g)", what, x, got, want, err);
}

Test(ln, log_of_hold_draws)
{
	for (int i = 0; i < 1000000; i++) {
		double u = (double)((ln_next() >> 11) + 1) * 0x1p-53;
		ln_close(ln_log(u), log(u), u, "ln_log");
	}
	ln_close(ln_log(0x1p-53), log(0x1p-53), 0x1p-53, "ln_log");
	cr_assert(ln_log(1.0) == 0.0, "log(1) is exactly 0, got %a", ln_log(1.0));
}

Test(ln, log_of_every_binade)
{
	for (int e = -1022; e <= 1023; e++)
		for (int i = 0; i < 200; i++) {
			double m = 1 + (double)(ln_next() >> 12) * 0x1p-52; /* [1, 2) */
			double x = ldexp(m, e);
			ln_close(ln_log(x), log(x), x, "ln_log");
		}
	/* around the reduction's switch, sqrt(2) */
	for (int k = -1000; k <= 1000; k++) {
		double x = 1.4142135623730951 + k * 0x1p-52;
		ln_close(ln_log(x), log(x), x, "ln_log");
	}
}

Test(ln, log1p_of_hold_rates)
{
	for (uint64_t hold = 2; hold <= (1ull << 32); hold += hold < 10000 ? 1 : hold / 1000) {
		double x = -1.0 / (double)hold;
		ln_close(ln_log1p(x), log1p(x), x, "ln_log1p");
	}
}

Test(ln, log1p_across_its_range)
{
	for (int i = 0; i < 1000000; i++) {
		double x = -0.999 + (double)(ln_next() >> 11) * 0x1p-53 * 2.999;
		ln_close(ln_log1p(x), log1p(x), x, "ln_log1p");
	}
	for (double x = 1; x < 1e6; x *= 1.37)
		ln_close(ln_log1p(x), log1p(x), x, "ln_log1p");
	/* around both switch points, and tiny x where 1 + x would round */
	for (int k = -1000; k <= 1000; k++) {
		double pts[] = {-0.2928 + k * 0x1p-53, 0.4142 + k * 0x1p-53, k * 0x1p-60};
		for (int j = 0; j < 3; j++)
			ln_close(ln_log1p(pts[j]), log1p(pts[j]), pts[j], "ln_log1p");
	}
}

Test(ln, hold_distance_as_with_libm)
{
	double ours = 1 / ln_log1p(-1.0 / 100), libm = 1 / log1p(-1.0 / 100);
	int differ = 0;
	for (int i = 0; i < 1000000; i++) {
		double u = (double)((ln_next() >> 11) + 1) * 0x1p-53;
		differ += floor(ln_log(u) * ours) != floor(log(u) * libm);
	}
	cr_assert(differ <= 100, "%d of 1e6 hold distances differ from libm's", differ);
}
