/* DESIGN: test support for tests/faults only; used from a test's main thread. */
#include "faultfx.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "logfmt.h"
#include "util/xmalloc.h"

unsigned ffx_seed(const char *test)
{
    const char *env = getenv("FAULT_SEED");
    unsigned seed = env && *env ? (unsigned)strtoul(env, NULL, 10)
                                : (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    srand(seed);
    printf("%s: seed=%u (replay: FAULT_SEED=%u)\n", test, seed, seed);
    fflush(stdout);
    return seed;
}

int ffx_rand(int lo, int hi)
{
    return lo + (int)((double)rand() / ((double)RAND_MAX + 1.0) * (hi - lo + 1));
}

long ffx_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int ffx_await_count(struct drainfx *f, const char *sql, long want, int timeout_ms)
{
    long deadline = ffx_now_ms() + timeout_ms;
    while (ffx_now_ms() < deadline) {
        if (drainfx_count(f, sql) >= want)
            return 0;
        usleep(50 * 1000);
    }
    return -1;
}

int ffx_sim_verdict(struct drainfx *f, struct ffx_verdict *v)
{
    json_t *s = sim_ctl_stats(&f->sim);
    if (!s)
        return -1;
    v->create_requests = sim_ctl_total(s, "create_requests");
    v->created = sim_ctl_total(s, "created");
    v->rate_limited = sim_ctl_total(s, "rate_limited");
    v->duplicates = sim_ctl_total(s, "duplicates");
    v->server_errors = sim_ctl_total(s, "server_errors");
    v->dropped = sim_ctl_total(s, "dropped");
    json_decref(s);
    return 0;
}

void ffx_targets(struct drainfx *f, struct ffx_targets *t)
{
    t->total = drainfx_count(f, "SELECT count(*) FROM post_targets");
    t->published = drainfx_count(f, "SELECT count(*) FROM post_targets WHERE status = 'published'");
    t->failed = drainfx_count(f, "SELECT count(*) FROM post_targets WHERE status = 'failed'");
    t->unsettled = drainfx_count(f, "SELECT count(*) FROM post_targets WHERE status NOT IN "
                                    "('published', 'failed', 'cancelled', 'expired')");
}

static int run_pg_private(struct ffx_cluster *c, const char *verb, char *out, size_t size)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "PG_PRIVATE_OPTS='-c fsync=off -c max_connections=100' %s/deploy/pg-private.sh %s %s",
             POSTPACE_SOURCE_DIR, verb, c->dir);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    if (out) {
        if (!fgets(out, (int)size, p))
            out[0] = '\0';
        out[strcspn(out, "\n")] = '\0';
    } else {
        char sink[256];
        while (fgets(sink, sizeof sink, p))
            ;
    }
    int st = pclose(p);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int ffx_cluster(struct ffx_cluster *c, const char *verb)
{
    if (!c->dir[0]) {
        snprintf(c->dir, sizeof c->dir, "/tmp/postpace-faults-XXXXXX");
        if (!mkdtemp(c->dir))
            return -1;
        chmod(c->dir, 0755);
    }
    if (strcmp(verb, "start") == 0)
        return run_pg_private(c, verb, c->conninfo, sizeof c->conninfo) == 0 && c->conninfo[0] ? 0
                                                                                               : -1;
    return run_pg_private(c, verb, NULL, 0);
}

void ffx_cluster_destroy(struct ffx_cluster *c)
{
    if (!c->dir[0])
        return;
    run_pg_private(c, "stop", NULL, 0);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", c->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "faultfx: could not remove %s\n", c->dir);
    c->dir[0] = '\0';
}

char *ffx_log(const struct proc *p)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (len + 1 >= cap)
            buf = xrealloc(buf, cap *= 2);
        ssize_t n = pread(p->err_fd, buf + len, cap - len - 1, (off_t)len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    char err[512];
    if (lf_check_text(buf, err, sizeof err) < 0) {
        fprintf(stderr, "ffx_log: the daemon's log is not logfmt: %s\n", err);
        fail_msg("the daemon's log is not logfmt: %s", err);
    }
    return buf;
}

int ffx_alive(struct proc *p)
{
    if (p->exited || p->pid <= 0)
        return 0;
    int status;
    if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
        p->exited = 1;
        p->status = status;
        return 0;
    }
    return 1;
}
