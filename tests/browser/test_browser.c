/*
 * The web page in a real browser (issue #25): Debian's headless Chromium,
 * driven over the DevTools protocol (tests/support/cdp.h), against a real
 * `postpace serve` (scheduler off: nothing is sent, every status stays as
 * tests/browser/seed.sql set it) on a seeded calendar of 277 posts over the
 * five providers: some slipping, one quota spent, some failed. Assertions
 * read the rendered DOM; screenshots go to $BROWSER_ARTIFACTS (default: the
 * build's browser-artifacts/).
 *
 * BROWSER_TEST_BREAK=1 fails one post more after seeding, so the count of
 * failed posts no longer matches: the way to see this test fail.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "cdp.h"
#include "pgtest.h"
#include "proc.h"

#define TOKEN "browser-token-0123456789"

static char *db;
static PGconn *conn;
static struct proc server;
static char base[128];
static char artifacts[1024];
/* The browser of the test running: a test that fails midway leaves it to close_page. */
static struct cdp page;

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

static int group_setup(void **state)
{
    if (!cdp_browser()) {
        fprintf(stderr, "no chromium: `deploy/dev deps` installs Debian's\n");
        return -1;
    }
    const char *a = getenv("BROWSER_ARTIFACTS");
    snprintf(artifacts, sizeof artifacts, "%s", a && *a ? a : BROWSER_ARTIFACTS);
    mkdir(artifacts, 0755);
    db = pgt_create_migrated_db();
    conn = pgt_connect(db);
    char *seed = read_file(POSTPACE_SOURCE_DIR "/tests/browser/seed.sql");
    if (!seed)
        return -1;
    pgt_exec(conn, seed);
    free(seed);
    const char *brk = getenv("BROWSER_TEST_BREAK");
    if (brk && strcmp(brk, "1") == 0)
        pgt_exec(conn, "UPDATE post_targets t SET status = 'failed' FROM posts p "
                       "WHERE p.id = t.post_id AND p.external_id = 'fh-50'");
    char *envs[] = {"POSTPACE_API_TOKENS=" TOKEN, "POSTPACE_SCHEDULER=0", "BROWSER_KEY=unused",
                    NULL};
    int port = proc_serve(&server, db, envs);
    if (port < 0)
        return -1;
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    return 0;
}

static int close_page(void **state)
{
    cdp_close(&page); /* a no-op once closed */
    return 0;
}

static int group_teardown(void **state)
{
    kill(server.pid, SIGTERM);
    int rc = proc_wait(&server);
    if (rc != 0)
        fprintf(stderr, "postpace exited with %d:\n%s\n", rc, server.out);
    PQfinish(conn);
    pgt_drop_db(db);
    return rc == 0 ? 0 : -1;
}

/* Opens the page with the token in the fragment, as the demo prints it, and waits for it to render.
 */
static void open_page(struct cdp *c, const char *fragment_extra, int w, int h)
{
    char url[512];
    snprintf(url, sizeof url, "%s/#token=%s&tz=UTC%s", base, TOKEN,
             fragment_extra ? fragment_extra : "");
    assert_int_equal(cdp_open(c, url, w, h, "UTC"), 0);
    assert_int_equal(
        cdp_await(c, "document.getElementById('timings').dataset.ready === '1'", 30000), 0);
}

/* Runs `js` in the page for its effect (a click, a scroll); fails the test on an exception. */
static void run_js(struct cdp *c, const char *js)
{
    json_t *v = cdp_eval(c, js);
    assert_non_null(v);
    json_decref(v);
}

static long count_of(struct cdp *c, const char *selector)
{
    char js[512];
    snprintf(js, sizeof js, "document.querySelectorAll(\"%s\").length", selector);
    return (long)cdp_number(c, js);
}

static void shoot(struct cdp *c, const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", artifacts, name);
    assert_int_equal(cdp_screenshot(c, path), 0);
    printf("screenshot: %s\n", path);
}

/* ---- served as a page should be ---- */

struct headers {
    char text[8192];
    size_t len;
};

static size_t on_header(char *b, size_t size, size_t n, void *arg)
{
    struct headers *h = arg;
    size_t len = size * n;
    if (h->len + len < sizeof h->text) {
        for (size_t i = 0; i < len; i++) /* lower case, for strstr */
            h->text[h->len + i] = (char)(b[i] >= 'A' && b[i] <= 'Z' ? b[i] + 32 : b[i]);
        h->len += len;
        h->text[h->len] = '\0';
    }
    return len;
}

