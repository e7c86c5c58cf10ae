/*
 * POST /v1/posts group commit (issue #26): creates that wait for a worker
 * together are checked, inserted and committed together, each answered as
 * if it had been alone (201, 200 for a repeat, 409, 422), and only after the
 * commit; a statement that fails takes no other post down with it.
 *
 * To make the batch certain, the only API worker is held on a row lock the
 * test owns (a DELETE of a post whose targets the test locked), the creates
 * are sent meanwhile, and the test waits until /metrics shows them all
 * queued before it lets the worker go. That the posts share one transaction
 * is read from their xmin.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "db/db.h"
#include "pgtest.h"
#include "proc.h"

#define TOKEN "token-one-0123456789"

struct fixture {
    char *db;
    PGconn *conn;
    struct proc server;
    int port;
};

static void start(struct fixture *f)
{
    f->db = pgt_create_migrated_db();
    f->conn = pgt_connect(f->db);
    pgt_exec(f->conn, "INSERT INTO provider_keys (provider, label, secret_ref) "
                      "VALUES ('jestha', 'je', 'env:JE_KEY')");
    char env_db[1024];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", f->db);
    char *envs[] = {env_db,
                    "POSTPACE_API_WORKERS=1",
                    "POSTPACE_API_TOKENS=" TOKEN,
                    "POSTPACE_SCHEDULER=0",
                    "POSTPACE_OUTBOX=0",
                    NULL};
    char *args[] = {(char *)pgt_postpace_bin(), "serve", "--listen=127.0.0.1:0", NULL};
    proc_start(&f->server, args, envs);
    const char *at = proc_await(&f->server, " port=");
    assert_non_null(at);
    f->port = atoi(at + 6);
}

static void stop(struct fixture *f)
{
    kill(f->server.pid, SIGTERM);
    assert_int_equal(proc_wait(&f->server), 0);
    PQfinish(f->conn);
    pgt_drop_db(f->db);
}

/* Sends a whole request on a new connection (Connection: close); the socket. */
static int send_raw(struct fixture *f, const char *method, const char *path, const char *body)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)f->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    char req[4096];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " TOKEN
                     "\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s",
                     method, path, body ? strlen(body) : 0, body ? body : "");
    assert_int_equal(write(fd, req, (size_t)n), n);
    return fd;
}

