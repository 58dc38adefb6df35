/*
 * lifecycle.h — the profile's start and end, as the hooks see them
 * (lifecycle.c tells the whole story).
 */
#ifndef LOCKCONTEND_LIFECYCLE_H
#define LOCKCONTEND_LIFECYCLE_H

/* Constructor-time set-up; also run lazily by the first contention. */
void lifecycle_init(void);

/* The end of the profile: at exit (library destructor), or before exec()
 * replaces the program.  Idempotent; nothing is recorded afterwards. */
void lifecycle_dump(void);
void lifecycle_exec(void);
/* _exit() and _Exit(): the end too, as exit() would (not a vfork child's). */
void lifecycle_exit(void);

#endif