static size_t discard(char *b, size_t size, size_t n, void *arg)
{
    return size * n;
}

static long get(const char *path, const char *if_none_match, struct headers *h)
{
    char url[512], inm[128];
    snprintf(url, sizeof url, "%s%s", base, path);
    CURL *e = curl_easy_init();
    struct curl_slist *list = NULL;
    if (if_none_match) {
        snprintf(inm, sizeof inm, "If-None-Match: %s", if_none_match);
        list = curl_slist_append(list, inm);
    }
    memset(h, 0, sizeof *h);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    long status = 0;
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(list);
    curl_easy_cleanup(e);
    return status;
}

static void test_the_page_is_served_with_its_type_a_strict_policy_and_an_etag(void **state)
{
    struct headers h;
    static const char *const assets[][2] = {
        {"/", "text/html"}, {"/ui/app.js", "text/javascript"}, {"/ui/app.css", "text/css"}};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(get(assets[i][0], NULL, &h), 200);
        assert_non_null(strstr(h.text, assets[i][1]));
        assert_non_null(strstr(h.text, "content-security-policy: default-src 'self';"));
        assert_non_null(strstr(h.text, "x-content-type-options: nosniff"));
        assert_null(strstr(h.text, "unsafe-inline"));
    }
    char etag[64] = "";
    const char *at = strstr(h.text, "etag: ");
    assert_non_null(at);
    sscanf(at + 6, "%63s", etag);
    assert_int_equal(get("/ui/app.js", etag, &h), 304);
    assert_int_equal(get("/ui/nothing.js", NULL, &h), 404);
    assert_int_equal(get("/ui/README.md", NULL, &h), 404);
}

/* ---- the token ---- */

static void test_without_a_token_the_page_says_how_to_configure_one(void **state)
{
    char url[256];
    snprintf(url, sizeof url, "%s/", base);
    assert_int_equal(cdp_open(&page, url, 1200, 800, "UTC"), 0);
    assert_int_equal(cdp_await(&page, "!document.getElementById('login').hidden", 10000), 0);
    char *text = cdp_string(&page, "document.getElementById('login').textContent");
    assert_non_null(text);
    assert_non_null(strstr(text, "api_tokens"));
    assert_non_null(strstr(text, "POSTPACE_API_TOKENS"));
    free(text);
    assert_true(cdp_number(&page, "document.getElementById('app').hidden ? 1 : 0") == 1);
    cdp_close(&page);
}

static void test_a_wrong_token_is_refused_and_asked_again(void **state)
{
    char url[256];
    snprintf(url, sizeof url, "%s/#token=not-the-token-0123456", base);
    assert_int_equal(cdp_open(&page, url, 1200, 800, "UTC"), 0);
    assert_int_equal(cdp_await(&page,
                               "!document.getElementById('login').hidden && "
                               "document.getElementById('login-why').textContent"
                               ".includes('refused')",
                               10000),
                     0);
    assert_true(cdp_number(&page, "sessionStorage.getItem('postpace.token') === null ? 1 : 0") ==
                1);
    cdp_close(&page);
}

/* ---- the week ---- */

