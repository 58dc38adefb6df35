/*
 * cdp.c — a headless Chromium driven over the DevTools protocol on a pipe
 * (see cdp.h).
 */
#include "cdp.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *cdp_browser(void)
{
	static char found[PATH_MAX];
	const char *over = getenv("LOCKCONTEND_TEST_CHROMIUM");
	if (over && *over)
		return over;
	static const char *const names[] = {"chromium", "chromium-browser", "google-chrome"};
	const char *path = getenv("PATH");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
			size_t n = strcspn(p, ":");
			snprintf(found, sizeof(found), "%.*s/%s", (int)n, p, names[i]);
			if (n && access(found, X_OK) == 0)
				return found;
			p += n + (p[n] == ':');
		}
	}
	return NULL;
}

/* ---- JSON, as far as the replies need it ------------------------------------------ */

char *cdp_quote(const char *s)
{
	size_t cap = 2 * strlen(s) + 16, n = 0;
	char *out = malloc(cap);
	cr_assert(out != NULL);
	out[n++] = '"';
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (n + 8 >= cap) {
			cap *= 2;
			out = realloc(out, cap);
			cr_assert(out != NULL);
		}
		if (ch == '"' || ch == '\\')
			n += (size_t)sprintf(out + n, "\\%c", ch);
		else if (ch < 0x20)
			n += (size_t)sprintf(out + n, "\\u%04x", ch);
		else
			out[n++] = (char)ch;
	}
	out[n++] = '"';
	out[n] = '\0';
	return out;
}

static void put_utf8(char *out, size_t *n, unsigned cp)
{
	if (cp < 0x80) {
		out[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*n)++] = (char)(0xc0 | cp >> 6);
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*n)++] = (char)(0xe0 | cp >> 12);
		out[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*n)++] = (char)(0xf0 | cp >> 18);
		out[(*n)++] = (char)(0x80 | (cp >> 12 & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
}

static unsigned hex4(const char *p)
{
	char buf[5] = {p[0], p[1], p[2], p[3], 0};
	return (unsigned)strtoul(buf, NULL, 16);
}

/* The JSON string that starts at the quote *p, unescaped (malloc'd). */
static char *json_unquote(const char *p)
{
	size_t cap = strlen(p) + 1, n = 0;
	char *out = malloc(cap);
	cr_assert(out != NULL);
	for (p++; *p && *p != '"'; p++) {
		if (*p != '\\') {
			out[n++] = *p;
			continue;
		}
		switch (*++p) {
		case 'n': out[n++] = '\n'; break;
		case 't': out[n++] = '\t'; break;
		case 'r': out[n++] = '\r'; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'u': {
			unsigned cp = hex4(p + 1);
			p += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && p[1] == '\\' && p[2] == 'u') {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4(p + 3) - 0xdc00);
				p += 6;
			}
			put_utf8(out, &n, cp);
			break;
		}
		case '\0': p--; break;
		default: out[n++] = *p; /* " \ / */
		}
	}
	out[n] = '\0';
	return out;
}

/* The first string value of key in msg (malloc'd), or NULL. */
static char *json_get(const char *msg, const char *key)
{
	char pat[128];
	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	const char *p = msg ? strstr(msg, pat) : NULL;
	return p ? json_unquote(p + strlen(pat) - 1) : NULL;
}

/* ---- the pipe ------------------------------------------------------------------------ */

static void note(struct cdp *c, const char *what, const char *detail)
{
	char *line = NULL;
	int n = asprintf(&line, "%s: %s\n", what, detail ? detail : "?");
	cr_assert(n > 0);
	char *grown = realloc(c->errors, c->errors_len + (size_t)n + 1);
	cr_assert(grown != NULL);
	c->errors = grown;
	memcpy(c->errors + c->errors_len, line, (size_t)n + 1);
	c->errors_len += (size_t)n;
	free(line);
}

static bool is_method(const char *m, const char *method)
{
	size_t n = strlen(method);
	return strncmp(m, "{\"method\":\"", 11) == 0 && strncmp(m + 11, method, n) == 0 &&
	       m[11 + n] == '"';
}

