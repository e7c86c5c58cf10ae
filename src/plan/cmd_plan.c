/*
 * DESIGN: `postpace plan`: the calendar's unsettled targets run through the
 * limiter in virtual time (plan.c) from the live state (every key's history
 * replayed), printed per request as a table or as JSON. The wall clock is
 * read once. JSON is streamed one request object at a time, so 100,000
 * requests do not build one 100,000-object tree. Reads only.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "db/db.h"
#include "util/cli.h"
#include "plan/view.h"
#include "plan/commands.h"
#include "util/rfc3339.h"
#include "provider/provider.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define WEEK_MS (7ULL * 24 * 3600 * 1000)

struct plan_args {
    const char *from, *to;
    int json;
};

/* Everything one run needs to print its answer. */
struct plan_run_out {
    const struct plan_view *db;
    const struct plan_key *keys;
    const struct plan_target *targets;
    const struct plan_result *res;
    size_t nres;
    struct plan_summary sum;
    struct plan_opts opts;
};

static int parse_time_flag(const char *flag, const char *v, uint64_t *ms)
{
    int64_t us;
    enum rfc3339_err e = rfc3339_parse_instant(v, &us);
    if (e == RFC3339_E_OK) {
        *ms = (uint64_t)(us / 1000);
        return 0;
    }
    return cli_usage_error("--%s: \"%s\": %s", flag, v, rfc3339_strerror(e));
}

static int parse_args(int argc, char **argv, uint64_t now, struct plan_args *a, struct plan_opts *o)
{
    memset(a, 0, sizeof *a);
    const struct cli_flag flags[] = {
        {"from", 1, &a->from, NULL},
        {"to", 1, &a->to, NULL},
        {"json", 0, NULL, &a->json},
    };
    int rc = cli_parse("plan", flags, sizeof flags / sizeof flags[0], argc, argv);
    o->now_ms = o->from_ms = now;
    if (rc || (a->from && (rc = parse_time_flag("from", a->from, &o->from_ms))))
        return rc;
    o->to_ms = o->from_ms + WEEK_MS;
    if (a->to && (rc = parse_time_flag("to", a->to, &o->to_ms)))
        return rc;
    if (o->to_ms <= o->from_ms)
        return cli_usage_error("--to: must be later than --from");
    return 0;
}

/* ---- input ---- */

static int load_targets(const struct plan_view *db, const struct plan_key *keys, uint64_t to,
                        struct plan_target **out, size_t *n)
{
    char err[512];
    if (plan_view_targets(db, keys, to, out, n, err, sizeof err) != 0) {
        log_error("cannot read the calendar", LOG_STR("reason", err));
        return -1;
    }
    return 0;
}

/* ---- shared pieces of both outputs ---- */

static const struct reg_key *key_of(const struct plan_run_out *p, const struct plan_result *r)
{
    return &p->db->snap.reg.keys[r->key];
}

/* Whether the result carries a decision worth naming (a slot or NEVER). */
static int decided(const struct plan_result *r)
{
    return r->state == PLAN_ON_TIME || r->state == PLAN_LATE || r->state == PLAN_NEVER ||
           (r->state == PLAN_BEYOND && r->leave_ms);
}

static void binding_of(const struct plan_run_out *p, const struct plan_result *r, char *buf,
                       size_t len)
{
    if (decided(r))
        plan_describe(p->db->snap.reg.limits, p->db->labels, &r->why, buf, len);
    else
        snprintf(buf, len, "%s", "");
}

static uint64_t avg_late(const struct plan_summary *s)
{
    return s->late ? s->sum_late_ms / s->late : 0;
}

/* ---- text ---- */

static void leaves_text(const struct plan_result *r, char *buf, size_t len)
{
    if (r->state == PLAN_IN_FLIGHT)
        snprintf(buf, len, "in flight");
    else if (r->state == PLAN_NEVER)
        snprintf(buf, len, "never");
    else if (r->leave_ms)
        plan_format_time(r->leave_ms, buf, len);
    else
        snprintf(buf, len, "-");
}

static void print_row(const struct plan_run_out *p, const struct plan_result *r)
{
    char key[96], sched[40], leaves[40], late[24], binding[200];
    const struct reg_key *k = key_of(p, r);
    snprintf(key, sizeof key, "%s/%s", prov_name(k->provider), k->label);
    plan_format_time(r->scheduled_ms, sched, sizeof sched);
    leaves_text(r, leaves, sizeof leaves);
    if (r->state == PLAN_LATE)
        plan_format_duration(r->late_ms, late, sizeof late);
    else
        snprintf(late, sizeof late, "-");
    binding_of(p, r, binding, sizeof binding);
    printf("%-8" PRId64 " %-26s %5u  %-24s %-24s %-8s %-9s %s\n", r->post_id, key, r->ntargets,
           sched, leaves, late, plan_state_name(r->state), binding);
}