static void test_the_week_counts_posts_by_status_and_marks_slips_and_the_never_going(void **state)
{
    open_page(&page, NULL, 1400, 1000);
    /* The fragment's token moved into the tab's session and left the address. */
    char *hash = cdp_string(&page, "location.hash");
    assert_non_null(hash);
    assert_null(strstr(hash, "token"));
    free(hash);
    assert_true(
        cdp_number(&page, "sessionStorage.getItem('postpace.token') === '" TOKEN "' ? 1 : 0") == 1);

    /* Every post is on the page, coloured by the status of its targets. */
    assert_int_equal(count_of(&page, ".post"), 277);
    assert_int_equal(count_of(&page, ".post[data-status=scheduled]"), 250);
    assert_int_equal(count_of(&page, ".post[data-status=published]"), 12);
    assert_int_equal(count_of(&page, ".post[data-status=failed]"), 7);
    assert_int_equal(count_of(&page, ".post[data-status=cancelled]"), 8);
    assert_int_equal(count_of(&page, ".post.s-failed"), 7);
    assert_int_equal(count_of(&page, "#legend [data-status=failed][data-count='7']"), 1);
    assert_int_equal(count_of(&page, "#legend [data-status=scheduled][data-count='250']"), 1);
    /* With the provider and key. */
    assert_int_equal(count_of(&page, ".post[data-provider=jestha][data-key=je]"), 60);

    /* Slips: how late and which window binds, from /v1/plan. */
    assert_int_equal(count_of(&page, ".post[data-slip-ms]"), 101);
    assert_int_equal(count_of(&page, ".post[data-key=je][data-slip-ms]"), 59);
    assert_int_equal(count_of(&page, ".post[data-key=sp][data-slip-ms]"), 42);
    assert_int_equal(count_of(&page, ".post[data-key=je][data-slip-ms][data-binding^='key POST "
                                     "/api/posts']"),
                     59);
    assert_int_equal(count_of(&page, ".post[data-key=sp][data-binding^='user write']"), 42);
    assert_true(cdp_number(&page,
                           "Math.max(...[...document.querySelectorAll("
                           "'.post[data-key=je][data-slip-ms]')].map(b => +b.dataset.slipMs))") >
                5 * 60000); /* 59 paced 10 a minute: the last near 6 minutes late */
    char *slip =
        cdp_string(&page, "document.querySelector('.post[data-key=je][data-slip-ms] .slip')"
                          ".textContent");
    assert_non_null(slip);
    assert_non_null(strstr(slip, "late: key POST /api/posts"));
    free(slip);

    /* The post that will never go: a spent quota, named. */
    assert_int_equal(count_of(&page, ".post[data-never]"), 2);
    assert_int_equal(count_of(&page, ".post[data-never][data-key=pl][data-binding='account POST "
                                     "/posts lifetime 10 posts total']"),
                     2);
    /* Each day's list scrolled to its first slipping or never-going post, for the picture,
     * and two frames for the posts scrolled into view to be laid out and painted. */
    run_js(&page, "(async () => { for (const sel of ['.post[data-key=je][data-slip-ms]', "
                  "'.post[data-never]']) { const b = document.querySelector(sel), ul = "
                  "b.closest('ul'); ul.scrollTop += b.getBoundingClientRect().top - "
                  "ul.getBoundingClientRect().top - 60; } for (let i = 0; i < 2; i++) await new "
                  "Promise(r => requestAnimationFrame(r)); return 1; })()");
    shoot(&page, "week.png");
    cdp_close(&page);
}

/* ---- the day view, another time zone ---- */

static void test_the_day_view_in_another_time_zone_shifts_every_post(void **state)
{
    open_page(&page, NULL, 1400, 1000);
    char *utc = cdp_string(&page, "document.querySelector('.post[data-key=je] .t').textContent");
    assert_non_null(utc);
    /* Tokyo is UTC+9 all year: the same post shows nine hours later. */
    run_js(&page, "document.getElementById('timings').dataset.ready = '';"
                  "const z = document.getElementById('tz'); z.value = 'Asia/Tokyo';"
                  "z.dispatchEvent(new Event('change')); 1");
    assert_int_equal(cdp_await(&page,
                               "document.getElementById('timings').dataset.ready === '1' && "
                               "document.getElementById('cal-title').textContent"
                               ".includes('Asia/Tokyo')",
                               30000),
                     0);
    char *tokyo = cdp_string(&page, "document.querySelector('.post[data-key=je] .t').textContent");
    assert_non_null(tokyo);
    int uh, um, th, tm;
    assert_int_equal(sscanf(utc, "%d:%d", &uh, &um), 2);
    assert_int_equal(sscanf(tokyo, "%d:%d", &th, &tm), 2);
    assert_int_equal((uh + 9) % 24, th);
    assert_int_equal(um, tm);
    free(utc), free(tokyo);
    /* One day: one column, each post with its content. */
    run_js(&page, "document.getElementById('timings').dataset.ready = '';"
                  "const v = document.getElementById('view'); v.value = 'day';"
                  "v.dispatchEvent(new Event('change')); 1");
    assert_int_equal(
        cdp_await(&page, "document.getElementById('timings').dataset.ready === '1'", 30000), 0);
    assert_int_equal(count_of(&page, "#days .day"), 1);
    assert_int_equal(count_of(&page, "#days .post .c"), count_of(&page, "#days .post"));
    cdp_close(&page);
}

/* ---- each key's budget ---- */

