/*
 * DESIGN: labels are the plan module's words for buckets, so they are made
 * here, on top of the registry's snapshot, from the same rows the registry
 * built the buckets from (so they match exactly).
 */
#include "plan/view.h"

#include <stdlib.h>
#include <string.h>

#include "provider/provider_id.h"
#include "util/log.h"
#include "util/xmalloc.h"

static void label_keys(struct plan_view *v)
{
    const struct registry *reg = &v->snap.reg;
    size_t nb = lim_set_nbuckets(reg->limits);
    v->labels = xcalloc(nb ? nb : 1, sizeof *v->labels);
    for (size_t i = 0; i < reg->nkeys; i++) {
        const struct reg_key *k = &reg->keys[i];
        if (k->provider < PROV_COUNT)
            plan_label_buckets(reg->limits, v->snap.rows, v->snap.nrows, prov_name(k->provider),
                               k->plan, k->id, k->buckets, k->nbuckets, v->labels);
    }
}

int plan_view_open(struct plan_view *v, const char *conninfo, int skew_ms)
{
    char err[512];
    memset(v, 0, sizeof *v);
    if (regsnap_open(&v->snap, conninfo, skew_ms, err, sizeof err) != 0) {
        log_error("cannot read the keys and their limits", LOG_STR("reason", err));
        return -1;
    }
    label_keys(v);
    return 0;
}

void plan_view_close(struct plan_view *v)
{
    regsnap_close(&v->snap);
    free(v->labels);
    memset(v, 0, sizeof *v);
}
