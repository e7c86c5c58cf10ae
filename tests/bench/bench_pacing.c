/*
 * Pacing efficiency per provider profile (issue #5). For each provider, one
 * key at a time scale where its binding limit turns over every few seconds,
 * a backlog far deeper than the run, and a run of SECONDS (default 60):
 *
 *   postpace  the daemon drains the backlog against the simulator;
 *   naive     what the providers' sample code does: send at once, and on a
 *             429 sleep for what the answer says (Retry-After, the body's
 *             retry field, else one second), against a fresh simulator.
 *
 * A run ends just before its binding window turns over (a whole number of
 * rolling windows after the first send, or the last clock-aligned boundary
 * within SECONDS): a window's worth that opens in the last milliseconds
 * would make the figures depend on where the run happens to stop.
 * Each is compared with two maxima over the same elapsed time, computed by
 * the limiter in virtual time from the same start, with no skew margin:
 *   spread    the documented windows with sends spread evenly inside the
 *             shortest one, as the providers' docs ask (README "Rate limits");
 *   greedy    the documented windows alone (every window filled at once).
 * Usage: bench_pacing [PROFILE|all|scale60] [SECONDS], PROFILE a provider name
 * (its quota at a high time scale) or NAME-60 (its short windows at scale 60)
 * Needs PGTEST_URL (a cluster); prints one block per provider.
 */
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "drainfx.h"
#include "pgtest.h"
#include "provider/provider.h"
#include "registry/registry.h"

struct profile {
    const char *name; /* what the command line names */
    enum prov_id id;
    const char *prefix;   /* the simulator's path prefix */
    const char *plan;
    const char *accounts; /* one account: one target per request */
    double scale;         /* the binding window lasts a few seconds */
    int fixed;            /* the binding window is clock-aligned (else rolling) */
    double period_ms;     /* its length after scaling */
    const char *binding;  /* for the printout */
};