static void print_exhausted(const struct plan_run_out *p)
{
    if (p->sum.exhausted < 0) {
        printf("first to run out: none (no window holds a request back)\n");
        return;
    }
    const struct plan_result *r = &p->res[p->sum.exhausted];
    const struct reg_key *k = key_of(p, r);
    char binding[200], at[40];
    plan_describe(p->db->snap.reg.limits, p->db->labels, &r->why, binding, sizeof binding);
    plan_format_time(p->sum.exhausted_at, at, sizeof at);
    printf("first to run out: %s/%s %s (post %" PRId64 ", ready at %s)\n", prov_name(k->provider),
           k->label, binding, r->post_id, at);
}

static void print_summary_text(const struct plan_run_out *p)
{
    const struct plan_summary *s = &p->sum;
    char from[40], to[40], max[24], avg[24];
    plan_format_time(p->opts.from_ms, from, sizeof from);
    plan_format_time(p->opts.to_ms, to, sizeof to);
    plan_format_duration(s->max_late_ms, max, sizeof max);
    plan_format_duration(avg_late(s), avg, sizeof avg);
    printf("\nplanned %zu requests (%zu posts, %zu targets) from %s to %s: %zu on time, "
           "%zu late (max %s, avg %s), %zu never, %zu beyond --to, %zu in flight\n",
           s->requests, s->posts, s->targets, from, to, s->on_time, s->late, max, avg, s->never,
           s->beyond, s->in_flight);
    print_exhausted(p);
}

static void print_text(const struct plan_run_out *p)
{
    printf("%-8s %-26s %5s  %-24s %-24s %-8s %-9s %s\n", "POST", "KEY", "ACCTS", "SCHEDULED",
           "LEAVES", "LATE", "STATE", "BINDING");
    for (size_t i = 0; i < p->nres; i++)
        if (!p->res[i].before_range)
            print_row(p, &p->res[i]);
    print_summary_text(p);
}

/* ---- JSON ---- */

/* A JSON string: quotes, backslashes and control characters escaped. */
static void put_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void put_time(const char *name, uint64_t ms)
{
    char buf[40];
    plan_format_time(ms, buf, sizeof buf);
    printf(",\"%s\":\"%s\"", name, buf);
}

/* One request object, written directly: jansson per object costs more than
 * the whole simulation at 100,000 requests. */
static void put_result(const struct plan_run_out *p, const struct plan_result *r)
{
    const struct reg_key *k = key_of(p, r);
    printf("{\"post_id\":%" PRId64 ",\"key_id\":%" PRId64 ",\"provider\":\"%s\",\"key\":",
           r->post_id, k->id, prov_name(k->provider));
    put_str(k->label);
    printf(",\"target_ids\":[");
    for (uint32_t i = 0; i < r->ntargets; i++)
        printf("%s%" PRId64, i ? "," : "", p->targets[r->first + i].id);
    printf("],\"accounts\":%u", r->ntargets);
    put_time("due_at", r->due_ms);
    put_time("scheduled_at", r->scheduled_ms);
    if (r->state != PLAN_IN_FLIGHT && r->state != PLAN_NEVER && r->leave_ms)
        put_time("leaves_at", r->leave_ms);
    else
        printf(",\"leaves_at\":null");
    printf(",\"late_ms\":%" PRIu64 ",\"state\":\"%s\",\"reason\":", r->late_ms,
           plan_state_name(r->state));
    if (decided(r))
        printf("\"%s\"", plan_reason_name(r->why.reason));
    else
        printf("null");
    char binding[200];
    binding_of(p, r, binding, sizeof binding);
    printf(",\"binding\":");
    if (*binding)
        put_str(binding);
    else
        printf("null");
    putchar('}');
}

static void dump(json_t *o)
{
    json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
}

/* {"now":..,"from":..,"to":..,"summary":{..},"requests":[{..},..]}, one request per line. */
static void print_json(const struct plan_run_out *p)
{
    char now[40], from[40], to[40];
    plan_format_time(p->opts.now_ms, now, sizeof now);
    plan_format_time(p->opts.from_ms, from, sizeof from);
    plan_format_time(p->opts.to_ms, to, sizeof to);
    printf("{\"now\":\"%s\",\"from\":\"%s\",\"to\":\"%s\",\"summary\":", now, from, to);
    dump(plan_view_summary_json(p->db, p->res, &p->sum));
    printf(",\"requests\":[");
    const char *sep = "\n";
    for (size_t i = 0; i < p->nres; i++) {
        if (p->res[i].before_range)
            continue;
        fputs(sep, stdout);
        put_result(p, &p->res[i]);
        sep = ",\n";
    }
    printf("\n]}\n");
}

