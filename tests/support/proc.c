/* DESIGN: test support only; used from a test's main thread. */
#include "proc.h"

#include <curl/curl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void proc_start(struct proc *p, char *const argv[], char *const envs[])
{
    int fds[2];
    if (pipe(fds) != 0)
        abort();
    memset(p, 0, sizeof *p);
    p->pid = fork();
    if (p->pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        for (int i = 0; envs && envs[i]; i++)
            putenv(envs[i]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    p->err_fd = fds[0];
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Reads what is available within `wait_ms`; returns 0 at EOF. */
static int read_some(struct proc *p, int wait_ms)
{
    struct pollfd pfd = {p->err_fd, POLLIN, 0};
    if (poll(&pfd, 1, wait_ms) <= 0)
        return 1;
    if (p->len + 1 >= sizeof p->out)
        return 1;
    ssize_t n = read(p->err_fd, p->out + p->len, sizeof p->out - p->len - 1);
    if (n <= 0)
        return 0;
    p->len += (size_t)n;
    p->out[p->len] = '\0';
    return 1;
}

const char *proc_await(struct proc *p, const char *needle)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (elapsed_ms(&t0) < 10000) {
        const char *hit = strstr(p->out, needle);
        if (hit)
            return hit;
        if (!read_some(p, 100))
            return strstr(p->out, needle);
    }
    return NULL;
}

int proc_wait(struct proc *p)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int status;
    for (;;) {
        read_some(p, 10);
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid)
            break;
        if (elapsed_ms(&t0) > 10000)
            kill(p->pid, SIGKILL);
    }
    while (read_some(p, 0) && p->len + 1 < sizeof p->out) {
        struct pollfd pfd = {p->err_fd, POLLIN, 0};
        if (poll(&pfd, 1, 0) <= 0)
            break;
    }
    close(p->err_fd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int proc_run(struct proc *p, char *const argv[], char *const envs[])
{
    proc_start(p, argv, envs);
    return proc_wait(p);
}

struct sink {
    char *buf;
    size_t size, len;
};

static size_t on_body(char *data, size_t sz, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t take = sz * n;
    if (s->buf && s->len + 1 < s->size) {
        size_t room = s->size - s->len - 1;
        memcpy(s->buf + s->len, data, take < room ? take : room);
        s->len += take < room ? take : room;
        s->buf[s->len] = '\0';
    }
    return sz * n;
}

long http_request(const char *method, const char *url, const char *const *headers,
                  const char *data, size_t data_len, char *body, size_t size)
{
    CURL *c = curl_easy_init();
    struct curl_slist *hl = NULL;
    for (int i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    struct sink s = {body, size, 0};
    if (body && size)
        body[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    if (data) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)data_len);
    }
    long status = 0;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return status;
}
