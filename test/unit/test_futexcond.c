/*
 * test_futexcond.c — the rules that tell a futex condition wait from a
 * futex lock wait (symbolize/futexcond.c), on stacks made by hand: each
 * frame one function of a small profile, innermost first, named as the
 * symbolizer names them (demangled; C++ with its parameters).  The real
 * libraries' stacks are test_futexlangs's; these add the libraries no
 * fixture builds here (parking_lot, older std paths) and the order rule.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "futexcond.h"
#include "lockcontend/dumpfmt.h"

#define MAXF 8

/* Is the stack of names (innermost first, NULL-terminated) a condition
 * wait (view WAIT) or notify (HOLDER)?  system_name as given (NULL: the
 * name), to check that a mangled name is matched demangled. */
static bool classify(int view, const char *const names[], const char *const sys[])
{
	struct prof_function fn[MAXF];
	struct prof_line line[MAXF];
	struct prof_location loc[MAXF];
	uint32_t locs[MAXF];
	uint32_t n = 0;
	for (; names[n]; n++) {
		cr_assert(n < MAXF);
		fn[n] = (struct prof_function){
		    .name = names[n], .system_name = sys && sys[n] ? sys[n] : names[n], .file = ""};
		line[n] = (struct prof_line){.function = n};
		loc[n] = (struct prof_location){.mapping = 0, .nlines = 1, .lines = &line[n]};
		locs[n] = n;
	}
	struct profile p = {.functions = fn, .nfunctions = n, .locations = loc, .nlocations = n};
	struct futexcond_cache c = {0};
	bool cond = futexcond_stack(&c, &p, locs, n, view);
	futexcond_cache_free(&c);
	return cond;
}

/* futexcond_word_name of a stack, or "" when no rule names it. */
static const char *word_name(const char *const names[])
{
	static char buf[256];
	struct prof_function fn[MAXF];
	struct prof_line line[MAXF];
	struct prof_location loc[MAXF];
	uint32_t locs[MAXF], n = 0;
	for (; names[n]; n++) {
		fn[n] =
		    (struct prof_function){.name = names[n], .system_name = names[n], .file = ""};
		line[n] = (struct prof_line){.function = n};
		loc[n] = (struct prof_location){.nlines = 1, .lines = &line[n]};
		locs[n] = n;
	}
	struct profile p = {.functions = fn, .nfunctions = n, .locations = loc, .nlocations = n};
	struct futexcond_cache c = {0};
	if (!futexcond_word_name(&c, &p, locs, n, buf, sizeof buf))
		buf[0] = '\0';
	futexcond_cache_free(&c);
	return buf;
}

#define NAME(...) word_name((const char *const[]){__VA_ARGS__, NULL})

#define WAIT(...) classify(LC_VIEW_WAIT, (const char *const[]){__VA_ARGS__, NULL}, NULL)
#define WAKE(...) classify(LC_VIEW_HOLDER, (const char *const[]){__VA_ARGS__, NULL}, NULL)

Test(futexcond, rust_std_condvar_and_mutex)
{
	cr_assert(WAIT("<std::sys::sync::condvar::futex::Condvar>::wait", "app::idle", "main"));
	cr_assert(WAIT("std::sys::unix::locks::futex_condvar::Condvar::wait_optional_timeout",
	               "app::idle"));
	cr_assert(WAIT("<std::sys::sync::thread_parking::futex::Parker>::park", "std::thread::park",
	               "app::recv"));
	cr_assert(!WAIT("<std::sys::sync::mutex::futex::Mutex>::lock_contended", "app::work"));
	cr_assert(!WAIT("<std::sys::sync::rwlock::futex::RwLock>::read_contended", "app::work"));
	/* a Condvar::wait re-takes its mutex: that wait is the lock's */
	cr_assert(!WAIT("<std::sys::sync::mutex::futex::Mutex>::lock_contended",
	                "<std::sys::sync::condvar::futex::Condvar>::wait", "app::idle"));
}

Test(futexcond, parking_lot_condvar_and_mutex)
{
	cr_assert(WAIT("parking_lot_core::parking_lot::park",
	               "<parking_lot::condvar::Condvar>::wait_until_internal", "app::idle"));
	cr_assert(!WAIT("parking_lot_core::parking_lot::park",
	                "<parking_lot::raw_mutex::RawMutex>::lock_slow", "app::work"));
	cr_assert(!WAIT("parking_lot_core::parking_lot::park",
	                "<parking_lot::raw_mutex::RawMutex>::lock_slow",
	                "<parking_lot::condvar::Condvar>::wait_until_internal", "app::idle"));
	cr_assert(WAKE("parking_lot_core::parking_lot::unpark_one",
	               "<parking_lot::condvar::Condvar>::notify_one_slow", "app::post"));
	cr_assert(!WAKE("<parking_lot::raw_mutex::RawMutex>::unlock_slow", "app::work"));
}