/* Keep what a clean page must not do (cdp.h). */
static void on_event(struct cdp *c, const char *m)
{
	char *a = NULL, *b = NULL;
	if (is_method(m, "Page.loadEventFired")) {
		c->loaded = true;
	} else if (is_method(m, "Runtime.exceptionThrown")) {
		a = json_get(m, "description");
		note(c, "uncaught exception", a ? a : (b = json_get(m, "text")));
	} else if (is_method(m, "Runtime.consoleAPICalled")) {
		a = json_get(strstr(m, "\"params\":{"), "type");
		if (a && (strcmp(a, "error") == 0 || strcmp(a, "assert") == 0))
			note(c, a, (b = json_get(m, "value")) ? b : m);
	} else if (is_method(m, "Log.entryAdded")) {
		a = json_get(m, "level");
		if (a && strcmp(a, "error") == 0)
			note(c, "log error", (b = json_get(m, "text")));
	} else if (is_method(m, "Network.requestWillBeSent")) {
		a = json_get(strstr(m, "\"request\":{"), "url");
		if (a && strcmp(a, c->page) != 0 && strncmp(a, "data:", 5) != 0)
			note(c, "request", a);
	} else if (is_method(m, "Inspector.targetCrashed") || is_method(m, "Target.targetCrashed")) {
		note(c, "crash", "the page's renderer died");
	}
	free(a);
	free(b);
}

/* The next whole message (malloc'd); NULL at the deadline, or when the
 * browser closed its end. */
static char *next_message(struct cdp *c, double deadline)
{
	for (;;) {
		char *nul = c->len ? memchr(c->buf, '\0', c->len) : NULL;
		if (nul) {
			size_t n = (size_t)(nul - c->buf);
			char *m = strndup(c->buf, n);
			cr_assert(m != NULL);
			memmove(c->buf, nul + 1, c->len - n - 1);
			c->len -= n + 1;
			return m;
		}
		double left = deadline - now_s();
		if (left <= 0)
			return NULL;
		struct pollfd p = {.fd = c->from, .events = POLLIN};
		if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			continue; /* EINTR, or the deadline: checked above */
		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? 2 * c->cap : 1 << 20;
			c->buf = realloc(c->buf, c->cap);
			cr_assert(c->buf != NULL);
		}
		ssize_t n = read(c->from, c->buf + c->len, c->cap - c->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		c->len += (size_t)n;
	}
}

static void write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		cr_assert(w > 0, "writing to the browser: %s", strerror(errno));
		s += w;
		n -= (size_t)w;
	}
}

/* The browser's log, for a failure's message: its last 1000 bytes. */
static const char *log_tail(const struct cdp *c)
{
	static char tail[1024];
	FILE *f = fopen(c->log, "r");
	tail[0] = '\0';
	if (!f)
		return tail;
	if (fseek(f, -1000, SEEK_END) != 0)
		rewind(f);
	size_t n = fread(tail, 1, sizeof(tail) - 1, f);
	tail[n] = '\0';
	fclose(f);
	return tail;
}

static char *call(struct cdp *c, bool page, const char *method, const char *params)
{
	char *cmd = NULL, prefix[32];
	int id = ++c->next_id;
	int n = asprintf(&cmd, "{\"id\":%d,%s%s%s\"method\":\"%s\",\"params\":%s}", id,
	                 page ? "\"sessionId\":\"" : "", page ? c->session : "", page ? "\"," : "",
	                 method, params ? params : "{}");
	cr_assert(n > 0);
	write_all(c->to, cmd, (size_t)n + 1); /* with its NUL */
	free(cmd);
	snprintf(prefix, sizeof(prefix), "{\"id\":%d,", id);
	double deadline = now_s() + CDP_TIMEOUT_S;
	for (;;) {
		char *m = next_message(c, deadline);
		cr_assert(m != NULL, "%s: no reply from the browser in %d s; its log ends:\n%s", method,
		          CDP_TIMEOUT_S, log_tail(c));
		if (strncmp(m, prefix, strlen(prefix)) == 0) {
			cr_assert(strncmp(m + strlen(prefix), "\"error\":", 8) != 0, "%s: %s", method, m);
			return m;
		}
		on_event(c, m);
		free(m);
	}
}

char *cdp_call(struct cdp *c, const char *method, const char *params)
{
	return call(c, true, method, params);
}

/* ---- the browser ---------------------------------------------------------------------- */

/* In the child: the pipe's ends as fd 3 (commands) and 4 (messages),
 * stdin /dev/null, stdout and stderr the log; nothing else open. */
