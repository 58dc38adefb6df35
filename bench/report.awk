# report.awk — turn the raw result lines of run.sh into the table it prints.
#
# Input: one line per run, "slot=S test=T cfg=C key=value ...", the keys being
# those the program printed (plus dump_* and dumpcount's for lockcontend runs
# of manystacks); a slot is one pass over the configurations, back to back.
# Variables from run.sh: lc (library path), standin (1 when lc is the
# forwarding library), lc_rwlock (0 when lc does not define
# pthread_rwlock_rdlock), lc_syscall (0 when it does not define syscall),
# syscall_pairs (test 1's syscall() calls a run), rounds, cont_repeat, unc_repeat, unc_pairs, cont_pairs, cont_cs,
# cont_out, stack_paths, pert_repeat, pert_cs, pert_threads (test 3's grid: its critical
# sections and thread counts), init_pairs, sections (which of "locks", "pert", "attach",
# "init", "sym", "top", "procs" and "build" ran), procs_n (test 9's /bin/true runs), sym_bin (the binary test 5 symbolized), sym_tool (SYMBOLIZE,
# the symbolizer if not the default), sym_skip (why test 5 did not run, or ""), top_refreshes
# and top_skip (test 7's), attach_skip, attach_threads and attach_libs (test 8's),
# build_cmd, build_src and build_out (test 10's: the build, its tree, the files compared).
#
# A config's figure is the median of its runs with [min..max].  A ratio is
# the median over slots of the ratio within each slot, [min..max]: the runs
# of a slot ran seconds apart, so a slow change of the machine (which here
# moved contended timings by 30% within minutes) cancels in the pair.
# Written for mawk: no asort, no gawk extensions.

{
	for (k in kv)
		delete kv[k]
	for (i = 1; i <= NF; i++)
		if ((p = index($i, "=")) > 1)
			kv[substr($i, 1, p - 1)] = substr($i, p + 1)
	r = kv["slot"] + 0
	if (r > nslots)
		nslots = r
	for (k in kv)
		val[kv["test"], kv["cfg"], k, r] = kv[k]
}

function sort_n(a, n,    i, j, x) {
	for (i = 2; i <= n; i++) {
		x = a[i]
		for (j = i - 1; j >= 1 && a[j] > x; j--)
			a[j + 1] = a[j]
		a[j + 1] = x
	}
}

# Sets M (median), LO, HI, N over a[1..n], and CLO..CHI, a distribution-free
# ~95% confidence interval of the median: the order statistics l and n+1-l
# with l = (n - 1.96 sqrt(n)) / 2, which needs no assumption about the shape
# of the noise (here it is skewed, and some runs are far off).  For n <= 5
# that is just [min..max].  N == 0 when there is nothing.
function summarize(a, n,    l) {
	N = n
	if (n == 0)
		return
	sort_n(a, n)
	M = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	LO = a[1]
	HI = a[n]
	l = int((n - 1.96 * sqrt(n)) / 2)
	if (l < 1)
		l = 1
	CLO = a[l]
	CHI = a[n + 1 - l]
}

# Median etc. of one metric of one (test, cfg) over the slots.
function stat(test, cfg, key,    a, n, rr) {
	n = 0
	for (rr = 1; rr <= nslots; rr++)
		if ((test, cfg, key, rr) in val)
			a[++n] = val[test, cfg, key, rr] + 0
	summarize(a, n)
}

# Per-slot ratio num/den of one metric, summarized like stat.
function ratio(test, cnum, cden, key,    a, n, rr, x, y) {
	n = 0
	for (rr = 1; rr <= nslots; rr++)
		if ((test, cnum, key, rr) in val && (test, cden, key, rr) in val) {
			x = val[test, cnum, key, rr] + 0
			y = val[test, cden, key, rr] + 0
			if (y > 0)
				a[++n] = x / y
		}
	summarize(a, n)
}

function fig(fmt) {
	return N ? sprintf(fmt " [" fmt ".." fmt "]", M, LO, HI) : "n/a"
}

# fig of a fraction, as a percentage.
function pct() {
	return N ? sprintf("%.3f%% [%.3f..%.3f]", M * 100, LO * 100, HI * 100) : "n/a"
}