static void test_each_key_shows_its_binding_windows_over_time(void **state)
{
    open_page(&page, NULL, 1400, 1000);
    assert_int_equal(count_of(&page, "#keys .key"), 5);
    /* Jestha's 10 a minute is full until its last slipping post leaves. */
    assert_int_equal(count_of(&page, ".key[data-key=je] .lane[data-window='key POST /api/posts "
                                     "rolling 10'][data-late='59']"),
                     1);
    char *until =
        cdp_string(&page, "document.querySelector(\".key[data-key=je] .lane[data-late='59']"
                          "\").dataset.fullUntil");
    assert_non_null(until);
    assert_true(strlen(until) > 10);
    free(until);
    char *why = cdp_string(&page, "document.querySelector('.key[data-key=je] .lane .why')"
                                  ".textContent");
    assert_non_null(why);
    assert_non_null(strstr(why, "10 per 1m on POST /api/posts"));
    assert_non_null(strstr(why, "full until"));
    free(why);
    assert_int_equal(count_of(&page, ".key[data-key=pl] .lane[data-never='2']"), 1);
    assert_int_equal(count_of(&page, ".key[data-key=sp] .lane svg path.tick"), 1);
    run_js(&page, "document.getElementById('budgets').scrollIntoView(), 1");
    shoot(&page, "budget.png");
    cdp_close(&page);
}

/* ---- one post ---- */

/* A number from SQL on the seeded calendar. */
static long count_sql(const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    long n = PQresultStatus(r) == PGRES_TUPLES_OK ? atol(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return n;
}

static void test_clicking_a_post_shows_its_targets_attempts_and_last_error(void **state)
{
    open_page(&page, NULL, 1400, 1000);
    run_js(&page, "document.querySelector('.post[data-status=failed]').click(), 1");
    assert_int_equal(cdp_await(&page,
                               "!document.getElementById('detail').hidden && "
                               "document.querySelectorAll('#detail .target').length === 2",
                               10000),
                     0);
    char *text = cdp_string(&page, "document.getElementById('detail').textContent");
    assert_non_null(text);
    assert_non_null(strstr(text, "content rejected"));
    assert_non_null(strstr(text, "twitter"));
    assert_non_null(strstr(text, "linkedin"));
    assert_non_null(strstr(text, "No attempts yet."));
    assert_non_null(strstr(text, "Retry failed targets"));
    free(text);
    /* Retry: a dry run first (these targets were never sent, so it is safe), then the
     * confirmation, through POST /v1/targets/retry as the API offers it. */
    char *id = cdp_string(&page, "document.querySelector('.post[data-status=failed]').dataset.id");
    assert_non_null(id);
    long post = atol(id);
    free(id);
    run_js(&page, "document.querySelector('#detail [data-act=retry]').click(), 1");
    assert_int_equal(cdp_await(&page,
                               "/Dry run: 2 matched, 2 would be retried/.test("
                               "document.getElementById('answer').textContent)",
                               10000),
                     0);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM post_targets WHERE post_id = %ld AND status = 'failed'", post);
    assert_int_equal(count_sql(sql), 2); /* a dry run changes nothing */
    run_js(&page, "document.querySelector('#answer [data-act=retry-confirm]').click(), 1");
    assert_int_equal(cdp_await(&page,
                               "/Done: 2 matched, 2 retried/.test("
                               "document.getElementById('answer').textContent)",
                               10000),
                     0);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM post_targets WHERE post_id = %ld AND status = 'scheduled'", post);
    assert_int_equal(count_sql(sql), 2);
    assert_int_equal(count_sql("SELECT count(*) FROM operator_actions WHERE action = 'retry' "
                               "AND actor = 'api:token-1'"),
                     1);
    /* Put the seeded calendar back for the tests that count it. */
    snprintf(sql, sizeof sql,
             "UPDATE post_targets SET status = 'failed', last_error = '{\"code\": \"400\", "
             "\"message\": \"content rejected\"}' WHERE post_id = %ld",
             post);
    pgt_exec(conn, sql);
    cdp_close(&page);
}

static void test_a_published_post_shows_its_webhook_events(void **state)
{
    open_page(&page, NULL, 1400, 1000);
    run_js(&page, "document.querySelector('.post[data-status=published]').click(), 1");
    assert_int_equal(cdp_await(&page,
                               "!document.getElementById('detail').hidden && "
                               "document.querySelectorAll('#detail table.events tbody tr').length "
                               "=== 3",
                               10000),
                     0);
    char *text = cdp_string(&page, "document.getElementById('detail').textContent");
    assert_non_null(text);
    assert_non_null(strstr(text, "Webhook events"));
    assert_non_null(strstr(text, "post.published"));
    assert_non_null(strstr(text, "pe-instagram"));
    assert_non_null(strstr(text, "evt-"));
    free(text);
    cdp_close(&page);
}

/* ---- controls ---- */

static long paused_keys(const char *label)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM provider_keys WHERE label = '%s' AND paused_at IS NOT NULL",
             label);
    PGresult *r = PQexec(conn, sql);
    long n = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

