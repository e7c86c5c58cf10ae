/*
 * proc: runs the postpace binary (or another program) from a test, with its
 * stderr captured, and speaks HTTP to it.
 */
#ifndef POSTPACE_TESTS_PROC_H
#define POSTPACE_TESTS_PROC_H

#include <stddef.h>
#include <sys/types.h>

struct proc {
    pid_t pid;
    int err_fd;       /* the file holding the child's stdout and stderr */
    char out[262144]; /* what it wrote so far (the first 256 KiB) */
    size_t len;
    int exited, status;
};

/* Starts argv[0] with `envs` ("K=V", NULL-terminated, may be NULL) added. */
void proc_start(struct proc *p, char *const argv[], char *const envs[]);

/*
 * Starts `postpace serve` on a free loopback port against `conninfo`, with
 * `envs` ("K=V", NULL-terminated, may be NULL) added after DATABASE_URL, and
 * waits for it to say its port. Returns the port, or -1.
 */
int proc_serve(struct proc *p, const char *conninfo, char *const envs[]);

/* Reads stderr until `needle` appears (returns a pointer into p->out) or 10 s pass (NULL). */
const char *proc_await(struct proc *p, const char *needle);

/* 1 while the child runs; once it has exited, 0 (p->status: its wait status). */
int proc_alive(struct proc *p);

/* Reads what the child wrote since the last look (never blocks). */
void proc_read_available(struct proc *p);

/* Waits for exit (bounded: 10 s, then SIGKILL); returns the exit status or 128+signal. */
int proc_wait(struct proc *p);

/* Runs to completion; returns the exit status, stderr in p->out. */
int proc_run(struct proc *p, char *const argv[], char *const envs[]);

/* GET/POST over loopback with libcurl; returns the HTTP status (0 on transport error).
   The response body (NUL-terminated, truncated to size) goes into body if given. */
long http_request(const char *method, const char *url, const char *const *headers,
                  const char *data, size_t data_len, char *body, size_t size);

#endif
