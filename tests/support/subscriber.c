#include "subscriber.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>

#include <cmocka.h>

#include "pgtest.h"
#include "webhook/whsig.h"

#define MAX_CONNS 256

static int conns[MAX_CONNS];
static int nconns;

static int open_listener(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 128) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The value of header `name` in the head [h, end), copied into out. */
static void header(const char *h, const char *end, const char *name, char *out, size_t size)
{
    size_t n = strlen(name);
    *out = '\0';
    for (const char *p = h; p && p < end; p = memchr(p, '\n', (size_t)(end - p))) {
        if (*p == '\n')
            p++;
        if ((size_t)(end - p) > n + 1 && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1, *e = memchr(v, '\r', (size_t)(end - v));
            while (v < e && *v == ' ')
                v++;
            size_t len = e ? (size_t)(e - v) : 0;
            len = len < size - 1 ? len : size - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return;
        }
    }
}

struct conn_arg {
    struct subscriber *s;
    int fd;
};

static void forget_conn(struct subscriber *s, int fd)
{
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < nconns; i++) {
        if (conns[i] == fd) {
            conns[i] = conns[--nconns];
            break;
        }
    }
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

/* Reads what comes next into *buf (grown as needed). 0, or -1 at the end. */
static int fill(int fd, char **buf, size_t *cap, size_t *len)
{
    if (*len == *cap)
        *buf = realloc(*buf, *cap *= 2);
    ssize_t r = read(fd, *buf + *len, *cap - *len);
    if (r <= 0)
        return -1;
    *len += (size_t)r;
    return 0;
}

static void *serve_conn(void *arg)
{
    struct conn_arg ca = *(struct conn_arg *)arg;
    free(arg);
    struct subscriber *s = ca.s;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        char *end;
        while (!(end = len ? memmem(buf, len, "\r\n\r\n", 4) : NULL))
            if (fill(ca.fd, &buf, &cap, &len) != 0)
                goto done;
        size_t head = (size_t)(end + 4 - buf);
        char cl[32];
        header(buf, end + 2, "content-length", cl, sizeof cl);
        size_t body_len = (size_t)strtoul(cl, NULL, 10);
        while (len < head + body_len)
            if (fill(ca.fd, &buf, &cap, &len) != 0)
                goto done;
        end = buf + head - 4; /* buf may have moved */
        struct sub_msg m = {0};
        header(buf, end + 2, "webhook-id", m.id, sizeof m.id);
        header(buf, end + 2, "webhook-timestamp", m.timestamp, sizeof m.timestamp);
        header(buf, end + 2, "webhook-signature", m.signature, sizeof m.signature);

        pthread_mutex_lock(&s->lock);
        s->requests++;
        s->holding++;
        pthread_cond_broadcast(&s->changed);
        while (s->held && !s->stopping)
            pthread_cond_wait(&s->changed, &s->lock);
        s->holding--;
        int stopping = s->stopping;
        m.status = 200;
        if (s->fail_first > 0) {
            s->fail_first--;
            m.status = 500;
        }
        if (m.status == 200)
            s->ok++;
        if (s->record) {
            m.body = strndup(buf + head, body_len);
            if (s->nmsgs == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 256;
                s->msgs = realloc(s->msgs, s->cap * sizeof *s->msgs);
            }
            s->msgs[s->nmsgs++] = m;
        }
        pthread_cond_broadcast(&s->changed);
        pthread_mutex_unlock(&s->lock);
        if (stopping)
            break;

        char resp[128];
        int n = snprintf(resp, sizeof resp, "HTTP/1.1 %d %s\r\nContent-Length: 0\r\n\r\n", m.status,
                         m.status == 200 ? "OK" : "Internal Server Error");
        if (send(ca.fd, resp, (size_t)n, MSG_NOSIGNAL) != n)
            break;
        memmove(buf, buf + head + body_len, len - head - body_len);
        len -= head + body_len;
    }
done:
    free(buf);
    forget_conn(s, ca.fd);
    close(ca.fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    struct subscriber *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        int stopping = s->stopping, fd = s->listen_fd;
        pthread_mutex_unlock(&s->lock);
        if (stopping)
            break;
        if (fd < 0) {
            usleep(10 * 1000); /* down: nothing to wait on but the flag */
            continue;
        }
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        pthread_mutex_lock(&s->lock);
        /* Gone down meanwhile: sub_set_down shut the connections it knew
         * of, and this one must not outlive the outage either. */
        if (nconns == MAX_CONNS || s->listen_fd != fd) {
            pthread_mutex_unlock(&s->lock);
            close(c);
            continue;
        }
        conns[nconns++] = c;
        pthread_mutex_unlock(&s->lock);
        struct conn_arg *ca = malloc(sizeof *ca);
        ca->s = s;
        ca->fd = c;
        pthread_t t;
        pthread_create(&t, NULL, serve_conn, ca);
        pthread_detach(t);
    }
    return NULL;
}

int sub_start(struct subscriber *s, int record)
{
    memset(s, 0, sizeof *s);
    s->record = record;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->changed, NULL);
    s->listen_fd = open_listener(0);
    if (s->listen_fd < 0)
        return -1;
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    getsockname(s->listen_fd, (struct sockaddr *)&a, &alen);
    s->port = ntohs(a.sin_port);
    return pthread_create(&s->thread, NULL, accept_loop, s) == 0 ? 0 : -1;
}

void sub_set_down(struct subscriber *s, int down)
{
    pthread_mutex_lock(&s->lock);
    if (down && s->listen_fd >= 0) {
        close(s->listen_fd);
        s->listen_fd = -1;
        for (int i = 0; i < nconns; i++)
            shutdown(conns[i], SHUT_RDWR); /* kept-alive connections go too */
    } else if (!down && s->listen_fd < 0) {
        s->listen_fd = open_listener(s->port);
    }
    pthread_mutex_unlock(&s->lock);
}