static void test_pause_and_resume_a_key_from_the_page(void **state)
{
    open_page(&page, NULL, 1400, 1000);
    run_js(&page, "document.querySelector('.key[data-key=je] [data-act=pause]')"
                  ".click(), 1");
    assert_int_equal(cdp_await(&page,
                               "document.querySelector('.key[data-key=je]').dataset.paused "
                               "=== '1'",
                               10000),
                     0);
    assert_int_equal(paused_keys("je"), 1);
    char *label = cdp_string(&page, "document.querySelector('.key[data-key=je] [data-act=resume]')"
                                    ".getAttribute('aria-label')");
    assert_non_null(label);
    assert_string_equal(label, "Resume key je");
    free(label);
    run_js(&page, "document.querySelector('.key[data-key=je] [data-act=resume]')"
                  ".click(), 1");
    assert_int_equal(cdp_await(&page,
                               "document.querySelector('.key[data-key=je]').dataset.paused "
                               "=== '0'",
                               10000),
                     0);
    assert_int_equal(paused_keys("je"), 0);
    assert_int_equal(count_of(&page, ".key[data-key=je] [data-act=pause]"), 1);
    cdp_close(&page);
}

/* ---- live ---- */

static void test_a_status_change_shows_without_reloading(void **state)
{
    open_page(&page, NULL, 1400, 1000);
    run_js(&page, "window.__same = document.getElementById('days'), 1");
    /* As the recorder writes it: status and updated_at together. */
    pgt_exec(conn, "UPDATE post_targets t SET status = 'failed', updated_at = clock_timestamp() "
                   "FROM posts p WHERE p.id = t.post_id AND p.external_id = 'pe-50'");
    assert_int_equal(cdp_await(&page,
                               "document.querySelectorAll('.post[data-status=failed]')"
                               ".length === 8 && document.querySelector("
                               "'#legend [data-status=failed]').dataset.count === '8'",
                               20000),
                     0);
    /* The same document: no reload. */
    assert_true(cdp_number(&page, "window.__same === document.getElementById('days') ? 1 : 0") ==
                1);
    /* An operator's re-queue puts it back, for the tests after this one. */
    pgt_exec(conn, "UPDATE post_targets t SET status = 'scheduled', updated_at = clock_timestamp() "
                   "FROM posts p WHERE p.id = t.post_id AND p.external_id = 'pe-50'");
    cdp_close(&page);
}

/* ---- accessibility, checked in the browser itself ---- */

/* Every control's accessible name, as simply as the rules give it. */
static const char unnamed_js[] =
    "[...document.querySelectorAll('button, select, input, [tabindex]')]"
    ".filter(e => !e.closest('[hidden]'))"
    ".filter(e => !((e.getAttribute('aria-label') || '').trim() ||"
    " (e.labels && [...e.labels].some(l => l.textContent.trim())) ||"
    " (e.getAttribute('aria-labelledby') && document.getElementById("
    "e.getAttribute('aria-labelledby'))) || e.textContent.trim()))"
    ".map(e => e.outerHTML.slice(0, 80)).join('\\n')";

/* Text against its background, WCAG's contrast ratio, over every element with text of its own. */
static const char contrast_js[] =
    "(() => { const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);"
    " const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 :"
    " Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) +"
    " 0.0722 * f(c[2]); };"
    " const bg = e => { for (; e; e = e.parentElement) { const c = rgb(getComputedStyle(e)"
    ".backgroundColor); if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c; }"
    " return [255, 255, 255]; };"
    " let worst = 99, where = '';"
    " for (const e of document.querySelectorAll('body *')) {"
    "  if (e.closest('[hidden]') || e.closest('svg') && e.tagName !== 'text') continue;"
    "  const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());"
    "  if (!own) continue;"
    "  const st = getComputedStyle(e); if (st.visibility === 'hidden' || st.display === 'none')"
    " continue;"
    "  const fg = rgb(e.tagName === 'text' ? st.fill : st.color), b = bg(e);"
    "  const l1 = lum(fg), l2 = lum(b);"
    "  const r = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);"
    "  if (r < worst) { worst = r; where = e.outerHTML.slice(0, 80); } }"
    " return JSON.stringify({worst, where}); })()";

/* What has the focus: an id, a post, or a button's action and key. */
static const char focused_js[] =
    "(e => e.id ? '#' + e.id : e.classList.contains('post') ? 'post' :"
    " e.dataset.act ? e.dataset.act + ':' + e.dataset.key : e.tagName)(document.activeElement)";

