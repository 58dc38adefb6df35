/*
 * ln.h — the natural logarithm the hold-time sampling draws with, without
 * libm.
 *
 * The preload needs log twice: log1p(-1/hold) once per profile
 * (lifecycle.c: core.hold_scale) and log(u) at each hold-time look
 * (recorder.c: a geometric distance).  Linking libm for them cost every
 * process the preload is loaded into its loading — four mappings and about
 * a dozen page faults, its IFUNC resolvers and its init, ~0.25 ms a process
 * on our 2-core VM, where a fault costs ~20 us (issue 13: start-up cost) —
 * so the library links no libm and uses these.
 *
 * Both reduce to log(1 + f), |f| <= sqrt(2) - 1, = 2 atanh(s) with
 * s = f / (2 + f), |s| <= 0.1716, whose series 2s (1 + s^2/3 + s^4/5 + ...)
 * is summed to the term s^23/23 (below 2^-60 of the sum), in fdlibm's
 * arrangement: within about 1 ulp of libm's (test_ln.c), for every normal
 * x > 0 (log) and x > -1 (log1p).  Pure arithmetic: safe anywhere, no
 * errno; a subnormal, zero, negative or non-finite argument is the
 * caller's to avoid (neither caller can pass one).
 */
#ifndef LOCKCONTEND_LN_H
#define LOCKCONTEND_LN_H

#include <stdint.h>
#include <string.h>

/* log(1 + f) for f in [sqrt(1/2) - 1, sqrt(2) - 1], as fdlibm's log: with
 * s = f / (2 + f), log(1 + f) = 2 atanh(s) = f - (f^2/2 - s (f^2/2 + R)),
 * R = 2 (s^2/3 + s^4/5 + ...); f is exact, so only the small correction
 * is rounded. */
static inline double ln_reduced(double f, int e)
{
	const double ln2_hi = 6.93147180369123816490e-01; /* e * ln2_hi is exact */
	const double ln2_lo = 1.90821492927058770002e-10;
	double s = f / (2 + f), z = s * s, p = 1.0 / 23;
	for (int k = 21; k >= 3; k -= 2)
		p = p * z + 1.0 / k;
	double r = 2 * z * p, hfsq = 0.5 * f * f;
	return e * ln2_hi - ((hfsq - (s * (hfsq + r) + e * ln2_lo)) - f);
}

/* log(x) for a normal x > 0: x = m 2^e with m in [sqrt(1/2), sqrt(2)),
 * log x = e log 2 + log(1 + (m - 1)). */
static inline double ln_log(double x)
{
	uint64_t b;
	memcpy(&b, &x, sizeof(b));
	int e = (int)((b >> 52) & 0x7ff) - 1023;
	b = (b & 0x000fffffffffffffull) | 0x3ff0000000000000ull; /* m in [1, 2) */
	double m;
	memcpy(&m, &b, sizeof(m));
	if (m > 1.4142135623730951) {
		m *= 0.5;
		e++;
	}
	return ln_reduced(m - 1, e);
}

/* log(1 + x) for x > -1: no 1 + x formed while x is in the reduced range;
 * beyond it, log(u) for u = 1 + x rounded, plus what the rounding lost
 * (x - (u - 1), exact) over u, as fdlibm's log1p does. */
static inline double ln_log1p(double x)
{
	if (x > -0.2928 && x < 0.4142)
		return ln_reduced(x, 0);
	double u = 1 + x;
	return ln_log(u) + (x - (u - 1)) / u;
}

#endif
