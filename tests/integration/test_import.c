/*
 * `postpace import` end to end: the built binary against a fresh migrated
 * database with two provider keys (jestha "jes-main", feedhorizon "fh-main").
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "pgtest.h"
#include "proc.h"

#define HDR "external_id,provider_key,account_ids,content,media,scheduled_at,time_zone\n"

struct fx {
    char *ci;
    PGconn *c;
    char dir[64];
    char env[1100];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    f->ci = pgt_create_migrated_db();
    f->c = pgt_connect(f->ci);
    pgt_exec(f->c, "INSERT INTO provider_keys (provider, label, secret_ref) VALUES "
                   "('jestha', 'jes-main', 'env:JES'), ('feedhorizon', 'fh-main', 'env:FH')");
    pgt_exec(f->c, "UPDATE providers SET max_content_len = 280 WHERE id = 'jestha'");
    snprintf(f->dir, sizeof f->dir, "/tmp/pp-import-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->env, sizeof f->env, "DATABASE_URL=%s", f->ci);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    PQfinish(f->c);
    pgt_drop_db(f->ci);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", f->dir);
    free(f);
    return 0;
}

/* Writes a file in the fixture's directory; returns its path (static buffer per call site). */
static void write_file(struct fx *f, const char *name, const char *body, size_t len, char *path,
                       size_t size)
{
    snprintf(path, size, "%s/%s", f->dir, name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(body, 1, len, fp), len);
    fclose(fp);
}

/* Runs `postpace import PATH [flags...]`; returns the exit status, output in p. */
static int run_import(struct fx *f, struct proc *p, const char *path, const char *flag1,
                      const char *flag2)
{
    char *argv[] = {(char *)pgt_postpace_bin(), "import", (char *)path, (char *)flag1,
                    (char *)flag2, NULL};
    char *envs[] = {f->env, NULL};
    return proc_run(p, argv, envs);
}