static void child_exec(const char *const argv[], int cmd, int msg, const char *log, pid_t parent)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	int null = open("/dev/null", O_RDONLY);
	int out = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
	int a = fcntl(cmd, F_DUPFD, 10), b = fcntl(msg, F_DUPFD, 10);
	if (null < 0 || out < 0 || a < 0 || b < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(out, 2) < 0 || dup2(a, 3) < 0 || dup2(b, 4) < 0)
		_exit(127);
	closefrom(5);
	execvp(argv[0], (char *const *)argv);
	_exit(127);
}

void cdp_open(struct cdp *c, const char *browser, const char *dir, int width, int height)
{
	char profile[PATH_MAX + 32], size[64], params[256];
	int cmd[2], msg[2];
	memset(c, 0, sizeof(*c));
	signal(SIGPIPE, SIG_IGN);
	snprintf(profile, sizeof(profile), "--user-data-dir=%s/chromium-profile", dir);
	snprintf(size, sizeof(size), "--window-size=%d,%d", width, height);
	snprintf(c->log, sizeof(c->log), "%s/chromium.log", dir);
	const char *argv[] = {browser, "--headless", "--no-sandbox", "--disable-gpu",
	                      "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
	                      "--disable-extensions", "--disable-background-networking",
	                      "--disable-component-update", "--disable-sync", "--disable-default-apps",
	                      "--mute-audio", "--hide-scrollbars", "--remote-debugging-pipe", profile,
	                      size, "about:blank", NULL};
	cr_assert(pipe2(cmd, O_CLOEXEC) == 0 && pipe2(msg, O_CLOEXEC) == 0, "pipe: %s",
	          strerror(errno));
	pid_t parent = getpid(), pid = fork();
	cr_assert(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		child_exec(argv, cmd[0], msg[1], c->log, parent);
	close(cmd[0]);
	close(msg[1]);
	c->pid = pid;
	c->to = cmd[1];
	c->from = msg[0];
	char *r = call(c, false, "Target.createTarget", "{\"url\":\"about:blank\"}");
	char *target = json_get(r, "targetId");
	cr_assert(target != NULL, "Target.createTarget: %s", r);
	snprintf(params, sizeof(params), "{\"targetId\":\"%s\",\"flatten\":true}", target);
	free(r);
	free(target);
	r = call(c, false, "Target.attachToTarget", params);
	char *session = json_get(r, "sessionId");
	cr_assert(session != NULL && strlen(session) < sizeof(c->session), "%s", r);
	snprintf(c->session, sizeof(c->session), "%s", session);
	free(r);
	free(session);
	static const char *const domains[] = {"Runtime.enable", "Log.enable", "Network.enable",
	                                      "Page.enable"};
	for (size_t i = 0; i < sizeof(domains) / sizeof(domains[0]); i++)
		free(cdp_call(c, domains[i], NULL));
	snprintf(params, sizeof(params),
	         "{\"width\":%d,\"height\":%d,\"deviceScaleFactor\":1,\"mobile\":false}", width,
	         height);
	free(cdp_call(c, "Emulation.setDeviceMetricsOverride", params));
}

void cdp_close(struct cdp *c)
{
	if (c->pid > 0) {
		close(c->to); /* it ends when the pipe does */
		double deadline = now_s() + 10;
		int status;
		while (waitpid(c->pid, &status, WNOHANG) == 0 && now_s() < deadline)
			usleep(50000);
		kill(-c->pid, SIGKILL); /* what is left of its group */
		kill(c->pid, SIGKILL);
		waitpid(c->pid, &status, 0);
		close(c->from);
	}
	free(c->buf);
	free(c->errors);
	memset(c, 0, sizeof(*c));
}

/* ---- the page ---------------------------------------------------------------------------- */

void cdp_navigate(struct cdp *c, const char *url)
{
	char *q = cdp_quote(url), *params = NULL;
	cr_assert(asprintf(&params, "{\"url\":%s}", q) > 0);
	snprintf(c->page, sizeof(c->page), "%s", url);
	c->loaded = false;
	char *r = cdp_call(c, "Page.navigate", params);
	char *fail = json_get(r, "errorText");
	cr_assert(fail == NULL, "Page.navigate %s: %s", url, fail);
	free(r);
	free(params);
	free(q);
	double deadline = now_s() + CDP_TIMEOUT_S;
	while (!c->loaded) {
		char *m = next_message(c, deadline);
		cr_assert(m != NULL, "%s did not load in %d s", url, CDP_TIMEOUT_S);
		on_event(c, m);
		free(m);
	}
}

char *cdp_eval(struct cdp *c, const char *expr)
{
	char *src = NULL, *params = NULL;
	cr_assert(asprintf(&src, "String((%s))", expr) > 0);
	char *q = cdp_quote(src);
	cr_assert(asprintf(&params, "{\"expression\":%s,\"returnByValue\":true,\"awaitPromise\":true}",
	                   q) > 0);
	char *r = cdp_call(c, "Runtime.evaluate", params);
	free(src);
	free(q);
	free(params);
	cr_assert(strstr(r, "\"exceptionDetails\":") == NULL, "%s threw: %s", expr, r);
	char *v = json_get(r, "value");
	cr_assert(v != NULL, "%s: %s", expr, r);
	free(r);
	return v;
}

bool cdp_wait_true(struct cdp *c, const char *expr, int timeout_s)
{
	char *test = NULL;
	cr_assert(asprintf(&test, "!!(%s)", expr) > 0);
	double deadline = now_s() + timeout_s;
	bool yes = false;
	for (;;) {
		char *v = cdp_eval(c, test);
		yes = strcmp(v, "true") == 0;
		free(v);
		if (yes || now_s() > deadline)
			break;
		usleep(50000);
	}
	free(test);
	return yes;
}

static void mouse(struct cdp *c, const char *type, double x, double y)
{
	char params[256];
	snprintf(params, sizeof(params),
	         "{\"type\":\"%s\",\"x\":%.1f,\"y\":%.1f,\"button\":\"%s\",\"buttons\":%d,"
	         "\"clickCount\":%d}",
	         type, x, y, strcmp(type, "mouseMoved") ? "left" : "none",
	         strcmp(type, "mousePressed") == 0, strcmp(type, "mouseMoved") != 0);
	free(cdp_call(c, "Input.dispatchMouseEvent", params));
}

void cdp_mouse_move(struct cdp *c, double x, double y)
{
	mouse(c, "mouseMoved", x, y);
}

void cdp_click(struct cdp *c, double x, double y)
{
	mouse(c, "mouseMoved", x, y);
	mouse(c, "mousePressed", x, y);
	mouse(c, "mouseReleased", x, y);
}

void cdp_drag(struct cdp *c, double x0, double y0, double x1, double y1)
{
	mouse(c, "mouseMoved", x0, y0);
	mouse(c, "mousePressed", x0, y0);
	for (int i = 1; i <= 4; i++) /* a hand moves through the points between */
		mouse(c, "mouseMoved", x0 + (x1 - x0) * i / 4, y0 + (y1 - y0) * i / 4);
	mouse(c, "mouseReleased", x1, y1);
}

void cdp_type(struct cdp *c, const char *text)
{
	char *q = cdp_quote(text), *params = NULL;
	cr_assert(asprintf(&params, "{\"text\":%s}", q) > 0);
	free(cdp_call(c, "Input.insertText", params));
	free(params);
	free(q);
}

static int b64(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

unsigned char *cdp_screenshot(struct cdp *c, const char *clip, size_t *len)
{
	char *params = NULL;
	cr_assert(asprintf(&params, "{\"format\":\"png\"%s%s}", clip ? ",\"clip\":" : "",
	                   clip ? clip : "") > 0);
	char *r = cdp_call(c, "Page.captureScreenshot", params);
	char *data = json_get(r, "data");
	cr_assert(data != NULL, "Page.captureScreenshot: %s", r);
	unsigned char *png = malloc(strlen(data) * 3 / 4 + 3);
	cr_assert(png != NULL);
	size_t n = 0;
	unsigned acc = 0;
	int bits = 0;
	for (const char *p = data; *p; p++) {
		int v = b64(*p);
		if (v < 0)
			continue; /* '=' */
		acc = acc << 6 | (unsigned)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			png[n++] = (unsigned char)(acc >> bits);
		}
	}
	*len = n;
	free(data);
	free(r);
	free(params);
	return png;
}

const char *cdp_errors(const struct cdp *c)
{
	return c->errors ? c->errors : "";
}
