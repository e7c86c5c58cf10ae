/*
 * Behind PgBouncer in transaction mode, as deploy/postgresql-tuning.md
 * recommends for every connection but the scheduler's: Debian 12's
 * PgBouncer (1.18, which cannot carry named prepared statements), two
 * server connections for the whole pool, and postpace with
 * prepared_statements = 0. migrate, 400 concurrent creates, 400 concurrent
 * reads, signed webhooks and an import all go through it, and none may fail;
 * and a drain of the simulator's five providers whose API, intake and
 * webhooks use the pooler while the scheduler has a session of its own
 * (scheduler_database_url) publishes everything, with 0 × 429.
 * Skipped where pgbouncer is not installed (deploy/dev installs it).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "drainfx.h"
#include "pgtest.h"
#include "proc.h"
#include "simctl.h"
#include "whclient.h"

#define PGBOUNCER "/usr/sbin/pgbouncer"
#define TOKEN "tok-0123456789abcdef"
#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define CLIENTS 16
#define REQUESTS 400

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        fail();
    close(fd);
    return ntohs(a.sin_port);
}

/* The value of `key` in a keyword=value conninfo (into out). */
static void conninfo_value(const char *ci, const char *key, char *out, size_t size)
{
    PQconninfoOption *opts = PQconninfoParse(ci, NULL);
    assert_non_null(opts);
    out[0] = '\0';
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, key) == 0 && o->val)
            snprintf(out, size, "%s", o->val);
    PQconninfoFree(opts);
}

struct bouncer {
    char dir[64];
    char conninfo[256];
    struct proc proc;
};

/* Starts PgBouncer in transaction mode in front of database `db`; waits until it answers. */
static void bouncer_start(struct bouncer *b, const char *db)
{
    char host[256], port[16], name[64], path[128];
    conninfo_value(db, "host", host, sizeof host);
    conninfo_value(db, "port", port, sizeof port);
    conninfo_value(db, "dbname", name, sizeof name);
    snprintf(b->dir, sizeof b->dir, "/tmp/postpace-bouncer-XXXXXX");
    assert_non_null(mkdtemp(b->dir));
    chmod(b->dir, 0777); /* as root it runs as postgres: it writes its log there */
    int listen = free_port();
    snprintf(path, sizeof path, "%s/pgbouncer.ini", b->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "[databases]\npp = host=%s port=%s dbname=%s user=postpace\n"
            "[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = %d\nunix_socket_dir =\n"
            "auth_type = any\npool_mode = transaction\ndefault_pool_size = 2\n"
            "max_client_conn = 200\nlogfile = %s/pgbouncer.log\n",
            host, port, name, listen, b->dir);
    fclose(f);
    chmod(path, 0644);
    char *as_root[] = {"/usr/sbin/runuser", "-u", "postgres", "--", PGBOUNCER, path, NULL};
    char *as_user[] = {PGBOUNCER, path, NULL};
    proc_start(&b->proc, geteuid() == 0 ? as_root : as_user, NULL);
    snprintf(b->conninfo, sizeof b->conninfo,
             "host=127.0.0.1 port=%d dbname=pp user=postpace connect_timeout=5", listen);
    for (int i = 0; i < 200; i++) { /* bounded: 10 s */
        PGconn *c = PQconnectdb(b->conninfo);
        int ok = PQstatus(c) == CONNECTION_OK;
        PQfinish(c);
        if (ok)
            return;
        usleep(50 * 1000);
    }
    fail_msg("pgbouncer did not start");
}

static void bouncer_stop(struct bouncer *b)
{
    kill(b->proc.pid, SIGTERM);
    proc_wait(&b->proc);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", b->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", b->dir);
}

struct load {
    char base[128];
    atomic_int next, ok, other;
    atomic_long ids[REQUESTS];
    const char *what; /* "create", "read" or "webhook" */
};

