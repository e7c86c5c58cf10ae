/*
 * libFuzzer target for the one time grammar (src/util/rfc3339.c) that the
 * API, the importer and the CLI share. Besides not crashing, every time it
 * accepts must hold the module's promises: a real calendar date, an instant
 * inside the range (a local time with its zone margin), and text that reads
 * back to the same time, both as written and as formatted in UTC.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/rfc3339.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_round_trip(const struct rfc3339_time *t)
{
    char text[48], off[8];
    rfc3339_local_text(t, text, sizeof text);
    rfc3339_offset_text(t, off, sizeof off);
    strcat(text, off);
    struct rfc3339_time back;
    if (rfc3339_parse(text, strlen(text), &back) != RFC3339_E_OK ||
        rfc3339_to_us(&back) != rfc3339_to_us(t) || back.has_offset != t->has_offset)
        abort();
}

static void check_utc_text(const struct rfc3339_time *t)
{
    char text[48];
    int64_t us = rfc3339_to_us(t), again;
    rfc3339_format_ms(us / 1000, text, sizeof text);
    if (rfc3339_parse_instant(text, &again) != RFC3339_E_OK || again / 1000 != us / 1000)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 256)
        return 0;
    struct rfc3339_time t;
    enum rfc3339_err e = rfc3339_parse((const char *)data, size, &t);
    if (!rfc3339_strerror(e))
        abort();
    if (e != RFC3339_E_OK)
        return 0;
    int64_t us = rfc3339_to_us(&t);
    if (!rfc3339_us_in_range(us) || t.month < 1 || t.month > 12 || t.day < 1 || t.day > 31 ||
        t.hour > 23 || t.minute > 59 || t.second > 59 || t.usec < 0 || t.usec > 999999)
        abort();
    check_round_trip(&t);
    if (t.has_offset)
        check_utc_text(&t);
    return 0;
}