# A ratio: median (95% confidence interval of the median).
function rfig() {
	return N ? sprintf("%.3fx (%.3f..%.3f)", M, CLO, CHI) : "n/a"
}

# A ratio against its goal [lo, hi]: "ok" when the whole confidence interval
# meets it, "MISS" when none of it does, "unclear" when the noise of this run
# cannot tell (more ROUNDS narrow the interval).
function verdict(lo, hi) {
	if (!N)
		return "n/a"
	if (CLO >= lo && CHI <= hi)
		return "ok"
	if (CHI < lo || CLO > hi)
		return "MISS"
	return "unclear"
}

function row(label, a, b, c,    line) {
	line = sprintf("   %-24s %-26s %-30s %s", label, a, b, c)
	sub(/ +$/, "", line)
	print line
}

# Slots of (test, cfg) in which lockcontend warned about its settings.
function warned(test, cfg,    rr, n) {
	n = 0
	for (rr = 1; rr <= nslots; rr++)
		if ((test, cfg, "config_warned", rr) in val)
			n++
	return n
}

# One kind of pair: none, fwd, lc (defaults: holder view and hold-time
# sampling on), lc0 (both off); lc/fwd against the goal, lc0/fwd and lc/lc0
# beside it for comparison.  hooked == 0: lc does not interpose these calls,
# so there is nothing to judge; goal 0: a figure without a goal.
function uncontended_kind(test, title, goal, hooked,    a, w) {
	printf "   %s%s\n", title, hooked ? "" : "  (NOT INTERPOSED by this lc: its runs are glibc's own)"
	stat(test, "none", "ns_per_pair"); row("none", fig("%.2f"))
	stat(test, "fwd", "ns_per_pair"); a = fig("%.2f")
	ratio(test, "fwd", "none", "ns_per_pair"); row("fwd", a, "fwd/none " rfig())
	stat(test, "lc", "ns_per_pair"); a = fig("%.2f")
	ratio(test, "lc", "none", "ns_per_pair"); row("lc (defaults)", a, "lc/none  " rfig())
	stat(test, "lc0", "ns_per_pair"); a = fig("%.2f")
	ratio(test, "lc0", "none", "ns_per_pair"); row("lc holder=0 hold=0", a, "lc/none  " rfig())
	ratio(test, "lc", "fwd", "ns_per_pair")
	if (goal)
		row("lc/fwd", rfig(), sprintf("goal <= %.2fx", goal), hooked ? verdict(0, goal) : "n/a")
	else
		row("lc/fwd", rfig(), "(no goal)")
	ratio(test, "lc0", "fwd", "ns_per_pair")
	row("lc holder=0 hold=0/fwd", rfig(), "(for comparison)")
	ratio(test, "lc", "lc0", "ns_per_pair")
	row("lc/lc holder=0 hold=0", rfig(), "(what holder=1 hold=100 cost)")
	w = warned(test, "lc") + warned(test, "lc0")
	if (w)
		printf "   WARNING: in %d of these runs lockcontend ignored LOCKCONTEND keys (run.sh showed\n"\
		       "   the first warning): the lc rows above are not all what their labels say\n", w
}

function section_uncontended() {
	printf "\n1. uncontended pairs, 1 thread, %d pairs a run, %d runs a configuration: ns/pair\n",
	       unc_pairs, rounds * unc_repeat
	printf "   (lc = defaults, holder=1 hold=100)\n"
	uncontended_kind("unc_mutex", "pthread_mutex_lock + unlock", 1.15, 1)
	uncontended_kind("unc_rdlock", "pthread_rwlock_rdlock + unlock (read lock)", 1.15, lc_rwlock)
	uncontended_kind("unc_sem", "sem_wait + sem_post (a binary semaphore)", 1.15, 1)
	uncontended_kind("unc_signal", "pthread_cond_signal, nobody waiting (one call a pair)", 1.15, 1)
	printf "   syscall(), %d calls a run: ns/call\n", syscall_pairs
	uncontended_kind("unc_syscall", "syscall(SYS_getpid): not a futex, forwarded", 1.05, lc_syscall)
	uncontended_kind("unc_eagain", "syscall(SYS_futex, FUTEX_WAIT) answered EAGAIN: no wait, " \
	                 "but lc unwound before it", 0, lc_syscall)
}