Test(futexcond, abseil_condvar_by_its_sleep)
{
	const char *waiter = "absl::debian3::synchronization_internal::Waiter::Wait(absl::debian3::"
	                     "synchronization_internal::KernelTimeout)";
	/* CondVar::WaitCommon has no symbol: the sleep under no lock frame */
	cr_assert(WAIT(waiter, "AbslInternalPerThreadSemWait_debian3", "idle_wait(int)"));
	cr_assert(WAIT(waiter,
	               "absl::lts_20230802::CondVar::WaitCommon(absl::lts_20230802::Mutex*, "
	               "absl::lts_20230802::synchronization_internal::KernelTimeout)",
	               "idle_wait(int)"));
	cr_assert(
	    !WAIT(waiter, "AbslInternalPerThreadSemWait_debian3",
	          "absl::debian3::Mutex::Block(absl::debian3::base_internal::PerThreadSynch*)",
	          "absl::debian3::Mutex::Lock()", "waiter_blocked()"));
	cr_assert(WAKE("absl::debian3::synchronization_internal::Waiter::Poke()",
	               "absl::debian3::Mutex::Fer(absl::debian3::base_internal::PerThreadSynch*)",
	               "absl::debian3::CondVar::Signal()", "notifier(int)"));
	cr_assert(!WAKE("absl::debian3::synchronization_internal::Waiter::Poke()",
	                "absl::debian3::Mutex::UnlockSlow(absl::debian3::SynchWaitParams*)",
	                "holder_release()"));
	/* a sleep frame counts in the WAIT view only */
	cr_assert(!WAKE("AbslInternalPerThreadSemWait_debian3", "app()"));
}

Test(futexcond, unknown_frames_are_lock_waits)
{
	cr_assert(!WAIT("futex", "waiter_blocked", "main"));
	cr_assert(!WAKE("futex_unlock", "holder_release", "main"));
	cr_assert(!WAIT("my::Condvar::wait", "main")); /* no row for it */
}

/* --no-demangle leaves the name mangled: the rules demangle it themselves. */
Test(futexcond, mangled_names_are_matched_demangled)
{
	const char *names[] = {
	    "_RNvMNtNtNtNtCsjrHSEGnQ3l9_3std3sys4sync7condvar5futexNtB2_7Condvar4wait", "main",
	    NULL};
	cr_assert(classify(LC_VIEW_WAIT, names, NULL));
	const char *absl[] = {"_ZN4absl7debian37CondVar4WaitEPNS0_5MutexE", "main", NULL};
	cr_assert(classify(LC_VIEW_WAIT, absl, NULL));
}

/* A per-thread word is named by its library and the function that called
 * it; a word of the lock's own (Rust std) keeps its usual name. */
Test(futexcond, per_thread_words_named_by_their_caller)
{
	cr_assert_str_eq(NAME("parking_lot_core::thread_parker::imp::ThreadParker::futex_wait",
	                      "parking_lot_core::parking_lot::park",
	                      "parking_lot::raw_mutex::RawMutex::lock_slow", "app::work", "main"),
	                 "a parking_lot lock taken in app::work (threads' own futex words)");
	cr_assert_str_eq(
	    NAME("parking_lot_core::parking_lot::park",
	         "parking_lot::condvar::Condvar::wait_until_internal", "app::idle"),
	    "a parking_lot Condvar waited for in app::idle (threads' own futex words)");
	cr_assert_str_eq(
	    NAME("absl::debian3::synchronization_internal::Waiter::Wait(int)",
	         "AbslInternalPerThreadSemWait_debian3",
	         "absl::debian3::Mutex::Block(absl::debian3::base_internal::PerThreadSynch*)",
	         "absl::debian3::Mutex::Lock()", "waiter_blocked()"),
	    "an absl::Mutex taken in waiter_blocked() (threads' own futex words)");
	cr_assert_str_eq(NAME("<std::sys::sync::mutex::futex::Mutex>::lock_contended", "app::work"),
	                 "");
	cr_assert_str_eq(NAME("futex", "waiter_blocked"), "");
}
