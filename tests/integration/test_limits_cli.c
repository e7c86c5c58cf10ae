/* End-to-end tests of `postpace limits` and `postpace plan` against a real
 * database: keys, posts and attempts inserted by SQL, output parsed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "pgtest.h"
#include "plan/plan.h"
#include "proc.h"
#include "util/xmalloc.h"

/* Runs postpace with DATABASE_URL=ci and up to 6 arguments; returns the exit
 * status and the whole stdout in *out (heap). stderr is discarded. */
static int run_out(const char *ci, char **out, const char *a1, const char *a2, const char *a3,
                   const char *a4)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        if (!freopen("/dev/null", "w", stderr))
            _exit(127);
        setenv("DATABASE_URL", ci, 1);
        setenv("POSTPACE_SKEW_MS", "0", 1); /* exact window edges in these expectations */
        execl(pgt_postpace_bin(), "postpace", a1, a2, a3, a4, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0, cap = 65536;
    char *buf = xmalloc(cap);
    ssize_t n;
    while ((n = read(fds[0], buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len < 4096)
            buf = xrealloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static json_t *run_json(const char *ci, const char *a1, const char *a2, const char *a3)
{
    char *out;
    assert_int_equal(run_out(ci, &out, a1, a2, a3, NULL), 0);
    json_error_t e;
    json_t *j = json_loads(out, 0, &e);
    if (!j)
        fprintf(stderr, "bad JSON: %s\n%.500s\n", e.text, out);
    assert_non_null(j);
    free(out);
    return j;
}

/* Keys: 1 jestha main (account acct_j), 2 postlark free1 (free plan),
 * 3 posteverywhere pe. */
static char *make_db(void)
{
    char *ci = pgt_create_migrated_db();
    PGconn *c = pgt_connect(ci);
    pgt_exec(c, "INSERT INTO provider_keys (provider, label, plan, provider_account_id, secret_ref)"
                " VALUES ('jestha', 'main', 'default', 'acct_j', 'env:J'),"
                "        ('postlark', 'free1', 'free', 'acct_p', 'env:P'),"
                "        ('posteverywhere', 'pe', 'default', NULL, 'env:PE')");
    PQfinish(c);
    return ci;
}

static void exec_on(const char *ci, const char *sql)
{
    PGconn *c = pgt_connect(ci);
    pgt_exec(c, sql);
    PQfinish(c);
}

static json_t *window_where(json_t *key, const char *route, int64_t window_ms)
{
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(key, "windows"), i, w)
    {
        if (strcmp(json_string_value(json_object_get(w, "route")), route) == 0 &&
            json_integer_value(json_object_get(w, "window_ms")) == window_ms)
            return w;
    }
    return NULL;
}

static void test_limits_shows_usage_and_next_free_slot_of_every_window(void **state)
{
    char *ci = make_db();
    /* A few seconds ago, but never before UTC midnight: the account's daily
     * window must hold all three whenever the test runs. */
    exec_on(ci,
            "INSERT INTO attempts (provider_key_id, target_ids, route, sent_at, accounts, posts)"
            " SELECT 1, ARRAY[g], 'POST /api/posts',"
            "        greatest(now() - g * interval '1 second', date_trunc('day', now(), 'UTC')),"
            "        1, 1"
            "   FROM generate_series(1, 3) g");
    exec_on(ci,
            "INSERT INTO attempts (provider_key_id, target_ids, route, sent_at, accounts, posts)"
            " SELECT 2, ARRAY[g], 'POST /posts', now() - g * interval '1 day', 1, 1"
            "   FROM generate_series(1, 10) g");
    json_t *j = run_json(ci, "limits", "--json", NULL);
    json_t *keys = json_object_get(j, "keys");
    assert_int_equal(json_array_size(keys), 3);
    json_t *jestha = json_array_get(keys, 0);
    assert_string_equal(json_string_value(json_object_get(jestha, "provider")), "jestha");
    assert_int_equal(json_array_size(json_object_get(jestha, "windows")), 4);
    json_t *route = window_where(jestha, "POST /api/posts", 60000);
    assert_non_null(route);
    assert_string_equal(json_string_value(json_object_get(route, "scope")), "key");
    assert_int_equal(json_integer_value(json_object_get(route, "limit")), 10);
    assert_int_equal(json_integer_value(json_object_get(route, "used")), 3);
    json_t *acct = window_where(jestha, "POST /api/posts", 86400000);
    assert_string_equal(json_string_value(json_object_get(acct, "scope")), "account");
    assert_string_equal(json_string_value(json_object_get(acct, "kind")), "fixed");
    assert_string_equal(json_string_value(json_object_get(acct, "cost")), "post");
    assert_int_equal(json_integer_value(json_object_get(acct, "used")), 3);

    json_t *lark = json_array_get(keys, 1);
    json_t *life = window_where(lark, "POST /posts", 0);
    assert_string_equal(json_string_value(json_object_get(life, "kind")), "lifetime");
    assert_int_equal(json_integer_value(json_object_get(life, "used")), 10);
    assert_true(json_is_true(json_object_get(life, "never")));
    assert_true(json_is_null(json_object_get(life, "next_free")));
    json_decref(j);
    pgt_drop_db(ci);
}

static void test_limits_filters_by_provider_and_by_key_id_or_label(void **state)
{
    char *ci = make_db();
    json_t *j = run_json(ci, "limits", "--provider=postlark", "--json");
    assert_int_equal(json_array_size(json_object_get(j, "keys")), 1);
    json_decref(j);
    j = run_json(ci, "limits", "--key=3", "--json");
    assert_int_equal(json_array_size(json_object_get(j, "keys")), 1);
    json_t *k = json_array_get(json_object_get(j, "keys"), 0);
    assert_string_equal(json_string_value(json_object_get(k, "label")), "pe");
    json_decref(j);
    char *out;
    assert_int_equal(run_out(ci, &out, "limits", "--key", "pe", NULL), 0);
    assert_non_null(strstr(out, "posteverywhere key 3 pe"));
    assert_non_null(strstr(out, "POST /ai/generate-image"));
    assert_null(strstr(out, "jestha"));
    free(out);
    pgt_drop_db(ci);
}

/* Jestha: 20 posts in one minute; Postlark Free: 12 posts; PostEverywhere:
 * one post to 3 accounts. All an hour from now, on the minute. */
static void add_calendar(const char *ci)
{
    exec_on(
        ci,
        "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at)"
        " SELECT 1, ARRAY['acct_j'], 'j' || g,"
        "        date_trunc('minute', now()) + interval '1 hour' FROM generate_series(1, 20) g");
    exec_on(ci, "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at)"
                " SELECT 2, ARRAY['acct_p'], 'p' || g,"
                "        date_trunc('minute', now()) + g * interval '1 hour' FROM "
                "generate_series(1, 12) g");
    exec_on(
        ci,
        "INSERT INTO posts (provider_key_id, account_ids, content, scheduled_at)"
        " VALUES (3, ARRAY['a', 'b', 'c'], 'pe', date_trunc('minute', now()) + interval '1 hour')");
}

static json_t *requests_of(json_t *plan, const char *provider, size_t *n)
{
    json_t *all = json_object_get(plan, "requests"), *r, *out = json_array();
    size_t i;
    json_array_foreach(all, i, r)
    {
        if (strcmp(json_string_value(json_object_get(r, "provider")), provider) == 0)
            json_array_append(out, r);
    }
    *n = json_array_size(out);
    return out;
}

static uint64_t time_of(json_t *r, const char *field)
{
    uint64_t ms;
    assert_int_equal(plan_parse_time(json_string_value(json_object_get(r, field)), &ms), 0);
    return ms;
}

static void test_plan_json_paces_batches_and_finds_the_spent_quota(void **state)
{
    char *ci = make_db();
    add_calendar(ci);
    json_t *j = run_json(ci, "plan", "--json", NULL);
    json_t *sum = json_object_get(j, "summary");
    assert_int_equal(json_integer_value(json_object_get(sum, "requests")), 33);
    assert_int_equal(json_integer_value(json_object_get(sum, "posts")), 33);
    assert_int_equal(json_integer_value(json_object_get(sum, "targets")), 35);
    assert_int_equal(json_integer_value(json_object_get(sum, "never")), 2);
    json_t *first = json_object_get(sum, "first_exhausted");
    assert_string_equal(json_string_value(json_object_get(first, "window")),
                        "account POST /posts lifetime 10 posts total");

    size_t n;
    json_t *jr = requests_of(j, "jestha", &n);
    assert_int_equal(n, 20);
    for (size_t i = 0; i < n; i++) { /* one every 6 s: 10 a minute */
        json_t *r = json_array_get(jr, i);
        assert_int_equal(time_of(r, "leaves_at") - time_of(r, "scheduled_at"), i * 6000);
        assert_int_equal(json_integer_value(json_object_get(r, "late_ms")), i * 6000);
    }
    assert_string_equal(json_string_value(json_object_get(json_array_get(jr, 1), "binding")),
                        "key POST /api/posts pacing (rolling 10/1m)");
    json_decref(jr);

    json_t *pr = requests_of(j, "postlark", &n);
    assert_int_equal(n, 12);
    assert_string_equal(json_string_value(json_object_get(json_array_get(pr, 9), "state")),
                        "on_time");
    assert_string_equal(json_string_value(json_object_get(json_array_get(pr, 10), "state")),
                        "never");
    assert_true(json_is_null(json_object_get(json_array_get(pr, 10), "leaves_at")));
    json_decref(pr);

    json_t *er = requests_of(j, "posteverywhere", &n);
    assert_int_equal(n, 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(er, 0), "accounts")), 3);
    assert_int_equal(json_array_size(json_object_get(json_array_get(er, 0), "target_ids")), 3);
    json_decref(er);
    json_decref(j);
    pgt_drop_db(ci);
}