static void press(struct cdp *c, const char *key, int vk)
{
    assert_int_equal(cdp_key(c, key, vk), 0);
}

static void test_controls_are_named_reachable_by_keyboard_and_contrasted(void **state)
{
    open_page(&page, NULL, 1400, 1000);
    char *unnamed = cdp_string(&page, unnamed_js);
    assert_non_null(unnamed);
    if (*unnamed)
        fprintf(stderr, "controls without an accessible name:\n%s\n", unnamed);
    assert_string_equal(unnamed, "");
    free(unnamed);

    /* Tab reaches every control once, the calendar being one stop. */
    assert_int_equal(count_of(&page, "#days .post[tabindex='0']"), 1);
    char seen[4096] = "|";
    for (int i = 0; i < 30; i++) {
        press(&page, "Tab", 9);
        char *f = cdp_string(&page, focused_js);
        assert_non_null(f);
        if (strlen(seen) + strlen(f) + 2 < sizeof seen && !strstr(seen, f))
            strcat(strcat(seen, f), "|");
        free(f);
    }
    printf("tab order reaches: %s\n", seen);
    static const char *const stops[] = {"|#view|",   "|#prev|", "|#today|",  "|#next|",  "|#tz|",
                                        "|#forget|", "|post|",  "|pause:1|", "|pause:5|"};
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
        if (!strstr(seen, stops[i]))
            fprintf(stderr, "not reached by Tab: %s\n", stops[i]);
        assert_non_null(strstr(seen, stops[i]));
    }

    /* In the calendar, the arrows move between posts and Enter opens one. */
    run_js(&page, "document.querySelector('#days .post[tabindex=\"0\"]').focus(), 1");
    char *first = cdp_string(&page, "document.activeElement.dataset.id");
    press(&page, "ArrowDown", 40);
    char *second = cdp_string(&page, "document.activeElement.dataset.id");
    assert_non_null(first);
    assert_non_null(second);
    assert_string_not_equal(first, second);
    press(&page, "ArrowRight", 39);
    char *third = cdp_string(&page, "document.activeElement.closest('.day').dataset.day");
    press(&page, "ArrowLeft", 37);
    char *back = cdp_string(&page, "document.activeElement.closest('.day').dataset.day");
    assert_non_null(third);
    assert_non_null(back);
    assert_string_not_equal(third, back);
    free(first), free(second), free(third), free(back);
    assert_int_equal(count_of(&page, "#days .post[tabindex='0']"), 1);
    press(&page, "Enter", 13);
    assert_int_equal(cdp_await(&page, "!document.getElementById('detail').hidden", 10000), 0);

    char *contrast = cdp_string(&page, contrast_js);
    assert_non_null(contrast);
    json_t *o = json_loads(contrast, 0, NULL);
    double worst = json_number_value(json_object_get(o, "worst"));
    printf("lowest text contrast: %.2f:1 (%s)\n", worst,
           json_string_value(json_object_get(o, "where")));
    assert_true(worst >= 4.5);
    json_decref(o);
    free(contrast);
    cdp_close(&page);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_the_page_is_served_with_its_type_a_strict_policy_and_an_etag,
                                  close_page),
        cmocka_unit_test_teardown(test_without_a_token_the_page_says_how_to_configure_one,
                                  close_page),
        cmocka_unit_test_teardown(test_a_wrong_token_is_refused_and_asked_again, close_page),
        cmocka_unit_test_teardown(
            test_the_week_counts_posts_by_status_and_marks_slips_and_the_never_going, close_page),
        cmocka_unit_test_teardown(test_the_day_view_in_another_time_zone_shifts_every_post,
                                  close_page),
        cmocka_unit_test_teardown(test_each_key_shows_its_binding_windows_over_time, close_page),
        cmocka_unit_test_teardown(test_clicking_a_post_shows_its_targets_attempts_and_last_error,
                                  close_page),
        cmocka_unit_test_teardown(test_a_published_post_shows_its_webhook_events, close_page),
        cmocka_unit_test_teardown(test_pause_and_resume_a_key_from_the_page, close_page),
        cmocka_unit_test_teardown(test_a_status_change_shows_without_reloading, close_page),
        cmocka_unit_test_teardown(test_controls_are_named_reachable_by_keyboard_and_contrasted,
                                  close_page),
    };
    int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    curl_global_cleanup();
    return rc;
}