static const struct profile profiles[] = {
    {"posteverywhere", PROV_POSTEVERYWHERE, "/posteverywhere/api/v1", "default", "{a1}", 5760, 0,
     15000, "POST /posts 500/day rolling (a day = 15 s)"},
    {"schedpilot", PROV_SCHEDPILOT, "/schedpilot/developers/v1", "default", "{a1}", 360, 1, 10000,
     "writes 30/clock hour per user (an hour = 10 s)"},
    {"feedhorizon", PROV_FEEDHORIZON, "/feedhorizon/v1", "default", "{twitter}", 6, 0, 10000,
     "100/60 s rolling (60 s = 10 s)"},
    {"postlark", PROV_POSTLARK, "/postlark/v1", "creator", "{blog1}", 172800, 1, 15000,
     "creator: 50 posts/month (a month = 15 s)"},
    {"jestha", PROV_JESTHA, "/jestha", "default", "{main}", 1440, 1, 60000,
     "1,000 posts/UTC day per account (a day = 60 s)"},
    /* Time scale 60, where the short windows bind and a send a few ms late
     * is a visible loss (issue #22: claim ahead, fire at the slot). */
    {"posteverywhere-60", PROV_POSTEVERYWHERE, "/posteverywhere/api/v1", "default", "{a1}", 60, 0,
     60000, "POST /posts 20/60 s and 100/hour rolling (an hour = 60 s)"},
    {"schedpilot-60", PROV_SCHEDPILOT, "/schedpilot/developers/v1", "default", "{a1}", 60, 1,
     60000, "writes 30/clock hour per user (an hour = 60 s)"},
    {"feedhorizon-60", PROV_FEEDHORIZON, "/feedhorizon/v1", "default", "{twitter}", 60, 0, 1000,
     "100/60 s rolling (60 s = 1 s)"},
    {"jestha-60", PROV_JESTHA, "/jestha", "default", "{main}", 60, 0, 1000,
     "POST /api/posts 10/60 s rolling (60 s = 1 s)"},
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static char *sim_config(const struct profile *p, char *buf, size_t size)
{
    snprintf(buf, size,
             "{\"keys\":[{\"provider\":\"%s\",\"key\":\"bench_key_1\",\"label\":\"k\","
             "\"user\":\"u1\",\"account\":\"acct1\"%s%s%s}]}",
             prov_name(p->id), p->id == PROV_POSTLARK ? ",\"plan\":\"" : "",
             p->id == PROV_POSTLARK ? p->plan : "", p->id == PROV_POSTLARK ? "\"" : "");
    return buf;
}

static int setup(struct drainfx *f, const struct profile *p)
{
    memset(f, 0, sizeof *f);
    f->scale = p->scale;
    f->own_sim_config = 1;
    char cfg[512];
    if (sim_ctl_start(&f->sim, sim_config(p, cfg, sizeof cfg), p->scale, NULL) != 0)
        return -1;
    f->db = pgt_create_migrated_db();
    f->conn = pgt_connect(f->db);
    char base[160], scale[32];
    snprintf(base, sizeof base, "%s%s", f->sim.base, p->prefix);
    snprintf(scale, sizeof scale, "%g", p->scale);
    const char *params[] = {prov_name(p->id), p->plan, base, scale};
    const char *st = pgt_try(f->conn,
                             "INSERT INTO provider_keys (provider, label, plan, provider_user_id, "
                             "provider_account_id, secret_ref, base_url, time_scale) "
                             "VALUES ($1, 'k', $2, 'u1', 'acct1', 'env:PP_BENCH_KEY', $3, $4)",
                             4, params);
    return strcmp(st, "00000") == 0 ? 0 : -1;
}

/* Sends the limiter allows in [start, end) from a cold start, skew 0. */
static long oracle(PGconn *c, int spread, uint64_t start, uint64_t end)
{
    struct lim_config cfg;
    lim_config_init(&cfg);
    cfg.skew_ms = 0;
    if (!spread)
        cfg.pace_max_window_ms = 0;
    struct registry reg;
    char err[256];
    if (reg_load(&reg, c, &cfg, err, sizeof err) != 0 || reg.nkeys != 1) {
        fprintf(stderr, "pacing: registry: %s\n", err);
        return -1;
    }
    struct lim_req req;
    reg_request(&reg.keys[0], prov_create_route(reg.keys[0].provider), 1, 1, &req);
    long n = 0;
    for (uint64_t t = start;;) {
        t = lim_next_slot(reg.limits, &req, t);
        if (t == LIM_NEVER || t >= end)
            break;
        lim_commit(reg.limits, &req, t);
        n++;
    }
    reg_finish(&reg);
    return n;
}

/* ---- the naive client ---- */

struct naive_resp {
    char body[4096];
    size_t len;
    long retry_after;
};

static size_t naive_body(char *d, size_t size, size_t n, void *arg)
{
    struct naive_resp *r = arg;
    size_t len = size * n, room = sizeof r->body - 1 - r->len;
    memcpy(r->body + r->len, d, len < room ? len : room);
    r->len += len < room ? len : room;
    r->body[r->len] = '\0';
    return len;
}

static size_t naive_header(char *d, size_t size, size_t n, void *arg)
{
    struct naive_resp *r = arg;
    if (size * n > 12 && strncasecmp(d, "retry-after:", 12) == 0)
        r->retry_after = atol(d + 12);
    return size * n;
}

/* Posts for `seconds`; returns the requests the provider accepted, *limited the 429s. */
static long naive(const struct profile *p, const char *base, double seconds, long *limited,
                  double *first_s)
{
    const struct prov_ops *ops = prov_ops(p->id);
    char url[256], auth[128];
    snprintf(url, sizeof url, "%s%s%s", base, p->prefix, ops->create_path);
    snprintf(auth, sizeof auth, "%sbench_key_1", ops->auth_prefix);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    CURL *e = curl_easy_init();
    char account[32];
    snprintf(account, sizeof account, "%.*s", (int)strlen(p->accounts) - 2, p->accounts + 1);
    const char *accounts[] = {account};
    long ok = 0;
    *limited = 0;
    *first_s = now_s();
    for (long i = 0; now_s() - *first_s < seconds; i++) {
        char ref[64];
        snprintf(ref, sizeof ref, "naive-%ld", i);
        struct prov_post post = {"naive bench post", "[]", accounts, 1, ref, NULL};
        char *body = ops->encode_create(&post);
        struct naive_resp r = {.retry_after = -1};
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, naive_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &r);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, naive_header);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, &r);
        long status = 0;
        if (curl_easy_perform(e) == CURLE_OK)
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        free(body);
        if (status >= 200 && status < 300) {
            ok++;
        } else if (status == 429) {
            (*limited)++;
            struct prov_error pe;
            ops->decode_error(r.body, r.len, &pe);
            long wait = r.retry_after >= 0 ? r.retry_after : pe.retry_after_s >= 0 ? pe.retry_after_s : 1;
            double left = seconds - (now_s() - *first_s);
            usleep((useconds_t)(1e6 * (wait < left ? (double)wait : left > 0 ? left : 0)));
        } else {
            fprintf(stderr, "naive: HTTP %ld: %s\n", status, r.body);
            break;
        }
    }
    curl_easy_cleanup(e);
    curl_slist_free_all(h);
    return ok;
}

