#include "cdp.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CALL_TIMEOUT_MS 60000

static int on_path(const char *name, char *out, size_t len)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(out, len, "%.*s/%s", (int)n, path, name);
        if (access(out, X_OK) == 0)
            return 1;
        path += n + (path[n] == ':');
    }
    return 0;
}

const char *cdp_browser(void)
{
    static char found[1024];
    const char *env = getenv("CHROMIUM");
    if (env && *env)
        return access(env, X_OK) == 0 ? env : NULL;
    static const char *const names[] = {"chromium", "chromium-browser", "google-chrome"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (on_path(names[i], found, sizeof found))
            return found;
    return NULL;
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- messages: JSON, each ended by a NUL byte ---- */

static int send_msg(struct cdp *c, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    size_t n = strlen(text) + 1, off = 0; /* with its NUL */
    while (off < n) {
        ssize_t w = write(c->to_fd, text + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            free(text);
            return -1;
        }
        off += (size_t)w;
    }
    free(text);
    return 0;
}

/* The next whole message, or NULL when the browser is gone or the deadline passes. */
static json_t *recv_msg(struct cdp *c, long deadline)
{
    for (;;) {
        char *end = c->len ? memchr(c->buf, '\0', c->len) : NULL;
        if (end) {
            size_t n = (size_t)(end - c->buf);
            json_t *m = json_loadb(c->buf, n, 0, NULL);
            memmove(c->buf, end + 1, c->len - n - 1);
            c->len -= n + 1;
            return m;
        }
        long left = deadline - now_ms();
        struct pollfd p = {c->from_fd, POLLIN, 0};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return NULL;
        if (c->cap - c->len < 65536) {
            c->cap = c->cap * 2 + 65536;
            c->buf = realloc(c->buf, c->cap);
        }
        ssize_t r = read(c->from_fd, c->buf + c->len, c->cap - c->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return NULL;
        c->len += (size_t)r;
    }
}

/* Sends a command (to the page's session once there is one) and returns its result, or NULL. */
static json_t *call(struct cdp *c, const char *method, json_t *params)
{
    int id = ++c->next_id;
    json_t *msg = json_pack("{s:i, s:s, s:o}", "id", id, "method", method, "params",
                            params ? params : json_object());
    if (c->session)
        json_object_set_new(msg, "sessionId", json_string(c->session));
    int rc = send_msg(c, msg);
    json_decref(msg);
    if (rc != 0)
        return NULL;
    long deadline = now_ms() + CALL_TIMEOUT_MS;
    for (;;) {
        json_t *m = recv_msg(c, deadline);
        if (!m) {
            fprintf(stderr, "cdp: no answer to %s\n", method);
            return NULL;
        }
        if (json_integer_value(json_object_get(m, "id")) != id) {
            json_decref(m); /* an event, or another command's answer */
            continue;
        }
        json_t *err = json_object_get(m, "error"), *res = json_object_get(m, "result");
        if (err) {
            char *e = json_dumps(err, 0);
            fprintf(stderr, "cdp: %s: %s\n", method, e);
            free(e);
            json_decref(m);
            return NULL;
        }
        json_incref(res);
        json_decref(m);
        return res;
    }
}

/* ---- the browser ---- */

static void exec_browser(const char *bin, int in_fd, int out_fd, int w, int h, const char *tz,
                         const char *profile)
{
    /* fds 3 and 4 are the protocol's; move ours clear of them first. */
    int in = fcntl(in_fd, F_DUPFD, 10), out = fcntl(out_fd, F_DUPFD, 10);
    dup2(in, 3);
    dup2(out, 4);
    for (int fd = 5; fd < 1024; fd++)
        close(fd);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    if (!getenv("CDP_VERBOSE"))
        dup2(null, 2);
    setenv("TZ", tz, 1);
    char size[64], dir[128];
    snprintf(size, sizeof size, "--window-size=%d,%d", w, h);
    snprintf(dir, sizeof dir, "--user-data-dir=%s", profile);
    char *argv[] = {(char *)bin,
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--remote-debugging-pipe",
                    "--hide-scrollbars",
                    "--no-first-run",
                    "--disable-extensions",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--mute-audio",
                    size,
                    dir,
                    "about:blank",
                    NULL};
    execv(bin, argv);
    _exit(127);
}

int cdp_open(struct cdp *c, const char *url, int w, int h, const char *tz)
{
    memset(c, 0, sizeof *c);
    c->pid = -1;
    const char *bin = cdp_browser();
    if (!bin) {
        fprintf(stderr, "cdp: no chromium found (install Debian's chromium, or set CHROMIUM)\n");
        return -1;
    }
    snprintf(c->profile, sizeof c->profile, "/tmp/postpace-cdp-XXXXXX");
    if (!mkdtemp(c->profile))
        return -1;
    int to[2], from[2];
    if (pipe(to) != 0 || pipe(from) != 0)
        return -1;
    c->pid = fork();
    if (c->pid == 0)
        exec_browser(bin, to[0], from[1], w, h, tz, c->profile);
    close(to[0]);
    close(from[1]);
    c->to_fd = to[1], c->from_fd = from[0];
    fcntl(c->to_fd, F_SETFD, FD_CLOEXEC);
    fcntl(c->from_fd, F_SETFD, FD_CLOEXEC);
    json_t *t = call(c, "Target.createTarget", json_pack("{s:s}", "url", "about:blank"));
    if (!t)
        return -1;
    json_t *a =
        call(c, "Target.attachToTarget",
             json_pack("{s:O, s:b}", "targetId", json_object_get(t, "targetId"), "flatten", 1));
    json_decref(t);
    if (!a)
        return -1;
    c->session = strdup(json_string_value(json_object_get(a, "sessionId")));
    json_decref(a);
    json_t *r = call(c, "Emulation.setTimezoneOverride", json_pack("{s:s}", "timezoneId", tz));
    json_decref(r);
    r = call(c, "Page.navigate", json_pack("{s:s}", "url", url));
    if (!r)
        return -1;
    json_decref(r);
    return cdp_await(c, "document.readyState === 'complete'", 30000);
}

json_t *cdp_eval(struct cdp *c, const char *js)
{
    json_t *r =
        call(c, "Runtime.evaluate",
             json_pack("{s:s, s:b, s:b}", "expression", js, "returnByValue", 1, "awaitPromise", 1));
    if (!r)
        return NULL;
    json_t *ex = json_object_get(r, "exceptionDetails");
    if (ex) {
        char *e = json_dumps(ex, 0);
        fprintf(stderr, "cdp: exception in %s: %.2000s\n", js, e);
        free(e);
        json_decref(r);
        return NULL;
    }
    json_t *v = json_object_get(json_object_get(r, "result"), "value");
    json_t *out = v ? json_incref(v) : json_null();
    json_decref(r);
    return out;
}

double cdp_number(struct cdp *c, const char *js)
{
    json_t *v = cdp_eval(c, js);
    double d = json_is_number(v) ? json_number_value(v) : -1;
    json_decref(v);
    return d;
}

char *cdp_string(struct cdp *c, const char *js)
{
    json_t *v = cdp_eval(c, js);
    char *s = json_is_string(v) ? strdup(json_string_value(v)) : NULL;
    json_decref(v);
    return s;
}

int cdp_await(struct cdp *c, const char *cond, int timeout_ms)
{
    size_t n = strlen(cond) + 512;
    char *js = malloc(n);
    snprintf(js, n,
             "new Promise((done) => { const until = Date.now() + %d; const look = () => {"
             " let ok = false; try { ok = !!(%s); } catch (e) { ok = false; }"
             " if (ok || Date.now() > until) done(ok); else setTimeout(look, 50); }; look(); })",
             timeout_ms, cond);
    json_t *v = cdp_eval(c, js);
    free(js);
    int ok = json_is_true(v);
    json_decref(v);
    if (!ok)
        fprintf(stderr, "cdp: not true within %d ms: %s\n", timeout_ms, cond);
    return ok ? 0 : -1;
}

int cdp_key(struct cdp *c, const char *key, int vk)
{
    static const char *const types[] = {"rawKeyDown", "keyUp"};
    for (int i = 0; i < 2; i++) {
        json_t *p = json_pack("{s:s, s:s, s:s, s:i, s:i}", "type", types[i], "key", key, "code",
                              key, "windowsVirtualKeyCode", vk, "nativeVirtualKeyCode", vk);
        if (vk == 13 && i == 0) { /* Enter also types a carriage return, which clicks a button */
            json_object_set_new(p, "type", json_string("keyDown"));
            json_object_set_new(p, "text", json_string("\r"));
        }
        json_t *r = call(c, "Input.dispatchKeyEvent", p);
        if (!r)
            return -1;
        json_decref(r);
    }
    return 0;
}

int cdp_screenshot(struct cdp *c, const char *path)
{
    json_t *r = call(c, "Page.captureScreenshot", json_pack("{s:s}", "format", "png"));
    const char *b64 = r ? json_string_value(json_object_get(r, "data")) : NULL;
    if (!b64) {
        json_decref(r);
        return -1;
    }
    size_t n = strlen(b64);
    unsigned char *png = malloc(n / 4 * 3 + 3);
    int len = EVP_DecodeBlock(png, (const unsigned char *)b64, (int)n);
    /* EVP_DecodeBlock counts the '=' padding as bytes: take them off. */
    for (size_t i = n; i > 0 && b64[i - 1] == '='; i--)
        len--;
    FILE *f = len > 0 ? fopen(path, "wb") : NULL;
    int rc = f && fwrite(png, 1, (size_t)len, f) == (size_t)len ? 0 : -1;
    if (f)
        fclose(f);
    free(png);
    json_decref(r);
    return rc;
}

static void remove_tree(const char *dir)
{
    pid_t p = fork();
    if (p == 0) {
        execlp("rm", "rm", "-rf", dir, (char *)NULL);
        _exit(127);
    }
    if (p > 0)
        waitpid(p, NULL, 0);
}

void cdp_close(struct cdp *c)
{
    free(c->session);
    c->session = NULL; /* Browser.close is the browser's, not the page's */
    if (c->pid > 0) {
        json_t *r = call(c, "Browser.close", NULL);
        json_decref(r);
        close(c->to_fd);
        close(c->from_fd);
        for (int i = 0; i < 100; i++) {
            if (waitpid(c->pid, NULL, WNOHANG) == c->pid) {
                c->pid = -1;
                break;
            }
            usleep(50 * 1000);
        }
        if (c->pid > 0) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, NULL, 0);
        }
    }
    if (c->profile[0])
        remove_tree(c->profile);
    free(c->buf);
    memset(c, 0, sizeof *c);
}
