/*
 * DESIGN: the table of providers and the JSON helpers their files share.
 * Bodies are built and read with jansson; nothing here allocates beyond the
 * returned body.
 */
#include "provider/provider.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct prov_ops prov_posteverywhere, prov_schedpilot, prov_feedhorizon,
    prov_postlark, prov_jestha;

static const struct prov_ops *const table[PROV_COUNT] = {
    [PROV_POSTEVERYWHERE] = &prov_posteverywhere, [PROV_SCHEDPILOT] = &prov_schedpilot,
    [PROV_FEEDHORIZON] = &prov_feedhorizon,       [PROV_POSTLARK] = &prov_postlark,
    [PROV_JESTHA] = &prov_jestha,
};

const struct prov_ops *prov_ops(enum prov_id p)
{
    return p < PROV_COUNT ? table[p] : NULL;
}

const char *prov_create_route(enum prov_id p)
{
    return p < PROV_COUNT ? table[p]->create_route : NULL;
}

/* One media item with its members renamed; members not configured pass. */
static json_t *rename_item(json_t *item, const struct prov_fields *f)
{
    if (!json_is_object(item))
        return json_incref(item);
    json_t *o = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(item, k, v)
    {
        const char *to = k;
        for (int m = 0; m < PRF_MEDIA_COUNT; m++)
            if (strcmp(k, prov_fields_media_name((enum prf_media_member)m)) == 0)
                to = f->media[m];
        if (*to)
            json_object_set(o, to, v);
    }
    return o;
}

static void set_media(json_t *o, const struct prov_post *p, const struct prov_fields *f)
{
    if (!*f->media_list || !p->media_json)
        return;
    json_t *m = json_loads(p->media_json, 0, NULL);
    if (json_is_array(m) && json_array_size(m) > 0) {
        json_t *out = json_array();
        size_t i;
        json_t *item;
        json_array_foreach(m, i, item) json_array_append_new(out, rename_item(item, f));
        json_object_set_new(o, f->media_list, out);
    }
    json_decref(m);
}

char *prov_encode_common(const struct prov_post *p, enum prov_id id)
{
    const struct prov_fields *f = p->fields ? p->fields : prov_fields_default(id);
    json_t *o = json_object();
    json_object_set_new(o, "content", json_string(p->content));
    if (*f->accounts && table[id]->max_batch > 1) {
        json_t *a = json_array();
        for (size_t i = 0; i < p->naccounts; i++)
            json_array_append_new(a, json_string(p->accounts[i]));
        json_object_set_new(o, f->accounts, a);
    } else if (*f->accounts && p->naccounts > 0) {
        json_object_set_new(o, f->accounts, json_string(p->accounts[0]));
    }
    set_media(o, p, f);
    if (*f->reference)
        json_object_set_new(o, f->reference, json_string(p->reference));
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        abort();
    return s;
}

static void copy_str(json_t *v, char *dst, size_t size)
{
    const char *s = json_string_value(v);
    snprintf(dst, size, "%s", s ? s : "");
}

void prov_decode_error_common(const char *body, size_t len, const char *retry_field,
                              struct prov_error *out)
{
    memset(out, 0, sizeof *out);
    out->retry_after_s = -1;
    json_t *root = json_loadb(body, len, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return;
    }
    json_t *err = json_object_get(root, "error");
    if (json_is_object(err)) {
        copy_str(json_object_get(err, "code"), out->code, sizeof out->code);
        copy_str(json_object_get(err, "message"), out->message, sizeof out->message);
    } else {
        copy_str(err, out->code, sizeof out->code);
        copy_str(json_object_get(root, "message"), out->message, sizeof out->message);
        json_t *code = json_object_get(root, "code");
        if (!*out->code && json_is_integer(code))
            snprintf(out->code, sizeof out->code, "%lld", (long long)json_integer_value(code));
    }
    json_t *retry = retry_field ? json_object_get(root, retry_field) : NULL;
    if (json_is_number(retry))
        out->retry_after_s = (int64_t)json_number_value(retry);
    json_decref(root);
}

int64_t prov_retry_after_s(const char *value, int64_t now_s)
{
    char v[128];
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strcspn(value, "\r\n");
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
        n--;
    if (n == 0 || n >= sizeof v)
        return -1;
    memcpy(v, value, n);
    v[n] = '\0';
    if (strspn(v, "0123456789") == n)
        return n > 12 ? INT64_C(999999999999) : strtoll(v, NULL, 10);
    time_t at = curl_getdate(v, NULL);
    if (at == (time_t)-1)
        return -1;
    return (int64_t)at > now_s ? (int64_t)at - now_s : 0;
}
