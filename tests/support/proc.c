/* DESIGN: test support only; used from a test's main thread. */
#include "proc.h"
#include "pgtest.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * The child's stdout and stderr go to a temporary file, not a pipe: a daemon
 * that logs more than a pipe holds while the test is busy elsewhere would
 * block on its log writes. The test reads the file as it grows.
 */
void proc_start(struct proc *p, char *const argv[], char *const envs[])
{
    memset(p, 0, sizeof *p);
    char path[] = "/tmp/postpace-proc-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    unlink(path);
    p->err_fd = dup(fd);
    pid_t parent = getpid();
    p->pid = fork();
    if (p->pid == 0) {
        /* A test that fails an assertion exits on the spot: its daemon goes too
         * (SIGTERM, so it shuts down as it would in production) instead of
         * living on, retrying a cluster that is gone, under later runs. */
        if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
            _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        for (int i = 0; envs && envs[i]; i++)
            putenv(envs[i]);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd);
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Reads whatever the child wrote since the last read (never blocks). */
void proc_read_available(struct proc *p)
{
    while (p->len + 1 < sizeof p->out) {
        ssize_t n = pread(p->err_fd, p->out + p->len, sizeof p->out - p->len - 1, (off_t)p->len);
        if (n <= 0)
            break;
        p->len += (size_t)n;
        p->out[p->len] = '\0';
    }
}

static int child_exited(struct proc *p, int *status)
{
    return waitpid(p->pid, status, WNOHANG) == p->pid;
}

int proc_alive(struct proc *p)
{
    int status;
    if (!p->exited && child_exited(p, &status)) {
        p->exited = 1;
        p->status = status;
    }
    return !p->exited;
}

const char *proc_await(struct proc *p, const char *needle)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (elapsed_ms(&t0) < 10000) {
        proc_read_available(p);
        const char *hit = strstr(p->out, needle);
        if (hit || p->exited)
            return hit;
        int status;
        if (child_exited(p, &status)) {
            p->exited = 1;
            p->status = status;
            continue;
        }
        usleep(10 * 1000);
    }
    return NULL;
}

int proc_wait(struct proc *p)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int status = p->status;
    while (!p->exited) {
        if (child_exited(p, &status)) {
            p->exited = 1;
            break;
        }
        if (elapsed_ms(&t0) > 10000)
            kill(p->pid, SIGKILL);
        usleep(5 * 1000);
    }
    proc_read_available(p);
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

int proc_serve(struct proc *p, const char *conninfo, char *const envs[])
{
    static __thread char env_db[2048];
    char *all[32] = {env_db};
    int n = 1;
    snprintf(env_db, sizeof env_db, "DATABASE_URL=%s", conninfo);
    for (int i = 0; envs && envs[i] && n < 31; i++)
        all[n++] = envs[i];
    all[n] = NULL;
    char *argv[] = {(char *)pgt_postpace_bin(), "serve", "--listen=127.0.0.1:0", NULL};
    proc_start(p, argv, all);
    const char *at = proc_await(p, " port=");
    return at ? atoi(at + 6) : -1;
}