static long one_request(struct load *l, int i)
{
    char url[256], body[512], resp[2048];
    const char *auth[] = {"Authorization: Bearer " TOKEN, "Content-Type: application/json", NULL};
    if (strcmp(l->what, "create") == 0) {
        snprintf(url, sizeof url, "%s/v1/posts", l->base);
        snprintf(body, sizeof body,
                 "{\"external_id\":\"pool-%d\",\"provider_key\":\"je\",\"account_ids\":[\"a\"],"
                 "\"content\":\"through the pooler %d\",\"scheduled_at\":\"2099-01-01T00:00:00Z\"}",
                 i, i);
        long st = http_request("POST", url, auth, body, strlen(body), resp, sizeof resp);
        const char *id = strstr(resp, "\"id\":");
        if (st == 201 && id)
            atomic_store(&l->ids[i], atol(id + 5));
        return st == 201 ? 200 : st;
    }
    if (strcmp(l->what, "read") == 0) {
        snprintf(url, sizeof url, "%s/v1/posts/%ld", l->base, atomic_load(&l->ids[i]));
        return http_request("GET", url, auth, NULL, 0, resp, sizeof resp);
    }
    char id[32], ref[32];
    snprintf(url, sizeof url, "%s/webhooks/jestha", l->base);
    snprintf(id, sizeof id, "pool-evt-%d", i);
    snprintf(ref, sizeof ref, "pool-ref-%d", i);
    wh_event(body, sizeof body, "post.published", ref, NULL, NULL);
    return wh_send(url, SECRET, id, 0, body, resp, sizeof resp);
}

static void *client_main(void *arg)
{
    struct load *l = arg;
    for (int i; (i = atomic_fetch_add(&l->next, 1)) < REQUESTS;) {
        if (one_request(l, i) == 200)
            atomic_fetch_add(&l->ok, 1);
        else
            atomic_fetch_add(&l->other, 1);
    }
    return NULL;
}