static long count(struct fx *f, const char *sql)
{
    PGresult *r = PQexec(f->c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    long n = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

/* The report lines expected, each "LINE: column: reason", prefixed with the path. */
static void expect_report(const char *out, const char *path, const char *const *lines)
{
    char want[8192] = "";
    size_t len = 0;
    for (int i = 0; lines[i]; i++)
        len += (size_t)snprintf(want + len, sizeof want - len, "%s:%s\n", path, lines[i]);
    if (strncmp(out, want, len) != 0)
        fprintf(stderr, "got:\n%s\nwant:\n%s", out, want);
    assert_int_equal(strncmp(out, want, len), 0);
}

static void expect_summary(const char *out, const char *path, const char *counts)
{
    char want[512];
    snprintf(want, sizeof want, "import: %s: %s (", path, counts);
    if (!strstr(out, want))
        fprintf(stderr, "got:\n%s\nwant: %s\n", out, want);
    assert_non_null(strstr(out, want));
}

static const char bad_file[] =
    HDR
    "ok-1,jes-main,acct_1;acct_2,Good one,,2026-12-01T09:00:00+01:00,\n"                 /* 2 */
    "bad-date,jes-main,acct_1,Bad date,,2026-13-01 09:00,UTC\n"                          /* 3 */
    "bad-zone,jes-main,acct_1,Bad zone,,2026-12-01 09:00,Europe/Atlantis\n"              /* 4 */
    "empty,jes-main,acct_1,\"  \",,2026-12-01 09:00,UTC\n"                               /* 5 */
    "big-media,jes-main,acct_1,Big media,\"[{\"\"url\"\":\"\"https://cdn.example/v.mp4\"\","
    "\"\"mime_type\"\":\"\"video/mp4\"\",\"\"size_bytes\"\":9000000}]\",2026-12-01 09:00,UTC\n" /* 6 */
    "no-key,nope,acct_1,Unknown key,,2026-12-01 09:00,UTC\n"                             /* 7 */
    "ok-1,jes-main,acct_1,Duplicate id,,2026-12-01 09:00,UTC\n"                          /* 8 */
    "quoted,jes-main,acct_1,\"A quoted\nnewline, fine\",,2026-12-01 09:00,UTC\n"         /* 9-10 */
    "broken,jes-main,acct_1,bro\"ken,,2026-12-01 09:00,UTC\n"                            /* 11 */
    "utf8,jes-main,acct_1,caf\xE9,,2026-12-01 09:00,UTC\n"                               /* 12 */
    "gap,jes-main,acct_1,In the gap,,2026-03-29 02:30,Europe/Paris\n"                    /* 13 */
    "\n"                                                                                 /* 14 */
    "long,jes-main,acct_1,%s,,2026-12-01 09:00,UTC\n"                                    /* 15 */
    "ok-2,fh-main,acct_9,Good two,,2026-12-01 09:00,America/New_York\n";                 /* 16 */

static const char *const bad_report[] = {
    "3: scheduled_at: \"2026-13-01 09:00\" is not a valid time: no such date",
    "4: time_zone: unknown time zone \"Europe/Atlantis\" (want an IANA name such as Europe/Paris)",
    "5: content: empty",
    "6: media: file 1: 9000000 bytes, jestha allows 8000000",
    "7: provider_key: unknown key \"nope\" (neither a key id nor a label in provider_keys)",
    "8: external_id: \"ok-1\" is also on line 2",
    "11: content: broken quoting: a quote inside an unquoted field",
    "12: content: invalid UTF-8 at byte 4",
    "13: scheduled_at: 2026-03-29 02:30:00 does not exist in Europe/Paris (a daylight-saving gap): "
    "give an offset or another time",
    "15: content: 300 characters, jestha allows 280",
    NULL,
};

static void write_bad_file(struct fx *f, char *path, size_t size)
{
    char longtext[301], body[4096];
    memset(longtext, 'x', 300);
    longtext[300] = '\0';
    int n = snprintf(body, sizeof body, bad_file, longtext);
    write_file(f, "bad.csv", body, (size_t)n, path, size);
}

static void test_every_bad_row_is_reported_by_line_and_nothing_is_inserted(void **state)
{
    struct fx *f = *state;
    char path[128];
    struct proc p;
    write_bad_file(f, path, sizeof path);
    assert_int_equal(run_import(f, &p, path, NULL, NULL), 1);
    expect_report(p.out, path, bad_report);
    expect_summary(p.out, path, "13 rows read, 0 inserted, 0 already present, 10 refused");
    assert_int_equal(count(f, "SELECT count(*) FROM posts"), 0);
}

static void test_partial_inserts_the_good_rows_and_exits_1(void **state)
{
    struct fx *f = *state;
    char path[128];
    struct proc p;
    write_bad_file(f, path, sizeof path);
    assert_int_equal(run_import(f, &p, path, "--partial", NULL), 1);
    expect_report(p.out, path, bad_report);
    expect_summary(p.out, path, "13 rows read, 3 inserted, 0 already present, 10 refused");
    assert_int_equal(count(f, "SELECT count(*) FROM posts"), 3);
    assert_int_equal(count(f, "SELECT count(*) FROM post_targets"), 4);
    /* The offset wins; the multi-line content arrived whole. */
    assert_int_equal(count(f, "SELECT count(*) FROM posts WHERE external_id = 'ok-1' AND "
                              "scheduled_at = '2026-12-01 08:00Z' AND time_zone = 'UTC' AND "
                              "content = 'Good one' AND account_ids = '{acct_1,acct_2}'"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM posts WHERE external_id = 'quoted' AND "
                              "content = E'A quoted\\nnewline, fine'"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM posts WHERE external_id = 'ok-2' AND "
                              "scheduled_at = '2026-12-01 14:00Z'"), 1);
}

static const char good_file[] =
    "\xEF\xBB\xBF" "external_id,content,provider_key,account_ids,scheduled_at\r\n"
    "g1,\"Hello, \"\"world\"\"\",jes-main,a1;a2,2026-12-01 09:00\r\n"
    "g2,Second,1,a1,2026-12-02T10:00:00Z\r\n"
    "g3,Third,fh-main,b1,2026-12-03 10:00:00.5-05:00\r\n";

static void test_dry_run_writes_nothing(void **state)
{
    struct fx *f = *state;
    char path[128];
    struct proc p;
    write_file(f, "good.csv", good_file, sizeof good_file - 1, path, sizeof path);
    assert_int_equal(run_import(f, &p, path, "--dry-run", NULL), 0);
    expect_summary(p.out, path, "3 rows read, 3 would be inserted, 0 already present, 0 refused");
    assert_non_null(strstr(p.out, "[dry run: nothing written]"));
    assert_int_equal(count(f, "SELECT count(*) FROM posts"), 0);
}

static void test_reimport_is_a_noop_and_a_changed_row_is_refused(void **state)
{
    struct fx *f = *state;
    char path[128];
    struct proc p;
    write_file(f, "good.csv", good_file, sizeof good_file - 1, path, sizeof path);
    assert_int_equal(run_import(f, &p, path, NULL, NULL), 0);
    expect_summary(p.out, path, "3 rows read, 3 inserted, 0 already present, 0 refused");
    assert_int_equal(count(f, "SELECT count(*) FROM post_targets"), 4);
    /* The instants: a local time in UTC (the default zone), Z, an offset. */
    assert_int_equal(count(f, "SELECT count(*) FROM posts WHERE "
                              "(external_id, scheduled_at) IN (('g1', '2026-12-01 09:00Z'), "
                              "('g2', '2026-12-02 10:00Z'), ('g3', '2026-12-03 15:00:00.5Z'))"),
                     3);
    assert_int_equal(run_import(f, &p, path, NULL, NULL), 0);
    expect_summary(p.out, path, "3 rows read, 0 inserted, 3 already present, 0 refused");
    assert_int_equal(count(f, "SELECT count(*) FROM posts"), 3);

    static const char changed[] = "external_id,content,provider_key,account_ids,scheduled_at\n"
                                  "g1,Hello again,jes-main,a1;a2,2026-12-01 09:30\n"
                                  "g2,Second,1,a1,2026-12-02T10:00:00Z\n";
    write_file(f, "changed.csv", changed, sizeof changed - 1, path, sizeof path);
    assert_int_equal(run_import(f, &p, path, NULL, NULL), 1);
    long id = count(f, "SELECT id FROM posts WHERE external_id = 'g1'");
    char line[256];
    snprintf(line, sizeof line, "2: external_id: \"g1\" is already in the calendar (post %ld) "
             "with a different content, scheduled_at", id);
    const char *const want[] = {line, NULL};
    expect_report(p.out, path, want);
    expect_summary(p.out, path, "2 rows read, 0 inserted, 1 already present, 1 refused");
}

static void test_a_broken_last_record_leaves_nothing_imported(void **state)
{
    struct fx *f = *state;
    char path[128];
    struct proc p;
    static const char body[] = HDR "a,jes-main,x,fine,,2026-12-01 09:00,UTC\n"
                                   "b,jes-main,x,also fine,,2026-12-01 09:00,UTC\n"
                                   "c,jes-main,x,\"never closed,,2026-12-01 09:00,UTC\n";
    write_file(f, "tail.csv", body, sizeof body - 1, path, sizeof path);
    assert_int_equal(run_import(f, &p, path, NULL, NULL), 1);
    const char *const want[] = {
        "4: content: broken quoting: the quote opened on line 4 is never closed", NULL};
    expect_report(p.out, path, want);
    assert_int_equal(count(f, "SELECT count(*) FROM posts"), 0);
}

static void test_jsonl_rows_are_checked_like_csv_rows(void **state)
{
    struct fx *f = *state;
    char path[128];
    struct proc p;
    static const char body[] =
        "{\"external_id\":\"j1\",\"provider_key\":1,\"account_ids\":[\"a\",\"b\"],\"content\":\"One\","
        "\"media\":[{\"url\":\"https://cdn.example/1.png\",\"mime_type\":\"image/png\",\"size_bytes\":1000}],"
        "\"scheduled_at\":\"2026-11-01 01:30\",\"time_zone\":\"America/New_York\"}\n"
        "\n"
        "{\"external_id\":\"j2\",\"provider_key\":\"jes-main\",\"account_ids\":\"a\",\"content\":\"Two\","
        "\"scheduled_at\":\"2026-12-01T09:00:00Z\"}\n"
        "{\"external_id\":\"j3\", oops}\n"
        "{\"external_id\":\"j4\",\"provider_key\":\"jes-main\",\"account_ids\":[\"a\"],\"content\":\"Four\","
        "\"scheduled_at\":\"2026-12-01T09:00:00Z\",\"colour\":\"red\"}\n"
        "{\"external_id\":\"j5\",\"provider_key\":\"jes-main\",\"account_ids\":[],\"content\":\"Five\","
        "\"media\":[{\"url\":\"u\",\"mime_type\":\"image/bmp\",\"size_bytes\":5}],"
        "\"scheduled_at\":\"2026-12-01T09:00:00Z\"}\n"
        "{\"external_id\":\"j6\",\"provider_key\":\"fh-main\",\"account_ids\":[\"z\"],\"content\":\"Six\","
        "\"scheduled_at\":\"2026-12-01T09:00:00+01:00\",\"time_zone\":\"Europe/Paris\"}\n";
    write_file(f, "cal.jsonl", body, sizeof body - 1, path, sizeof path);
    assert_int_equal(run_import(f, &p, path, NULL, NULL), 1);
    const char *const want[] = {
        "1: scheduled_at: 2026-11-01 01:30:00 happens twice in America/New_York (a daylight-saving "
        "overlap): add its offset, -04:00 or -05:00",
        "3: account_ids: must be an array of strings",
        "4: record: not valid JSON: string or '}' expected near 'oops' (at character 25)",
        "5: colour: unknown field",
        "6: account_ids: empty: give at least one account id",
        "6: media: file 1: type image/bmp is not allowed by jestha (allowed: image/jpeg, image/png, "
        "image/gif, image/webp, video/mp4, video/mpeg, video/quicktime, video/webm)",
        NULL,
    };
    expect_report(p.out, path, want);
    expect_summary(p.out, path, "6 rows read, 0 inserted, 0 already present, 5 refused");
    assert_int_equal(run_import(f, &p, path, "--partial", NULL), 1);
    expect_summary(p.out, path, "6 rows read, 1 inserted, 0 already present, 5 refused");
    assert_int_equal(count(f, "SELECT count(*) FROM posts WHERE external_id = 'j6'"), 1);
}

/*
 * The rules a row decides alone (the reader's since 2026-12-06, the check's
 * before, in the same words): each one, in both formats, two at once in
 * column order, and the edges (200 characters of two bytes each pass, 201
 * do not; 100 accounts pass, 101 do not).
 */
static void test_row_rules_are_named_in_both_formats(void **state)
{
    struct fx *f = *state;
    char path[128];
    struct proc p;
    char id200[401], id201[403], many[100 * 6 + 16], body[8192];
    for (int i = 0; i < 201; i++)
        memcpy(id201 + 2 * i, "\xC3\xA9", 2);
    id201[402] = '\0';
    memcpy(id200, id201, 400);
    id200[400] = '\0';
    size_t m = 0;
    for (int i = 0; i < 101; i++)
        m += (size_t)snprintf(many + m, sizeof many - m, "%s\"a%d\"", i ? "," : "", i);
    const char *rest = "\"content\":\"x\",\"scheduled_at\":\"2027-01-01T10:00:00Z\"";
    int n = snprintf(body, sizeof body,
                     "{\"external_id\":\"r1\",\"account_ids\":[\"a\"],%s}\n"       /* 1 */
                     "{\"external_id\":\"r2\",\"provider_key\":\"jes-main\",%s}\n" /* 2 */
                     "{\"external_id\":\"r3\",\"provider_key\":\"jes-main\",\"account_ids\":[%s],%"
                     "s}\n" /* 3 */
                     "{\"external_id\":\"r4\",\"provider_key\":\"jes-main\",\"account_ids\":[%.*s],"
                     "%s}\n" /* 4 */
                     "{\"external_id\":\"r5\",\"provider_key\":\"jes-main\",\"account_ids\":[\"a\","
                     "\"\"],%s}\n" /* 5 */
                     "{\"external_id\":\"r6\",\"provider_key\":\"jes-main\",\"account_ids\":[\"a\"]"
                     ","
                     "\"content\":\"x\"}\n" /* 6 */
                     "{\"external_id\":\"%s\",\"provider_key\":\"jes-main\",\"account_ids\":[\"a\"]"
                     ",%s}\n" /* 7 */
                     "{\"external_id\":\"%s\",\"provider_key\":\"jes-main\",\"account_ids\":[\"a\"]"
                     ",%s}\n" /* 8 */
                     "{\"provider_key\":\"jes-main\",\"account_ids\":[\"a\"],"
                     "\"scheduled_at\":\"2027-01-01T10:00:00Z\"}\n" /* 9 */
                     "{\"external_id\":\"r10\",\"provider_key\":\"jes-main\",\"account_ids\":[],%s}"
                     "\n", /* 10 */
                     rest, rest, many, rest, (int)(strrchr(many, ',') - many), many, rest, rest,
                     id201, rest, id200, rest, rest);
    write_file(f, "rules.jsonl", body, (size_t)n, path, sizeof path);
    assert_int_equal(run_import(f, &p, path, NULL, NULL), 1);
    const char *const want[] = {
        "1: provider_key: required",
        "2: account_ids: required",
        "3: account_ids: 101 accounts, at most 100",
        "5: account_ids: an empty account id",
        "6: scheduled_at: required",
        "7: external_id: 201 characters, at most 200",
        "9: external_id: required (it makes a re-import a no-op)",
        "9: content: empty",
        "10: account_ids: empty: give at least one account id",
        NULL,
    };
    expect_report(p.out, path, want);
    expect_summary(p.out, path, "10 rows read, 0 inserted, 0 already present, 8 refused");

    static const char csv[] = HDR "c1,,a,One,,2027-01-01T10:00:00Z,\n"            /* 2 */
                                  "c2,jes-main,a;;b,Two,,2027-01-01T10:00:00Z,\n" /* 3 */
                                  "c3,jes-main,a;,Three,,2027-01-01T10:00:00Z,\n" /* 4 */
                                  "c4,jes-main,a,Four,,,\n"                       /* 5 */
                                  "c5,jes-main,,Five,,\"  \",\n";                 /* 6 */
    write_file(f, "rules.csv", csv, sizeof csv - 1, path, sizeof path);
    assert_int_equal(run_import(f, &p, path, NULL, NULL), 1);
    const char *const want_csv[] = {
        "2: provider_key: required",
        "3: account_ids: an empty account id",
        "4: account_ids: an empty account id",
        "5: scheduled_at: required",
        "6: account_ids: empty: give at least one account id",
        "6: scheduled_at: required",
        NULL,
    };
    expect_report(p.out, path, want_csv);
    expect_summary(p.out, path, "5 rows read, 0 inserted, 0 already present, 5 refused");
}

/* A bad value is quoted in its message cut to 40 bytes, never inside a
 * character: half of one is not UTF-8, and the message, staged as text,
 * failed the whole import ("invalid byte sequence" from COPY). */
static void test_a_long_bad_value_is_quoted_whole_characters_only(void **state)
{
    struct fx *f = *state;
    char path[128];
    struct proc p;
    static const char csv[] =
        HDR "t1,jes-main,a,One,,x\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
            "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
            "\xC3\xA9\xC3\xA9\xC3\xA9,\n"
            "t2,jes-main,a,Two,,2027-01-01 10:00,\n";
    write_file(f, "long.csv", csv, sizeof csv - 1, path, sizeof path);
    assert_int_equal(run_import(f, &p, path, "--partial", NULL), 1);
    const char *const want[] = {
        "2: scheduled_at: "
        "\"x\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
        "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9?...\" is "
        "not a valid time: want YYYY-MM-DDTHH:MM[:SS[.ffffff]] with an optional Z or \xC2\xB1HH:MM",
        NULL,
    };
    expect_report(p.out, path, want);
    expect_summary(p.out, path, "2 rows read, 1 inserted, 0 already present, 1 refused");
}

/*
 * Media: every rule, in file order. The reader summarises each row's files
 * (a broken rule, the largest size, the types) and the check reads them one
 * by one only when that summary breaks a rule or a limit.
 */
static void test_media_rules_name_the_first_bad_file(void **state)
{
    struct fx *f = *state;
    char path[128];
    struct proc p;
#define FILE_(u, t, s) "{\"url\":" u ",\"mime_type\":\"" t "\",\"size_bytes\":" s "}"
    static const char body[] =
        "{\"external_id\":\"m1\",\"provider_key\":\"jes-main\",\"account_ids\":[\"a\"],\"content\":"
        "\"x\","
        "\"scheduled_at\":\"2030-06-01T10:00:00Z\",\"media\":[" FILE_(
            "\"u\"", "image/png",
            "5.0") "]}\n"
                   "{\"external_id\":\"m2\",\"provider_key\":\"jes-main\",\"account_ids\":[\"a\"],"
                   "\"content\":\"x\","
                   "\"scheduled_at\":\"2030-06-01T10:00:00Z\",\"media\":[" FILE_(
                       "\"u\"", "image/png",
                       "5") "," FILE_("\"\"", "image/png",
                                      "5") "]}\n"
                                           "{\"external_id\":\"m3\",\"provider_key\":\"jes-main\","
                                           "\"account_ids\":[\"a\"],\"content\":\"x\","
                                           "\"scheduled_at\":\"2030-06-01T10:00:00Z\",\"media\":{"
                                           "\"url\":\"u\"}}\n"
                                           "{\"external_id\":\"m4\",\"provider_key\":\"jes-main\","
                                           "\"account_ids\":[\"a\"],\"content\":\"x\","
                                           "\"scheduled_at\":\"2030-06-01T10:00:00Z\",\"media\":"
                                           "[" FILE_("\"u\"", "image/png", "5") "," FILE_(
                                               "\"v\"", "video/mp4",
                                               "9000000") "]}\n"
                                                          "{\"external_id\":\"m5\",\"provider_"
                                                          "key\":\"jes-main\",\"account_ids\":["
                                                          "\"a\"],\"content\":\"x\","
                                                          "\"scheduled_at\":\"2030-06-01T10:00:"
                                                          "00Z\",\"media\":[" FILE_("\"u\"", "image/bmp", "5") "," FILE_(
                                                              "\"v\"", "video/mp4",
                                                              "9000000") "]}\n"
                                                                         "{\"external_id\":\"m6\","
                                                                         "\"provider_key\":\"jes-"
                                                                         "main\",\"account_ids\":["
                                                                         "\"a\"],\"content\":\"x\","
                                                                         "\"scheduled_at\":\"2030-"
                                                                         "06-01T10:00:00Z\","
                                                                         "\"media\":[" FILE_(
                                                                             "\"u\"", "image/png",
                                                                             "5") "," FILE_("\"v\"",
                                                                                            "video/"
                                                                                            "mp4",
                                                                                            "800000"
                                                                                            "0") "]"
                                                                                                 "}"
                                                                                                 "\n";
#undef FILE_
    write_file(f, "media.jsonl", body, sizeof body - 1, path, sizeof path);
    assert_int_equal(run_import(f, &p, path, NULL, NULL), 1);
    const char *const want[] = {
        "1: media: file 1: size_bytes must be a whole number of bytes",
        "2: media: file 2: url must be a non-empty string",
        "3: media: must be a JSON array of {\"url\",\"mime_type\",\"size_bytes\"} objects",
        "4: media: file 2: 9000000 bytes, jestha allows 8000000",
        "5: media: file 1: type image/bmp is not allowed by jestha (allowed: image/jpeg, "
        "image/png, "
        "image/gif, image/webp, video/mp4, video/mpeg, video/quicktime, video/webm)",
        NULL,
    };
    expect_report(p.out, path, want);
    expect_summary(p.out, path, "6 rows read, 0 inserted, 0 already present, 5 refused");
}

/*
 * A repeated external_id is named with the line it was first on, the same
 * whether the reader remembered every id (the default), gave up half-way
 * (1 MiB for 8,000 ids of 150 bytes) or remembered none (0: SQL finds them).
 */
static void test_repeated_ids_are_named_whoever_finds_them(void **state)
{
    struct fx *f = *state;
    enum { ROWS = 8000 };
    char pad[141], path[128], id2[200];
    memset(pad, 'p', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    size_t cap = (ROWS + 8) * 256, len = 0;
    char *body = malloc(cap);
    len += (size_t)snprintf(body + len, cap - len, HDR);
    for (int i = 0; i < ROWS; i++) {
        len +=
            (size_t)snprintf(body + len, cap - len,
                             "%s-%05d,jes-main,acct_1,Post %d,,2030-06-01 10:00,UTC\n", pad, i, i);
        if (i == 0) /* line 3: a repeat the reader sees at once */
            len +=
                (size_t)snprintf(body + len, cap - len,
                                 "%s-%05d,jes-main,acct_1,Again,,2030-06-01 10:00,UTC\n", pad, 0);
    }
    /* The last line: a repeat of line 2 long after the reader may have given up. */
    len += (size_t)snprintf(body + len, cap - len,
                            "%s-%05d,jes-main,acct_1,Last,,2030-06-01 10:00,UTC\n", pad, 0);
    write_file(f, "ids.csv", body, len, path, sizeof path);
    free(body);
    snprintf(id2, sizeof id2, "%s-%05d", pad, 0);
    char line3[300], last[300];
    snprintf(line3, sizeof line3, "3: external_id: \"%s\" is also on line 2", id2);
    snprintf(last, sizeof last, "%d: external_id: \"%s\" is also on line 2", ROWS + 3, id2);
    const char *const want[] = {line3, last, NULL};
    const char *const budgets[] = {NULL, "POSTPACE_IMPORT_ID_MEMORY_MB=1",
                                   "POSTPACE_IMPORT_ID_MEMORY_MB=0"};
    for (size_t b = 0; b < sizeof budgets / sizeof budgets[0]; b++) {
        char *argv[] = {(char *)pgt_postpace_bin(), "import", path, NULL};
        char *envs[] = {f->env, (char *)budgets[b], NULL};
        struct proc p;
        assert_int_equal(proc_run(&p, argv, envs), 1);
        expect_report(p.out, path, want);
        expect_summary(p.out, path, "8002 rows read, 0 inserted, 0 already present, 2 refused");
    }
}

/*
 * Daylight-saving gaps and overlaps are found wherever a file's local times
 * lie: the check asks only the dates near a change of a zone's offset when
 * the zone's times span ten years or less (Europe/Paris here), every row
 * otherwise (America/New_York: 33 years).
 */
static void test_dst_problems_are_found_however_far_apart_the_times(void **state)
{
    struct fx *f = *state;
    char path[128];
    struct proc p;
    static const char csv[] =
        HDR "d1,jes-main,acct_1,Gap,,2026-03-29 02:30,Europe/Paris\n"            /* 2 */
            "d2,jes-main,acct_1,Overlap,,2026-10-25 02:30,Europe/Paris\n"        /* 3 */
            "d3,jes-main,acct_1,Just before,,2026-03-29 01:59:59,Europe/Paris\n" /* 4 */
            "d4,jes-main,acct_1,Later,,2029-07-01 12:00,Europe/Paris\n"          /* 5 */
            "d5,jes-main,acct_1,Gap,,2027-03-14 02:30,America/New_York\n"        /* 6 */
            "d6,jes-main,acct_1,Far,,2060-01-01 12:00,America/New_York\n"        /* 7 */
            "d7,jes-main,acct_1,Overlap,,2059-11-02 01:30,America/New_York\n";   /* 8 */
    write_file(f, "dst.csv", csv, sizeof csv - 1, path, sizeof path);
    assert_int_equal(run_import(f, &p, path, NULL, NULL), 1);
    const char *const want[] = {
        "2: scheduled_at: 2026-03-29 02:30:00 does not exist in Europe/Paris (a daylight-saving "
        "gap): give an offset or another time",
        "3: scheduled_at: 2026-10-25 02:30:00 happens twice in Europe/Paris (a daylight-saving "
        "overlap): add its offset, +02:00 or +01:00",
        "6: scheduled_at: 2027-03-14 02:30:00 does not exist in America/New_York "
        "(a daylight-saving gap): give an offset or another time",
        "8: scheduled_at: 2059-11-02 01:30:00 happens twice in America/New_York (a daylight-saving "
        "overlap): add its offset, -04:00 or -05:00",
        NULL,
    };
    expect_report(p.out, path, want);
    expect_summary(p.out, path, "7 rows read, 0 inserted, 0 already present, 4 refused");
}

/* #21 items 6, 7: times out of range (in UTC), :60, Unicode-blank text. */
static void test_out_of_range_times_and_unicode_blank_text_are_refused(void **state)
{
    struct fx *f = *state;
    char path[128];
    struct proc p;
    static const char csv[] =
        HDR
        "r1,jes-main,acct_1,Year one,,0001-01-01T00:00:00+01:00,\n"                   /* 2 */
        "r2,jes-main,acct_1,Year 10000,,9999-12-31T23:59:59-15:00,\n"                 /* 3 */
        "r3,jes-main,acct_1,Leap,,2030-06-30T23:59:60Z,\n"                            /* 4 */
        "r4,jes-main,acct_1,\xC2\xA0\xE2\x80\x83\xE2\x80\x8B,,2030-06-30T10:00Z,\n"   /* 5 */
        "\xE3\x80\x80,jes-main,acct_1,Blank id,,2030-06-30T10:00Z,\n"                  /* 6 */
        "r6,jes-main,acct_1,Fine,,2030-06-30T10:00Z,\n";                               /* 7 */
    write_file(f, "range.csv", csv, sizeof csv - 1, path, sizeof path);
    assert_int_equal(run_import(f, &p, path, NULL, NULL), 1);
    const char *const want[] = {
        "2: scheduled_at: \"0001-01-01T00:00:00+01:00\" is not a valid time: outside the "
        "supported range 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z (in UTC)",
        "3: scheduled_at: \"9999-12-31T23:59:59-15:00\" is not a valid time: outside the "
        "supported range 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z (in UTC)",
        "4: scheduled_at: \"2030-06-30T23:59:60Z\" is not a valid time: no such time of day: "
        "leap seconds (:60) are not accepted",
        "5: content: empty",
        "6: external_id: required (it makes a re-import a no-op)",
        NULL,
    };
    expect_report(p.out, path, want);
    expect_summary(p.out, path, "6 rows read, 0 inserted, 0 already present, 5 refused");
}

/* #21 item 8: a key id is a whole number (README), 1.5 is named as such; blank JSON content too. */
static void test_a_jsonl_key_id_must_be_a_whole_number(void **state)
{
    struct fx *f = *state;
    char path[128];
    struct proc p;
    static const char jsonl[] =
        "{\"external_id\":\"k1\",\"provider_key\":1.5,\"account_ids\":[\"a\"],\"content\":\"x\","
        "\"scheduled_at\":\"2030-06-30T10:00Z\"}\n"
        "{\"external_id\":\"k2\",\"provider_key\":true,\"account_ids\":[\"a\"],\"content\":\"x\","
        "\"scheduled_at\":\"2030-06-30T10:00Z\"}\n"
        "{\"external_id\":\"k3\",\"provider_key\":1.0,\"account_ids\":[\"a\"],"
        "\"content\":\"\\u00a0\\u2003\\ufeff\",\"scheduled_at\":\"2030-06-30T10:00Z\"}\n"
        "{\"external_id\":\"k4\",\"provider_key\":1,\"account_ids\":[\"a\"],\"content\":\"x\","
        "\"scheduled_at\":\"2030-06-30T10:00Z\"}\n";
    write_file(f, "keys.jsonl", jsonl, sizeof jsonl - 1, path, sizeof path);
    assert_int_equal(run_import(f, &p, path, NULL, NULL), 1);
    const char *const want2[] = {
        "1: provider_key: 1.5 is not a key id: give a whole number (the key's id) or a string "
        "(its label)",
        "2: provider_key: must be a key id (a whole number) or a key label (a string)",
        "3: content: empty",
        NULL,
    };
    expect_report(p.out, path, want2);
    expect_summary(p.out, path, "4 rows read, 0 inserted, 0 already present, 3 refused");
}

static void test_stdin_and_format_flag(void **state)
{
    struct fx *f = *state;
    char path[128], cmd[512];
    struct proc p;
    static const char body[] = "{\"external_id\":\"s1\",\"provider_key\":\"jes-main\","
                               "\"account_ids\":[\"a\"],\"content\":\"From stdin\","
                               "\"scheduled_at\":\"2026-12-01T09:00:00Z\"}\n";
    write_file(f, "cal.txt", body, sizeof body - 1, path, sizeof path);
    snprintf(cmd, sizeof cmd, "exec %s import - --format jsonl < %s", pgt_postpace_bin(), path);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    char *envs[] = {f->env, NULL};
    assert_int_equal(proc_run(&p, argv, envs), 0);
    expect_summary(p.out, "stdin", "1 rows read, 1 inserted, 0 already present, 0 refused");
    /* Without --format a .txt file is read as CSV, and its first line is no header. */
    assert_int_equal(run_import(f, &p, path, NULL, NULL), 1);
    assert_non_null(strstr(p.out, ":1: header: "));
}

static void test_usage_errors_exit_2_with_one_line(void **state)
{
    struct fx *f = *state;
    struct proc p;
    assert_int_equal(run_import(f, &p, "x.csv", "--bogus=1", NULL), 2);
    assert_string_equal(p.out, "postpace: --bogus: unknown flag (see `postpace help`)\n");
    assert_int_equal(run_import(f, &p, "x.csv", "--format", "xml"), 2);
    assert_string_equal(p.out, "postpace: --format: \"xml\" is not csv or jsonl (see `postpace help`)\n");
    assert_int_equal(run_import(f, &p, "x.csv", "y.csv", NULL), 2);
    assert_string_equal(p.out, "postpace: import: unexpected argument \"y.csv\" (see `postpace help`)\n");
}

/* ---- dying midway ---- */

static void generate(FILE *fp, long from, long to)
{
    for (long i = from; i < to; i++)
        fprintf(fp, "k-%ld,jes-main,acct_%ld,Post number %ld,,2026-12-01 09:00,UTC\n", i, i % 7, i);
}

static void test_killed_while_streaming_leaves_nothing(void **state)
{
    struct fx *f = *state;
    char fifo[128], cmd[512];
    snprintf(fifo, sizeof fifo, "%s/feed.csv", f->dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    snprintf(cmd, sizeof cmd, "exec %s import - < %s", pgt_postpace_bin(), fifo);
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    char *envs[] = {f->env, NULL};
    struct proc p;
    proc_start(&p, argv, envs);
    FILE *fp = fopen(fifo, "w");
    assert_non_null(fp);
    fputs(HDR, fp);
    generate(fp, 0, 20000);
    fflush(fp);
    assert_true(pgt_await(f->c, "SELECT count(*) FROM pg_stat_activity "
                               "WHERE query LIKE '%COPY import_stage%' AND pid <> pg_backend_pid()"));
    kill(p.pid, SIGKILL);
    assert_int_equal(proc_wait(&p), 128 + SIGKILL);
    fclose(fp);
    assert_true(pgt_await(f->c, "SELECT (count(*) = 0)::int FROM pg_stat_activity "
                               "WHERE query LIKE '%COPY import_stage%' AND pid <> pg_backend_pid()"));
    assert_int_equal(count(f, "SELECT count(*) FROM posts"), 0);
}

/*
 * Writes `rows` rows to f->dir/NAME (its path into path), locks posts from
 * another session, starts an import of the file into *p and waits until its
 * INSERT waits for that lock. Returns the session holding the lock.
 */
static PGconn *start_an_import_held_at_its_insert(struct fx *f, const char *name, int rows,
                                                  struct proc *p, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", f->dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(HDR, fp);
    generate(fp, 0, rows);
    fclose(fp);
    /* Hold the import at its INSERT (it needs ROW EXCLUSIVE on posts; reads still pass). */
    PGconn *blocker = pgt_connect(f->ci);
    pgt_exec(blocker, "BEGIN");
    pgt_exec(blocker, "LOCK TABLE posts IN SHARE ROW EXCLUSIVE MODE");
    char *argv[] = {(char *)pgt_postpace_bin(), "import", path, NULL};
    char *envs[] = {f->env, NULL};
    proc_start(p, argv, envs);
    assert_true(pgt_await(f->c, "SELECT count(*) FROM pg_stat_activity "
                               "WHERE query LIKE '%INSERT INTO posts%' AND wait_event_type = 'Lock'"));
    return blocker;
}

/* An import of 5,000 rows held at its INSERT, then killed with SIGKILL there. */
static PGconn *kill_an_import_held_at_its_insert(struct fx *f)
{
    char path[128];
    struct proc p;
    PGconn *blocker = start_an_import_held_at_its_insert(f, "big.csv", 5000, &p, path, sizeof path);
    kill(p.pid, SIGKILL);
    assert_int_equal(proc_wait(&p), 128 + SIGKILL);
    return blocker;
}

static void test_killed_while_inserting_leaves_nothing(void **state)
{
    struct fx *f = *state;
    PGconn *blocker = kill_an_import_held_at_its_insert(f);
    pgt_exec(blocker, "COMMIT"); /* the insert runs now, then finds its client gone */
    PQfinish(blocker);
    assert_true(pgt_await(f->c, "SELECT (count(*) = 0)::int FROM pg_stat_activity "
                               "WHERE query LIKE '%INSERT INTO posts%' AND pid <> pg_backend_pid()"));
    assert_int_equal(count(f, "SELECT count(*) FROM posts"), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM post_targets"), 0);
}

/* #21 item 3: `head -c -36 full.csv | postpace import -` used to import the cut post as complete. */
static void test_a_cut_off_input_is_refused(void **state)
{
    struct fx *f = *state;
    char path[128], cmd[512];
    struct proc p;
    /* Content last, as many files have it: a cut leaves a row of the right shape. */
    static const char body[] = "external_id,provider_key,account_ids,scheduled_at,content\n"
                               "a,jes-main,x,2030-06-30T10:00Z,First post\n"
                               "b,jes-main,x,2030-06-30T10:00Z,The second post is cut off in the middle of a sentence\n";
    write_file(f, "full.csv", body, sizeof body - 1, path, sizeof path);
    snprintf(cmd, sizeof cmd, "head -c -36 %s | %s import -", path, pgt_postpace_bin());
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    char *envs[] = {f->env, NULL};
    assert_int_equal(proc_run(&p, argv, envs), 1);
    const char *const want[] = {
        "3: record: no line end after the last record: the input may have been cut off", NULL};
    expect_report(p.out, "stdin", want);
    assert_int_equal(count(f, "SELECT count(*) FROM posts"), 0);

    /* A regular file too, unless it is whole and --allow-unterminated says it ends there. */
    write_file(f, "unterminated.csv", body, sizeof body - 2, path, sizeof path);
    assert_int_equal(run_import(f, &p, path, NULL, NULL), 1);
    assert_non_null(strstr(p.out, ":3: record: no line end after the last record"));
    assert_int_equal(count(f, "SELECT count(*) FROM posts"), 0);
    assert_int_equal(run_import(f, &p, path, "--allow-unterminated", NULL), 0);
    assert_int_equal(count(f, "SELECT count(*) FROM posts"), 2);
    /* The flag cannot vouch for a pipe's end. */
    snprintf(cmd, sizeof cmd, "cat %s | %s import - --allow-unterminated", path, pgt_postpace_bin());
    assert_int_equal(proc_run(&p, argv, envs), 1);
    assert_non_null(strstr(p.out, "stdin:3: record: no line end after the last record"));
}

/* #21 item 3: a regular file that changes before the commit aborts the import, nothing written. */
static void test_a_file_changed_during_the_import_writes_nothing(void **state)
{
    struct fx *f = *state;
    char path[128];
    struct proc p;
    /* Held at its INSERT, after the whole file was read. */
    PGconn *blocker =
        start_an_import_held_at_its_insert(f, "changing.csv", 200, &p, path, sizeof path);
    assert_int_equal(truncate(path, 100), 0);
    pgt_exec(blocker, "COMMIT");
    PQfinish(blocker);
    assert_int_equal(proc_wait(&p), 1);
    assert_non_null(strstr(p.out, "the file changed while it was imported"));
    assert_non_null(strstr(p.out, "(nothing imported)"));
    assert_int_equal(count(f, "SELECT count(*) FROM posts"), 0);
}

/*
 * #21 item 4: a client killed with kill -9 ends its backend at once, even one
 * that waits for a lock and so writes nothing to the dead socket: the lock is
 * held by this test all along, so without client_connection_check_interval
 * the backend would wait as long as the lock is held.
 */
static void test_a_killed_import_ends_its_backend_while_the_lock_is_still_held(void **state)
{
    struct fx *f = *state;
    PGconn *blocker = kill_an_import_held_at_its_insert(f);
    assert_true(pgt_await(f->c, "SELECT (count(*) = 0)::int FROM pg_stat_activity "
                               "WHERE query LIKE '%INSERT INTO posts%' AND pid <> pg_backend_pid()"));
    /* Gone with the lock still held: its locks went with it, and nothing was written. */
    assert_int_equal(count(f, "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                              "WHERE c.relname = 'posts' AND NOT l.granted"), 0);
    pgt_exec(blocker, "COMMIT");
    PQfinish(blocker);
    assert_int_equal(count(f, "SELECT count(*) FROM posts"), 0);
}

/*
 * #26: the insert takes no ON CONFLICT (it cost every row a speculative
 * insertion); a post that another writer commits between the check and the
 * insert is left alone all the same, and the other rows go in.
 */
static void test_a_post_added_meanwhile_is_left_alone(void **state)
{
    struct fx *f = *state;
    char path[128];
    struct proc p;
    PGconn *blocker = start_an_import_held_at_its_insert(f, "race.csv", 50, &p, path, sizeof path);
    pgt_exec(blocker, "INSERT INTO posts (external_id, provider_key_id, account_ids, content, "
                      "scheduled_at) SELECT 'k-7', id, '{other}', 'Written meanwhile', "
                      "'2026-12-02 10:00Z' FROM provider_keys WHERE label = 'jes-main'");
    pgt_exec(blocker, "COMMIT");
    PQfinish(blocker);
    assert_int_equal(proc_wait(&p), 0);
    expect_summary(p.out, path, "50 rows read, 49 inserted, 1 already present, 0 refused");
    assert_int_equal(count(f, "SELECT count(*) FROM posts"), 50);
    assert_int_equal(count(f, "SELECT count(*) FROM posts WHERE external_id = 'k-7' "
                              "AND content = 'Written meanwhile'"), 1);
    assert_int_equal(count(f, "SELECT count(*) FROM post_targets"), 50);
}

/* #21 item 6: rows in the past are imported, with a warning saying what becomes of them. */
static void test_rows_in_the_past_are_imported_with_a_warning(void **state)
{
    struct fx *f = *state;
    char path[128];
    struct proc p;
    static const char body[] = HDR "old-1,jes-main,x,Long ago,,2020-01-01T00:00:00Z,\n"
                                   "new-1,jes-main,x,Ahead,,2099-01-01T00:00:00Z,\n"
                                   "old-2,jes-main,x,Long ago too,,2020-01-02T00:00:00Z,\n";
    write_file(f, "past.csv", body, sizeof body - 1, path, sizeof path);
    assert_int_equal(run_import(f, &p, path, NULL, NULL), 0);
    char want[512];
    snprintf(want, sizeof want,
             "%s:2: warning: 2 rows scheduled more than catchup_ms (3600000 ms) in the past: "
             "their targets expire unsent (the first on this line)",
             path);
    if (!strstr(p.out, want))
        fprintf(stderr, "got:\n%s\nwant: %s\n", p.out, want);
    assert_non_null(strstr(p.out, want));
    expect_summary(p.out, path, "3 rows read, 3 inserted, 0 already present, 0 refused");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_every_bad_row_is_reported_by_line_and_nothing_is_inserted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_inserts_the_good_rows_and_exits_1, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dst_problems_are_found_however_far_apart_the_times,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeated_ids_are_named_whoever_finds_them, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_media_rules_name_the_first_bad_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dry_run_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reimport_is_a_noop_and_a_changed_row_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_broken_last_record_leaves_nothing_imported, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_jsonl_rows_are_checked_like_csv_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_row_rules_are_named_in_both_formats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_long_bad_value_is_quoted_whole_characters_only,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_stdin_and_format_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_range_times_and_unicode_blank_text_are_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_jsonl_key_id_must_be_a_whole_number, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_usage_errors_exit_2_with_one_line, setup, teardown),
        cmocka_unit_test_setup_teardown(test_killed_while_streaming_leaves_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_killed_while_inserting_leaves_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_cut_off_input_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_file_changed_during_the_import_writes_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_a_killed_import_ends_its_backend_while_the_lock_is_still_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rows_in_the_past_are_imported_with_a_warning, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_a_post_added_meanwhile_is_left_alone, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
