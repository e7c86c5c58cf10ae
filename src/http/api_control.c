/*
 * DESIGN: the API workers' side of operator control: the action itself and
 * its audit row are control.h's one statement, so the API and the CLI cannot
 * drift apart.
 */
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "http/api_int.h"
#include "util/log.h"
#include "util/xmalloc.h"

void api_pause_in_free(void *p)
{
    struct api_pause_in *in = p;
    free(in->key), free(in->provider), free(in);
}

void api_work_pause(PGconn *c, struct api_job *j)
{
    const struct api_pause_in *in = api_job_input(j);
    char err[512];
    json_t *keys = ctl_pause(c, in->actor, in->pause, in->key, in->provider, err, sizeof err);
    if (!keys) {
        log_error("cannot change the keys", LOG_STR("reason", err));
        api_job_error(j, 500, "internal", "the request could not be completed", NULL);
        return;
    }
    if (json_array_size(keys) == 0) {
        json_decref(keys);
        api_job_error(j, 404, "not_found", "no enabled key matches", NULL);
        return;
    }
    json_t *o = json_pack("{s:o}", "keys", keys);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    api_job_reply(j, 200, body, strlen(body));
    free(body);
}
