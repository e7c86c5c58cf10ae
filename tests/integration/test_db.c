/*
 * db_text_array_binary: what PostgreSQL reads back from the binary array is
 * each value as given, byte for byte, NULLs included.
 *
 * db_connect against a server that accepts the TCP connection and never
 * answers (a listening socket nobody reads; the kernel completes the
 * handshake): it gives up after connect_timeout, the connection string's or
 * the default one, instead of holding the thread until the kernel does.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
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

/* A loopback port that accepts connections and never says anything. */
static int silent_listener(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 8), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void expect_timeout(const char *conninfo)
{
    char err[512];
    PGconn *c = db_connect(conninfo, err, sizeof err);
    assert_null(c);
    print_message("db_connect: %s\n", err);
    assert_non_null(strstr(err, "timeout"));
}

static void test_connect_timeout_of_the_string_is_kept(void **state)
{
    (void)state;
    int port, fd = silent_listener(&port);
    char ci[128];
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d dbname=none connect_timeout=2", port);
    expect_timeout(ci);
    close(fd);
}

static void test_connect_gives_up_by_default_on_a_silent_server(void **state)
{
    (void)state;
    int port, fd = silent_listener(&port);
    char ci[128];
    snprintf(ci, sizeof ci, "postgresql://postpace@127.0.0.1:%d/none", port);
    expect_timeout(ci); /* DB_CONNECT_TIMEOUT_S; without it this waits for the kernel */
    close(fd);
}

static void test_connect_still_reaches_a_real_server(void **state)
{
    (void)state;
    char err[512];
    PGconn *c = db_connect(pgt_cluster(), err, sizeof err);
    assert_non_null(c);
    PQfinish(c);
}

/* The array as PostgreSQL reads it: one line per element, NULL as <null>. */
static void expect_round_trip(PGconn *c, const char *const *vals, size_t n, const char *want)
{
    int len, binary = 1;
    char *arr = db_text_array_binary(vals, n, &len);
    const char *params[] = {arr};
    PGresult *r = PQexecParams(c,
                               "SELECT coalesce(string_agg(coalesce(v, '<null>'), E'\\n' "
                               "ORDER BY i), '<empty>') FROM unnest($1::text[]) "
                               "WITH ORDINALITY AS u(v, i)",
                               1, NULL, params, &len, &binary, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), want);
    PQclear(r);
    free(arr);
}

static void test_binary_text_array_reads_back_as_given(void **state)
{
    (void)state;
    PGconn *c = pgt_connect(pgt_cluster());
    const char *vals[] = {"plain", "{\"q\":\"a,b\\\\c\"}", NULL, "", "\xc3\xa9 NULL"};
    expect_round_trip(c, vals, 5, "plain\n{\"q\":\"a,b\\\\c\"}\n<null>\n\n\xc3\xa9 NULL");
    expect_round_trip(c, vals, 1, "plain");
    expect_round_trip(c, vals, 0, "<empty>");
    PQfinish(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect_timeout_of_the_string_is_kept),
        cmocka_unit_test(test_connect_gives_up_by_default_on_a_silent_server),
        cmocka_unit_test(test_connect_still_reaches_a_real_server),
        cmocka_unit_test(test_binary_text_array_reads_back_as_given),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
