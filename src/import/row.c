/*
 * DESIGN: the C half of import validation. It catches what SQL could only
 * catch by raising an exception (which would abort the whole COPY or need a
 * subtransaction per row): invalid UTF-8 and NUL bytes, timestamps that do
 * not parse, media that is not JSON, blank content or external_id (blank as
 * util/text.h defines it, once for the API too). Such a column is refused here (its bit
 * in `bad`, its value staged as NULL) and the SQL checks skip it, so every
 * value staged is one its column takes (binary COPY, below).
 * Account lists become text[] here (CSV: separated by ';', blanks around
 * each id ignored), so both formats reach SQL in one shape. The rules
 * a row decides alone (required values, an external_id's length, the account
 * list's size and empty ids: row_rules) are decided here too, in the check's
 * words, so that the check evaluates only what needs the database.
 */
#include "import/row.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/rfc3339.h"
#include "util/text.h"
#include "util/xmalloc.h"

const char *const imp_col_names[IMP_NCOLS] = {
    "external_id", "provider_key", "account_ids", "content", "media", "scheduled_at", "time_zone",
};

/* Columns a CSV header must have (media and time_zone are optional). */
static const unsigned required_cols = (1u << IMP_COL_EXTERNAL_ID) | (1u << IMP_COL_PROVIDER_KEY) |
                                      (1u << IMP_COL_ACCOUNT_IDS) | (1u << IMP_COL_CONTENT) |
                                      (1u << IMP_COL_SCHEDULED_AT);

/* ---- buffers ---- */

