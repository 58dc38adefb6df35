/*
 * hooks_attach.c — the library's own entry points, for an injector that
 * loaded it into a running program with dlopen (docs/attach.md; the work
 * is attach.c's).
 *
 *   int lockcontend_attach(const char *settings);
 *       settings as LOCKCONTEND's (config.h); NULL: the defaults.  0: the
 *       profile started; EALREADY: recording already (preloaded, or
 *       attached and not detached); EINVAL: settings invalid (or off);
 *       EBUSY: a thread is still inside the last profile's work; EAGAIN:
 *       called from inside our own work (another thread, or later);
 *       otherwise the errno value of creating the profile file (ENODEV:
 *       the name is a device), or ENOMEM.  Prints nothing.
 *   int lockcontend_detach(void);
 *       0: the slots given back, the profile complete; ENOENT: not
 *       attached; EAGAIN as above.
 *
 * Call them as the injector calls dlopen: one thread, borrowed at a point
 * where it holds no lock of the loader's or of malloc.
 */
#include "attach.h"
#include "hooks.h"

/* Its own address (hooks.h's HOOK_ALIAS, below), which attach_start
 * compares with what the global scope finds by that name. */
extern __typeof(lockcontend_attach) hook_lockcontend_attach __attribute__((visibility("hidden")));

EXPORT int lockcontend_attach(const char *settings)
{
	return attach_start(settings, (const void *)hook_lockcontend_attach);
}

EXPORT int lockcontend_detach(void)
{
	return attach_stop();
}

#pragma GCC diagnostic ignored "-Wmissing-attributes"
HOOK_ALIAS(lockcontend_attach);