# Throughput relative to none is none's time over the config's, per slot.
function section_contended(t,    test, c, lo, a, cfgs, labels, goals) {
	test = "lock" t
	stat(test, "none", "ns_per_pair")
	row(t " threads none", fig("%.1f"), "throughput vs none")
	split("fwd lc1 lc100", cfgs, " ")
	split("fwd|lc rate=1 stacks=1|lc rate=100", labels, "|")
	split("0 0.85 0.97", goals, " ")
	for (c = 1; c <= 3; c++) {
		stat(test, cfgs[c], "ns_per_pair"); a = fig("%.1f")
		ratio(test, "none", cfgs[c], "ns_per_pair")
		lo = goals[c] + 0
		row("  " labels[c], a, rfig(), lo ? sprintf("goal >= %.2fx %s", lo, verdict(lo, 1e9)) : "")
	}
	# what showing each wait in progress (the WAITING record) costs
	stat(test, "lcnw", "ns_per_pair"); a = fig("%.1f")
	ratio(test, "lcnw", "lc1", "ns_per_pair")
	row("  lc rate=1 waiting=0", a, "lc1/lcnw " rfig(), "(what waiting=1 costs)")
}

# Both of a cell's ratios against their goals: PASS when both whole
# intervals meet them, MISS when either interval misses its goal entirely,
# unclear otherwise (more PERT_REPEAT or ROUNDS narrow the intervals).
function pert_verdict(b, t) {
	if (b == "n/a" || t == "n/a")
		return "n/a"
	if (b == "MISS" || t == "MISS")
		return "MISS"
	return b == "ok" && t == "ok" ? "PASS" : "unclear"
}

# A median of one (test, cfg, key), or "n/a".
function med(test, cfg, key, fmt, scale) {
	stat(test, cfg, key)
	return N ? sprintf(fmt, M * scale) : "n/a"
}

# One cell of the grid: the busy share (in %) and throughput (million pairs
# a second) of none, fwd and lc; lc/fwd of each, per slot, with its interval.
# The same two ratios of none/fwd are the cell's noise floor: no preload
# against a bare forwarding one, which changes nothing that matters.  When
# the floor itself misses a goal, the cell says so: lc's miss there cannot
# be told from the machine's.
function pert_cell(cs, t,    test, b, tp, vb, vt, v, fb, ft) {
	test = "pert_c" cs "_t" t
	ratio(test, "lc", "fwd", "busy_frac"); b = rfig(); vb = verdict(0.8, 1.25)
	ratio(test, "fwd", "lc", "ns_per_pair"); tp = rfig(); vt = verdict(0.9, 1.1)
	v = pert_verdict(vb, vt)
	ratio(test, "none", "fwd", "busy_frac"); fb = M; vb = verdict(0.8, 1.25)
	ratio(test, "fwd", "none", "ns_per_pair"); ft = M; vt = verdict(0.9, 1.1)
	if (v != "PASS" && pert_verdict(vb, vt) == "MISS")
		v = v sprintf(" (none/fwd misses too: %.2fx, %.2fx)", fb, ft)
	printf "   %4s %2s %8s %8s %8s %-22s %6s %6s %6s %-22s %s\n", cs, t,
	       med(test, "none", "busy_frac", "%.3f", 100), med(test, "fwd", "busy_frac", "%.3f", 100),
	       med(test, "lc", "busy_frac", "%.3f", 100), b,
	       med(test, "none", "ns_per_pair", "%.1f", 1), med(test, "fwd", "ns_per_pair", "%.1f", 1),
	       med(test, "lc", "ns_per_pair", "%.1f", 1), tp, v
}