static int run_load(struct load *l, const char *what)
{
    l->what = what;
    atomic_store(&l->next, 0);
    atomic_store(&l->ok, 0);
    atomic_store(&l->other, 0);
    pthread_t th[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        pthread_create(&th[i], NULL, client_main, l);
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(th[i], NULL);
    printf("pgbouncer: %d concurrent %s requests: %d ok, %d other\n", REQUESTS, what,
           atomic_load(&l->ok), atomic_load(&l->other));
    return atomic_load(&l->ok);
}

static void test_api_intake_import_and_migrate_work_behind_transaction_pooling(void **state)
{
    (void)state;
    if (access(PGBOUNCER, X_OK) != 0) {
        printf("pgbouncer: not installed, skipped\n");
        skip();
    }
    curl_global_init(CURL_GLOBAL_ALL);
    char *db = pgt_create_db();
    static struct bouncer b;
    bouncer_start(&b, db);
    char env_db[512];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", b.conninfo);

    /* migrate, through the pooler. */
    char *mig_argv[] = {(char *)pgt_postpace_bin(), "migrate", NULL};
    char *mig_env[] = {env_db, "POSTPACE_PREPARED_STATEMENTS=0", NULL};
    static struct proc mig;
    assert_int_equal(proc_run(&mig, mig_argv, mig_env), 0);

    PGconn *c = pgt_connect(db);
    pgt_exec(c, "INSERT INTO provider_keys (provider, label, plan, secret_ref, webhook_secret_ref) "
                "VALUES ('jestha', 'je', 'default', 'env:JK', 'env:PP_POOL_WHSEC')");

    char *envs[] = {"POSTPACE_PREPARED_STATEMENTS=0", "POSTPACE_API_TOKENS=" TOKEN,
                    "POSTPACE_SCHEDULER=0", "POSTPACE_API_WORKERS=4",
                    "POSTPACE_WEBHOOK_WRITERS=2", "PP_POOL_WHSEC=" SECRET, NULL};
    static struct proc server;
    int port = proc_serve(&server, b.conninfo, envs);
    assert_true(port > 0);
    static struct load l;
    snprintf(l.base, sizeof l.base, "http://127.0.0.1:%d", port);
    int created = run_load(&l, "create");
    int read = run_load(&l, "read");
    int hooked = run_load(&l, "webhook");
    kill(server.pid, SIGTERM);
    int rc = proc_wait(&server);
    if (created != REQUESTS || read != REQUESTS || hooked != REQUESTS || rc != 0)
        fprintf(stderr, "%s\n", server.out);
    assert_int_equal(created, REQUESTS);
    assert_int_equal(read, REQUESTS);
    assert_int_equal(hooked, REQUESTS);
    assert_int_equal(rc, 0);

    /* import, through the pooler. */
    char csv[128];
    snprintf(csv, sizeof csv, "%s/calendar.csv", b.dir);
    FILE *f = fopen(csv, "w");
    assert_non_null(f);
    fprintf(f, "external_id,provider_key,account_ids,content,scheduled_at\n");
    for (int i = 0; i < 200; i++)
        fprintf(f, "imp-%d,je,a;b,imported %d,2099-01-02T00:00:00Z\n", i, i);
    fclose(f);
    char *imp_argv[] = {(char *)pgt_postpace_bin(), "import", csv, NULL};
    static struct proc imp;
    int irc = proc_run(&imp, imp_argv, mig_env);
    if (irc != 0)
        fprintf(stderr, "%s\n", imp.out);
    assert_int_equal(irc, 0);

    PGresult *r = PQexec(c, "SELECT (SELECT count(*) FROM posts), "
                            "(SELECT count(*) FROM webhook_events)");
    assert_int_equal(atol(PQgetvalue(r, 0, 0)), REQUESTS + 200);
    assert_int_equal(atol(PQgetvalue(r, 0, 1)), REQUESTS);
    PQclear(r);
    PQfinish(c);
    bouncer_stop(&b);
    pgt_drop_db(db);
    curl_global_cleanup();
}

static void test_a_drain_with_everything_but_the_scheduler_pooled(void **state)
{
    (void)state;
    if (access(PGBOUNCER, X_OK) != 0) {
        printf("pgbouncer: not installed, skipped\n");
        skip();
    }
    struct drainfx f;
    assert_int_equal(drainfx_setup(&f), 0);
    static struct bouncer b;
    bouncer_start(&b, f.db);
    drainfx_posts(&f, "pe", 10, "{pe-a,pe-b}", 0);
    drainfx_posts(&f, "fh", 10, "{twitter}", 0);
    drainfx_posts(&f, "je", 10, "{main}", 0);
    static char env_db[512], env_sched[1100];
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", b.conninfo);
    snprintf(env_sched, sizeof env_sched, "POSTPACE_SCHEDULER_DATABASE_URL=%s", f.db);
    char *env[] = {env_db, env_sched, "POSTPACE_PREPARED_STATEMENTS=0", NULL};
    assert_int_equal(drainfx_start(&f, 0, env), 0);
    int settled = drainfx_await_settled(&f, 120);
    json_t *stats = sim_ctl_stats(&f.sim);
    assert_non_null(stats);
    long limited = sim_ctl_total(stats, "rate_limited"), dups = sim_ctl_total(stats, "duplicates");
    json_decref(stats);
    long published = drainfx_count(&f, "SELECT count(*) FROM post_targets WHERE status = 'published'");
    printf("pgbouncer: drain through the pooler: %ld of 40 targets published, %ld 429s, %ld "
           "duplicates\n",
           published, limited, dups);
    if (settled != 0 || published != 40)
        drainfx_dump(&f);
    assert_int_equal(settled, 0);
    assert_int_equal(published, 40);
    assert_int_equal(limited, 0);
    assert_int_equal(dups, 0);
    drainfx_stop(&f, 0, 0);
    bouncer_stop(&b);
    drainfx_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_intake_import_and_migrate_work_behind_transaction_pooling),
        cmocka_unit_test(test_a_drain_with_everything_but_the_scheduler_pooled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