/* Reads the answer to the end; its status, the body in out. */
static long read_answer(int fd, char *out, size_t size)
{
    size_t len = 0;
    ssize_t r;
    while (len < size - 1 && (r = read(fd, out + len, size - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = '\0';
    close(fd);
    char *body = strstr(out, "\r\n\r\n");
    long status = len > 12 ? atol(out + 9) : 0;
    if (body)
        memmove(out, body + 4, strlen(body + 4) + 1);
    return status;
}

static long count(struct fixture *f, const char *sql)
{
    PGresult *r = PQexec(f->conn, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    long n = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return n;
}

/* Waits (bounded: 30 s) for the API queue to hold `want` jobs. */
static void await_queued(struct fixture *f, int want)
{
    char url[128], body[65536], line[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", f->port);
    snprintf(line, sizeof line, "\npostpace_api_queue_depth %d\n", want);
    for (int i = 0; i < 3000; i++) {
        long st = http_request("GET", url, NULL, NULL, 0, body, sizeof body);
        if (st == 200 && strstr(body, line))
            return;
        usleep(10 * 1000);
    }
    fail_msg("the API queue never held %d jobs", want);
}

static void await_lock_wait(struct fixture *f)
{
    for (int i = 0; i < 3000; i++) {
        if (count(f, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                     "AND datname = current_database()") > 0)
            return;
        usleep(10 * 1000);
    }
    fail_msg("the API worker never waited for the lock");
}

static char *post_body(const char *external_id, const char *content, int day)
{
    static char buf[8][512];
    static int next;
    char *b = buf[next++ % 8];
    char ext[128] = "";
    if (external_id)
        snprintf(ext, sizeof ext, "\"external_id\": \"%s\", ", external_id);
    snprintf(b, 512,
             "{%s\"provider_key\": \"je\", \"account_ids\": [\"main\"], \"content\": \"%s\", "
             "\"scheduled_at\": \"2031-06-%02dT09:00:00Z\"}",
             ext, content, day);
    return b;
}

/* Holds the worker on a DELETE waiting for targets the test locked. The blocker's socket. */
static int hold_worker(struct fixture *f)
{
    char body[8192];
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/posts", f->port);
    const char *headers[] = {"Content-Type: application/json", "Authorization: Bearer " TOKEN,
                             NULL};
    const char *json = post_body(NULL, "the blocker", 1);
    assert_int_equal(http_request("POST", url, headers, json, strlen(json), body, sizeof body),
                     201);
    long id = count(f, "SELECT max(id) FROM posts");
    pgt_exec(f->conn, "BEGIN");
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT 1 FROM post_targets WHERE post_id = %ld FOR UPDATE", id);
    pgt_exec(f->conn, sql);
    char path[64];
    snprintf(path, sizeof path, "/v1/posts/%ld", id);
    int fd = send_raw(f, "DELETE", path, NULL);
    await_lock_wait(f);
    return fd;
}

static void test_queued_creates_commit_together_each_answered_as_alone(void **state)
{
    (void)state;
    struct fixture f;
    start(&f);
    /* Posts already there: one repeated the same, one with other content. */
    pgt_exec(f.conn, "INSERT INTO posts (external_id, provider_key_id, account_ids, content, "
                     "scheduled_at) VALUES ('same', 1, '{main}', 'same', '2031-06-02T09:00:00Z'), "
                     "('other', 1, '{main}', 'first', '2031-06-02T09:00:00Z')");
    int blocker = hold_worker(&f);

    enum { NEW = 30 };
    struct {
        const char *json;
        long want;
    } reqs[NEW + 6];
    char ext[NEW][32];
    for (int i = 0; i < NEW; i++) {
        snprintf(ext[i], sizeof ext[i], "b-%d", i);
        reqs[i].json = strdup(post_body(ext[i], "batched", 3 + i % 20));
        reqs[i].want = 201;
    }
    reqs[NEW + 0].json = strdup(post_body("bad", "   ", 3));
    reqs[NEW + 0].want = 422;
    reqs[NEW + 1].json = strdup(post_body("same", "same", 2));
    reqs[NEW + 1].want = 200;
    reqs[NEW + 2].json = strdup(post_body("other", "second", 2));
    reqs[NEW + 2].want = 409;
    reqs[NEW + 3].json = strdup(post_body("twin", "twin", 4));
    reqs[NEW + 3].want = 201;
    reqs[NEW + 4].json = strdup(post_body("twin", "twin", 4));
    reqs[NEW + 4].want = 200; /* a repeat of the one before it in the same batch */
    reqs[NEW + 5].json = strdup(post_body(NULL, "no external id", 5));
    reqs[NEW + 5].want = 201;
    int n = NEW + 6, fds[NEW + 6];
    for (int i = 0; i < n; i++)
        fds[i] = send_raw(&f, "POST", "/v1/posts", reqs[i].json);
    await_queued(&f, n);
    pgt_exec(f.conn, "COMMIT"); /* the worker goes: the DELETE, then the whole queue */

    char body[65536];
    assert_int_equal(read_answer(blocker, body, sizeof body), 200);
    for (int i = 0; i < n; i++) {
        long st = read_answer(fds[i], body, sizeof body);
        if (st != reqs[i].want)
            fprintf(stderr, "request %d: want %ld, got %ld: %s\n", i, reqs[i].want, st, body);
        assert_int_equal(st, reqs[i].want);
        if (st == 422)
            assert_non_null(strstr(body, "\"content\""));
        if (st == 409)
            assert_non_null(strstr(body, "\"content\""));
        if (st == 201 || st == 200)
            assert_non_null(strstr(body, "\"targets\":[{"));
        free((char *)reqs[i].json);
    }
    /* One transaction for the batch's new posts. */
    assert_int_equal(count(&f, "SELECT count(*) FROM posts WHERE external_id LIKE 'b-%' "
                               "OR external_id = 'twin' OR content = 'no external id'"),
                     NEW + 2);
    assert_int_equal(count(&f, "SELECT count(DISTINCT xmin::text) FROM posts WHERE external_id "
                               "LIKE 'b-%' OR external_id = 'twin' OR content = 'no external id'"),
                     1);
    assert_int_equal(count(&f, "SELECT count(*) FROM post_targets t JOIN posts p ON p.id = "
                               "t.post_id WHERE p.external_id LIKE 'b-%'"),
                     NEW);
    assert_int_equal(count(&f, "SELECT count(*) FROM posts WHERE content = 'second'"), 0);
    stop(&f);
}

static void test_a_failing_post_fails_alone(void **state)
{
    (void)state;
    struct fixture f;
    start(&f);
    /* An error no check foresees, for one post of the batch. */
    pgt_exec(f.conn, "CREATE FUNCTION test_boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                     "IF NEW.content = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NULL; "
                     "END $$");
    pgt_exec(f.conn, "CREATE TRIGGER test_boom AFTER INSERT ON posts FOR EACH ROW "
                     "EXECUTE FUNCTION test_boom()");
    int blocker = hold_worker(&f);
    enum { N = 11 };
    int fds[N];
    char ext[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(ext[i], sizeof ext[i], "c-%d", i);
        fds[i] = send_raw(&f, "POST", "/v1/posts", post_body(ext[i], i == 5 ? "boom" : "fine", 7));
    }
    await_queued(&f, N);
    pgt_exec(f.conn, "COMMIT");
    char body[65536];
    assert_int_equal(read_answer(blocker, body, sizeof body), 200);
    for (int i = 0; i < N; i++)
        assert_int_equal(read_answer(fds[i], body, sizeof body), i == 5 ? 500 : 201);
    assert_int_equal(count(&f, "SELECT count(*) FROM posts WHERE external_id LIKE 'c-%'"), N - 1);
    stop(&f);
}

/*
 * Starts, on c (in a transaction with a short deadlock_timeout), the batch
 * statement creating a post for each external id of `ids` (a text[]
 * literal of n ids), in that order.
 */
static void send_batch(PGconn *c, const char *ids, int n)
{
    pgt_exec(c, "BEGIN; SET LOCAL deadlock_timeout = '100ms'");
    char keys[64] = "{", accounts[64] = "{", content[64] = "{", media[64] = "{", at[160] = "{",
         off[64] = "{", wanted[64] = "{";
    for (int i = 0; i < n; i++) {
        const char *sep = i + 1 < n ? "," : "}";
        strcat(keys, "je"), strcat(keys, sep);
        strcat(accounts, "\"{a}\""), strcat(accounts, sep);
        strcat(content, "hi"), strcat(content, sep);
        strcat(media, "\"[]\""), strcat(media, sep);
        strcat(at, "\"2031-01-01 10:00:00\""), strcat(at, sep);
        strcat(off, "+00:00"), strcat(off, sep);
        strcat(wanted, "t"), strcat(wanted, sep);
    }
    const char *params[] = {ids, keys, accounts, content, media, at, off, NULL, wanted};
    assert_int_equal(PQsendQueryParams(c, db_sql("api_post_check"), 9, NULL, params, NULL, NULL, 0),
                     1);
}

/* The result of c's statement: ok, or the SQLSTATE it failed with. */
static void expect_ok(PGconn *c)
{
    PGresult *r = PQgetResult(c);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("the batch failed: %s (%s)", PQresultErrorField(r, PG_DIAG_SQLSTATE),
                 PQresultErrorMessage(r));
    PQclear(r);
    assert_null(PQgetResult(c));
}

/* Waits (bounded: 30 s) until c's session waits on a lock. */
static void await_waiting(PGconn *watcher, PGconn *c)
{
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_stat_activity WHERE pid = %d AND wait_event_type = 'Lock'",
             PQbackendPID(c));
    assert_true(pgt_await(watcher, sql));
}

/*
 * Two batches sharing external ids insert them in one order (the ids'),
 * whatever order their posts came in, so neither waits on the other while
 * holding what the other waits on: no deadlock (a deadlock is undone, but
 * only after deadlock_timeout, and by redoing every post of a batch alone).
 * Staged with a third session holding x3: A (x2, x3, x1 in its own order)
 * waits on it; B (x1, x2) starts; then x3 is let go. Inserting in the
 * posts' order, A would hold x2 and wait on B's x1 while B waits on A's x2.
 */
static void test_concurrent_batches_insert_in_one_order(void **state)
{
    (void)state;
    char *db = pgt_create_migrated_db();
    PGconn *w = pgt_connect(db), *a = pgt_connect(db), *b = pgt_connect(db),
           *holder = pgt_connect(db);
    pgt_exec(w, "INSERT INTO provider_keys (provider, label, secret_ref) "
                "VALUES ('jestha', 'je', 'env:JE_KEY')");
    pgt_exec(holder, "BEGIN");
    pgt_exec(holder, "INSERT INTO posts (external_id, provider_key_id, account_ids, content, "
                     "scheduled_at) SELECT 'x3', id, '{a}', 'held', '2031-01-01' "
                     "FROM provider_keys");
    send_batch(a, "{x2,x3,x1}", 3);
    await_waiting(w, a);
    send_batch(b, "{x1,x2}", 2);
    /* B waits too: on A's x1 when the ids are sorted, else on A's x2. */
    await_waiting(w, b);
    pgt_exec(holder, "ROLLBACK");
    expect_ok(a);
    pgt_exec(a, "COMMIT");
    expect_ok(b);
    pgt_exec(b, "COMMIT");
    struct fixture counted = {.conn = w};
    assert_int_equal(count(&counted, "SELECT count(*) FROM posts WHERE external_id IN "
                                     "('x1', 'x2', 'x3')"),
                     3);
    PQfinish(holder), PQfinish(b), PQfinish(a), PQfinish(w);
    pgt_drop_db(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queued_creates_commit_together_each_answered_as_alone),
        cmocka_unit_test(test_a_failing_post_fails_alone),
        cmocka_unit_test(test_concurrent_batches_insert_in_one_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