function section_perturbation(    cs, th, i, j, ncs, nth, pass, cells) {
	printf "\n3. perturbation: probe mode (trylock, then lock: the program counts how often the mutex\n"
	printf "   was busy), mean %d steps between pairs, %d runs a configuration per cell;\n",
	       cont_out, rounds * pert_repeat
	printf "   goal per cell: lc/fwd busy share 0.80..1.25x and lc/fwd throughput 0.90..1.10x\n"
	printf "   (throughput lc/fwd = fwd's ns/pair over lc's; lc = defaults)\n"
	printf "   %-7s %-49s %s\n", "", "busy share, %", "ns per pair"
	printf "   %4s %2s %8s %8s %8s %-22s %6s %6s %6s %-22s %s\n", "cs", "th", "none", "fwd",
	       "lc", "lc/fwd", "none", "fwd", "lc", "throughput lc/fwd", "verdict"
	ncs = split(pert_cs, cs, " ")
	nth = split(pert_threads, th, " ")
	for (i = 1; i <= ncs; i++)
		for (j = 1; j <= nth; j++)
			pert_cell(cs[i], th[j])
}

function kb(cfg, key) {
	stat("stacks", cfg, key)
	return N ? sprintf("%d kB", M) : "n/a"
}

# One row comparing an end-of-run figure of none and lc: both, then lc-none.
function memrow(label, key, per_stack,    none, lc1, d) {
	none = kb("none", key)
	lc1 = kb("lc1", key)
	d = ""
	if (none != "n/a" && lc1 != "n/a") {
		d = sprintf("lc-none %+d kB", lc1 - none)
		if (per_stack)
			d = d sprintf(" (%+.0f B/stack)", (lc1 - none) * 1024 / stack_paths)
	}
	row(label, "none " none, "lc " lc1, d)
}

function section_memory(    a, b) {
	printf "\n4. memory: manystacks, %d distinct contended stacks; lc runs rate=1 stacks=1 (medians)\n", stack_paths
	memrow("VmRSS at end", "rss_end_kb", 1)
	memrow("RssAnon at end", "rss_anon_end_kb", 0)
	row("VmRSS growth in run", sprintf("none %+d kB", growth("none")), sprintf("lc %+d kB", growth("lc1")))
	stat("stacks", "none", "contended")
	a = N ? sprintf("none %d/%d", LO, stack_paths) : "n/a"
	stat("stacks", "lc1", "contended")
	row("paths really contended", a, N ? sprintf("lc %d/%d", LO, stack_paths) : "n/a", "(fewest in a run)")
	stat("stacks", "lc1", "buckets")
	a = N ? sprintf("%d [%d..%d] of %d", M, LO, HI, stack_paths) : "n/a (no build/dumpcount or no dump)"
	stat("stacks", "lc1", "lost")
	b = N ? sprintf("lost %d", M) : ""
	stat("stacks", "lc1", "refused")
	b = b (N ? sprintf(", refused %d", M) : "")
	stat("stacks", "lc1", "complete")
	row("stacks recorded", a, b, N && !LO ? "SOME DUMPS INCOMPLETE" : "")
	stat("stacks", "lc1", "holder_buckets")
	if (N) {
		a = sprintf("holder %d", M)
		stat("stacks", "lc1", "hold_buckets")
		b = sprintf("hold %d (medians)", M)
		stat("stacks", "lc1", "conserved")
		row("  other views' buckets", a, b, N && !LO ? "A VIEW DID NOT ADD UP" : "")
	}
	stat("stacks", "lc1", "dump_bytes")
	row("dump size", N && M ? sprintf("%d kB", M / 1024) : "n/a (no dump found)")
}

# Test 5: lockcontend-symbolize (cfg lc) against eu-addr2line (cfg eu), with
# llvm-symbolizer (cfg llvm) for reference; symcheck holds the untimed check.
function secs() {
	return N ? sprintf("%.3f s [%.3f..%.3f]", M / 1e9, LO / 1e9, HI / 1e9) : "n/a"
}

function mb(cfg) {
	stat("sym", cfg, "maxrss_kb")
	return N ? sprintf("peak RSS %.1f MB", M / 1024) : ""
}

