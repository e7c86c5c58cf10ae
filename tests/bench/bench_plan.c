/*
 * Benchmark for plan: the `postpace plan` simulation over 100,000 pending
 * posts spread over the five providers' keys (target: under 2 s, peak RSS
 * under 64 MiB). Part 1 calls the plan module on targets generated in
 * memory; part 2, when PGTEST_URL names a cluster (tests/bench/run.sh sets
 * it), times the whole command against a database holding the same load.
 * Prints figures; never pass/fail.   ./bench_plan [posts]
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pgtest.h"
#include "plan/plan.h"

#define SEC 1000ULL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define T0 1709647200000ULL
#define KEYS_PER_PROVIDER 20

static const struct lim_row rows[] = {
    {"posteverywhere", NULL, 0, LIM_SCOPE_KEY, "*", LIM_ROLLING, MIN, 60, LIM_COST_REQUEST},
    {"posteverywhere", NULL, 0, LIM_SCOPE_KEY, "*", LIM_ROLLING, HOUR, 1000, LIM_COST_REQUEST},
    {"posteverywhere", NULL, 0, LIM_SCOPE_KEY, "*", LIM_ROLLING, DAY, 10000, LIM_COST_REQUEST},
    {"posteverywhere", NULL, 0, LIM_SCOPE_KEY, "POST /posts", LIM_ROLLING, MIN, 20,
     LIM_COST_REQUEST},
    {"posteverywhere", NULL, 0, LIM_SCOPE_KEY, "POST /posts", LIM_ROLLING, HOUR, 100,
     LIM_COST_REQUEST},
    {"posteverywhere", NULL, 0, LIM_SCOPE_KEY, "POST /posts", LIM_ROLLING, DAY, 500,
     LIM_COST_REQUEST},
    {"schedpilot", NULL, 0, LIM_SCOPE_USER, "read", LIM_FIXED, HOUR, 60, LIM_COST_REQUEST},
    {"schedpilot", NULL, 0, LIM_SCOPE_USER, "write", LIM_FIXED, HOUR, 30, LIM_COST_REQUEST},
    {"feedhorizon", NULL, 0, LIM_SCOPE_KEY, "*", LIM_ROLLING, MIN, 100, LIM_COST_REQUEST},
    {"postlark", "creator", 0, LIM_SCOPE_KEY, "*", LIM_FIXED, HOUR, 1000, LIM_COST_REQUEST},
    {"postlark", "creator", 0, LIM_SCOPE_ACCOUNT, "POST /posts", LIM_CALENDAR_MONTH, 0, 50,
     LIM_COST_POST},
    {"jestha", NULL, 0, LIM_SCOPE_KEY, "*", LIM_ROLLING, MIN, 60, LIM_COST_REQUEST},
    {"jestha", NULL, 0, LIM_SCOPE_KEY, "*", LIM_ROLLING, DAY, 10000, LIM_COST_REQUEST},
    {"jestha", NULL, 0, LIM_SCOPE_KEY, "POST /api/posts", LIM_ROLLING, MIN, 10, LIM_COST_REQUEST},
    {"jestha", NULL, 0, LIM_SCOPE_ACCOUNT, "POST /api/posts", LIM_FIXED, DAY, 1000, LIM_COST_POST},
};
#define NROWS (sizeof rows / sizeof rows[0])

static const struct {
    const char *name, *plan, *route;
    uint32_t batch;
} provs[5] = {
    {"posteverywhere", "default", "POST /posts", 100}, {"schedpilot", "default", "POST /post", 100},
    {"feedhorizon", "default", "POST /posts", 100},    {"postlark", "creator", "POST /posts", 1},
    {"jestha", "default", "POST /api/posts", 1},
};

struct bkey {
    uint32_t buckets[16];
    size_t n;
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kib(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return ru.ru_maxrss;
}

static void build_keys(struct lim_set *s, struct bkey *bk, struct plan_key *pk)
{
    for (size_t p = 0; p < 5; p++) {
        const struct lim_row *sel[NROWS];
        size_t nsel = lim_rows_select(rows, NROWS, provs[p].name, provs[p].plan, 0, sel);
        for (size_t i = 0; i < KEYS_PER_PROVIDER; i++) {
            struct bkey *k = &bk[p * KEYS_PER_PROVIDER + i];
            for (enum lim_scope sc = LIM_SCOPE_KEY; sc <= LIM_SCOPE_ACCOUNT; sc++)
                k->n += lim_set_add_rows(s, sel, nsel, sc, 1, k->buckets + k->n);
            struct plan_key x = {k->buckets, k->n, provs[p].route, provs[p].batch};
            pk[p * KEYS_PER_PROVIDER + i] = x;
        }
    }
}

/* n posts, uniformly over a week, on keys round robin; batching providers
 * get 1-3 accounts per post. Returns the number of targets. */