/* ---- the command ---- */

static int run(const struct plan_view *db, const struct plan_args *a, const struct plan_opts *o)
{
    struct plan_key *keys = plan_view_keys(db);
    struct plan_target *targets;
    size_t n;
    uint64_t t0 = clk_mono_ms(clk_real);
    if (load_targets(db, keys, o->to_ms, &targets, &n) != 0) {
        free(keys);
        return 1;
    }
    uint64_t t1 = clk_mono_ms(clk_real);
    struct plan_result *res;
    struct plan_run_out p = {.db = db, .keys = keys, .targets = targets, .opts = *o};
    plan_run(db->snap.reg.limits, keys, db->snap.reg.nkeys, targets, n, o, &res, &p.nres, &p.sum);
    p.res = res;
    uint64_t t2 = clk_mono_ms(clk_real);
    if (a->json)
        print_json(&p);
    else
        print_text(&p);
    fflush(stdout);
    log_debug("plan done", LOG_UINT("targets", n), LOG_UINT("requests", p.nres),
              LOG_UINT("read_ms", t1 - t0), LOG_UINT("simulate_ms", t2 - t1),
              LOG_UINT("print_ms", clk_mono_ms(clk_real) - t2));
    free(res);
    free(targets);
    free(keys);
    return 0;
}

/* The key's first request still to leave that something holds back sets its
 * binding: the window that keeps its backlog from leaving at once. */
static void note_binding(const struct plan_view *db, const struct plan_result *r,
                         struct plan_key_eta *e, int *seen)
{
    if (*seen || r->state == PLAN_IN_FLIGHT || (r->state == PLAN_BEYOND && !r->leave_ms) ||
        r->why.reason == LIM_WHY_NOW)
        return; /* a BEYOND without a slot queues behind one that was first */
    *seen = 1;
    plan_describe(db->snap.reg.limits, db->labels, &r->why, e->binding, sizeof e->binding);
}

int plan_key_etas(const struct plan_view *db, uint64_t now, uint64_t horizon_ms,
                  struct plan_key_eta *out)
{
    struct plan_key *keys = plan_view_keys(db);
    struct plan_opts o = {.now_ms = now, .from_ms = now, .to_ms = now + horizon_ms};
    struct plan_target *targets;
    size_t n;
    if (load_targets(db, keys, o.to_ms, &targets, &n) != 0) {
        free(keys);
        return -1;
    }
    struct plan_result *res;
    size_t nres;
    struct plan_summary sum;
    plan_run(db->snap.reg.limits, keys, db->snap.reg.nkeys, targets, n, &o, &res, &nres, &sum);
    int *seen = xcalloc(db->snap.reg.nkeys ? db->snap.reg.nkeys : 1, sizeof *seen);
    for (size_t i = 0; i < db->snap.reg.nkeys; i++)
        out[i] = (struct plan_key_eta){.eta = PLAN_ETA_NONE};
    for (size_t i = 0; i < nres; i++) { /* in leave order per key */
        uint64_t *e = &out[res[i].key].eta;
        note_binding(db, &res[i], &out[res[i].key], &seen[res[i].key]);
        if (res[i].state == PLAN_NEVER)
            *e = PLAN_ETA_NEVER;
        else if (res[i].state == PLAN_BEYOND && *e != PLAN_ETA_NEVER)
            *e = PLAN_ETA_BEYOND;
        else if (res[i].state != PLAN_IN_FLIGHT && *e < PLAN_ETA_BEYOND && res[i].leave_ms > *e)
            *e = res[i].leave_ms;
    }
    free(seen);
    free(res);
    free(targets);
    free(keys);
    return 0;
}

int cmd_plan(struct config *cfg, int argc, char **argv)
{
    struct plan_args a;
    struct plan_opts o;
    int rc = parse_args(argc, argv, clk_now_ms(clk_real), &a, &o);
    if (rc)
        return rc;
    struct plan_view db;
    if (plan_view_open(&db, cfg->database_url, cfg->skew_ms) != 0)
        return 1;
    rc = run(&db, &a, &o);
    plan_view_close(&db);
    return rc;
}