function section_symbolize(    a, ok, rss_lc, rss_eu, want, got, tol) {
	stat("symsetup", "lc", "stacks")
	if (!N) {
		printf "\n5. symbolize: n/a (%s)\n", sym_skip != "" ? sym_skip : "no data"
		return
	}
	printf "\n5. symbolize: lockcontend-symbolize --format=folded%s, %d distinct stacks x %d frames\n",
	       sym_tool != "" ? " (" sym_tool ")" : "", M, val["symsetup", "lc", "depth", 1]
	printf "   over %d distinct return addresses in %s (%d functions),\n",
	       val["symsetup", "lc", "distinct", 1], sym_bin, val["symsetup", "lc", "functions", 1]
	printf "   against eu-addr2line -i -f on those addresses (the floor: libdw only looking up): wall time\n"
	stat("sym", "lc", "wall_ns"); a = secs()
	row("lockcontend-symbolize", a, mb("lc"))
	stat("sym", "eu", "wall_ns"); a = secs()
	row("eu-addr2line -i -f", a, mb("eu"))
	ratio("sym", "lc", "eu", "wall_ns")
	row("symbolize/eu-addr2line", rfig(), "goal <= 1.50x", verdict(0, 1.5))
	stat("sym", "eu", "maxrss_kb"); rss_eu = M
	stat("sym", "lc", "maxrss_kb"); rss_lc = M
	ratio("sym", "lc", "eu", "maxrss_kb")
	row("peak RSS symbolize/eu", rfig(), N ? sprintf("symbolize-eu %+.1f MB", (rss_lc - rss_eu) / 1024) : "")
	stat("sym", "llvm", "wall_ns")
	if (N) {
		a = secs()
		row("llvm-symbolizer", a, mb("llvm"), "(reference: LLVM's DWARF reader)")
		ratio("sym", "lc", "llvm", "wall_ns")
		row("symbolize/llvm", rfig())
	}
	stat("symcheck", "lc", "lines")
	if (!N) {
		row("check", "n/a")
		return
	}
	ok = M == val["symsetup", "lc", "stacks", 1]
	row("check: folded lines", sprintf("%d of %d stacks", M, val["symsetup", "lc", "stacks", 1]),
	    "", ok ? "ok" : "FAILED")
	stat("symcheck", "lc", "unresolved")
	row("  module+0x frames", sprintf("%d", M), "", M == 0 ? "ok" : "FAILED")
	got = val["symcheck", "lc", "frames", 1] + 0
	want = val["symcheck", "lc", "expect_frames", 1] + 0
	# eu-addr2line's chains are a few frames off where the innermost scope is
	# a lexical block inside an inline (README): 1% slack when it is the oracle.
	tol = val["symcheck", "lc", "oracle", 1] == "llvm" ? 0 : 0.01
	ok = want > 0 && got >= want * (1 - tol) && got <= want * (1 + tol)
	row("  frames (with inline)", sprintf("%d", got),
	    sprintf("%s-symbolizer's: %d", val["symcheck", "lc", "oracle", 1] == "llvm" ? "llvm" : "eu-addr2line", want),
	    ok ? "ok" : "FAILED: inline frames missing or extra")
	if (val["symcheck", "lc", "oracle", 1] == "llvm")
		row("", "", sprintf("(eu-addr2line's: %d)", val["symcheck", "lc", "eu_frames", 1]))
	if (val["symcheck", "lc", "unknown", 1] + 0)
		row("  ?? in the reference", sprintf("%d names", val["symcheck", "lc", "unknown", 1]))
}

# 6. init + destroy pairs: none, lc (each init notes its stack), lc inits=0.
# No goal: an init is rare in real programs; the rows say what one costs.
function section_init(    a) {
	printf "\n6. making locks: pthread_mutex_init + destroy, 1 thread, %d pairs a run,\n", init_pairs
	printf "   %d runs a configuration: ns/pair\n", rounds * unc_repeat
	stat("unc_init", "none", "ns_per_pair"); row("none", fig("%.1f"))
	stat("unc_init", "lc", "ns_per_pair"); a = fig("%.1f")
	ratio("unc_init", "lc", "none", "ns_per_pair"); row("lc (init sites on)", a, "lc/none  " rfig())
	stat("unc_init", "lcni", "ns_per_pair"); a = fig("%.1f")
	ratio("unc_init", "lcni", "none", "ns_per_pair"); row("lc inits=0", a, "lc/none  " rfig())
	ratio("unc_init", "lc", "lcni", "ns_per_pair")
	row("lc/lc inits=0", rfig(), "(what noting init sites costs)")
	if (warned("unc_init", "lc") + warned("unc_init", "lcni"))
		printf "   WARNING: lockcontend ignored LOCKCONTEND keys in some of these runs\n"
}