/* The line of `out` that names `word`, copied into buf. */
static const char *line_with(const char *out, const char *word, char *buf, size_t size)
{
    const char *at = strstr(out, word);
    assert_non_null(at);
    while (at > out && at[-1] != '\n')
        at--;
    size_t n = strcspn(at, "\n");
    snprintf(buf, size, "%.*s", (int)n, at);
    return buf;
}

static void test_status_shows_backlog_and_the_forecast_eta(void **state)
{
    char *ci = make_db();
    add_calendar(ci);
    char *out, line[512];
    assert_int_equal(run_out(ci, &out, "status", NULL, NULL, NULL), 0);
    assert_non_null(strstr(out, " ETA "));
    assert_non_null(strstr(out, " BINDING\n"));
    /* Postlark Free: 12 posts against a lifetime quota of 10: some never go. */
    line_with(out, "postlark", line, sizeof line);
    assert_non_null(strstr(line, "  never"));
    /* Jestha: 20 posts due within the hour, paced at 10 a minute: the last
     * leaves 114 s after they are due, so 1h00m to 1h01m from now. */
    line_with(out, "jestha", line, sizeof line);
    assert_non_null(strstr(line, "  in 1h0"));
    /* And what holds them back is named: the pacing of its 10 a minute. */
    assert_non_null(strstr(line, "pacing (rolling 10/1m)"));
    free(out);
    pgt_drop_db(ci);
}

