/*
 * DESIGN: one table of defaults, one per provider, holding what postpace
 * sent before these names were configurable: "account_ids" is in
 * PostEverywhere's docs and SchedPilot's speak of an "accounts" array; the
 * rest is ours. A config is applied to a copy, so a bad one changes nothing.
 */
#include "provider/reqfields.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define MEDIA_DEFAULT {"url", "mime_type", "size_bytes"}

static const struct prov_fields defaults[PROV_COUNT] = {
    [PROV_POSTEVERYWHERE] = {"media", MEDIA_DEFAULT, "account_ids", "reference"},
    [PROV_SCHEDPILOT] = {"media", MEDIA_DEFAULT, "accounts", "reference"},
    [PROV_FEEDHORIZON] = {"media", MEDIA_DEFAULT, "platforms", "reference"},
    /* Postlark takes no media; one blog per request. */
    [PROV_POSTLARK] = {"", MEDIA_DEFAULT, "blog_id", "reference"},
    /* Jestha posts to the key's own account: no account member. */
    [PROV_JESTHA] = {"media", MEDIA_DEFAULT, "", "reference"},
};

static const char *const media_names[] = {
#define X(id, name) name,
    PRF_MEDIA_MEMBERS(X)
#undef X
};

const struct prov_fields *prov_fields_default(enum prov_id p)
{
    return p < PROV_COUNT ? &defaults[p] : NULL;
}

const char *prov_fields_media_name(enum prf_media_member m)
{
    return m < PRF_MEDIA_COUNT ? media_names[m] : NULL;
}

/* Copies a string or null value into dst; -1 with err otherwise. */
static int set_name(char dst[PRF_NAME_MAX], const char *member, json_t *v, char *err,
                    size_t errlen)
{
    if (json_is_null(v)) {
        dst[0] = '\0';
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) >= PRF_NAME_MAX ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        snprintf(err, errlen, "%s must be a member name (a string under %d bytes) or null",
                 member, PRF_NAME_MAX);
        return -1;
    }
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int apply_media(struct prov_fields *f, json_t *o, char *err, size_t errlen)
{
    if (!json_is_object(o)) {
        snprintf(err, errlen, "media must be an object {\"url\",\"mime_type\",\"size_bytes\"}");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        int m = 0;
        while (m < PRF_MEDIA_COUNT && strcmp(k, media_names[m]) != 0)
            m++;
        if (m == PRF_MEDIA_COUNT) {
            snprintf(err, errlen, "media.%.40s is unknown (want url, mime_type, size_bytes)", k);
            return -1;
        }
        char what[64];
        snprintf(what, sizeof what, "media.%s", k);
        if (set_name(f->media[m], what, v, err, errlen) != 0)
            return -1;
    }
    return 0;
}

static int apply_member(struct prov_fields *f, const char *k, json_t *v, char *err, size_t errlen)
{
    if (strcmp(k, "media") == 0)
        return apply_media(f, v, err, errlen);
    if (strcmp(k, "media_list") == 0)
        return set_name(f->media_list, k, v, err, errlen);
    if (strcmp(k, "accounts") == 0)
        return set_name(f->accounts, k, v, err, errlen);
    if (strcmp(k, "reference") == 0)
        return set_name(f->reference, k, v, err, errlen);
    snprintf(err, errlen, "%.40s is unknown (want media_list, media, accounts, reference)", k);
    return -1;
}

int prov_fields_apply(struct prov_fields *f, const char *text, char *err, size_t errlen)
{
    if (!text)
        return 0;
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    if (!json_is_object(root)) {
        snprintf(err, errlen, "not a JSON object%s%s", root ? "" : ": ", root ? "" : jerr.text);
        json_decref(root);
        return -1;
    }
    struct prov_fields next = *f;
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(root, k, v)
    {
        if ((rc = apply_member(&next, k, v, err, errlen)) != 0)
            break;
    }
    json_decref(root);
    if (rc == 0)
        *f = next;
    return rc;
}