# 7. A refresh of lockcontend-top (toprefresh): each run's median refresh,
# against the goal of 100 ms; the first read, and a refresh's CPU time, beside.
function ms() {
	return N ? sprintf("%.1f ms [%.1f..%.1f]", M, LO, HI) : "n/a"
}

function section_top(    a) {
	stat("top", "lc", "stacks")
	if (!N) {
		printf "\n7. top refresh: n/a (%s)\n", top_skip != "" ? top_skip : "no data"
		return
	}
	printf "\n7. top refresh: what lockcontend-top does at each read (toprefresh), on test 5's dump:\n"
	printf "   %d distinct stacks; the first read, then %d through its resolver cache, per run\n",
	       M, top_refreshes
	stat("top", "lc", "first_ms"); row("first read (resolves)", ms())
	stat("top", "lc", "refresh_cpu_ms"); a = ms()
	stat("top", "lc", "refresh_ms")
	row("refresh, wall (median)", ms(), "goal < 100 ms", verdict(0, 100))
	row("refresh, CPU (median)", a)
	stat("top", "lc", "refresh_max_ms"); row("slowest refresh of a run", ms())
}

# 8. Attached instead of preloaded: test 1's pairs (lca against fwd, the
# same goal as lc's), test 2's contention (lca1 against none, lc1's goal,
# and against lc1), the stops of the attachee at attach and at detach.
function section_attach(    k, kinds, titles, t, a, b, how) {
	printf "\n8. attached: the program started without a preload loads lc and attaches it to itself\n"
	printf "   (lockcontend_attach, as lockcontend-attach makes it call): calls go through rewritten GOT slots\n"
	split("mutex rdlock", kinds, " ")
	split("pthread_mutex_lock + unlock|pthread_rwlock_rdlock + unlock (read lock)", titles, "|")
	for (k = 1; k <= 2; k++) {
		t = "att_unc_" kinds[k]
		printf "   %s, ns/pair\n", titles[k]
		stat(t, "fwd", "ns_per_pair"); row("fwd", fig("%.2f"))
		stat(t, "lc", "ns_per_pair"); a = fig("%.2f")
		ratio(t, "lc", "fwd", "ns_per_pair"); row("lc preloaded", a, "lc/fwd  " rfig())
		stat(t, "lca", "ns_per_pair"); a = fig("%.2f")
		ratio(t, "lca", "fwd", "ns_per_pair"); row("lc attached", a, "lca/fwd " rfig())
		row("lc attached/fwd", rfig(), "goal <= 1.15x", (k == 1 || lc_rwlock) ? verdict(0, 1.15) : "n/a")
	}
	for (k = 2; k <= 4; k += 2) {
		t = "att_lock" k
		stat(t, "none", "ns_per_pair"); row(k " threads, one mutex", fig("%.1f"), "throughput vs none")
		stat(t, "lc1", "ns_per_pair"); a = fig("%.1f")
		ratio(t, "none", "lc1", "ns_per_pair"); row("  lc rate=1 preloaded", a, rfig())
		stat(t, "lca1", "ns_per_pair"); a = fig("%.1f")
		ratio(t, "none", "lca1", "ns_per_pair")
		row("  lc rate=1 attached", a, rfig(), sprintf("goal >= 0.85x %s", verdict(0.85, 1e9)))
		ratio(t, "lc1", "lca1", "ns_per_pair"); row("  attached/preloaded", rfig(), "(throughput)")
	}
	stat("att_stop", "start", "ms")
	if (!N) {
		printf "   stops: n/a (%s)\n", attach_skip != "" ? attach_skip : "no data"
		return
	}
	printf "   stops of the thread borrowed, %d threads and %d libraries, %d attaches and detaches:\n",
	       attach_threads, attach_libs, N
	for (k = 1; k <= 2; k++) {
		how = k == 1 ? "start" : "stop"
		stat("att_stop", how, "tries"); b = sprintf("borrows %d [%d..%d]", M, LO, HI)
		stat("att_stop", how, "ms")
		row(k == 1 ? "attach" : "detach", ms(), b, "goal < 50 ms " verdict(0, 50))
	}
}

