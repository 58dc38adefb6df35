/*
 * viewer.js — the page of lockcontend-symbolize's HTML report.
 *
 * report_html.c writes one file: this script, the libraries it draws with
 * (d3 and d3-flame-graph, symbolize/html/bundle.sh), viewer.css, and the
 * profile as JSON in <script id="lc-data"> (report_htmldata.c says what each
 * field holds).  Nothing is fetched: the page works from a mail attachment,
 * and its Content-Security-Policy forbids every request.
 *
 * What it draws: the header of each dump as the text report words it, with
 * a badge for what the file is; what was waiting when it was read; one flame
 * graph per view (waiters, holders, hold times), built here from the
 * samples so that a lock filter or the split by lock only rebuilds them; a
 * search box that highlights matching frames in every graph and says what
 * share of each view they hold; the lock table, sortable by every column,
 * whose rows filter the graphs to one lock; the threads, a table of who
 * waited and who made others wait, and a toggle that roots the graphs at
 * each thread's name; a timeline of wait per lock, on which a dragged range
 * recomputes the graphs, the lock table and the threads table for that
 * range only.
 *
 * Threads and time come from the series entries (data.timeline: [cell,
 * view, lock, sample, thread, count, delay] each): a range, or the
 * grouping by thread, builds the graphs from the entries in it instead of
 * the samples' totals — each entry adds to its sample's stack (an entry
 * whose stack has no bucket to _LostContendedLock), under its thread.
 * Events not placed in time (a series that did not add up, no series) are
 * then left out, and the page says how many.
 *
 * Each view's stacks are merged into one tree kept in typed arrays
 * (buildTree), which the search and the tooltips read; d3-flame-graph is
 * given only what can be seen at the current zoom (shown): {n: name, t:
 * type (T below), v: delay in ns, i: the node in the tree, c: children}.
 * Drawing all of a 10,000-stack profile's 300,000 nodes took seconds;
 * this draws a few thousand.  Names from the profile reach the page only
 * as text (textContent, d3's .text()), never as HTML.
 *
 * A comparison of two runs (data.diff, `--diff`) draws differential flame
 * graphs: each node holds both runs' values (v and cnt the new run's, vb
 * and cb the base's), frames are matched by function name across the
 * runs, and d3-flame-graph's own differentialColorMapper colours each frame
 * by new - base (red grew, blue shrank, orange: only in the new run).
 * The widths are the new run's, or the base's ("widths from the base
 * run"), which shows what vanished.  The lock table then has both runs'
 * figures and the change.
 *
 * When everything is drawn, window.lcReport = {ready: true, renderMs} and
 * <html data-lc-ready="1">: the browser test waits for that
 * (test/integration/test_html.c).
 */