void sub_set_held(struct subscriber *s, int held)
{
    pthread_mutex_lock(&s->lock);
    s->held = held;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

void sub_fail_first(struct subscriber *s, int n)
{
    pthread_mutex_lock(&s->lock);
    s->fail_first = n;
    pthread_mutex_unlock(&s->lock);
}

static int await(struct subscriber *s, size_t *field, int *ifield, size_t want, int timeout_s)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_s;
    pthread_mutex_lock(&s->lock);
    int rc = 0;
    while ((field ? *field : (size_t)*ifield) < want && rc == 0)
        rc = pthread_cond_timedwait(&s->changed, &s->lock, &until);
    int ok = (field ? *field : (size_t)*ifield) >= want;
    pthread_mutex_unlock(&s->lock);
    return ok ? 0 : -1;
}

int sub_await_ok(struct subscriber *s, size_t want, int timeout_s)
{
    return await(s, &s->ok, NULL, want, timeout_s);
}

int sub_await_holding(struct subscriber *s, int want, int timeout_s)
{
    return await(s, NULL, &s->holding, (size_t)want, timeout_s);
}

void sub_stop(struct subscriber *s)
{
    pthread_mutex_lock(&s->lock);
    s->stopping = 1;
    pthread_cond_broadcast(&s->changed);
    for (int i = 0; i < nconns; i++)
        shutdown(conns[i], SHUT_RDWR);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_mutex_lock(&s->lock);
    while (nconns > 0)
        pthread_cond_wait(&s->changed, &s->lock);
    pthread_mutex_unlock(&s->lock);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    for (size_t i = 0; i < s->nmsgs; i++)
        free(s->msgs[i].body);
    free(s->msgs);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->lock);
}

/* ---- checks ---- */

void sub_add_oracle(PGconn *c)
{
    pgt_exec(c, "CREATE TABLE test_changes (n bigserial, target_id bigint, old text, new text)");
    pgt_exec(c, "CREATE FUNCTION test_log_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
                      "BEGIN INSERT INTO test_changes (target_id, old, new) "
                      "VALUES (NEW.id, OLD.status, NEW.status); RETURN NULL; END $$");
    pgt_exec(c, "CREATE TRIGGER zz_test_changes AFTER UPDATE ON post_targets FOR EACH ROW "
                      "WHEN (OLD.status IS DISTINCT FROM NEW.status) "
                      "EXECUTE FUNCTION test_log_change()");
}

/* Checks what the subscriber got against the outbox and the oracle. */
void sub_check_deliveries(struct drainfx *f, struct subscriber *sub, const char *whsec)
{
    struct whsig_key key;
    assert_int_equal(whsig_key_parse(&key, whsec), 0);
    long rows = drainfx_count(f, "SELECT count(*) FROM outbox");
    assert_true(rows > 0);
    /* The events are the oracle's terminal changes, one each. */
    assert_int_equal(drainfx_count(f, "SELECT count(*) FROM (SELECT 'post.' || new, target_id "
                                      "FROM test_changes WHERE new IN ('published', 'failed', "
                                      "'unconfirmed', 'expired') EXCEPT ALL SELECT event_type, "
                                      "target_id FROM outbox) d"),
                     0);
    assert_int_equal(drainfx_count(f, "SELECT count(*) FROM (SELECT event_type, target_id FROM "
                                      "outbox EXCEPT ALL SELECT 'post.' || new, target_id FROM "
                                      "test_changes) d"),
                     0);
    pthread_mutex_lock(&sub->lock);
    size_t n = sub->nmsgs, ok = 0;
    char *delivered = calloc((size_t)rows + 64, 1);
    for (size_t i = 0; i < n; i++) {
        struct sub_msg *m = &sub->msgs[i];
        /* Signed the Standard Webhooks way, the timestamp fresh. */
        assert_int_equal(whsig_verify(&key, 1, m->id, m->timestamp, m->signature, m->body,
                                      strlen(m->body), (int64_t)time(NULL), 600),
                         WHSIG_OK);
        assert_int_equal(strncmp(m->id, "msg_", 4), 0);
        long id = atol(m->id + 4);
        json_t *b = json_loads(m->body, 0, NULL);
        assert_non_null(b);
        const char *type = json_string_value(json_object_get(b, "type"));
        json_t *data = json_object_get(b, "data");
        /* Not invented: the row exists, with this type and target. */
        char q[256];
        snprintf(q, sizeof q,
                 "SELECT count(*) FROM outbox WHERE id = %ld AND event_type = '%s' AND "
                 "target_id = %lld AND data->>'status' = '%s'",
                 id, type, (long long)json_integer_value(json_object_get(data, "target_id")),
                 json_string_value(json_object_get(data, "status")));
        assert_int_equal(drainfx_count(f, q), 1);
        /* Stable: every try of one id carries the same body. */
        for (size_t j = 0; j < i; j++)
            if (strcmp(sub->msgs[j].id, m->id) == 0)
                assert_string_equal(sub->msgs[j].body, m->body);
        json_decref(b);
        if (m->status == 200) {
            ok++;
            if (id >= 1 && id <= rows + 63)
                delivered[id] = 1;
        }
    }
    pthread_mutex_unlock(&sub->lock);
    /* Every row was answered 2xx at least once (ids are dense: one sequence). */
    long first = drainfx_count(f, "SELECT min(id) FROM outbox");
    for (long id = first; id < first + rows; id++)
        assert_true(id < rows + 64 && delivered[id]);
    printf("outbox: %ld events, %zu requests, %zu answered 2xx\n", rows, n, ok);
    free(delivered);
}