void imp_buf_add(struct imp_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void imp_buf_adds(struct imp_buf *b, const char *s)
{
    imp_buf_add(b, s, strlen(s));
}

void imp_buf_free(struct imp_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- header ---- */

static int col_by_name(const char *s, size_t n)
{
    for (int c = 0; c < IMP_NCOLS; c++)
        if (strlen(imp_col_names[c]) == n && memcmp(imp_col_names[c], s, n) == 0)
            return c;
    return -1;
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/*
 * Copies at most 40 bytes of a value for a message, control bytes and what is
 * not UTF-8 as '?', never half a character: the message is staged as text,
 * and one invalid byte in it would fail the whole COPY.
 */
static const char *shown(const char *s, size_t n, char *out, size_t size)
{
    size_t lim = n < 40 ? n : 40, i = 0, k = 0;
    while (i < lim && k + 5 < size) {
        size_t ok = text_utf8_check(s + i, lim - i);
        for (size_t j = 0; j < ok && k + 5 < size; j++)
            out[k++] = (unsigned char)s[i + j] < 0x20 ? '?' : s[i + j];
        i += ok;
        if (i < lim) { /* a bad byte, or the character the limit cuts */
            out[k++] = '?';
            for (i++; i < lim && ((unsigned char)s[i] & 0xC0) == 0x80; i++)
                ;
        }
    }
    if (n > 40 && k + 4 < size) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
    return out;
}

int imp_header_parse(struct imp_header *h, const struct imp_record *rec, char *err,
                     size_t errlen)
{
    char name[64];
    if (rec->error) {
        snprintf(err, errlen, "header: %s", rec->error);
        return -1;
    }
    unsigned seen = 0;
    h->nfields = rec->nfields;
    for (size_t i = 0; i < rec->nfields; i++) {
        const char *s = rec->fields[i].ptr;
        size_t n = rec->fields[i].len;
        trim(&s, &n);
        int c = col_by_name(s, n);
        if (c < 0) {
            snprintf(err, errlen, "header: unknown column \"%s\"", shown(s, n, name, sizeof name));
            return -1;
        }
        if (seen & (1u << c)) {
            snprintf(err, errlen, "header: column \"%s\" appears twice", imp_col_names[c]);
            return -1;
        }
        seen |= 1u << c;
        h->col[i] = c;
    }
    for (int c = 0; c < IMP_NCOLS; c++)
        if ((required_cols & (1u << c)) && !(seen & (1u << c))) {
            snprintf(err, errlen, "header: column \"%s\" is missing", imp_col_names[c]);
            return -1;
        }
    return 0;
}

/* ---- rows ---- */

void imp_row_init(struct imp_row *row)
{
    memset(row, 0, sizeof *row);
}

void imp_row_finish(struct imp_row *row)
{
    imp_buf_free(&row->errors);
    imp_buf_free(&row->accounts);
    imp_buf_free(&row->media);
    imp_buf_free(&row->media_types);
    json_decref(row->json);
    row->json = NULL;
}

static void row_reset(struct imp_row *row, long line)
{
    json_decref(row->json);
    row->json = NULL;
    row->line = line;
    row->broken = 0;
    row->bad = 0;
    for (int c = 0; c < IMP_NCOLS; c++) {
        row->val[c] = NULL;
        row->len[c] = 0;
    }
    row->has_time = row->has_offset = 0;
    row->accounts_twice = 0;
    row->twin_of = 0;
    row->media_look = 0;
    row->media_bytes = -1;
    row->naccounts = row->nelems = row->ntypes = 0;
    row->empty_account = 0;
    row->errors.len = row->accounts.len = row->media.len = 0;
}

void imp_row_error(struct imp_row *row, const char *column, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++) /* one entry per line, column and reason apart */
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    /* Staged as text, the message must be UTF-8 (one bad byte fails the whole
     * COPY): what is not, such as a character vsnprintf or a library's error
     * text cut in half, becomes '?'. */
    for (size_t at = 0, n = strlen(msg); at < n;) {
        at += text_utf8_check(msg + at, n - at);
        if (at < n)
            msg[at++] = '?';
    }
    imp_buf_adds(&row->errors, column);
    imp_buf_add(&row->errors, "\t", 1);
    imp_buf_adds(&row->errors, msg);
    imp_buf_add(&row->errors, "\n", 1);
}

static void refuse(struct imp_row *row, int col, const char *fmt, const char *arg)
{
    imp_row_error(row, imp_col_names[col], fmt, arg);
    row->bad |= 1u << col;
}

static void check_utf8(struct imp_row *row)
{
    for (int c = 0; c < IMP_NCOLS; c++) {
        if (!row->val[c] || (row->bad & (1u << c)))
            continue;
        /* JSON Lines: the account list is binary already, of JSON strings
         * (valid UTF-8 without NUL, as jansson reads them). */
        if (c == IMP_COL_ACCOUNT_IDS && row->json)
            continue;
        size_t at = text_utf8_check(row->val[c], row->len[c]);
        if (at == row->len[c])
            continue;
        char msg[96];
        if (row->val[c][at] == '\0')
            snprintf(msg, sizeof msg, "a NUL byte at byte %zu", at + 1);
        else
            snprintf(msg, sizeof msg, "invalid UTF-8 at byte %zu", at + 1);
        refuse(row, c, "%s", msg);
    }
}

/*
 * Notes one account id so that the check's search for a repeated id (a
 * subquery a row in SQL) runs only on rows that may have one. Empty ids do
 * not count, as in the check; past IMP_MAX_ACCOUNTS ids the row is simply
 * marked (the check refuses it anyway).
 */
static void note_account(struct imp_row *row, const char *s, size_t n)
{
    if (n == 0 || row->accounts_twice)
        return;
    if (row->naccounts == IMP_MAX_ACCOUNTS) {
        row->accounts_twice = 1;
        return;
    }
    for (size_t i = 0; i < row->naccounts; i++)
        if (row->account[i].len == n && memcmp(row->account[i].ptr, s, n) == 0) {
            row->accounts_twice = 1;
            return;
        }
    row->account[row->naccounts].ptr = s;
    row->account[row->naccounts++].len = n;
}

/* Appends one element to a text[] being built: its length (4 bytes, big
 * endian) and its bytes, as COPY's binary array holds them. */
static void array_elem(struct imp_buf *b, const char *s, size_t n)
{
    unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                            (unsigned char)(n >> 8), (unsigned char)n};
    imp_buf_add(b, (const char *)len, 4);
    imp_buf_add(b, s, n);
}

/* One account id into the row's list. */
static void account_elem(struct imp_row *row, const char *s, size_t n)
{
    array_elem(&row->accounts, s, n);
    note_account(row, s, n);
    row->nelems++;
    row->empty_account |= n == 0;
}

/* CSV: "a; b;c" -> {a,b,c}; an empty cell gives {} (refused by row_rules). */
static void accounts_from_text(struct imp_row *row)
{
    const char *s = row->val[IMP_COL_ACCOUNT_IDS];
    size_t n = row->len[IMP_COL_ACCOUNT_IDS];
    if (!s || (row->bad & (1u << IMP_COL_ACCOUNT_IDS)))
        return;
    trim(&s, &n);
    while (n > 0) {
        const char *semi = memchr(s, ';', n);
        size_t k = semi ? (size_t)(semi - s) : n;
        const char *e = s;
        size_t en = k;
        trim(&e, &en);
        account_elem(row, e, en);
        s += semi ? k + 1 : k;
        n -= semi ? k + 1 : k;
        if (semi && n == 0)
            account_elem(row, "", 0); /* a trailing ';' leaves an empty id */
    }
    row->val[IMP_COL_ACCOUNT_IDS] = row->accounts.p ? row->accounts.p : "";
    row->len[IMP_COL_ACCOUNT_IDS] = row->accounts.len;
}

static int dump_to(const char *buf, size_t size, void *data)
{
    imp_buf_add(data, buf, size);
    return 0;
}

/*
 * What sql/import_check.sql must know of the media to skip reading it: a
 * file breaking a structural rule (the check words the refusal), and what
 * the provider's limits are held against (the largest size, the types). The
 * rules are the check's: an object; url a non-empty string; mime_type a
 * string; size_bytes a whole number (a JSON integer >= 0: a real such as 5.0
 * is written back as 5.0, which the check refuses too).
 */
static void media_summary(struct imp_row *row, const json_t *v)
{
    row->media_look = !json_is_array(v);
    row->media_bytes = -1;
    row->media_types.len = 0;
    row->ntypes = 0;
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item)
    {
        json_t *url = json_object_get(item, "url"), *type = json_object_get(item, "mime_type"),
               *size = json_object_get(item, "size_bytes");
        if (!json_is_object(item) || !json_is_string(url) || json_string_length(url) == 0 ||
            !json_is_string(type) || !json_is_integer(size) || json_integer_value(size) < 0 ||
            strlen(json_string_value(type)) != json_string_length(type)) {
            row->media_look = 1;
            continue;
        }
        if (json_integer_value(size) > row->media_bytes)
            row->media_bytes = json_integer_value(size);
        array_elem(&row->media_types, json_string_value(type), json_string_length(type));
        row->ntypes++;
    }
}