/* Just before the binding window turns over, about `seconds` after `first`,
 * and at least half a window after it: for a clock-aligned window the last
 * millisecond of its period (a paced period spends its budget up to its
 * end, less the skew margin), for a rolling one 50 ms before a whole number
 * of windows since the first send. */
static double run_end(const struct profile *p, double first, int seconds)
{
    double period = p->period_ms / 1000.0, end;
    if (p->fixed) {
        end = floor((first + seconds) / period) * period - 0.001;
        while (end < first + period / 2)
            end += period;
    } else {
        end = first + (seconds >= period ? floor(seconds / period) : 1) * period - 0.05;
    }
    return end;
}

static int run_profile(const struct profile *p, int seconds)
{
    struct drainfx f;
    if (setup(&f, p) != 0) {
        fprintf(stderr, "pacing: set-up of %s failed\n", prov_name(p->id));
        return 1;
    }
    /* A backlog no run can drain: ten times what the window allows. */
    long backlog = 10 * oracle(f.conn, 0, (uint64_t)(now_s() * 1000),
                               (uint64_t)((now_s() + seconds) * 1000)) + 100;
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at, external_id) "
             "SELECT (SELECT id FROM provider_keys), '%s', 'bench post ' || g, "
             "       now() - interval '1 second', 'b-' || g FROM generate_series(1, %ld) g",
             p->accounts, backlog);
    pgt_exec(f.conn, sql);
    /* The skew margin is real time, not scaled: 20 ms is 2% of a 1 s window,
     * so the scale-60 profiles keep 5 ms (loopback, one clock). */
    char *env[] = {"PP_BENCH_KEY=bench_key_1",
                   p->scale == 60 ? "POSTPACE_SKEW_MS=5" : "POSTPACE_SKEW_MS=20", NULL};
    if (drainfx_start(&f, 0, env) != 0) {
        fprintf(stderr, "pacing: daemon did not start\n");
        drainfx_dump(&f);
        drainfx_teardown(&f);
        return 1;
    }
    double start = now_s();
    while (now_s() - start < 30 && drainfx_count(&f, "SELECT count(*) FROM attempts") == 0)
        usleep(1000);
    double first = (double)drainfx_count(&f, "SELECT (extract(epoch FROM min(sent_at)) * 1000)::bigint "
                                             "FROM attempts") / 1000.0;
    double until = run_end(p, first, seconds);
    while (now_s() < until)
        usleep((useconds_t)(1e6 * (until - now_s() > 0.5 ? 0.5 : until - now_s() + 0.001)));
    /* Counted from the sends postpace recorded before the end, answered 2xx
     * (once the last answers are in), not from the simulator's total at the
     * moment it is read, which a send of the next period could reach first. */
    usleep(500 * 1000);
    json_t *st = sim_ctl_stats(&f.sim);
    double end = until;
    char count_sql[256];
    snprintf(count_sql, sizeof count_sql,
             "SELECT count(*) FROM attempts WHERE outcome = 'ok' AND sent_at < to_timestamp(%.3f)",
             end);
    long created = drainfx_count(&f, count_sql);
    long limited = sim_ctl_total(st, "rate_limited"), dups = sim_ctl_total(st, "duplicates");
    json_decref(st);
    drainfx_stop(&f, 0, 0);
    uint64_t s_ms = (uint64_t)(first * 1000), e_ms = (uint64_t)(end * 1000);
    long spread = oracle(f.conn, 1, s_ms, e_ms), greedy = oracle(f.conn, 0, s_ms, e_ms);
    printf("%s — binding: %s, time scale %g, %.1f s\n", p->name, p->binding, p->scale,
           end - first);
    printf("  postpace: %5ld accepted, %ld 429s, %ld duplicates: %5.1f%% of spread max %ld, "
           "%5.1f%% of greedy max %ld\n",
           created, limited, dups, 100.0 * created / spread, spread, 100.0 * created / greedy,
           greedy);
    if (created < spread * 98 / 100) {
        /* Say why: where the calendar stands, and the daemon's log. */
        PGresult *r = PQexec(f.conn, "SELECT status, count(*), min(last_error::text) "
                                     "FROM post_targets GROUP BY 1 ORDER BY 1");
        for (int i = 0; i < PQntuples(r); i++)
            printf("    %s: %s %s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                   PQgetvalue(r, i, 2));
        PQclear(r);
        proc_read_available(&f.daemons[0]);
        printf("    daemon log (end):\n%s\n", f.daemons[0].out + (strlen(f.daemons[0].out) > 3000
                                                         ? strlen(f.daemons[0].out) - 3000 : 0));
    }
    /* The naive client against a fresh simulator (windows empty again). */
    char cfg[512];
    sim_ctl_stop(&f.sim);
    if (sim_ctl_start(&f.sim, sim_config(p, cfg, sizeof cfg), p->scale, NULL) != 0)
        return 1;
    long naive_limited;
    double nfirst = now_s(), nend = run_end(p, nfirst, seconds);
    long nok = naive(p, f.sim.base, nend - nfirst, &naive_limited, &nfirst);
    nend = now_s();
    long nspread = oracle(f.conn, 1, (uint64_t)(nfirst * 1000), (uint64_t)(nend * 1000));
    long ngreedy = oracle(f.conn, 0, (uint64_t)(nfirst * 1000), (uint64_t)(nend * 1000));
    printf("  naive:    %5ld accepted, %ld 429s:               %5.1f%% of spread max %ld, "
           "%5.1f%% of greedy max %ld\n",
           nok, naive_limited, 100.0 * nok / nspread, nspread, 100.0 * nok / ngreedy, ngreedy);
    drainfx_teardown(&f);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *only = argc > 1 ? argv[1] : "all";
    int seconds = argc > 2 ? atoi(argv[2]) : 60;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = 0, ran = 0;
    for (size_t i = 0; i < sizeof profiles / sizeof profiles[0]; i++) {
        const char *name = profiles[i].name;
        int at60 = strstr(name, "-60") != NULL;
        if (strcmp(only, "all") != 0 && strcmp(only, name) != 0 &&
            !(strcmp(only, "scale60") == 0 && at60))
            continue;
        ran++;
        rc |= run_profile(&profiles[i], seconds);
    }
    curl_global_cleanup();
    if (!ran)
        fprintf(stderr, "usage: bench_pacing [PROFILE|all|scale60] [SECONDS]\n");
    return rc || !ran;
}
