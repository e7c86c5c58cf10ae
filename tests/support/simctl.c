/* DESIGN: test support only. */
#include "simctl.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int sim_ctl_start(struct simctl *s, const char *config_json, double time_scale,
                  const char *const *extra_args)
{
#ifndef POSTPACE_SIM_BIN
    (void)s, (void)config_json, (void)time_scale, (void)extra_args;
    return -1;
#else
    memset(s, 0, sizeof *s);
    snprintf(s->config_path, sizeof s->config_path, "/tmp/postpace-sim-XXXXXX");
    int fd = mkstemp(s->config_path);
    if (fd < 0)
        return -1;
    if (write(fd, config_json, strlen(config_json)) < 0) {
        close(fd);
        return -1;
    }
    close(fd);
    char scale[32];
    snprintf(scale, sizeof scale, "%g", time_scale);
    char *argv[32] = {POSTPACE_SIM_BIN, "--listen", "127.0.0.1:0", "--config", s->config_path,
                      "--time-scale", scale};
    int n = 7;
    for (int i = 0; extra_args && extra_args[i] && n < 31; i++)
        argv[n++] = (char *)extra_args[i];
    argv[n] = NULL;
    proc_start(&s->proc, argv, NULL);
    const char *at = proc_await(&s->proc, "port=");
    if (!at)
        return -1;
    s->port = atoi(at + 5);
    snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", s->port);
    return 0;
#endif
}

static int post(struct simctl *s, const char *path, const char *json)
{
    char url[128], resp[1024];
    snprintf(url, sizeof url, "%s%s", s->base, path);
    const char *h[] = {"Content-Type: application/json", NULL};
    long st = http_request("POST", url, h, json, strlen(json), resp, sizeof resp);
    if (st != 200)
        fprintf(stderr, "simctl: %s -> %ld %s\n", path, st, resp);
    return st == 200 ? 0 : -1;
}

int sim_ctl_reset(struct simctl *s, const char *config_json)
{
    return post(s, "/_reset", config_json);
}

int sim_ctl_faults(struct simctl *s, const char *faults_json)
{
    return post(s, "/_faults", faults_json);
}

json_t *sim_ctl_stats(struct simctl *s)
{
    char url[128];
    char *body = malloc(1 << 20);
    snprintf(url, sizeof url, "%s/_stats", s->base);
    long st = http_request("GET", url, NULL, NULL, 0, body, 1 << 20);
    json_t *j = st == 200 ? json_loads(body, 0, NULL) : NULL;
    free(body);
    return j;
}

long sim_ctl_stat(json_t *stats, const char *provider, const char *field)
{
    json_t *v = json_object_get(json_object_get(json_object_get(stats, "providers"), provider),
                                field);
    return json_is_integer(v) ? (long)json_integer_value(v) : 0;
}

long sim_ctl_total(json_t *stats, const char *field)
{
    long sum = 0;
    const char *name;
    json_t *p;
    json_object_foreach(json_object_get(stats, "providers"), name, p)
    {
        json_t *v = json_object_get(p, field);
        sum += json_is_integer(v) ? (long)json_integer_value(v) : 0;
    }
    return sum;
}

void sim_ctl_stop(struct simctl *s)
{
    if (s->proc.pid > 0) {
        kill(s->proc.pid, SIGTERM);
        proc_wait(&s->proc);
    }
    unlink(s->config_path);
}