static void media_from_json(struct imp_row *row, const json_t *v)
{
    row->media.len = 0;
    json_dump_callback(v, dump_to, &row->media, JSON_COMPACT | JSON_ENCODE_ANY);
    row->val[IMP_COL_MEDIA] = row->media.p;
    row->len[IMP_COL_MEDIA] = row->media.len;
    media_summary(row, v);
}

/* CSV: the cell is JSON text; blank means no media. */
static void media_from_text(struct imp_row *row)
{
    const char *s = row->val[IMP_COL_MEDIA];
    size_t n = row->len[IMP_COL_MEDIA];
    if (!s || (row->bad & (1u << IMP_COL_MEDIA)))
        return;
    trim(&s, &n);
    if (n == 0) {
        row->val[IMP_COL_MEDIA] = NULL;
        return;
    }
    json_error_t e;
    json_t *v = json_loadb(s, n, JSON_DECODE_ANY, &e);
    if (!v) {
        char msg[256];
        snprintf(msg, sizeof msg, "not valid JSON: %s (at character %d)", e.text, e.position);
        refuse(row, IMP_COL_MEDIA, "%s", msg);
        return;
    }
    media_from_json(row, v);
    json_decref(v);
}

static void time_check(struct imp_row *row)
{
    const char *s = row->val[IMP_COL_SCHEDULED_AT];
    size_t n = row->len[IMP_COL_SCHEDULED_AT];
    if (!s || (row->bad & (1u << IMP_COL_SCHEDULED_AT)))
        return;
    trim(&s, &n);
    if (n == 0)
        return; /* SQL reports it missing */
    const char *why = imp_time_parse_us(s, n, &row->local_us, &row->has_offset, &row->offset_us);
    row->has_time = !why;
    if (why) {
        char v[64], msg[192];
        snprintf(msg, sizeof msg, "\"%s\" is not a valid time: %s", shown(s, n, v, sizeof v), why);
        refuse(row, IMP_COL_SCHEDULED_AT, "%s", msg);
    }
}