static void test_plan_counts_history_and_in_flight_targets(void **state)
{
    char *ci = make_db();
    add_calendar(ci);
    /* 9 Postlark posts already sent; one of them is still in flight. */
    exec_on(ci,
            "INSERT INTO attempts (provider_key_id, target_ids, route, sent_at, accounts, posts)"
            " SELECT 2, ARRAY[g], 'POST /posts', now() - g * interval '1 day', 1, 1"
            "   FROM generate_series(1, 9) g");
    exec_on(ci, "UPDATE post_targets SET status = 'unconfirmed'"
                " WHERE id = (SELECT min(id) FROM post_targets WHERE provider_key_id = 2)");
    json_t *j = run_json(ci, "plan", "--json", NULL);
    size_t n;
    json_t *pr = requests_of(j, "postlark", &n);
    assert_int_equal(n, 12);
    assert_string_equal(json_string_value(json_object_get(json_array_get(pr, 0), "state")),
                        "in_flight");
    assert_string_equal(json_string_value(json_object_get(json_array_get(pr, 1), "state")),
                        "on_time");
    assert_string_equal(json_string_value(json_object_get(json_array_get(pr, 2), "state")),
                        "never");
    json_t *sum = json_object_get(j, "summary");
    assert_int_equal(json_integer_value(json_object_get(sum, "in_flight")), 1);
    assert_int_equal(json_integer_value(json_object_get(sum, "never")), 10);
    json_decref(pr);
    json_decref(j);
    pgt_drop_db(ci);
}

