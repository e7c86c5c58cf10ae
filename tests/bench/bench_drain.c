/*
 * Drain benchmarks against the simulator (loopback, bounded; pacing
 * efficiency per provider is bench_pacing's):
 *  A. drain rate: every provider's key at time scale 600 with a backlog;
 *     create requests per second until the calendar is settled.
 *  B. drain rate at scale: 1,000 keys (200 per provider, own user/account
 *     each) at time scale 3600, where their limits allow more than the
 *     scheduler can send; targets claimed, sent and recorded per second
 *     (webhooks off: the figure is the scheduler's), and the daemon's peak
 *     RSS. `keys BIG` first adds BIG targets scheduled a day ahead, to show
 *     the calendar is never loaded whole.
 * All report the simulator's 429s and duplicates.
 * Usage: bench_drain [drain|keys [BIG]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drainfx.h"
#include "pgtest.h"
#include "util/xmalloc.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void report(struct drainfx *f, const char *name, double seconds)
{
    json_t *st = sim_ctl_stats(&f->sim);
    long req = sim_ctl_total(st, "create_requests");
    printf("%s: %ld create requests in %.1f s = %.1f/s; %ld created, %ld 429s, %ld duplicates",
           name, req, seconds, req / seconds, sim_ctl_total(st, "created"),
           sim_ctl_total(st, "rate_limited"), sim_ctl_total(st, "duplicates"));
    printf("\n");
    json_decref(st);
}

static int drain_rate(void)
{
    struct drainfx f;
    if (drainfx_setup_scaled(&f, 600) != 0) {
        fprintf(stderr, "drain: set-up failed\n");
        return 1;
    }
    char *env[] = {"POSTPACE_SKEW_MS=5", NULL};
    if (drainfx_start(&f, 0, env) != 0) {
        fprintf(stderr, "drain: daemon did not start\n");
        return 1;
    }
    /* Keys whose limits at x600 allow more than the scheduler can send
     * (FeedHorizon 1,000/s, Postlark Scale 1,666/s, Jestha 100/s): the
     * figure is the scheduler's own throughput. */
    drainfx_posts(&f, "fh", 3000, "{twitter,linkedin}", 0);
    drainfx_posts(&f, "pl", 3000, "{blog1}", 0);
    drainfx_posts(&f, "je", 500, "{main}", 0);
    double t0 = now_s();
    int rc = drainfx_await_settled(&f, 300);
    report(&f, "drain (3 keys at x600, 6500 posts)", now_s() - t0);
    drainfx_teardown(&f);
    return rc != 0;
}


/* ---- C: 1,000 keys ---- */

#define NKEYS 1000

static const struct {
    const char *provider, *prefix, *accounts;
} kinds[5] = {
    {"posteverywhere", "/posteverywhere/api/v1", "{a1,a2,a3,a4,a5,a6,a7,a8}"},
    {"schedpilot", "/schedpilot/developers/v1", "{a1,a2,a3,a4,a5,a6,a7,a8}"},
    {"feedhorizon", "/feedhorizon/v1", "{twitter,linkedin,facebook,instagram,threads,bluesky,mastodon,tiktok}"},
    {"postlark", "/postlark/v1", "{blog1}"},
    {"jestha", "/jestha", "{main}"},
};

/* The simulator's key file: key i of provider i % 5, with its own user/account. */
static char *keys_sim_config(void)
{
    size_t cap = 256 + NKEYS * 200, len = 0;
    char *out = xmalloc(cap);
    len += (size_t)snprintf(out + len, cap - len, "{\"keys\":[");
    for (int i = 0; i < NKEYS; i++)
        len += (size_t)snprintf(out + len, cap - len,
                                "%s{\"provider\":\"%s\",\"key\":\"sk_%d\",\"label\":\"k%d\","
                                "\"user\":\"u%d\",\"account\":\"acct%d\"%s}",
                                i ? "," : "", kinds[i % 5].provider, i, i, i, i,
                                i % 5 == 3 ? ",\"plan\":\"scale\"" : "");
    snprintf(out + len, cap - len, "]}");
    return out;
}