function growth(cfg,    s) {
	stat("stacks", cfg, "rss_start_kb"); s = M
	stat("stacks", cfg, "rss_end_kb")
	return M - s
}

# 9. process start-up: none, fwd, lc, the whole tree's CPU (user + sys) and
# wall.  Goal (issue 13): lc at most 1 ms of CPU a process over fwd, taken
# slot by slot (lc's tree less fwd's run just before it, over the processes
# of the tree) like a ratio: its median, the interval of that median, and
# "ok" when the whole interval is within the goal, "OVER" when none of it
# is, "unclear" when this run's noise cannot tell.
function procs_cpu(test, cfg,    a, n, rr) {
	n = 0
	for (rr = 1; rr <= nslots; rr++)
		if ((test, cfg, "user_ns", rr) in val)
			a[++n] = (val[test, cfg, "user_ns", rr] + val[test, cfg, "sys_ns", rr]) / 1e6
	summarize(a, n)
}

function procs_over(test, nproc,    a, n, rr, x, y) {
	n = 0
	for (rr = 1; rr <= nslots; rr++)
		if ((test, "lc", "user_ns", rr) in val && (test, "fwd", "user_ns", rr) in val) {
			x = val[test, "lc", "user_ns", rr] + val[test, "lc", "sys_ns", rr]
			y = val[test, "fwd", "user_ns", rr] + val[test, "fwd", "sys_ns", rr]
			a[++n] = (x - y) / 1e6 / nproc
		}
	summarize(a, n)
}

function verdict_at_most(hi) {
	if (!N)
		return "n/a"
	return CHI <= hi ? "ok" : CLO > hi ? "OVER" : "unclear"
}

function procs_rows(test, label, nproc,    c, a) {
	printf "   %s\n", label
	split("none fwd lc", c, " ")
	for (i = 1; i <= 3; i++) {
		procs_cpu(test, c[i]); a = fig("%.0f ms cpu")
		stat(test, c[i], "wall_ns"); N ? a = a sprintf(", %.0f ms wall", M / 1e6) : a
		row(c[i], a)
	}
	ratio(test, "lc", "fwd", "wall_ns"); row("lc/fwd wall", rfig())
	ratio(test, "fwd", "none", "wall_ns"); row("fwd/none wall", rfig())
	if (nproc) {
		procs_over(test, nproc)
		a = N ? sprintf("%.2f ms cpu (%.2f..%.2f)", M, CLO, CHI) : "n/a"
		row("lc - fwd a process", a, "start-up cost, goal <= 1 ms", verdict_at_most(1))
	}
}

function section_procs() {
	printf "\n9. process start-up: the whole tree timed, %d runs a configuration\n", rounds
	procs_rows("procs_true", sprintf("/bin/true x %d from a bash loop", procs_n), procs_n + 1)
	procs_rows("procs_make", "make -j2 of the symbolizer's sources (-O2)", 0)
}

# 10. A real build: none, fwd and lc, the tree's CPU and wall; lc - fwd and
# lc - none a program executed, per slot (the runs of a slot were back to
# back), against the goal of 1 ms (issue 13); the built bytes, one checksum in
# every run; the processes that met a busy lock under lc (a profile each).
function build_cpu(cfg, rr) {
	return (val["build", cfg, "user_ns", rr] + val["build", cfg, "sys_ns", rr]) / 1e6
}

# Per-slot (a - b) / n of the tree's CPU (key "cpu") or wall, in ms, summarized.
function build_per_exec(a, b, key, n,    v, k, rr, x) {
	k = 0
	for (rr = 1; rr <= nslots; rr++) {
		if (!(("build", a, "wall_ns", rr) in val && ("build", b, "wall_ns", rr) in val))
			continue
		if (key == "cpu")
			x = build_cpu(a, rr) - build_cpu(b, rr)
		else
			x = (val["build", a, "wall_ns", rr] - val["build", b, "wall_ns", rr]) / 1e6
		v[++k] = x / n
	}
	summarize(v, k)
}

function build_sums(    rr, c, s, n, first, same) {
	n = 0
	same = 1
	for (rr = 1; rr <= nslots; rr++)
		for (c = 1; c <= 3; c++) {
			if (!(("build", cfgs3[c], "out_sum", rr) in val))
				continue
			s = val["build", cfgs3[c], "out_sum", rr]
			if (!n++)
				first = s
			else if (s != first)
				same = 0
		}
	return n ? sprintf("%s in %d runs", same ? "identical" : "DIFFER", n) : "n/a"
}