/* Blank text (util/text.h: Unicode spaces and invisible characters too) is no value. */
static void blank_check(struct imp_row *row)
{
    static const struct {
        int col;
        const char *reason;
    } cols[] = {{IMP_COL_EXTERNAL_ID, "required (it makes a re-import a no-op)"},
                {IMP_COL_CONTENT, "empty"}};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
        int c = cols[i].col;
        if (row->val[c] && !(row->bad & (1u << c)) && text_is_blank(row->val[c], row->len[c]))
            refuse(row, c, "%s", cols[i].reason);
    }
}

/* The zone as SQL wants it: trimmed, and UTC when absent or blank. */
static void zone_default(struct imp_row *row)
{
    if (row->bad & (1u << IMP_COL_TIME_ZONE))
        return;
    const char *s = row->val[IMP_COL_TIME_ZONE];
    size_t n = row->len[IMP_COL_TIME_ZONE];
    if (s)
        trim(&s, &n);
    if (!s || n == 0) {
        s = "UTC";
        n = 3;
    }
    row->val[IMP_COL_TIME_ZONE] = s;
    row->len[IMP_COL_TIME_ZONE] = n;
}

/* The checks both formats share, once the values are in place. */
static void check_values(struct imp_row *row)
{
    check_utf8(row);
    blank_check(row);
    time_check(row);
    zone_default(row);
}

