/*
 * The web page with N posts (default 10,000) in its visible week, in
 * Debian's headless Chromium (tests/support/cdp.h) against a real `postpace
 * serve` (scheduler off). The page measures itself with performance.now()
 * and writes the figures into the DOM (#timings); this prints them, over R
 * runs (default 3), each in a fresh browser:
 *   first render: navigation start to the calendar and budgets drawn, and
 *     its parts (the /v1 fetches: posts in pages of 500, plan, limits; the
 *     calendar's DOM; the budgets' SVG);
 *   after a status change: one post's targets change in the database, the
 *     page's next poll (updated_since) finds it, and the calendar is drawn
 *     again (the render alone, and poll + render).
 * Usage: bench_ui [N] [R]      (needs PGTEST_URL, as tests/bench/run.sh sets)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdp.h"
#include "pgtest.h"
#include "proc.h"

#define TOKEN "bench-ui-token-0123456789"

static void seed(PGconn *c, int n)
{
    pgt_exec(c, "INSERT INTO provider_keys (provider, label, plan, secret_ref, base_url) VALUES "
                "('posteverywhere', 'pe', 'default', 'env:K', 'http://127.0.0.1:9'), "
                "('feedhorizon', 'fh', 'default', 'env:K', 'http://127.0.0.1:9'), "
                "('jestha', 'je', 'default', 'env:K', 'http://127.0.0.1:9'), "
                "('schedpilot', 'sp', 'default', 'env:K', 'http://127.0.0.1:9'), "
                "('postlark', 'pl', 'scale', 'env:K', 'http://127.0.0.1:9')");
    /* Spread over five days from the next whole hour, so all fall in the page's 7-day week. */
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO posts (external_id, provider_key_id, account_ids, content, scheduled_at) "
             "SELECT 'b-' || g, k.id, ARRAY['acct-a', 'acct-b'], 'Benchmark post ' || g, "
             "date_trunc('hour', now()) + interval '1 hour' + (g * interval '5 days') / %d "
             "FROM generate_series(1, %d) g JOIN provider_keys k ON k.id = (SELECT min(id) FROM "
             "provider_keys) + g %% 5",
             n, n);
    pgt_exec(c, sql);
    /* Written an hour ago: the page's polls (updated_since, with their 30 s
     * margin) then fetch only what changes, as on a calendar not just imported. */
    pgt_exec(c, "UPDATE posts SET updated_at = now() - interval '1 hour'");
    pgt_exec(c, "UPDATE post_targets SET updated_at = now() - interval '1 hour'");
}

static double timing(struct cdp *c, const char *name)
{
    char js[256];
    snprintf(js, sizeof js, "parseFloat(document.getElementById('timings').dataset.%s)", name);
    return cdp_number(c, js);
}

struct run {
    double rendered_at, fetch, calendar, budgets, update_render, update;
};

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void print_figure(const char *what, double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    printf("  %-46s median %8.1f ms   min %8.1f   max %8.1f\n", what, v[n / 2], v[0], v[n - 1]);
}

static int one_run(PGconn *conn, const char *base, struct run *r)
{
    struct cdp c;
    char url[256];
    snprintf(url, sizeof url, "%s/#token=%s&tz=UTC", base, TOKEN);
    if (cdp_open(&c, url, 1400, 1000, "UTC") != 0 ||
        cdp_await(&c, "document.getElementById('timings').dataset.ready === '1'", 120000) != 0) {
        cdp_close(&c);
        return -1;
    }
    r->rendered_at = timing(&c, "renderedAtMs");
    r->fetch = timing(&c, "fetchMs");
    r->calendar = timing(&c, "calendarMs");
    r->budgets = timing(&c, "budgetsMs");
    printf("  posts on the page: %.0f\n", cdp_number(&c, "document.querySelectorAll('.post')"
                                                          ".length"));
    pgt_exec(conn, "UPDATE post_targets t SET status = 'failed', updated_at = clock_timestamp() "
                   "FROM posts p WHERE p.id = t.post_id AND p.external_id = 'b-77'");
    int rc = cdp_await(&c, "document.getElementById('timings').dataset.updates === '1'", 30000);
    r->update_render = timing(&c, "updateRenderMs");
    r->update = timing(&c, "updateMs");
    pgt_exec(conn, "UPDATE post_targets t SET status = 'scheduled', updated_at = clock_timestamp() "
                   "FROM posts p WHERE p.id = t.post_id AND p.external_id = 'b-77'");
    cdp_close(&c);
    return rc;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 10000, runs = argc > 2 ? atoi(argv[2]) : 3;
    if (!cdp_browser()) {
        fprintf(stderr, "bench_ui: no chromium\n");
        return 1;
    }
    char *db = pgt_create_migrated_db();
    PGconn *conn = pgt_connect(db);
    seed(conn, n);
    struct proc server;
    char *envs[] = {"POSTPACE_API_TOKENS=" TOKEN, "POSTPACE_SCHEDULER=0", "K=unused", NULL};
    int port = proc_serve(&server, db, envs);
    if (port < 0)
        return 1;
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    struct run *r = calloc((size_t)runs, sizeof *r);
    int ok = 0;
    for (int i = 0; i < runs; i++)
        if (one_run(conn, base, &r[ok]) == 0)
            ok++;
    kill(server.pid, SIGTERM);
    proc_wait(&server);
    PQfinish(conn);
    pgt_drop_db(db);
    if (!ok) {
        fprintf(stderr, "bench_ui: no run finished\n");
        return 1;
    }
    double v[6][64];
    for (int i = 0; i < ok && i < 64; i++) {
        v[0][i] = r[i].rendered_at, v[1][i] = r[i].fetch, v[2][i] = r[i].calendar;
        v[3][i] = r[i].budgets, v[4][i] = r[i].update_render, v[5][i] = r[i].update;
    }
    printf("bench_ui: %d posts in the visible week, %d runs (performance.now() in the page)\n", n,
           ok);
    print_figure("first render (navigation start to drawn)", v[0], ok);
    print_figure("  of which /v1 fetches (posts, plan, limits)", v[1], ok);
    print_figure("  of which the calendar's DOM", v[2], ok);
    print_figure("  of which the budgets' SVG", v[3], ok);
    print_figure("render after a status change", v[4], ok);
    print_figure("poll (updated_since) + render after a change", v[5], ok);
    free(r);
    return 0;
}
