/*
 * lifecycle.h — the profile's start and end, as the hooks see them
 * (lifecycle.c tells the whole story).
 */
#ifndef LOCKCONTEND_LIFECYCLE_H
#define LOCKCONTEND_LIFECYCLE_H

#include <stdbool.h>

/* Constructor-time set-up (the process ARMED, or RUNNING if it has
 * threads already); also run lazily by the first contention. */
void lifecycle_init(void);

/* An ARMED process's profile, made now (recorder_start): false if it was
 * not armed (or is being made by another caller), or could not be made
 * (one line on stderr said why: OFF from then on). */
bool lifecycle_start(void);

/* The end of the profile: at exit (library destructor), or before exec()
 * replaces the program.  Idempotent; nothing is recorded afterwards. */
void lifecycle_dump(void);
void lifecycle_exec(void);
/* _exit() and _Exit(): the end too, as exit() would (not a vfork child's). */
void lifecycle_exit(void);

/* fork()'s prepare and parent handlers (the loader's fork gate). */
void lifecycle_atfork_prepare(void);
void lifecycle_atfork_parent(void);

/* Attached (attach.c, core.h).  lifecycle_attach starts a new profile
 * with settings cfg, quietly (core.attach: warnings go nowhere): 0,
 * EALREADY (one is recording), EBUSY (a thread is still inside the last
 * one's work), or the errno value of what failed (the file's creation).
 * lifecycle_detach ends it as exit would, waits for the threads inside
 * our work, then gives its memory back; false if it was not recording.
 * lifecycle_child_quiet: in an attached process's fork child, record
 * nothing and let go of the parent's profile. */
struct config;
int lifecycle_attach(const struct config *cfg);
bool lifecycle_detach(void);
void lifecycle_child_quiet(void);

#endif