function section_build(    i, a, m, ex, pr) {
	printf "\n10. a real build, from a fresh copy each run, %d runs a configuration: the whole tree\n", rounds
	printf "   %s in %s\n", build_cmd, build_src
	ex = val["buildcount", "none", "execs", 1] + 0
	pr = val["buildcount", "none", "procs", 1] + 0
	if (ex)
		printf "   %d programs executed (execve: each loads the preload), %d processes (strace -f)\n", ex, pr
	else
		printf "   programs executed: n/a (no strace, or it could not trace)\n"
	split("none fwd lc", cfgs3, " ")
	for (i = 1; i <= 3; i++) {
		procs_cpu("build", cfgs3[i]); a = fig("%.0f ms cpu")
		stat("build", cfgs3[i], "wall_ns"); N ? a = a sprintf(", %.0f ms wall", M / 1e6) : a
		row(cfgs3[i], a)
	}
	ratio("build", "fwd", "none", "wall_ns"); row("fwd/none wall", rfig())
	ratio("build", "lc", "fwd", "wall_ns"); row("lc/fwd wall", rfig())
	ratio("build", "lc", "none", "wall_ns"); row("lc/none wall", rfig())
	if (ex) {
		build_per_exec("lc", "fwd", "cpu", ex)
		row("lc - fwd a program", N ? sprintf("%.2f ms cpu (%.2f..%.2f)", M, CLO, CHI) : "n/a",
		    "goal <= 1 ms", verdict(-1e9, 1))
		build_per_exec("lc", "fwd", "wall", ex)
		row("", N ? sprintf("%.2f ms wall (%.2f..%.2f)", M, CLO, CHI) : "n/a")
		build_per_exec("lc", "none", "cpu", ex)
		row("lc - none a program", N ? sprintf("%.2f ms cpu (%.2f..%.2f)", M, CLO, CHI) : "n/a")
		build_per_exec("lc", "none", "wall", ex)
		row("", N ? sprintf("%.2f ms wall (%.2f..%.2f)", M, CLO, CHI) : "n/a")
	}
	row("built bytes (" build_out ")", build_sums())
	stat("build", "lc", "profiles")
	row("lc: processes contended", N ? sprintf("%d [%d..%d] a run", M, LO, HI) : "n/a", "(each left a profile)")
}

END {
	locks = index(" " sections " ", " locks ") > 0
	pert = locks || index(" " sections " ", " pert ") > 0
	printf "lockcontend bench: %d rounds, each running every configuration in turn\n", rounds
	if (locks)
		printf "   (test 2: %d times per round, so %d runs each)\n", cont_repeat, rounds * cont_repeat
	if (pert) {
		printf "   none = no preload; fwd = forwarding floor, bench/build/libfwd.so;\n"
		printf "   lc = %s%s\n", lc, standin ? "  (STAND-IN: this is the forwarding library)" : ""
	}
	if (!locks)
		printf "   (tests 1-4 not run%s: SECTIONS=%s)\n", pert ? ", but 3" : "", sections
	printf "   figures: median [min..max] of the runs; ratios: median of the ratios of runs made\n"
	printf "   back to back (95%% confidence interval of that median); a verdict needs all of it\n"
	if (locks) {
		section_uncontended()
		printf "\n2. contended, one mutex, %d pairs, %d steps inside, mean %d between: ns/pair\n",
		       cont_pairs, cont_cs, cont_out
		section_contended(2)
		section_contended(4)
	}
	if (pert)
		section_perturbation()
	if (locks)
		section_memory()
	if (index(" " sections " ", " init ") > 0)
		section_init()
	if (index(" " sections " ", " attach ") > 0)
		section_attach()
	if (index(" " sections " ", " sym ") > 0)
		section_symbolize()
	if (index(" " sections " ", " top ") > 0)
		section_top()
	if (index(" " sections " ", " procs ") > 0)
		section_procs()
	if (index(" " sections " ", " build ") > 0)
		section_build()
}
