/*
 * attach.c — a profile of a program that was already running (attach.h,
 * docs/attach.md): the session, its GOT slots, its fork children.
 *
 * An attach, under the attach lock: its first time, the one-time set-up
 * (the functions the hooks forward to, resolved past our own hooks; the
 * table of hooks; fork handlers); then the profile (lifecycle_attach:
 * arena, file, heading with META's flag ATTACHED and the ATTACH record,
 * module map), signal= if the signal still has its default action, and
 * last the slots (gotpatch_update).  Its counts go to the ATTACH record.
 * A detach: the slots back first (gotpatch_restore: new calls go straight
 * to glibc), their counts, then the end (lifecycle_detach: closing records,
 * the threads still inside our work waited for, memory given back), and
 * signal='s disposition as it was.
 *
 * A fork child of an attached process gives its slots back and records
 * nothing (lifecycle_child_quiet): the profile is its parent's, and an
 * attach in the child later starts one of its own.  The patch tables are
 * consistent in the child because fork's prepare handler takes the attach
 * lock — for a while only: its holder may wait for the loader's lock, which
 * a thread of the program may hold while it waits for a lock the forking
 * thread holds.  A child forked without it keeps its slots, and their hooks
 * only forward.
 *
 * Every gotpatch pass blocks signals and cancellation and is a loader
 * stretch (loader.h: fork waits for it), inside the guard.
 */
#include "attach.h"

#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "core.h"
#include "gotpatch.h"
#include "hooks.h"
#include "lifecycle.h"
#include "real.h"
#include "sys.h"
#include "text.h"

/* Our hook's own address (hooks.h's HOOK_ALIAS, in hooks.c). */
extern __typeof(pthread_mutex_lock) hook_pthread_mutex_lock __attribute__((visibility("hidden")));

#define ATTACH_FORK_WAIT_NS (250 * 1000 * 1000ull)

/* The attach lock is a futex word of our own, not a pthread mutex: a call
 * to pthread_mutex_lock from here could reach a sanitizer's interceptor
 * before the attach resolved what it forwards to.  0: free; 1: taken;
 * 2: taken, and someone may sleep on it. */
static _Atomic int attach_lock;
static struct gotpatch got;
static bool got_made;                   /* gotpatch_init done (the first attach) */
static bool patched;                    /* slots rewritten: attached, not detached */
static bool passing;                    /* a pass is under way (the lock held) */
static bool forked_locked;              /* fork's prepare handler took the lock */
static struct gotpatch_counts since;    /* got.sums when this attach began... */
static struct gotpatch_counts at_first; /* ...and after its first pass */
static uint32_t flags;                  /* LC_ATTACH_* of this attach */
static int sig;                         /* signal= installed by this attach, or 0 */
static struct sigaction sig_was;

/* ---- the constructor's question -------------------------------------------- */

struct order {
	const void *ours, *libc;
	int at, ours_at, libc_at; /* places in the loader's list; -1: not found */
};

static int order_visit(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct order *o = data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type != PT_LOAD)
			continue;
		if ((uintptr_t)o->ours - lo < ph->p_memsz)
			o->ours_at = o->at;
		if ((uintptr_t)o->libc - lo < ph->p_memsz)
			o->libc_at = o->at;
	}
	o->at++;
	return 0;
}

/* The first definition of pthread_mutex_lock in the global scope is ours:
 * preloaded (or linked in).  glibc's: loaded by dlopen, behind it.  A
 * third object's (a sanitizer's runtime, preloaded before us) forwards to
 * the next one in the scope: ours if we were loaded at start-up ahead of
 * glibc, which the loader's list (in load order) tells. */
bool attach_interposed(void)
{
	lc_tls.guard++;
	void *first = dlsym(RTLD_DEFAULT, "pthread_mutex_lock");
	void *libc = dlsym(RTLD_NEXT, "pthread_mutex_lock");
	lc_tls.guard--;
	if (first == (void *)hook_pthread_mutex_lock)
		return true;
	if (!first || first == libc)
		return false;
	struct order o = {
	    .ours = (const void *)attach_interposed, .libc = libc, .ours_at = -1, .libc_at = -1};
	real_dl_iterate_phdr(order_visit, &o);
	return o.ours_at >= 0 && o.libc_at >= 0 && o.ours_at < o.libc_at;
}