/* Characters of valid UTF-8: the bytes that do not continue one. */
static size_t utf8_chars(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

/* Whether column c holds a value not refused already (NULL is absent). */
static int given(const struct imp_row *row, int c)
{
    return row->val[c] && !(row->bad & (1u << c));
}

static int refused(const struct imp_row *row, int c)
{
    return (row->bad & (1u << c)) != 0;
}

/*
 * The rules a row decides alone, on a row read whole: what is required, how
 * long an external_id, how many accounts. The check (sql/import_check.sql)
 * keeps what needs the database (keys, the calendar, the providers' limits,
 * zones) and a repeated account (named by the database's collation). The
 * messages are the check's words; errors not columns' refusals (no bit in
 * `bad`): the values are staged, as the check would have seen them.
 */
static void row_rules(struct imp_row *row)
{
    const char *id = row->val[IMP_COL_EXTERNAL_ID];
    if (!id && !refused(row, IMP_COL_EXTERNAL_ID))
        imp_row_error(row, "external_id", "required (it makes a re-import a no-op)");
    else if (given(row, IMP_COL_EXTERNAL_ID) && row->len[IMP_COL_EXTERNAL_ID] > 200 &&
             utf8_chars(id, row->len[IMP_COL_EXTERNAL_ID]) > 200)
        imp_row_error(row, "external_id", "%zu characters, at most 200",
                      utf8_chars(id, row->len[IMP_COL_EXTERNAL_ID]));
    if (!refused(row, IMP_COL_PROVIDER_KEY) &&
        (!row->val[IMP_COL_PROVIDER_KEY] || row->len[IMP_COL_PROVIDER_KEY] == 0))
        imp_row_error(row, "provider_key", "required");
    if (!row->val[IMP_COL_ACCOUNT_IDS] && !refused(row, IMP_COL_ACCOUNT_IDS))
        imp_row_error(row, "account_ids", "required");
    else if (given(row, IMP_COL_ACCOUNT_IDS)) {
        if (row->nelems == 0)
            imp_row_error(row, "account_ids", "empty: give at least one account id");
        if (row->nelems > IMP_MAX_ACCOUNTS)
            imp_row_error(row, "account_ids", "%zu accounts, at most %d", row->nelems,
                          IMP_MAX_ACCOUNTS);
        if (row->empty_account)
            imp_row_error(row, "account_ids", "an empty account id");
    }
    if (!row->val[IMP_COL_CONTENT] && !refused(row, IMP_COL_CONTENT))
        imp_row_error(row, "content", "empty");
    if (!row->has_time && !refused(row, IMP_COL_SCHEDULED_AT))
        imp_row_error(row, "scheduled_at", "required");
}

void imp_row_from_csv(struct imp_row *row, const struct imp_header *h,
                      const struct imp_record *rec)
{
    row_reset(row, rec->line);
    if (rec->error) {
        row->broken = 1;
        const char *col = rec->error_field < h->nfields ? imp_col_names[h->col[rec->error_field]]
                                                        : "record";
        imp_row_error(row, col, "%s", rec->error);
        return;
    }
    if (rec->nfields != h->nfields) {
        row->broken = 1;
        imp_row_error(row, "record", "%zu fields, the header has %zu", rec->nfields, h->nfields);
        return;
    }
    for (size_t i = 0; i < rec->nfields; i++) {
        row->val[h->col[i]] = rec->fields[i].ptr;
        row->len[h->col[i]] = rec->fields[i].len;
    }
    check_values(row);
    accounts_from_text(row);
    media_from_text(row);
    row_rules(row);
}

/* ---- JSON Lines ---- */

static void json_string_col(struct imp_row *row, int col, json_t *v)
{
    if (json_is_null(v))
        return;
    if (!json_is_string(v)) {
        refuse(row, col, "%s", "must be a string");
        return;
    }
    row->val[col] = json_string_value(v);
    row->len[col] = json_string_length(v);
}

/*
 * A key is a key id (a whole number: 7, or 7.0 as some writers print it)
 * or a label (a string), as the README's column table promises.
 */
static void json_key_col(struct imp_row *row, json_t *v)
{
    json_int_t id;
    if (json_is_integer(v))
        id = json_integer_value(v);
    else if (json_is_real(v) && json_real_value(v) > -9e15 && json_real_value(v) < 9e15 &&
             json_real_value(v) == (double)(json_int_t)json_real_value(v))
        id = (json_int_t)json_real_value(v);
    else if (json_is_number(v)) {
        char shown_num[40];
        snprintf(shown_num, sizeof shown_num, "%.17g", json_real_value(v));
        refuse(row, IMP_COL_PROVIDER_KEY,
               "%s is not a key id: give a whole number (the key's id) or a string (its label)",
               shown_num);
        return;
    } else if (json_is_null(v) || json_is_string(v)) {
        json_string_col(row, IMP_COL_PROVIDER_KEY, v);
        return;
    } else {
        refuse(row, IMP_COL_PROVIDER_KEY, "%s",
               "must be a key id (a whole number) or a key label (a string)");
        return;
    }
    int n = snprintf(row->num, sizeof row->num, "%" JSON_INTEGER_FORMAT, id);
    row->val[IMP_COL_PROVIDER_KEY] = row->num;
    row->len[IMP_COL_PROVIDER_KEY] = (size_t)n;
}

static void json_accounts_col(struct imp_row *row, json_t *v)
{
    if (json_is_null(v))
        return;
    size_t i;
    json_t *e;
    if (!json_is_array(v)) {
        refuse(row, IMP_COL_ACCOUNT_IDS, "%s", "must be an array of strings");
        return;
    }
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e)) {
            refuse(row, IMP_COL_ACCOUNT_IDS, "%s", "must be an array of strings");
            return;
        }
        account_elem(row, json_string_value(e), json_string_length(e));
    }
    row->val[IMP_COL_ACCOUNT_IDS] = row->accounts.p ? row->accounts.p : "";
    row->len[IMP_COL_ACCOUNT_IDS] = row->accounts.len;
}