static size_t gen_targets(struct plan_target *t, size_t nposts, size_t nkeys)
{
    size_t n = 0;
    srand(42);
    for (size_t i = 0; i < nposts; i++) {
        uint32_t key = (uint32_t)(i % nkeys);
        uint64_t at = T0 + (uint64_t)rand() % (7 * DAY) / MIN * MIN;
        size_t accounts = provs[key / KEYS_PER_PROVIDER].batch > 1 ? 1 + (size_t)rand() % 3 : 1;
        for (size_t a = 0; a < accounts; a++, n++) {
            struct plan_target x = {(int64_t)n + 1, (int64_t)i + 1, key, at, at, 0};
            t[n] = x;
        }
    }
    return n;
}

static void print_summary(const struct plan_summary *s)
{
    printf("  %zu requests (%zu posts, %zu targets): %zu on time, %zu late (max %.1f h, avg %.1f "
           "min), %zu never, %zu beyond\n",
           s->requests, s->posts, s->targets, s->on_time, s->late, (double)s->max_late_ms / HOUR,
           s->late ? (double)s->sum_late_ms / (double)s->late / MIN : 0.0, s->never, s->beyond);
}

static void bench_memory(size_t nposts)
{
    long rss0 = peak_rss_kib(RUSAGE_SELF);
    struct lim_set *s = lim_set_create(NULL);
    struct bkey bk[5 * KEYS_PER_PROVIDER] = {{{0}, 0}};
    struct plan_key pk[5 * KEYS_PER_PROVIDER];
    build_keys(s, bk, pk);
    struct plan_target *t = malloc(nposts * 3 * sizeof *t);
    size_t n = gen_targets(t, nposts, 5 * KEYS_PER_PROVIDER);
    struct plan_opts o = {T0, T0, T0 + 30 * DAY};
    struct plan_result *res;
    size_t nres;
    struct plan_summary sum;
    double t0 = mono_s();
    plan_run(s, pk, 5 * KEYS_PER_PROVIDER, t, n, &o, &res, &nres, &sum);
    double dt = mono_s() - t0;
    printf("plan module: %zu posts, %zu targets, %d keys, 30-day range: %.3f s, peak RSS %.1f MiB "
           "(%.1f MiB before)\n",
           nposts, n, 5 * KEYS_PER_PROVIDER, dt, (double)peak_rss_kib(RUSAGE_SELF) / 1024,
           (double)rss0 / 1024);
    print_summary(&sum);
    free(res);
    free(t);
    lim_set_destroy(s);
}

/* ---- the whole command against a database ---- */

static void seed_db(const char *ci, size_t nposts)
{
    PGconn *c = pgt_connect(ci);
    char sql[2048];
    for (size_t p = 0; p < 5; p++) {
        snprintf(
            sql, sizeof sql,
            "INSERT INTO provider_keys (provider, label, plan, provider_account_id, secret_ref)"
            " SELECT '%s', 'k' || g, '%s', 'acct_%s_' || g, 'env:K' FROM generate_series(1, %d) g",
            provs[p].name, provs[p].plan, provs[p].name, KEYS_PER_PROVIDER);
        pgt_exec(c, sql);
    }
    snprintf(sql, sizeof sql,
             "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at)"
             " SELECT k.id, CASE WHEN k.provider IN ('postlark', 'jestha') THEN ARRAY['a']"
             "                   ELSE (ARRAY['a', 'b', 'c'])[1:1 + g %% 3] END, 'post ' || g,"
             "        date_trunc('minute', now()) + (g * 6047 %% 10080) * interval '1 minute'"
             "   FROM generate_series(1, %zu) g"
             "   JOIN provider_keys k ON k.id = 1 + g %% %d",
             nposts, 5 * KEYS_PER_PROVIDER);
    pgt_exec(c, sql);
    PQfinish(c);
}

static void bench_command(size_t nposts)
{
    char *ci = pgt_create_migrated_db();
    double t0 = mono_s();
    seed_db(ci, nposts);
    printf("database: %zu posts inserted in %.1f s\n", nposts, mono_s() - t0);
    t0 = mono_s();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        setenv("DATABASE_URL", ci, 1);
        execl(pgt_postpace_bin(), "postpace", "plan", "--json", (char *)NULL);
        _exit(127);
    }
    int st;
    struct rusage ru;
    wait4(pid, &st, 0, &ru);
    printf("postpace plan --json (7 days, JSON to /dev/null): exit %d, %.3f s wall, %.3f s user, "
           "peak RSS %.1f MiB\n",
           WIFEXITED(st) ? WEXITSTATUS(st) : -1, mono_s() - t0,
           (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
           (double)ru.ru_maxrss / 1024);
    pgt_drop_db(ci);
}

int main(int argc, char **argv)
{
    size_t nposts = argc > 1 ? (size_t)atol(argv[1]) : 100000;
    bench_memory(nposts);
    if (getenv("PGTEST_URL") && *getenv("PGTEST_URL"))
        bench_command(nposts);
    else
        printf("(set PGTEST_URL, or use tests/bench/run.sh, to time the command on a database)\n");
    return 0;
}
