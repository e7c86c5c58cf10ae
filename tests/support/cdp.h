/*
 * cdp: a headless Chromium driven over the DevTools protocol, for the web
 * page's browser tests and benchmark. The protocol runs over a pipe
 * (--remote-debugging-pipe: JSON messages ending in NUL on fds 3 and 4), so
 * nothing but Debian's `chromium` is needed: no WebSocket, no Node, no
 * Python. A test awaits a condition evaluated in the page instead of
 * sleeping a fixed time.
 */
#ifndef POSTPACE_TESTS_CDP_H
#define POSTPACE_TESTS_CDP_H

#include <jansson.h>
#include <sys/types.h>

struct cdp {
    pid_t pid;
    int to_fd, from_fd; /* our ends: we write to its fd 3, read from its fd 4 */
    char *buf;          /* bytes read past the last whole message */
    size_t len, cap;
    int next_id;
    char *session; /* the page's session id */
    char profile[64];
};

/*
 * The browser's path: $CHROMIUM, else the first of chromium,
 * chromium-browser, google-chrome on PATH; NULL when none is installed.
 */
const char *cdp_browser(void);

/*
 * Starts the browser (window w x h, time zone tz) and opens `url` in a page.
 * Returns 0, or -1 with a reason on stderr.
 */
int cdp_open(struct cdp *c, const char *url, int w, int h, const char *tz);

/*
 * Evaluates `js` in the page (a promise is awaited) and returns its value
 * (the caller json_decref's it), or NULL on an exception, with it on stderr.
 */
json_t *cdp_eval(struct cdp *c, const char *js);

/* The value of `js` as a number / a string (malloc'd), -1 / NULL on failure. */
double cdp_number(struct cdp *c, const char *js);
char *cdp_string(struct cdp *c, const char *js);

/* Waits until `cond` (a JS expression) is truthy, polling every 50 ms in the page, at most
 * timeout_ms. 0 or -1. */
int cdp_await(struct cdp *c, const char *cond, int timeout_ms);

/*
 * Presses and releases a key through the browser's input pipeline, as a
 * user would: `key` a DOM key name ("Tab", "ArrowDown", "Enter"), `vk` its
 * Windows virtual key code (9, 40, 13). 0 or -1.
 */
int cdp_key(struct cdp *c, const char *key, int vk);

/* Writes a PNG of the page's viewport to `path`. 0 or -1. */
int cdp_screenshot(struct cdp *c, const char *path);

/* Closes the browser and removes its profile. */
void cdp_close(struct cdp *c);

#endif