static int keys_setup(struct drainfx *f, const char *secrets_dir, double scale)
{
    memset(f, 0, sizeof *f);
    f->scale = scale;
    f->own_sim_config = 1;
    char *cfg = keys_sim_config();
    int rc = sim_ctl_start(&f->sim, cfg, scale, NULL);
    free(cfg);
    if (rc != 0)
        return -1;
    f->db = pgt_create_migrated_db();
    f->conn = pgt_connect(f->db);
    for (int i = 0; i < NKEYS; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/k%d", secrets_dir, i);
        FILE *fp = fopen(path, "w");
        if (!fp)
            return -1;
        fprintf(fp, "sk_%d\n", i);
        fclose(fp);
    }
    char scale_s[32], n_s[16];
    snprintf(scale_s, sizeof scale_s, "%g", scale);
    snprintf(n_s, sizeof n_s, "%d", NKEYS);
    const char *p[] = {f->sim.base, secrets_dir, scale_s, n_s};
    const char *err = pgt_try(
        f->conn,
        "INSERT INTO provider_keys (provider, label, plan, provider_user_id, provider_account_id, "
        "                           secret_ref, base_url, time_scale) "
        "SELECT (ARRAY['posteverywhere','schedpilot','feedhorizon','postlark','jestha'])[i % 5 + 1], "
        "       'k' || i, CASE WHEN i % 5 = 3 THEN 'scale' ELSE 'default' END, 'u' || i, "
        "       'acct' || i, 'file:' || $2 || '/k' || i, "
        "       $1 || (ARRAY['/posteverywhere/api/v1','/schedpilot/developers/v1','/feedhorizon/v1',"
        "                    '/postlark/v1','/jestha'])[i % 5 + 1], $3::double precision "
        "  FROM generate_series(0, $4::int - 1) i ORDER BY i",
        4, p);
    if (strcmp(err, "00000") != 0) {
        fprintf(stderr, "keys: inserting the keys failed: SQLSTATE %s\n", err);
        return -1;
    }
    return 0;
}

/* per_key posts on every key, scheduled offset_s from now. */
static void keys_posts(struct drainfx *f, int per_key, int offset_s, const char *tag)
{
    for (int kind = 0; kind < 5; kind++) {
        char sql[1024];
        snprintf(sql, sizeof sql,
                 "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at, external_id) "
                 "SELECT k.id, '%s', 'post ' || g || ' for ' || k.label, "
                 "       now() + interval '%d seconds', '%s-' || k.id || '-' || g "
                 "  FROM provider_keys k, generate_series(1, %d) g "
                 " WHERE k.provider = '%s' ORDER BY g, k.id",
                 kinds[kind].accounts, offset_s, tag, per_key, kinds[kind].provider);
        pgt_exec(f->conn, sql);
    }
}

static long peak_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *fp = fopen(path, "r");
    long kib = -1;
    while (fp && fgets(line, sizeof line, fp))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kib = atol(line + 6);
    if (fp)
        fclose(fp);
    return kib;
}

static int keys_rate(long big)
{
    char dir[] = "/tmp/pp-bench-keys.XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    struct drainfx f;
    if (keys_setup(&f, dir, 3600) != 0) {
        fprintf(stderr, "keys: set-up failed\n");
        return 1;
    }
    if (big > 0) {
        double t0 = now_s();
        /* Eight accounts a post on the three batching providers, one on the others. */
        keys_posts(&f, (int)(big / (3 * 8 + 2) / (NKEYS / 5)) + 1, 86400, "later");
        printf("keys: %ld targets scheduled a day ahead, written in %.1f s\n",
               drainfx_count(&f, "SELECT count(*) FROM post_targets"), now_s() - t0);
    }
    /* 20 posts per key: 200 keys x 3 providers x 20 x 8 accounts + 400 keys x 20 = 104,000 targets
     * in 20,000 requests. */
    keys_posts(&f, 20, 0, "now");
    long due = drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE next_attempt_at <= now() + interval '1 minute'");
    char *env[] = {"POSTPACE_SKEW_MS=5", "POSTPACE_MAX_IN_FLIGHT=512", NULL};
    double t0 = now_s();
    long start_ms = drainfx_count(&f, "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint");
    if (drainfx_start(&f, 0, env) != 0) {
        fprintf(stderr, "keys: daemon did not start\n");
        return 1;
    }
    /* Polled once a second through the due index; the figure comes from the
     * targets' own times, so the polling does not round it. */
    int rc = 1;
    while (now_s() - t0 < 300) {
        if (drainfx_count(&f, "SELECT count(*) FROM (SELECT 1 FROM post_targets WHERE status = "
                              "'scheduled' AND next_attempt_at < now() + interval '1 hour' "
                              "UNION ALL SELECT 1 FROM post_targets WHERE status = 'publishing' "
                              "LIMIT 1) x") == 0) {
            rc = 0;
            break;
        }
        sleep(1);
    }
    long end_ms = drainfx_count(&f, "SELECT (extract(epoch FROM max(updated_at)) * 1000)::bigint "
                                    "FROM post_targets WHERE status = 'submitted'");
    double t = (double)(end_ms - start_ms) / 1000.0;
    long rss = peak_rss_kib(f.daemons[0].pid);
    long recorded = drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = 'submitted'");
    report(&f, "keys (1000 keys at x3600)", t);
    printf("keys: %ld due targets, %ld recorded submitted in %.1f s = %.0f targets/s; "
           "daemon peak RSS %.1f MiB%s\n",
           due, recorded, t, recorded / t, rss / 1024.0, rc ? " (TIMED OUT)" : "");
    if (rc)
        drainfx_dump(&f);
    drainfx_teardown(&f);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "keys: could not remove %s\n", dir);
    return rc;
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : "";
    int rc = 0;
    if (!*only || strcmp(only, "drain") == 0)
        rc |= drain_rate();
    if (!*only || strcmp(only, "keys") == 0)
        rc |= keys_rate(argc > 2 ? atol(argv[2]) : 0);
    return rc;
}
