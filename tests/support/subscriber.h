/*
 * subscriber: the application's end of outgoing webhooks, for tests and
 * benchmarks: a real HTTP/1.1 server on loopback (a thread per connection,
 * keep-alive) that records every request's webhook-* headers and body and
 * answers as told: 500 to the first `fail_first` requests, nothing at all
 * while held (the request waits), connection refused while down.
 */
#ifndef POSTPACE_TESTS_SUBSCRIBER_H
#define POSTPACE_TESTS_SUBSCRIBER_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stddef.h>

#include "drainfx.h"

struct sub_msg {
    char id[64], timestamp[32], signature[256];
    char *body;
    int status; /* what it was answered */
};

struct subscriber {
    int port;
    int listen_fd; /* -1 while down */
    int record;    /* 0: count only (a benchmark's no-op subscriber) */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int stopping, held, holding;
    int fail_first;   /* requests answered 500 (decremented) */
    size_t requests;  /* every request read */
    size_t ok;        /* answered 2xx */
    struct sub_msg *msgs;
    size_t nmsgs, cap;
};

/* Listens on a free loopback port. 0 or -1. */
int sub_start(struct subscriber *s, int record);

/* Closes the listener (connections are refused), or opens it again on the same port. */
void sub_set_down(struct subscriber *s, int down);

/* Holds every request unanswered (held = 1) until released (0). */
void sub_set_held(struct subscriber *s, int held);

void sub_fail_first(struct subscriber *s, int n);

/* Waits (bounded by timeout_s) until `ok` reaches want (held: until that many are held). 0 or -1. */
int sub_await_ok(struct subscriber *s, size_t want, int timeout_s);
int sub_await_holding(struct subscriber *s, int want, int timeout_s);

void sub_stop(struct subscriber *s);

/* The oracle: a row trigger logging every target status change (table
 * test_changes), independent of the statement trigger under test. */
void sub_add_oracle(PGconn *c);

/*
 * Checks (cmocka asserts) what the subscriber got against the outbox and the
 * oracle: the outbox holds one event per terminal change and nothing else;
 * every request is signed with `whsec`, names an outbox row with its type
 * and target (none invented), carries the same body on every try; every row
 * was answered 2xx at least once.
 */
void sub_check_deliveries(struct drainfx *f, struct subscriber *sub, const char *whsec);

#endif