static void json_field(struct imp_row *row, const char *key, json_t *v)
{
    int col = col_by_name(key, strlen(key));
    if (col == IMP_COL_PROVIDER_KEY)
        json_key_col(row, v);
    else if (col == IMP_COL_ACCOUNT_IDS)
        json_accounts_col(row, v);
    else if (col == IMP_COL_MEDIA) {
        if (!json_is_null(v))
            media_from_json(row, v);
    } else if (col >= 0)
        json_string_col(row, col, v);
    else {
        char k[64];
        imp_row_error(row, shown(key, strlen(key), k, sizeof k), "unknown field");
        row->broken = 1;
    }
}

static json_t *json_record(struct imp_row *row, const struct imp_record *rec)
{
    size_t at = text_utf8_check(rec->fields[0].ptr, rec->fields[0].len);
    if (at != rec->fields[0].len) {
        imp_row_error(row, "record", "invalid UTF-8 at byte %zu", at + 1);
        return NULL;
    }
    json_error_t e;
    json_t *v = json_loadb(rec->fields[0].ptr, rec->fields[0].len, JSON_REJECT_DUPLICATES, &e);
    if (!v) {
        imp_row_error(row, "record", "not valid JSON: %s (at character %d)", e.text, e.position);
        return NULL;
    }
    if (!json_is_object(v)) {
        imp_row_error(row, "record", "not a JSON object");
        json_decref(v);
        return NULL;
    }
    return v;
}