static void test_plan_text_and_range_beyond_to(void **state)
{
    char *ci = make_db();
    add_calendar(ci);
    char *out;
    assert_int_equal(run_out(ci, &out, "plan", NULL, NULL, NULL), 0);
    assert_non_null(strstr(out, "POST     KEY"));
    assert_non_null(strstr(out, "jestha/main"));
    assert_non_null(strstr(out, " never "));
    assert_non_null(strstr(out, "33 requests (33 posts, 35 targets)"));
    assert_non_null(strstr(out, "first to run out: postlark/free1 account POST /posts lifetime"));
    free(out);

    /* The range ends 30 s after the Jestha minute: 6 of 20 leave by then. */
    PGconn *c = pgt_connect(ci);
    PGresult *r = PQexec(c, "SELECT (extract(epoch FROM date_trunc('minute', now())"
                            " + interval '60 minutes 30 seconds') * 1000)::bigint");
    char to[64];
    plan_format_time((uint64_t)atoll(PQgetvalue(r, 0, 0)), to, sizeof to);
    PQclear(r);
    PQfinish(c);
    char *argv_to = xasprintf("--to=%s", to);
    json_t *j = run_json(ci, "plan", argv_to, "--json");
    size_t n;
    json_t *jr = requests_of(j, "jestha", &n);
    size_t beyond = 0;
    for (size_t i = 0; i < n; i++)
        beyond += strcmp(json_string_value(json_object_get(json_array_get(jr, i), "state")),
                         "beyond") == 0;
    assert_int_equal(beyond, 14);
    json_decref(jr);
    json_decref(j);
    free(argv_to);
    pgt_drop_db(ci);
}

static void test_bad_flags_exit_2_with_one_line_naming_the_flag(void **state)
{
    char *ci = make_db();
    char env[1024];
    snprintf(env, sizeof env, "DATABASE_URL=%s", ci);
    char *envs[] = {env, "POSTPACE_SKEW_MS=0", NULL};
    struct proc p;
    char *bogus[] = {(char *)pgt_postpace_bin(), "plan", "--bogus", NULL};
    assert_int_equal(proc_run(&p, bogus, envs), 2);
    assert_string_equal(p.out, "postpace: --bogus: unknown flag (see `postpace help`)\n");
    char *prov[] = {(char *)pgt_postpace_bin(), "limits", "--provider", "myspace", NULL};
    assert_int_equal(proc_run(&p, prov, envs), 2);
    assert_non_null(strstr(p.out, "--provider"));
    assert_ptr_equal(strchr(p.out, '\n'), p.out + strlen(p.out) - 1);
    char *from[] = {(char *)pgt_postpace_bin(), "plan", "--from", "yesterday", NULL};
    assert_int_equal(proc_run(&p, from, envs), 2);
    assert_non_null(strstr(p.out, "--from"));
    char *key[] = {(char *)pgt_postpace_bin(), "limits", "--key", "nosuch", NULL};
    assert_int_equal(proc_run(&p, key, envs), 2);
    assert_non_null(strstr(p.out, "--key"));
    /* Config flags still reach the configuration. */
    char *cfgflag[] = {(char *)pgt_postpace_bin(), "limits", "--log-level", "loud", NULL};
    assert_int_equal(proc_run(&p, cfgflag, envs), 2);
    assert_non_null(strstr(p.out, "--log-level"));
    pgt_drop_db(ci);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limits_shows_usage_and_next_free_slot_of_every_window),
        cmocka_unit_test(test_limits_filters_by_provider_and_by_key_id_or_label),
        cmocka_unit_test(test_plan_json_paces_batches_and_finds_the_spent_quota),
        cmocka_unit_test(test_plan_counts_history_and_in_flight_targets),
        cmocka_unit_test(test_status_shows_backlog_and_the_forecast_eta),
        cmocka_unit_test(test_plan_text_and_range_beyond_to),
        cmocka_unit_test(test_bad_flags_exit_2_with_one_line_naming_the_flag),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