(function () {
	'use strict';

	const times = {script: performance.now(), build: 0, draw: 0};
	let data;
	try {
		data = JSON.parse(document.getElementById('lc-data').textContent);
	} catch (e) {
		document.getElementById('lc-app').textContent = 'This report holds no data that can be ' +
			'read (did lockcontend-symbolize run out of memory?): ' + e.message;
		return;
	}
	times.parse = performance.now() - times.script;
	const flamegraph = window.flamegraph.default;

	/* How each view's numbers read (report_text.c's words). */
	const VIEWS = [
		{key: 'waiter', title: 'Waiters: who waited for a lock, and where',
		 value: 'wait', events: 'contentions'},
		{key: 'holder', title: 'Holders: who made them wait (the unlocking stack, charged ' +
		 'with the waiting its unlock ended)', value: 'caused wait', events: 'unlocks'},
		{key: 'hold', title: 'Hold times: sampled critical sections of contended locks ' +
		 '(the unlocking stack)', value: 'hold time', events: 'holds'},
	];
	const T = {FRAME: 0, INLINED: 1, LOST: 2, UNCHARGED: 3, LOCK: 4, ROOT: 5, TRUNCATED: 6,
	           THREAD: 7, UNTOLD: 8};
	const FLAG_TRUNCATED = 1, FLAG_TIMEDOUT = 2; /* LC_BUCKET_* */
	const FLAG_BASE = 4; /* a comparison's base run (report_htmldata.c) */
	const DIFF = data.diff || null;
	const EXPLAIN = {
		[T.INLINED]: 'inlined into the frame below it (no call of its own)',
		[T.LOST]: 'recorded without a stack: the time is counted, the stack could not ' +
		          'be kept (the header says why)',
		[T.UNCHARGED]: 'waiting no unlock was charged for: the wake-up latency after the ' +
		               'unlock that let the waiter in, waiting whose holder the profile ' +
		               'does not see (another process\'s, or an unlock not seen), and the ' +
		               'whole wait of a waiter past the 16 a lock registers at once; with ' +
		               'it, the holder view adds up to the waiter view',
		[T.LOCK]: 'a lock: the stacks above it are its own',
		[T.TRUNCATED]: 'the stacks above were deeper than depth=: their outer frames ' +
		               'were cut',
		[T.THREAD]: 'a thread: the stacks above are its own (from the series)',
		[T.UNTOLD]: 'events the series could not keep apart by stack or lock (its room ' +
		            'was full: docs/series.md); the whole-run graphs have their stacks',
	};
	const TL = data.timeline || [], THREADS = data.threads || [];
	const E = 7; /* numbers per timeline entry */

	const state = {lock: -1, split: !!data.lockFrames, term: '', baseWidth: false,
	               range: null /* [from, to) ns after the start */, byThread: false};
	/* Graphs, tables from the series entries rather than the samples. */
	const fromEntries = () => !!state.range || state.byThread;
	const views = [];
	let tipEl = null;

	/* ---- formatting (report.c's) ------------------------------------------ */

	function fmtDur(ns) {
		if (ns < 1000) return Math.round(ns) + ' ns';
		if (ns < 1e6) return (ns / 1e3).toFixed(2) + ' us';
		if (ns < 1e9) return (ns / 1e6).toFixed(2) + ' ms';
		return (ns / 1e9).toFixed(2) + ' s';
	}
	function fmtPct(v, total) {
		return (total > 0 ? 100 * v / total : 0).toFixed(1) + '%';
	}
	function el(tag, props, children) {
		const e = document.createElement(tag);
		for (const [k, v] of Object.entries(props || {})) {
			if (k === 'text') e.textContent = v;
			else if (k === 'cls') e.className = v;
			else e.setAttribute(k, v);
		}
		for (const c of children || []) e.append(c);
		return e;
	}

	/* ---- the trees ------------------------------------------------------------ */

	/* A node's key names what it shows: a frame is its function's rank by
	 * name, times two, plus one if inlined (so siblings come sorted by
	 * name); the rest are negative. */
	const KEY_CUT = -1, KEY_LOST = -2, KEY_UNCHARGED = -3, KEY_ROOT = -4;
	const keyOfLock = (l) => -5 - l, lockOfKey = (k) => -5 - k;
	const KEY_THREAD = -1000000; /* a thread's key: KEY_THREAD - (index + 1) */
	const KEY_UNTOLD = -999999;  /* series entries of stacks not told apart (OTHER) */
	const keyOfThread = (th) => KEY_THREAD - (th + 1), threadOfKey = (k) => KEY_THREAD - k - 1;
	function threadName(th) {
		if (th < 0) return 'threads not told apart';
		const t = THREADS[th];
		return `${t.name || '(no name)'} (tid ${t.tid})`;
	}
	const byRank = data.fn.map((_, i) => i).sort((a, b) =>
		data.fn[a][0] < data.fn[b][0] ? -1 : data.fn[a][0] > data.fn[b][0] ? 1 : a - b);
	const rank = new Int32Array(data.fn.length);
	byRank.forEach((fn, r) => { rank[fn] = r; });
	/* A comparison matches frames by name: a function of one name is one
	 * frame whichever run's file and table it came from. */
	if (DIFF)
		byRank.forEach((fn, r) => {
			if (r && data.fn[byRank[r - 1]][0] === data.fn[fn][0]) rank[fn] = rank[byRank[r - 1]];
		});
	const frameKey = data.frames.map(([fn, , inl]) =>
		data.fn[fn][2] === 'lost' ? KEY_LOST : data.fn[fn][2] === 'uncharged' ? KEY_UNCHARGED
		                                      : rank[fn] * 2 + inl);

	function nameOf(key) {
		if (key >= 0) return data.fn[byRank[key >> 1]][0] + (key & 1 ? ' [inlined]' : '');
		switch (key) {
		case KEY_CUT: return '[deeper frames cut at depth=]';
		case KEY_LOST: return '_LostContendedLock';
		case KEY_UNCHARGED: return '_NotChargedToHolder';
		case KEY_ROOT: return state.lock >= 0 ? data.locks[state.lock].name : 'all';
		case KEY_UNTOLD: return '[stacks the series had no room to tell apart]';
		default:
			if (key <= KEY_THREAD) return threadName(threadOfKey(key));
			return data.locks[lockOfKey(key)].name;
		}
	}
	function typeOf(key) {
		if (key >= 0) return key & 1 ? T.INLINED : T.FRAME;
		if (key <= KEY_THREAD) return T.THREAD;
		if (key === KEY_UNTOLD) return T.UNTOLD;
		return {[KEY_CUT]: T.TRUNCATED, [KEY_LOST]: T.LOST, [KEY_UNCHARGED]: T.UNCHARGED,
		        [KEY_ROOT]: T.ROOT}[key] ?? T.LOCK;
	}

	/* The view's samples as key sequences, root side first: [lock frame],
	 * [the cut of a truncated stack], frames.  With a lock chosen, its
	 * samples only, and what that lock lost in this view (its LOCK_LOST
	 * records) and, for holders, its waiting no unlock was charged for:
	 * the profile's pseudo-samples have no lock. */
	function sequences(vi) {
		const out = [];
		const add = (lock, count, delay, max, flags, keys, frames) => {
			out.push({keys: Int32Array.from(keys), frames: frames, count: count, delay: delay,
			          max: max, to: flags & FLAG_TIMEDOUT ? count : 0, base: !!(flags & FLAG_BASE)});
		};
		if (fromEntries()) return entrySequences(vi, add, out);
		for (const s of data.views[vi].samples) {
			const [lock, count, delay, max, flags] = s;
			if (state.lock >= 0 && lock !== state.lock) continue;
			const keys = [], frames = [];
			if (state.split && lock >= 0) keys.push(keyOfLock(lock)), frames.push(-1);
			if (flags & FLAG_TRUNCATED) keys.push(KEY_CUT), frames.push(-1);
			for (let i = 5; i < s.length; i++) keys.push(frameKey[s[i]]), frames.push(s[i]);
			add(lock, count, delay, max, flags, keys, frames);
		}
		if (state.lock >= 0) {
			const l = data.locks[state.lock], top = state.split ? [keyOfLock(state.lock)] : [];
			if (l.lost[vi][0] || l.lost[vi][1])
				add(state.lock, l.lost[vi][0], l.lost[vi][1], 0, 0, [...top, KEY_LOST], [-1, -1]);
			if (vi === 1)
				add(state.lock, 0, l.uncharged, 0, 0, [...top, KEY_UNCHARGED], [-1, -1]);
		}
		return out;
	}
	/* Is the entry at k of tl in the range (wholly: an entry is never
	 * split), if one is chosen? */
	function inRange(tl, e, k) {
		if (!state.range) return true;
		const t0 = e[k] * tl.width;
		return t0 >= state.range[0] && t0 + tl.width <= state.range[1];
	}
	/* Call f(view, lock, sample, thread, count, delay) for every entry in
	 * the range. */
	function eachEntry(f) {
		for (const tl of TL) {
			const e = tl.e;
			for (let k = 0; k < e.length; k += E)
				if (inRange(tl, e, k)) f(e[k + 1], e[k + 2], e[k + 3], e[k + 4], e[k + 5], e[k + 6]);
		}
	}
	/* The view's stacks from the entries: each entry's sample's frames (an
	 * entry without one: _LostContendedLock under its lock), under its
	 * thread when grouped by thread. */
	function entrySequences(vi, add, out) {
		const sum = new Map();
		eachEntry((v, lock, sample, th, count, delay) => {
			if (v !== vi || (state.lock >= 0 && lock !== state.lock)) return;
			const key = `${sample} ${sample < 0 ? lock : ''} ${state.byThread ? th : ''}`;
			const a = sum.get(key) || {lock: lock, sample: sample, th: th, count: 0, delay: 0};
			a.count += count;
			a.delay += delay;
			sum.set(key, a);
		});
		for (const a of sum.values()) {
			const keys = [], frames = [];
			const s = a.sample >= 0 ? data.views[vi].samples[a.sample] : null;
			const lock = s ? s[0] : a.lock;
			if (state.byThread) keys.push(keyOfThread(a.th)), frames.push(-1);
			if (state.split && lock >= 0) keys.push(keyOfLock(lock)), frames.push(-1);
			if (s) {
				if (s[4] & FLAG_TRUNCATED) keys.push(KEY_CUT), frames.push(-1);
				for (let i = 5; i < s.length; i++) keys.push(frameKey[s[i]]), frames.push(s[i]);
			} else {
				keys.push(a.sample === -1 ? KEY_LOST : KEY_UNTOLD), frames.push(-1);
			}
			add(lock, a.count, a.delay, 0, 0, keys, frames);
		}
		return out;
	}
	function compareKeys(a, b) {
		const x = a.keys, y = b.keys, n = Math.min(x.length, y.length);
		for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
		return x.length - y.length;
	}

	/* Every stack of a view merged into one tree, kept in arrays in
	 * preorder: node i's subtree is [i, end[i]), its children i + 1, then
	 * each next at end[] of the last.  Built from the key sequences sorted,
	 * so that a stack shares its prefix with the one before: no lookup, no
	 * object per node (a profile of 10,000 stacks has some 300,000). */
	function buildTree(vi) {
		const seqs = sequences(vi).sort(compareKeys);
		let cap = 1;
		for (const q of seqs) cap += q.keys.length;
		const t = {vi: vi, n: 1, key: new Int32Array(cap), frame: new Int32Array(cap),
		           parent: new Int32Array(cap), end: new Int32Array(cap),
		           v: new Float64Array(cap), cnt: new Float64Array(cap),
		           vb: new Float64Array(cap), cb: new Float64Array(cap),
		           max: new Float64Array(cap), to: new Float64Array(cap), lines: new Map()};
		t.key[0] = KEY_ROOT;
		t.frame[0] = t.parent[0] = -1;
		const path = [0];
		let prev = null;
		for (const q of seqs) {
			const k = q.keys, m = prev ? Math.min(prev.length, k.length) : 0;
			let same = 0;
			while (same < m && prev[same] === k[same]) same++;
			while (path.length > same + 1) t.end[path.pop()] = t.n;
			for (let i = same; i < k.length; i++) {
				const nd = t.n++;
				t.key[nd] = k[i];
				t.frame[nd] = q.frames[i];
				t.parent[nd] = path[path.length - 1];
				path.push(nd);
			}
			for (let i = 0; i < path.length; i++) {
				const nd = path[i];
				if (q.base) {
					t.vb[nd] += q.delay;
					t.cb[nd] += q.count;
					continue;
				}
				t.v[nd] += q.delay;
				t.cnt[nd] += q.count;
				t.to[nd] += q.to;
				if (q.max > t.max[nd]) t.max[nd] = q.max;
				if (i) noteLine(t, nd, q.frames[i - 1]);
			}
			prev = k;
		}
		while (path.length) t.end[path.pop()] = t.n;
		t.vn = t.v; /* the new run's; t.v is what is drawn */
		if (DIFF && state.baseWidth) t.v = t.vb;
		return t;
	}
	/* The lines a node's frames had, beyond its first frame's. */
	function noteLine(t, nd, fi) {
		if (fi < 0 || fi === t.frame[nd]) return;
		const line = data.frames[fi][1], first = data.frames[t.frame[nd]][1];
		if (!line || line === first) return;
		const seen = t.lines.get(nd) || [];
		if (seen.length < 8 && !seen.includes(line)) seen.push(line);
		t.lines.set(nd, seen);
	}
	function linesOf(t, nd) {
		const first = data.frames[t.frame[nd]][1];
		return [first, ...(t.lines.get(nd) || [])].filter((x) => x);
	}

	/* What d3-flame-graph draws with `focus` filling the width: the path to
	 * it (faded, as the library shows a zoom) and its subtree down to what
	 * is half a pixel wide.  A click draws the clicked node's this way, so
	 * zooming in shows the detail left out before. */
	function shown(t, focus, width) {
		const th = t.v[focus] / (2 * width);
		const obj = (i) => ({n: nameOf(t.key[i]), t: typeOf(t.key[i]), v: t.v[i], i: i, c: null,
		                     d: t.vn[i] - t.vb[i]});
		const chain = [];
		for (let a = focus; a >= 0; a = t.parent[a]) chain.unshift(a);
		let top = null, last = null;
		for (const a of chain) {
			const o = obj(a);
			o.fade = a !== focus;
			if (last) last.c = [o];
			else top = o;
			last = o;
		}
		const todo = [last];
		while (todo.length) {
			const o = todo.pop(), i = o.i;
			for (let c = i + 1; c < t.end[i]; c = t.end[c]) {
				if (t.v[c] < th || t.v[c] <= 0) continue;
				const co = obj(c);
				(o.c || (o.c = [])).push(co);
				todo.push(co);
			}
		}
		return top;
	}

	/* The share of frames whose name holds term: each node counted once,
	 * under no other match, in the whole tree (drawn or not). */
	function searchShare(t, term) {
		const low = term.toLowerCase(), match = new Map(), names = new Set();
		let sum = 0, until = 0;
		for (let i = 1; i < t.n; i++) {
			const k = t.key[i];
			let m = match.get(k);
			if (m === undefined) match.set(k, (m = nameOf(k).toLowerCase().includes(low)));
			if (!m) continue;
			names.add(k);
			if (i >= until) {
				sum += t.v[i];
				until = t.end[i];
			}
		}
		return {sum: sum, names: names.size};
	}

	/* ---- colours, tooltip, labels ---------------------------------------------- */

	function hash(name) {
		let h = 0;
		for (let i = 0; i < name.length && i < 12; i++) h = (h * 31 + name.charCodeAt(i)) | 0;
		return ((h >>> 0) % 1000) / 1000;
	}
	/* A comparison's colour: d3-flame-graph's differentialColorMapper on
	 * new - base against the width drawn.  It paints a frame whose change is
	 * its whole width orange ("all new"); drawn at the base's width, a frame
	 * that grew past it is only "grew": held just under full red. */
	function diffColour(d, original) {
		const t = viewOf(d).tree, i = d.data.i, value = t.v[i];
		let delta = t.vn[i] - t.vb[i];
		if (state.baseWidth && value > 0 && delta >= value) delta = value * 0.999;
		return window.flamegraph.colorMapper.differentialColorMapper(
			{highlight: d.highlight, value: value, data: {d: delta, v: value}}, original);
	}
	function colour(d, original) {
		if (d.highlight) return '#e600e6';
		if (DIFF) return diffColour(d, original);
		switch (d.data.t) {
		case T.INLINED: {
			const x = hash(d.data.n);
			return `rgb(${50 + Math.round(60 * x)},${165 + Math.round(55 * x)},` +
			       `${165 + Math.round(55 * x)})`;
		}
		case T.LOST: return '#a8a8a8';
		case T.UNCHARGED: return '#9db7e0';
		case T.LOCK: return '#e3c75a';
		case T.ROOT: return '#d4d4d4';
		case T.TRUNCATED: return '#c8c8c8';
		case T.THREAD: return '#b9a7e0';
		case T.UNTOLD: return '#bdbdbd';
		default: return original;
		}
	}
	/* The view a drawn node belongs to: its tree is the one whose arrays
	 * hold it (each view's graph draws from its own). */
	function viewOf(d) {
		while (d.parent) d = d.parent;
		return views.find((v) => v.shownRoot === d.data);
	}
	function whereOf(t, i) {
		if (t.frame[i] < 0) return '';
		const file = data.fn[data.frames[t.frame[i]][0]][1];
		const lines = linesOf(t, i);
		return file ? file + (lines.length ? ':' + lines.join(', ') : '') : '';
	}
	/* _NotChargedToHolder's two parts: the waits that found every waiter
	 * cell of their lock taken (past 16 at once), the rest the wake-up
	 * latency or unseen holders; of the lock chosen, or of them all (data.noCell: null when
	 * a dump before 3.12 does not say). */
	function unchargedSplit(ns) {
		const nc = state.lock >= 0 ? data.locks[state.lock].noCell : data.noCell;
		if (!nc) return 'how much is which is not in this profile (written before 3.12)';
		if (!nc[0])
			return 'all of it wake-up latency or unseen holders: no wait past 16 at once on ' +
			       'one lock';
		return `${fmtDur(Math.max(ns - nc[1], 0))} wake-up latency or unseen holders, ` +
		       `${fmtDur(nc[1])} in ` +
		       `${nc[0]} waits past 16 at once on one lock (not registered as waiters)`;
	}
	function tipLines(d) {
		const v = viewOf(d), t = v.tree, i = d.data.i, w = VIEWS[v.vi];
		const lines = [];
		if (EXPLAIN[d.data.t]) lines.push(EXPLAIN[d.data.t]);
		if (d.data.t === T.UNCHARGED && !DIFF && !fromEntries())
			lines.push(unchargedSplit(t.v[i]));
		const where = whereOf(t, i);
		if (where) lines.push(where);
		lines.push(`${w.value}: ${fmtDur(t.v[i])}, ${fmtPct(t.v[i], t.v[0])} of the view` +
		           (state.lock >= 0 ? ' (this lock)' : ''));
		if (t.parent[i] > 0) lines.push(`${fmtPct(t.v[i], t.v[t.parent[i]])} of its caller's`);
		lines.push(`${t.cnt[i]} ${w.events}` + (t.to[i] ? `, ${t.to[i]} timed out` : ''));
		if (DIFF) lines.push(...diffLines(t, i, w));
		if (v.vi === 2 && t.max[i]) lines.push(`longest: ${fmtDur(t.max[i])}`);
		return lines;
	}
	/* d3-flame-graph's tooltip protocol: called once with the svg, then
	 * show(event, d) and hide(). */
	function tooltip() {}
	tooltip.show = function (event, d) {
		tipEl.textContent = '';
		tipEl.append(el('b', {text: d.data.n}));
		for (const line of tipLines(d)) tipEl.append(el('div', {text: line}));
		tipEl.style.display = 'block';
		const r = tipEl.getBoundingClientRect();
		let x = event.clientX + 12, y = event.clientY + 12;
		if (x + r.width > window.innerWidth) x = Math.max(4, event.clientX - r.width - 12);
		if (y + r.height > window.innerHeight) y = Math.max(4, event.clientY - r.height - 12);
		tipEl.style.left = x + 'px';
		tipEl.style.top = y + 'px';
		return tooltip;
	};
	tooltip.hide = function () {
		tipEl.style.display = 'none';
		return tooltip;
	};
	function changeOf(b, n) {
		if (!b && n) return 'new';
		if (b && !n) return 'vanished';
		return (n >= b ? '+' : '') + (b ? (100 * (n - b) / b).toFixed(1) : '0.0') + '%';
	}
	function signedDur(x) {
		return (x > 0 ? '+' : x < 0 ? '-' : '') + fmtDur(Math.abs(x));
	}
	/* A node's figures in either run (the lines above are the new run's). */
	function diffLines(t, i, w) {
		return [`base run: ${fmtDur(t.vb[i])} in ${t.cb[i]} ${w.events}; ` +
		        `new run: ${fmtDur(t.vn[i])} in ${t.cnt[i]} ${w.events}`,
		        `change: ${signedDur(t.vn[i] - t.vb[i])} (${changeOf(t.vb[i], t.vn[i])})`];
	}
	function label(d) {
		if (DIFF) {
			const t = viewOf(d).tree, i = d.data.i;
			return `${d.data.n} — base ${fmtDur(t.vb[i])}, new ${fmtDur(t.vn[i])} ` +
			       `(${signedDur(t.vn[i] - t.vb[i])}, ${changeOf(t.vb[i], t.vn[i])})`;
		}
		const v = viewOf(d), t = v.tree, i = d.data.i;
		return `${d.data.n} — ${fmtDur(t.v[i])} (${fmtPct(t.v[i], t.v[0])}), ` +
		       `${t.cnt[i]} ${VIEWS[v.vi].events}`;
	}

	/* ---- the graphs ---------------------------------------------------------------- */

	function searchMatch(d, term) {
		return term && d.data.t !== T.ROOT &&
		       d.data.n.toLowerCase().includes(term.toLowerCase());
	}
	/* Highlight the matches drawn; say what share all of them hold. */
	function search(v) {
		if (!v.chart) return;
		if (!state.term) {
			v.chart.clear();
			v.searchEl.textContent = '';
			delete v.searchEl.dataset.share;
			return;
		}
		v.chart.search(state.term);
		const {sum, names} = searchShare(v.tree, state.term), total = v.tree.v[0];
		v.searchEl.textContent = names
			? `“${state.term}”: ${names} ${names === 1 ? 'function' : 'functions'}, ` +
			  `${fmtPct(sum, total)} of the ${VIEWS[v.vi].value} (${fmtDur(sum)} of ` +
			  `${fmtDur(total)})`
			: `“${state.term}”: no frame matches`;
		v.searchEl.dataset.share = total > 0 ? String(sum / total) : '0';
	}
	function emptyText(vi) {
		if (vi === 1 && !data.holderRecorded) return 'The holder view was not recorded (holder=0).';
		if (DIFF && state.baseWidth) return 'Nothing in the base run in this view.';
		if (DIFF) return 'Nothing in the new run in this view (widths from the base run ' +
		                 'show what vanished).';
		if (state.lock >= 0) return 'Nothing of this lock in this view.';
		return 'Nothing was recorded in this view.';
	}
	/* Draw node `focus` of the view's tree across the graph's width. */
	function focusOn(v, focus) {
		v.focus = focus;
		v.shownRoot = shown(v.tree, focus, v.width);
		v.chart.update(v.shownRoot);
		v.zoomEl.textContent = focus ? `zoomed to ${nameOf(v.tree.key[focus])}` : '';
		search(v);
	}
	/* The view's tree again (the lock, the split or the width changed), and
	 * a new graph of it. */
	function draw(v) {
		if (v.chart) v.chart.destroy();
		v.chart = null;
		v.graphEl.textContent = '';
		v.zoomEl.textContent = '';
		const t0 = performance.now();
		v.tree = buildTree(v.vi);
		times.build += performance.now() - t0;
		const t = v.tree, w = VIEWS[v.vi];
		v.totalEl.textContent = (DIFF
			? `base ${fmtDur(t.vb[0])} in ${t.cb[0]}, new ${fmtDur(t.vn[0])} in ${t.cnt[0]} ` +
			  `${w.events} (${signedDur(t.vn[0] - t.vb[0])}, ${changeOf(t.vb[0], t.vn[0])})`
			: `${fmtDur(t.v[0])} of ${w.value} in ${t.cnt[0]} ${w.events}`) +
			(state.lock >= 0 ? ` on ${data.locks[state.lock].name}` : '');
		if (t.n <= 1 || !(t.v[0] > 0)) {
			v.graphEl.append(el('p', {cls: 'empty', text: emptyText(v.vi)}));
			return;
		}
		const t1 = performance.now();
		v.width = Math.max(320, v.graphEl.clientWidth);
		v.focus = 0;
		v.shownRoot = shown(t, 0, v.width);
		v.chart = flamegraph()
			.width(v.width)
			.cellHeight(18)
			.minFrameSize(1)
			.sort(false) /* built sorted by name */
			.transitionDuration(0)
			.resetHeightOnZoom(true)
			.setColorMapper(colour)
			.setSearchMatch(searchMatch)
			.setSearchHandler(() => {})
			.setDetailsHandler((text) => { v.detailsEl.textContent = text || v.hint; })
			.label(label)
			.tooltip(tooltip)
			.onClick((d) => { if (d.data.i !== v.focus) focusOn(v, d.data.i); });
		d3.select(v.graphEl).datum(v.shownRoot).call(v.chart);
		search(v);
		times.draw += performance.now() - t1;
	}
	function drawAll() {
		for (const v of views) draw(v);
	}

	/* ---- the page ------------------------------------------------------------------- */

	const STATES = {
		complete: 'complete', exec: 'complete (exec)', snapshot: 'snapshot',
		detached: 'complete (detached)', live: 'live', died: 'writer died',
		unclosed: 'not closed', unknown: 'live, or the writer died',
	};

	function header() {
		const sec = el('section', {id: 'lc-header'});
		sec.append(el('h1', {text: 'Lock contention: ' + data.title}));
		for (const d of data.dumps) {
			const badges = el('p', {cls: 'badges'}, [
				el('span', {cls: 'badge state-' + d.state, text: STATES[d.state] || d.state})]);
			if (d.side)
				badges.prepend(el('span', {cls: 'badge side-' + d.side, text: d.side + ' run'}));
			if (d.partial) badges.append(el('span', {cls: 'badge partial', text: 'partial: cut short'}));
			sec.append(el('div', {cls: 'dump'}, [badges, el('pre', {text: d.header.join('\n')})]));
		}
		for (const line of data.notes) sec.append(el('p', {cls: 'note', text: line}));
		if (data.outOfMemory)
			sec.append(el('p', {cls: 'note', text: 'lockcontend-symbolize ran out of memory ' +
			                    'while writing this report: some stacks are wrong.'}));
		return sec;
	}

	function waiting() {
		const dead = data.deadlocks > 0;
		return el('section', {id: 'lc-waiting', cls: dead ? 'deadlock' : ''}, [
			el('h2', {text: dead ? 'Deadlock: threads wait for each other' : 'Waiting when read'}),
			el('pre', {text: data.waiting.join('\n')})]);
	}

	function swatch(cls, text) {
		return el('span', {cls: 'key'}, [el('i', {cls: 'sw ' + cls}), text]);
	}
	function controls() {
		const input = el('input', {type: 'search', id: 'lc-search', placeholder: 'Search frames',
		                           'aria-label': 'Search frames (a part of the name)'});
		let timer = 0;
		input.addEventListener('input', () => {
			clearTimeout(timer);
			timer = setTimeout(() => {
				state.term = input.value.trim();
				for (const v of views) search(v);
			}, 120);
		});
		const split = el('input', {type: 'checkbox', id: 'lc-split'});
		split.checked = state.split;
		split.addEventListener('change', () => {
			state.split = split.checked;
			drawAll();
		});
		const all = el('button', {id: 'lc-all-locks', type: 'button', text: 'all locks'});
		all.addEventListener('click', () => selectLock(-1));
		if (DIFF) {
			const base = el('input', {type: 'checkbox', id: 'lc-base-width'});
			base.addEventListener('change', () => {
				state.baseWidth = base.checked;
				drawAll();
			});
			return el('div', {id: 'lc-controls'}, [
				input, el('label', {}, [split, ' split by lock']),
				el('label', {}, [base, ' widths from the base run']),
				el('span', {id: 'lc-filter', text: ''}), all,
				el('span', {cls: 'legend'}, [
					swatch('grew', 'grew'), swatch('shrank', 'shrank'),
					swatch('new', 'new: only in the new run'),
					swatch('same', 'unchanged'), swatch('match', 'search match')]),
			]);
		}
		const byThread = el('input', {type: 'checkbox', id: 'lc-by-thread'});
		const why = !THREADS.length ? 'the profile names no thread (written before format 3.7)'
		          : !TL.length ? 'the profile has no series (series=0) to tell threads\' ' +
		                         'stacks apart'
		          : '';
		byThread.disabled = !!why;
		byThread.addEventListener('change', () => {
			state.byThread = byThread.checked;
			drawAll();
		});
		return el('div', {id: 'lc-controls'}, [
			input,
			el('label', {}, [split, ' split by lock']),
			el('label', {title: why || 'each thread a tower of its own, from the series'},
			   [byThread, ' by thread']),
			el('span', {id: 'lc-filter', text: ''}), all,
			el('span', {cls: 'legend'}, [
				swatch('frame', 'function'), swatch('inlined', 'inlined'),
				swatch('lock', 'lock'), swatch('lost', '_LostContendedLock: no stack'),
				swatch('uncharged', '_NotChargedToHolder: wake-up latency, unseen holders, ' +
				       'waits past 16 on one lock'),
				swatch('match', 'search match')]),
		]);
	}

	function viewSection(vi) {
		const w = VIEWS[vi];
		const v = {vi: vi, chart: null, tree: null,
		           hint: 'Hover over a frame for its time; click to zoom.'};
		v.totalEl = el('span', {cls: 'total'});
		v.searchEl = el('span', {cls: 'search-result'});
		v.zoomEl = el('span', {cls: 'zoom'});
		v.detailsEl = el('p', {cls: 'details', text: v.hint});
		v.graphEl = el('div', {cls: 'graph', id: 'lc-graph-' + w.key});
		const reset = el('button', {type: 'button', cls: 'reset', text: 'reset zoom'});
		reset.addEventListener('click', () => { if (v.chart && v.focus) focusOn(v, 0); });
		views.push(v);
		return el('section', {cls: 'view', id: 'lc-view-' + w.key}, [
			el('h2', {text: w.title}),
			el('p', {cls: 'status'}, [v.totalEl, ' ', reset, ' ', v.zoomEl, ' ', v.searchEl]),
			v.graphEl, v.detailsEl]);
	}

	/* ---- the lock table ------------------------------------------------------------- */

	/* A lock's figures: its own, or in a range what the entries in it hold
	 * (the series keep no longest wait, no time-outs, no trylocks: '-'). */
	data.locks.forEach((l, i) => { l.idx = i; });
	let rangeLocks = null;
	const fig = (l) => (rangeLocks ? rangeLocks[l.idx] : l);
	let lockWait = 0;
	const dash = (x, f) => (x === null ? '-' : f(x));
	const COLS = [
		{key: 'wait', label: 'wait', get: (l) => fig(l).wait, fmt: fmtDur},
		{key: 'waitpct', label: 'wait%', get: (l) => fig(l).wait,
		 fmt: (x) => fmtPct(x, lockWait)},
		{key: 'contentions', label: 'contentions', get: (l) => fig(l).count, fmt: String},
		{key: 'avgwait', label: 'avg wait',
		 get: (l) => (fig(l).count ? fig(l).wait / fig(l).count : null), fmt: fmtDur},
		{key: 'maxwait', label: 'max wait', get: (l) => (fig(l).count ? fig(l).maxWait : null),
		 fmt: fmtDur},
		{key: 'timeouts', label: 'timeouts', get: (l) => fig(l).timeouts, fmt: String},
		{key: 'trylock', label: 'trylock', get: (l) => fig(l).trylock, fmt: String},
		{key: 'avghold', label: 'avg hold',
		 get: (l) => (fig(l).holds ? fig(l).hold / fig(l).holds : null), fmt: fmtDur},
		{key: 'maxhold', label: 'max hold', get: (l) => (fig(l).holds ? fig(l).maxHold : null),
		 fmt: fmtDur},
		{key: 'kind', label: 'kind', get: (l) => l.kind, fmt: String, text: true},
		{key: 'lock', label: 'lock', get: (l) => l.name, fmt: String, text: true},
	];
	/* A comparison's table: each run's wait and contentions, the change. */
	const sideOf = (l, s, k) => (l.diff ? l.diff[s][k] : 0);
	const DIFF_COLS = [
		{key: 'basewait', label: 'base wait', get: (l) => sideOf(l, 0, 0), fmt: fmtDur},
		{key: 'newwait', label: 'new wait', get: (l) => sideOf(l, 1, 0), fmt: fmtDur},
		{key: 'change', label: 'change', get: (l) => sideOf(l, 1, 0) - sideOf(l, 0, 0),
		 fmt: signedDur},
		{key: 'changepct', label: 'change%',
		 get: (l) => (sideOf(l, 0, 0) ? (sideOf(l, 1, 0) - sideOf(l, 0, 0)) / sideOf(l, 0, 0)
		                              : sideOf(l, 1, 0) ? Infinity : 0),
		 fmt: (x) => (x === Infinity ? 'new' : x === -1 ? 'vanished' :
		              (x >= 0 ? '+' : '') + (100 * x).toFixed(1) + '%')},
		{key: 'basecont', label: 'base cont', get: (l) => sideOf(l, 0, 1), fmt: String},
		{key: 'newcont', label: 'new cont', get: (l) => sideOf(l, 1, 1), fmt: String},
		{key: 'kind', label: 'kind', get: (l) => l.kind, fmt: String, text: true},
		{key: 'lock', label: 'lock', get: (l) => l.name, fmt: String, text: true},
	];
	if (DIFF) COLS.splice(0, COLS.length, ...DIFF_COLS);
	const table = {sort: null, dir: 1, tbody: null, heads: [], details: null};

	function compare(col, a, b) {
		const x = col.get(data.locks[a]), y = col.get(data.locks[b]);
		if (x === y) return a - b;
		if (x === null) return 1; /* a dash sorts last either way */
		if (y === null) return -1;
		const c = col.text ? String(x).localeCompare(String(y)) : x < y ? -1 : 1;
		return c * table.dir || a - b;
	}
	/* Each lock's figures in the range, and the threads'. */
	function rangeFigures() {
		rangeLocks = data.locks.map(() => ({wait: 0, count: 0, maxWait: null, timeouts: null,
		                                    trylock: null, holds: 0, hold: 0, maxHold: null,
		                                    caused: 0, causedCount: 0}));
		const th = THREADS.map(() => [0, 0, 0, 0]), all = [0, 0, 0, 0];
		eachEntry((v, lock, sample, t, count, delay) => {
			const f = lock >= 0 ? rangeLocks[lock] : null;
			if (v === 0 && f) f.wait += delay, f.count += count;
			if (v === 1 && f) f.caused += delay, f.causedCount += count;
			if (v === 2 && f) f.hold += delay, f.holds += count;
			if (v > 1) return;
			all[2 * v] += count, all[2 * v + 1] += delay;
			if (t >= 0) th[t][2 * v] += count, th[t][2 * v + 1] += delay;
		});
		return {threads: th, all: all};
	}
	function fillRows() {
		lockWait = data.locks.reduce((a, l) => a + fig(l).wait, 0);
		const order = data.locks.map((_, i) => i);
		if (table.sort) order.sort((a, b) => compare(table.sort, a, b));
		table.tbody.textContent = '';
		for (const i of order) {
			const l = data.locks[i];
			const tr = el('tr', {tabindex: '0', 'data-lock': String(i), title: 'show only ' + l.name});
			if (i === state.lock) tr.className = 'selected';
			for (const col of COLS) {
				const x = col.get(l);
				tr.append(el('td', {cls: col.text ? 'text' : 'num', text: dash(x, col.fmt),
				                    'data-v': x === null ? '' : String(x)}));
			}
			tr.addEventListener('click', () => selectLock(i === state.lock ? -1 : i));
			tr.addEventListener('keydown', (e) => {
				if (e.key === 'Enter' || e.key === ' ') {
					e.preventDefault();
					selectLock(i === state.lock ? -1 : i);
				}
			});
			table.tbody.append(tr);
		}
		for (const th of table.heads) {
			const on = table.sort && th.dataset.col === table.sort.key;
			th.setAttribute('aria-sort', on ? (table.dir > 0 ? 'ascending' : 'descending') : 'none');
		}
	}
	function sortBy(col) {
		/* first click: numbers biggest first, names from A */
		if (table.sort === col) table.dir = -table.dir;
		else table.dir = col.text ? 1 : -1;
		table.sort = col;
		fillRows();
	}
	function lockTable() {
		const sec = el('section', {id: 'lc-locks'});
		sec.append(el('h2', {text: 'Locks by wait (wait: the waiter view; hold: sampled critical ' +
		                           'sections) — click a column to sort, a lock to show only it'}));
		if (!data.locks.length) {
			sec.append(el('p', {cls: 'empty', text: 'No lock was named in any dump.'}));
			return sec;
		}
		const head = el('tr');
		for (const col of COLS) {
			const th = el('th', {cls: col.text ? 'text' : 'num', 'data-col': col.key, tabindex: '0',
			                     text: col.label});
			th.addEventListener('click', () => sortBy(col));
			th.addEventListener('keydown', (e) => { if (e.key === 'Enter') sortBy(col); });
			table.heads.push(th);
			head.append(th);
		}
		table.tbody = el('tbody');
		sec.append(el('table', {id: 'lc-lock-table'}, [el('thead', {}, [head]), table.tbody]));
		table.details = el('pre', {id: 'lc-lock-details'});
		sec.append(table.details);
		fillRows();
		return sec;
	}

	/* ---- the threads ------------------------------------------------------------------ */

	const threadTable = {sort: null, dir: -1, tbody: null, heads: []};
	/* [contentions, wait, unlocks, caused] of each thread, and of the rest:
	 * their own (THREAD records), or what the entries in the range hold. */
	function threadFigures() {
		if (!state.range) {
			const r = data.threadsRest || [[0, 0], [0, 0]];
			return {rows: THREADS.map((t) => [t.count, t.wait, t.causedCount, t.caused]),
			        rest: [r[0][0], r[0][1], r[1][0], r[1][1]]};
		}
		const {threads, all} = rangeFigures();
		const rest = all.slice();
		for (const t of threads) for (let k = 0; k < 4; k++) rest[k] -= t[k];
		return {rows: threads, rest: rest};
	}
	const TCOLS = [
		{key: 'waited', label: 'waited', get: (f) => f[1], fmt: fmtDur},
		{key: 'contentions', label: 'contentions', get: (f) => f[0], fmt: String},
		{key: 'caused', label: 'caused', get: (f) => f[3], fmt: fmtDur},
		{key: 'unlocks', label: 'unlocks', get: (f) => f[2], fmt: String},
		{key: 'tid', label: 'tid', get: (f, t) => t.tid, fmt: String},
		{key: 'thread', label: 'thread', get: (f, t) => t.name || '(no name)', fmt: String,
		 text: true},
	];
	function fillThreads() {
		if (!threadTable.tbody) return;
		const {rows, rest} = threadFigures(), col = threadTable.sort || TCOLS[0];
		const order = THREADS.map((_, i) => i).filter((i) => rows[i].some((x) => x > 0));
		order.sort((a, b) => {
			const x = col.get(rows[a], THREADS[a]), y = col.get(rows[b], THREADS[b]);
			if (x === y) return a - b;
			const c = col.text ? String(x).localeCompare(String(y)) : x < y ? -1 : 1;
			return c * (threadTable.sort ? threadTable.dir : -1) || a - b;
		});
		threadTable.tbody.textContent = '';
		for (const i of order) {
			const tr = el('tr', {'data-thread': String(i)});
			for (const c of TCOLS) {
				const x = c.get(rows[i], THREADS[i]);
				tr.append(el('td', {cls: c.text ? 'text' : 'num', text: c.fmt(x),
				                    'data-v': String(x)}));
			}
			threadTable.tbody.append(tr);
		}
		const tr = el('tr', {cls: 'rest'});
		for (const c of TCOLS.slice(0, 4))
			tr.append(el('td', {cls: 'num', text: c.fmt(Math.max(0, c.get(rest)))}));
		tr.append(el('td', {cls: 'num', text: '-'}));
		tr.append(el('td', {cls: 'text', text: state.range
			? 'not told apart, or not placed in time'
			: 'threads not told apart (no slot of their own, or past 4096 threads)'}));
		threadTable.tbody.append(tr);
		for (const th of threadTable.heads) {
			const on = threadTable.sort && th.dataset.col === threadTable.sort.key;
			th.setAttribute('aria-sort', on ? (threadTable.dir > 0 ? 'ascending' : 'descending')
			                                : 'none');
		}
	}
	function sortThreads(col) {
		if (threadTable.sort === col) threadTable.dir = -threadTable.dir;
		else threadTable.dir = col.text ? 1 : -1;
		threadTable.sort = col;
		fillThreads();
	}
	function threadsSection() {
		const sec = el('section', {id: 'lc-threads'});
		sec.append(el('h2', {text: 'Threads: who waited (the waiter view) and whose unlocks ' +
		                           'made others wait (the holder view) — click a column to sort'}));
		const head = el('tr');
		for (const col of TCOLS) {
			const th = el('th', {cls: col.text ? 'text' : 'num', 'data-col': col.key, tabindex: '0',
			                     text: col.label});
			th.addEventListener('click', () => sortThreads(col));
			th.addEventListener('keydown', (e) => { if (e.key === 'Enter') sortThreads(col); });
			threadTable.heads.push(th);
			head.append(th);
		}
		threadTable.tbody = el('tbody');
		sec.append(el('table', {id: 'lc-thread-table', cls: 'lc-table'},
		              [el('thead', {}, [head]), threadTable.tbody]));
		fillThreads();
		return sec;
	}

	/* ---- the timeline ----------------------------------------------------------------- */

	const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948',
	                 '#b07aa1', '#ff9da7'];
	const tline = {svg: null, sel: null, width: 0, span: 0, bin: 0, label: null};
	/* The waiter view's wait per bin (the widest grid of the dumps) and per
	 * lock: the busiest locks each a colour, the rest as one. */
	function timelineBins() {
		const bin = Math.max(...TL.map((t) => t.width));
		const span = Math.max(...TL.map((t) => t.width * t.ncells), bin);
		const nb = Math.max(1, Math.ceil(span / bin)), per = new Map(), lockSum = new Map();
		for (const tl of TL) {
			const e = tl.e;
			for (let k = 0; k < e.length; k += E) {
				if (e[k + 1] !== 0) continue;
				const b = Math.min(nb - 1, Math.floor(e[k] * tl.width / bin)), l = e[k + 2];
				const key = b + ' ' + l;
				per.set(key, (per.get(key) || 0) + e[k + 6]);
				lockSum.set(l, (lockSum.get(l) || 0) + e[k + 6]);
			}
		}
		const top = [...lockSum.entries()].sort((a, b) => b[1] - a[1]).slice(0, PALETTE.length - 1)
			.map(([l]) => l);
		return {bin: bin, span: nb * bin, nb: nb, per: per, top: top, locks: [...lockSum.keys()]};
	}
	function lockLabel(l) {
		return l >= 0 ? data.locks[l].name : 'no lock, or locks not told apart';
	}
	function drawTimeline(sec) {
		const NS = 'http://www.w3.org/2000/svg', H = 110, pad = 16;
		const tb = timelineBins(), W = Math.max(320, sec.clientWidth - 4);
		const stack = new Float64Array(tb.nb);
		let peak = 0;
		for (const [key, v] of tb.per) {
			const b = +key.split(' ')[0];
			stack[b] += v;
			peak = Math.max(peak, stack[b]);
		}
		const svg = document.createElementNS(NS, 'svg');
		svg.setAttribute('id', 'lc-timeline-svg');
		svg.setAttribute('width', W);
		svg.setAttribute('height', H + pad);
		const bw = W / tb.nb, y0 = new Float64Array(tb.nb);
		const colourOf = (l) => {
			const i = tb.top.indexOf(l);
			return PALETTE[i >= 0 ? i : PALETTE.length - 1];
		};
		const order = [...tb.top, ...tb.locks.filter((l) => !tb.top.includes(l))];
		for (const l of order)
			for (let b = 0; b < tb.nb; b++) {
				const v = tb.per.get(b + ' ' + l);
				if (!v) continue;
				const h = peak > 0 ? v / peak * H : 0, r = document.createElementNS(NS, 'rect');
				r.setAttribute('x', b * bw);
				r.setAttribute('width', Math.max(1, bw - 0.5));
				r.setAttribute('y', H - y0[b] - h);
				r.setAttribute('height', h);
				r.setAttribute('fill', colourOf(l));
				r.setAttribute('class', 'lc-tl-bar');
				r.setAttribute('data-lock', String(l));
				const t = document.createElementNS(NS, 'title');
				t.textContent = `${lockLabel(l)}: ${fmtDur(v)} waited in ` +
				                `${fmtDur(b * tb.bin)} – ${fmtDur((b + 1) * tb.bin)}`;
				r.append(t);
				svg.append(r);
				y0[b] += h;
			}
		const axis = document.createElementNS(NS, 'text');
		axis.setAttribute('x', 2);
		axis.setAttribute('y', H + pad - 3);
		axis.setAttribute('class', 'lc-tl-axis');
		axis.textContent = `0 … ${fmtDur(tb.span)}; a bar is ${fmtDur(tb.bin)}, the highest ` +
		                   `${fmtDur(peak)} of wait`;
		svg.append(axis);
		const sel = document.createElementNS(NS, 'rect');
		sel.setAttribute('class', 'lc-tl-sel');
		sel.setAttribute('y', 0);
		sel.setAttribute('height', H);
		sel.setAttribute('width', 0);
		svg.append(sel);
		Object.assign(tline, {svg: svg, sel: sel, width: W, span: tb.span, bin: tb.bin});
		brush(svg);
		const legend = el('p', {cls: 'legend'});
		const key = (colour, text) => {
			const sw = el('i', {cls: 'sw'});
			sw.style.background = colour; /* CSSOM: the page's CSP allows no style attribute */
			legend.append(el('span', {cls: 'key'}, [sw, text]));
		};
		for (const l of tb.top) key(colourOf(l), lockLabel(l));
		if (tb.locks.length > tb.top.length) key(PALETTE[PALETTE.length - 1], 'others');
		return [svg, legend];
	}
	/* A drag across the bars picks whole bars; a click without a drag, or
	 * "whole run", goes back to all of it. */
	function brush(svg) {
		let from = null;
		const at = (ev) => {
			const r = svg.getBoundingClientRect();
			return Math.max(0, Math.min(tline.width, ev.clientX - r.left));
		};
		const show = (a, b) => {
			tline.sel.setAttribute('x', Math.min(a, b));
			tline.sel.setAttribute('width', Math.abs(b - a));
		};
		svg.addEventListener('mousedown', (ev) => {
			from = at(ev);
			show(from, from);
			ev.preventDefault();
		});
		svg.addEventListener('mousemove', (ev) => { if (from !== null) show(from, at(ev)); });
		const end = (ev) => {
			if (from === null) return;
			const a = Math.min(from, at(ev)), b = Math.max(from, at(ev));
			from = null;
			if (b - a < 3) return selectRange(null);
			const ns = (x) => x / tline.width * tline.span;
			const lo = Math.floor(ns(a) / tline.bin) * tline.bin;
			const hi = Math.max(lo + tline.bin, Math.ceil(ns(b) / tline.bin) * tline.bin);
			selectRange([lo, hi]);
		};
		svg.addEventListener('mouseup', end);
		svg.addEventListener('mouseleave', end);
	}
	function selectRange(r) {
		state.range = r;
		showRange();
		if (table.tbody) fillRows();
		fillThreads();
		drawAll();
	}
	/* The range as chosen: its band on the timeline, the words above it,
	 * the lock figures in it. */
	function showRange() {
		const r = state.range;
		const scale = tline.span ? tline.width / tline.span : 0;
		tline.sel.setAttribute('x', r ? r[0] * scale : 0);
		tline.sel.setAttribute('width', r ? (r[1] - r[0]) * scale : 0);
		if (r) rangeFigures();
		else rangeLocks = null;
		const unplaced = TL.reduce((a, t) => a + t.unplaced[0], 0);
		tline.label.textContent = r
			? `showing ${fmtDur(r[0])} – ${fmtDur(r[1])} of the run: the graphs, the lock ` +
			  'table and the threads hold only what ended in it' +
			  (unplaced ? ` (${unplaced} contentions not placed in time are in no range)` : '')
			: 'showing the whole run: drag across the bars to show a range of it';
		document.getElementById('lc-whole-run').disabled = !r;
	}
	function timelineSection() {
		const sec = el('section', {id: 'lc-timeline'});
		sec.append(el('h2', {text: 'Wait over time, per lock (the waiter view) — drag to ' +
		                           'select a range'}));
		const whole = el('button', {id: 'lc-whole-run', type: 'button', text: 'whole run'});
		whole.addEventListener('click', () => selectRange(null));
		tline.label = el('span', {id: 'lc-range'});
		sec.append(el('p', {cls: 'status'}, [whole, ' ', tline.label]));
		return sec;
	}

	function selectLock(i) {
		state.lock = i;
		const name = i >= 0 ? data.locks[i].name : '';
		document.getElementById('lc-filter').textContent =
			i >= 0 ? 'showing only ' + name : 'showing all locks';
		document.getElementById('lc-all-locks').disabled = i < 0;
		if (table.tbody) {
			fillRows();
			table.details.textContent = i >= 0 ? data.locks[i].details.join('\n') : '';
		}
		drawAll();
	}

	function series() {
		return el('details', {id: 'lc-series'}, [
			el('summary', {text: 'Contention over time (as in the text report)'}),
			el('pre', {text: data.series.join('\n')})]);
	}

	function main() {
		const app = document.getElementById('lc-app');
		tipEl = el('div', {id: 'lc-tip', role: 'tooltip'});
		document.body.append(tipEl);
		app.append(header());
		if (data.waiting.length) app.append(waiting());
		let tsec = null;
		if (TL.length && !DIFF) app.append(tsec = timelineSection());
		app.append(controls());
		for (let vi = 0; vi < VIEWS.length; vi++)
			if (data.views[vi]) app.append(viewSection(vi));
		app.append(lockTable());
		if (THREADS.length && !DIFF) app.append(threadsSection());
		if (data.series.length) app.append(series());
		if (tsec) {
			const [svg, legend] = drawTimeline(tsec);
			tsec.append(svg, legend);
			showRange(); /* the whole run: selectLock draws it */
		}
		app.append(el('p', {cls: 'footer', text: 'Made by lockcontend-symbolize; drawn with ' +
		                    'd3-flame-graph and d3 (their licences are in this file).'}));
		selectLock(-1);
		let width = window.innerWidth, timer = 0;
		window.addEventListener('resize', () => {
			clearTimeout(timer);
			timer = setTimeout(() => {
				if (window.innerWidth !== width) {
					width = window.innerWidth;
					drawAll();
				}
			}, 200);
		});
		/* d3 sets the frames' widths in the next frame; then it is drawn */
		if (DIFF) document.documentElement.setAttribute('data-lc-diff', '1');
		requestAnimationFrame(() => requestAnimationFrame(() => {
			window.lcReport = {ready: true, renderMs: performance.now(), times: times};
			document.documentElement.setAttribute('data-lc-ready', '1');
		}));
	}

	main();
})();
