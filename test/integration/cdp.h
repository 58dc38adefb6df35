/*
 * cdp.h — a headless Chromium for the HTML report's browser test
 * (test_html.c), driven over the DevTools protocol on a pipe.
 *
 * The browser runs with --remote-debugging-pipe: it reads commands on its
 * fd 3 and writes replies and events on its fd 4, each one JSON message
 * ended by a NUL (no port, no WebSocket, nothing to install).  cdp_open
 * starts it in a process group of its own, with a private profile under the
 * test's directory, opens a page and attaches to it; cdp_close ends the
 * group.  The browser also dies with the test process (PR_SET_PDEATHSIG).
 * It runs without its sandbox (--no-sandbox): as root, or in a container
 * without user namespaces, it would not start otherwise, and the page it
 * loads is our own file.
 *
 * While it waits for a reply, it reads the page's events and keeps what a
 * clean page must not do: throw an uncaught exception, call console.error
 * or console.assert, log an entry of level error (a resource that failed,
 * a Content-Security-Policy violation), or request anything but the page
 * itself and data: URLs.  cdp_errors has them, one a line.
 *
 * Every wait has a deadline, generous for a loaded machine; a failure
 * fails the Criterion test with a message naming the step.  The messages
 * are read with a few string searches, enough for the replies asked for
 * here (Chromium writes "id" or "method" first).
 */
#ifndef LOCKCONTEND_CDP_H
#define LOCKCONTEND_CDP_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CDP_TIMEOUT_S 90 /* one reply, or the page's load */

struct cdp {
	pid_t pid;       /* the browser, leader of its process group; 0: none */
	int to, from;    /* our ends of its fd 3 and fd 4 */
	char *buf;       /* read, not yet a whole message */
	size_t len, cap;
	int next_id;
	char session[128]; /* the page's */
	char page[PATH_MAX + 8];
	char *errors; /* what the page must not do, a line each */
	size_t errors_len;
	bool loaded; /* Page.loadEventFired since the last cdp_navigate */
	char log[PATH_MAX]; /* the browser's stderr */
};

/* The browser: $LOCKCONTEND_TEST_CHROMIUM, else chromium, chromium-browser
 * or google-chrome on PATH; NULL if there is none. */
const char *cdp_browser(void);

/* Start browser with a width x height page, its profile and log in dir. */
void cdp_open(struct cdp *c, const char *browser, const char *dir, int width, int height);
void cdp_close(struct cdp *c);

/* Send command `method` with params (a JSON object, NULL: none) to the page
 * and wait for its reply (malloc'd); an error reply fails the test. */
char *cdp_call(struct cdp *c, const char *method, const char *params);

/* Load url and wait for its load event. */
void cdp_navigate(struct cdp *c, const char *url);

/* String(expr) in the page (malloc'd); an exception fails the test. */
char *cdp_eval(struct cdp *c, const char *expr);

/* Wait until expr is true, asking every 50 ms; false after timeout_s. */
bool cdp_wait_true(struct cdp *c, const char *expr, int timeout_s);

/* The mouse moved to (x, y) (CSS pixels of the viewport); and a click of
 * its left button there, as a user's (press, release). */
void cdp_mouse_move(struct cdp *c, double x, double y);
void cdp_click(struct cdp *c, double x, double y);

/* A drag with the left button from (x0, y0) to (x1, y1): press, moves,
 * release. */
void cdp_drag(struct cdp *c, double x0, double y0, double x1, double y1);

/* text typed into the focused element. */
void cdp_type(struct cdp *c, const char *text);

/* A PNG of the viewport (clip NULL) or of clip, a JSON object {x, y,
 * width, height, scale}; malloc'd, its size in *len. */
unsigned char *cdp_screenshot(struct cdp *c, const char *clip, size_t *len);

/* What the page did that a clean page must not, a line each; "" if
 * nothing. */
const char *cdp_errors(const struct cdp *c);

/* s as a JSON string literal, quotes included (malloc'd): for params and
 * for expressions. */
char *cdp_quote(const char *s);

#endif