void imp_row_from_jsonl(struct imp_row *row, const struct imp_record *rec)
{
    row_reset(row, rec->line);
    if (rec->error || rec->nfields != 1) {
        row->broken = 1;
        imp_row_error(row, "record", "%s", rec->error ? rec->error : "unreadable line");
        return;
    }
    row->json = json_record(row, rec);
    if (!row->json) {
        row->broken = 1;
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach(row->json, key, v)
    {
        json_field(row, key, v);
    }
    if (!row->broken) {
        check_values(row);
        row_rules(row);
    }
}

/* ---- COPY, binary ---- */

/*
 * The staging table's row in COPY's binary format (the PostgreSQL
 * documentation, "COPY", "Binary Format"): a field count, then each field as
 * its length and its bytes in the type's send format, -1 for NULL. The
 * server reads it without parsing text: at 200,000 staged rows, a server-side
 * COPY of these took 0.26-0.42 s, of the same rows as text 0.53-0.79 s into
 * text columns and 0.68-1.01 s into these typed ones.
 */
#define STAGE_FIELDS 17
#define TEXT_OID 25
#define PG_EPOCH_FROM_UNIX_US INT64_C(946684800000000) /* 2000-01-01 */

static void put_u32(struct imp_buf *out, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    imp_buf_add(out, (const char *)b, 4);
}

static void put_u64(struct imp_buf *out, uint64_t v)
{
    put_u32(out, (uint32_t)(v >> 32));
    put_u32(out, (uint32_t)v);
}

static void put_null(struct imp_buf *out)
{
    put_u32(out, UINT32_MAX);
}

static void put_bytes(struct imp_buf *out, const char *s, size_t n)
{
    put_u32(out, (uint32_t)n);
    imp_buf_add(out, s, n);
}

static void put_bool(struct imp_buf *out, int v)
{
    put_bytes(out, v ? "\1" : "\0", 1);
}

static void put_int8(struct imp_buf *out, int64_t v)
{
    put_u32(out, 8);
    put_u64(out, (uint64_t)v);
}

/* A one-dimensional text[] without NULLs, of n elements laid out by array_elem.
 * db_text_array_binary (db/db.h) lays out the same array for a parameter, from
 * C strings; the reader's elements are slices of its input, and row.c stays
 * free of libpq (the fuzz target builds it alone), so the header is here too. */
static void put_text_array(struct imp_buf *out, const struct imp_buf *elems, size_t n)
{
    put_u32(out, (uint32_t)(n ? 20 + elems->len : 12));
    put_u32(out, n ? 1 : 0); /* dimensions */
    put_u32(out, 0);         /* no NULL element */
    put_u32(out, TEXT_OID);
    if (n) {
        put_u32(out, (uint32_t)n); /* its length */
        put_u32(out, 1);           /* its lower bound */
        imp_buf_add(out, elems->p, elems->len);
    }
}

void imp_copy_header(struct imp_buf *out)
{
    imp_buf_add(out, "PGCOPY\n\377\r\n\0", 11);
    put_u32(out, 0); /* flags */
    put_u32(out, 0); /* no header extension */
}

void imp_copy_trailer(struct imp_buf *out)
{
    imp_buf_add(out, "\377\377", 2);
}

void imp_row_copy_line(const struct imp_row *row, struct imp_buf *out)
{
    unsigned char nf[2] = {0, STAGE_FIELDS};
    imp_buf_add(out, (const char *)nf, 2);
    put_int8(out, row->line);
    put_bool(out, row->broken);
    put_u32(out, 4);
    put_u32(out, row->bad);
    if (row->errors.len)
        put_bytes(out, row->errors.p, row->errors.len - 1); /* without the last line end */
    else
        put_null(out);
    int ok[IMP_NCOLS];
    for (int c = 0; c < IMP_NCOLS; c++)
        ok[c] = !row->broken && row->val[c] && !(row->bad & (1u << c));
    for (int c = IMP_COL_EXTERNAL_ID; c <= IMP_COL_PROVIDER_KEY; c++)
        ok[c] ? put_bytes(out, row->val[c], row->len[c]) : put_null(out);
    if (ok[IMP_COL_ACCOUNT_IDS])
        put_text_array(out, &row->accounts, row->nelems);
    else
        put_null(out);
    ok[IMP_COL_CONTENT] ? put_bytes(out, row->val[IMP_COL_CONTENT], row->len[IMP_COL_CONTENT])
                        : put_null(out);
    if (ok[IMP_COL_MEDIA]) { /* jsonb: a version byte, then the JSON text */
        put_u32(out, (uint32_t)(1 + row->len[IMP_COL_MEDIA]));
        imp_buf_add(out, "\1", 1);
        imp_buf_add(out, row->val[IMP_COL_MEDIA], row->len[IMP_COL_MEDIA]);
    } else {
        put_null(out);
    }
    int have = ok[IMP_COL_SCHEDULED_AT] && row->has_time;
    have ? put_int8(out, row->local_us) : put_null(out);
    if (have && row->has_offset) { /* interval: microseconds, days, months */
        put_u32(out, 16);
        put_u64(out, (uint64_t)row->offset_us);
        put_u64(out, 0);
    } else {
        put_null(out);
    }
    ok[IMP_COL_TIME_ZONE] ? put_bytes(out, row->val[IMP_COL_TIME_ZONE], row->len[IMP_COL_TIME_ZONE])
                          : put_null(out);
    put_bool(out, row->accounts_twice);
    row->twin_of > 0 ? put_int8(out, row->twin_of) : put_null(out);
    /* The media summary, when there is media to stage. */
    if (ok[IMP_COL_MEDIA]) {
        put_bool(out, row->media_look);
        row->media_bytes >= 0 ? put_int8(out, row->media_bytes) : put_null(out);
        put_text_array(out, &row->media_types, row->ntypes);
    } else {
        put_null(out), put_null(out), put_null(out);
    }
}

/* ---- times ---- */

const char *imp_time_parse_us(const char *str, size_t len, int64_t *local_us, int *has_offset,
                              int64_t *offset_us)
{
    struct rfc3339_time t;
    enum rfc3339_err e = rfc3339_parse(str, len, &t);
    if (e != RFC3339_E_OK)
        return rfc3339_strerror(e);
    struct rfc3339_time wall = t;
    wall.offset_min = 0;
    *local_us = rfc3339_to_us(&wall) - PG_EPOCH_FROM_UNIX_US;
    *has_offset = t.has_offset;
    *offset_us = (int64_t)t.offset_min * 60 * 1000000;
    return NULL;
}

const char *imp_time_parse(const char *str, size_t len, char *local, char *offset)
{
    struct rfc3339_time t;
    enum rfc3339_err e = rfc3339_parse(str, len, &t);
    if (e != RFC3339_E_OK)
        return rfc3339_strerror(e);
    rfc3339_local_text(&t, local, 40);
    rfc3339_offset_text(&t, offset, 8);
    return NULL;
}