static void attach_child(void);

void attach_mode(void)
{
	int none = ST_NONE;
	/* a hook called before us (another library's constructor) started a
	 * profile: then the hooks were reached after all */
	if (!atomic_compare_exchange_strong(&core.state, &none, ST_OFF))
		return;
	core.attach = true;
	core.child = attach_child;
	text_quiet = true;
}

/* ---- the lock, and fork ------------------------------------------------------- */

static bool attach_lock_try(void)
{
	int free = 0;
	return atomic_compare_exchange_strong(&attach_lock, &free, 1);
}

static void attach_lock_take(void)
{
	if (attach_lock_try())
		return;
	while (atomic_exchange(&attach_lock, 2) != 0)
		sys_futex_wait(&attach_lock, 2, 1000 * 1000 * 1000ull);
}

static void attach_lock_give(void)
{
	if (atomic_exchange(&attach_lock, 0) == 2)
		sys_futex_wake(&attach_lock);
}

static void attach_fork_prepare(void)
{
	uint64_t deadline = 0;
	forked_locked = false;
	while (!(forked_locked = attach_lock_try()) &&
	       clock_wait_turn(&deadline, ATTACH_FORK_WAIT_NS))
		;
	lifecycle_atfork_prepare();
}

static void attach_fork_parent(void)
{
	lifecycle_atfork_parent();
	if (forked_locked)
		attach_lock_give();
}

/* A child forked with fork's handlers, or without them (lifecycle_adopt,
 * at its first call into the recorder): one thread.  Its slots back, if
 * no pass was halfway through the tables when it was made; else they keep
 * their hooks, which forward (nothing records), and are forgotten. */
static void attach_child(void)
{
	if (patched)
		gotpatch_restore_child(&got, !passing);
	patched = false;
	passing = false;
	atomic_store(&attach_lock, 0);
	lifecycle_child_quiet();
}

static void attach_fork_child(void)
{
	attach_child();
}

/* ---- passes ------------------------------------------------------------------ */

/* Run a gotpatch pass quietly, as a loader stretch; false: not now (a fork
 * is being prepared, or this is a fork child the loader's lock may be
 * held in for good). */
static bool attach_pass(void (*pass)(struct gotpatch *))
{
	struct lc_tls *t = &lc_tls;
	struct loader_stretch st;
	lc_guard_in(t);
	bool ok = loader_enter(&core.loader, t, &st);
	if (ok) {
		passing = true;
		pass(&got);
		passing = false;
		loader_leave(&core.loader, t, &st);
	}
	t->guard--;
	return ok;
}

/* The counts of this attach into its ATTACH record, while it records. */
static void attach_record(void)
{
	struct lc_rec_attach *a = core.attached;
	const struct gotpatch_counts *c = &got.sums;
	if (!a || !core_recording())
		return;
	atomic_store(live_u32(&a->objects), c->objects - since.objects);
	atomic_store(live_u32(&a->later), c->objects - at_first.objects);
	atomic_store(live_u64(&a->slots), c->slots - since.slots);
	atomic_store(live_u64(&a->out_of_reach), c->out_of_reach - since.out_of_reach);
	atomic_store(live_u64(&a->failed), c->failed - since.failed);
	atomic_store(live_u64(&a->restored), c->restored - since.restored);
	atomic_store(live_u64(&a->left), c->left - since.left);
	atomic_store(live_u64(&a->forgotten), c->forgotten - since.forgotten);
	atomic_store(live_u32(&a->flags), flags);
}

void attach_loaded(void)
{
	struct lc_tls *t = &lc_tls;
	if (!__atomic_load_n(&patched, __ATOMIC_RELAXED) || t->guard)
		return;
	int saved = errno;
	/* inside the program's dl_iterate_phdr (which holds the loader's
	 * lock a pass needs), wait for nobody: the next pass patches */
	if (t->in_phdr ? !attach_lock_try() : (attach_lock_take(), false)) {
		errno = saved;
		return;
	}
	if (patched && attach_pass(gotpatch_update))
		attach_record();
	attach_lock_give();
	errno = saved;
}

/* ---- attach and detach ------------------------------------------------------- */

static bool attach_is_hook(const void *p)
{
	return hooks_table_has(p);
}

/* The first attach in this process (or fork child). */
static int attach_once(void)
{
	if (got_made)
		return 0;
	real_resolve_attached(attach_is_hook);
	size_t n;
	const struct gotpatch_hook *table = hooks_table(&n);
	int e = gotpatch_init(&got, table, n, (const void *)attach_once, real_dl_iterate_phdr);
	if (e)
		return e;
	pthread_atfork(attach_fork_prepare, attach_fork_parent, attach_fork_child);
	pthread_atfork(NULL, NULL, hooks_fork_child);
	got_made = true;
	return 0;
}

/* signal=, if nobody handles the signal: a program that does keeps it. */
static void attach_signal(int signo)
{
	struct sigaction sa;
	sig = 0;
	if (!signo || sigaction(signo, NULL, &sig_was) != 0 || (sig_was.sa_flags & SA_SIGINFO) ||
	    sig_was.sa_handler != SIG_DFL)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = collect_snapshot;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(signo, &sa, NULL) == 0) {
		sig = signo;
		flags |= LC_ATTACH_SIGNAL;
	}
}

/* Its default action back, unless the program installed a handler since. */
static void attach_signal_back(void)
{
	struct sigaction now;
	if (sig && sigaction(sig, NULL, &now) == 0 && !(now.sa_flags & SA_SIGINFO) &&
	    now.sa_handler == collect_snapshot)
		sigaction(sig, &sig_was, NULL);
	sig = 0;
}

static int attach_begin(const struct config *cfg)
{
	int e = attach_once();
	if (e)
		return e;
	e = lifecycle_attach(cfg);
	if (e)
		return e;
	since = got.sums;
	flags = hooks_dlopen_followed() ? LC_ATTACH_DLOPEN : 0;
	attach_signal(cfg->signal);
	attach_pass(gotpatch_update);
	at_first = got.sums;
	patched = true;
	attach_record();
	return 0;
}

int attach_start(const char *settings, const void *self)
{
	struct config cfg;
	if (!core.attach)
		return EALREADY; /* preloaded: recording from the start */
	if (lc_tls.guard)
		return EAGAIN;
	lc_tls.guard++;
	void *first = dlsym(RTLD_DEFAULT, "lockcontend_attach");
	lc_tls.guard--;
	if (first && first != self)
		return EALREADY; /* another copy of the library, preloaded */
	if (config_parse(settings, &cfg, NULL, NULL) != 0 || !cfg.enabled)
		return EINVAL;
	attach_lock_take();
	int e = patched ? EALREADY : attach_begin(&cfg);
	attach_lock_give();
	return e;
}

int attach_stop(void)
{
	if (!core.attach)
		return ENOENT;
	if (lc_tls.guard)
		return EAGAIN;
	attach_lock_take();
	if (!patched) {
		attach_lock_give();
		return ENOENT;
	}
	/* Every slot back before the end.  A pass that cannot run now (a fork
	 * being prepared) is tried again; in a fork child whose loader may be
	 * held for good, without the loader (the child's threads are its
	 * own: no object is unloaded under us but by one of them). */
	int tries = 0;
	while (!attach_pass(gotpatch_restore))
		if (++tries == 4 || core.loader.unsafe) {
			gotpatch_restore_child(&got, true);
			break;
		}
	patched = false;
	attach_record();
	(void)lifecycle_detach();
	attach_signal_back();
	attach_lock_give();
	return 0;
}
