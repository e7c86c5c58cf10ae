/*
 * DESIGN: the C half of import validation. It catches what SQL could only
 * catch by raising an exception (which would abort the whole COPY or need a
 * subtransaction per row): invalid UTF-8 and NUL bytes, timestamps that do
 * not parse, media that is not JSON, blank content or external_id (blank as
 * util/text.h defines it, once for the API too). Such a column is refused here (its bit
 * in `bad`, its value staged as NULL) and the SQL checks skip it, so every
 * value that reaches a cast in sql/import_check.sql is known to cast.
 * Account lists become text[] literals here (CSV: separated by ';', blanks
 * around each id ignored), so both formats reach SQL in one shape. The rules
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

/* Copies at most 40 bytes of a value for a message, control bytes as '?'. */
static const char *shown(const char *s, size_t n, char *out, size_t size)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 < size && i < 40; i++)
        out[k++] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
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
    row->local[0] = row->offset[0] = '\0';
    row->accounts_twice = 0;
    row->twin_of = 0;
    row->media_look = 0;
    row->media_bytes = -1;
    row->naccounts = row->nelems = 0;
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

/* Appends one element to a text[] literal being built ("{" already there). */
static void array_elem(struct imp_buf *b, const char *s, size_t n)
{
    if (b->len > 1)
        imp_buf_add(b, ",", 1);
    imp_buf_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\')
            imp_buf_add(b, "\\", 1);
        imp_buf_add(b, s + i, 1);
    }
    imp_buf_add(b, "\"", 1);
}

/* One account id into the row's list. */
static void account_elem(struct imp_row *row, const char *s, size_t n)
{
    array_elem(&row->accounts, s, n);
    note_account(row, s, n);
    row->nelems++;
    row->empty_account |= n == 0;
}

/* CSV: "a; b;c" -> {"a","b","c"}; an empty cell gives {} (refused by row_rules). */
static void accounts_from_text(struct imp_row *row)
{
    const char *s = row->val[IMP_COL_ACCOUNT_IDS];
    size_t n = row->len[IMP_COL_ACCOUNT_IDS];
    if (!s || (row->bad & (1u << IMP_COL_ACCOUNT_IDS)))
        return;
    imp_buf_add(&row->accounts, "{", 1);
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
    imp_buf_add(&row->accounts, "}", 1);
    row->val[IMP_COL_ACCOUNT_IDS] = row->accounts.p;
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
    imp_buf_add(&row->media_types, "{", 1);
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
    }
    imp_buf_add(&row->media_types, "}", 1);
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
    const char *why = imp_time_parse(s, n, row->local, row->offset);
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
    if (!row->local[0] && !refused(row, IMP_COL_SCHEDULED_AT))
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
    imp_buf_add(&row->accounts, "{", 1);
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e)) {
            refuse(row, IMP_COL_ACCOUNT_IDS, "%s", "must be an array of strings");
            return;
        }
        account_elem(row, json_string_value(e), json_string_length(e));
    }
    imp_buf_add(&row->accounts, "}", 1);
    row->val[IMP_COL_ACCOUNT_IDS] = row->accounts.p;
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

/* ---- COPY text ---- */

static void copy_value(struct imp_buf *out, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *esc = NULL;
        switch (s[i]) {
        case '\\': esc = "\\\\"; break;
        case '\t': esc = "\\t"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        default: continue;
        }
        imp_buf_add(out, s + run, i - run);
        imp_buf_add(out, esc, 2);
        run = i + 1;
    }
    imp_buf_add(out, s + run, n - run);
}

static void copy_col(struct imp_buf *out, const char *s, size_t n, int present)
{
    imp_buf_add(out, "\t", 1);
    if (present)
        copy_value(out, s, n);
    else
        imp_buf_add(out, "\\N", 2);
}

void imp_row_copy_line(const struct imp_row *row, struct imp_buf *out)
{
    char head[64];
    int n = snprintf(head, sizeof head, "%ld\t%c\t%u", row->line, row->broken ? 't' : 'f',
                     row->bad);
    imp_buf_add(out, head, (size_t)n);
    size_t elen = row->errors.len;
    copy_col(out, row->errors.p, elen ? elen - 1 : 0, elen > 0);
    for (int c = 0; c < IMP_NCOLS; c++) {
        int ok = !row->broken && row->val[c] && !(row->bad & (1u << c));
        copy_col(out, row->val[c], row->len[c], ok);
        if (c == IMP_COL_SCHEDULED_AT) {
            int have = ok && row->local[0];
            copy_col(out, row->local, strlen(row->local), have);
            copy_col(out, row->offset, strlen(row->offset), have && row->offset[0]);
        }
    }
    copy_col(out, row->accounts_twice ? "t" : "f", 1, 1);
    n = snprintf(head, sizeof head, "%ld", row->twin_of);
    copy_col(out, head, (size_t)n, row->twin_of > 0);
    /* The media summary, when there is media to stage. */
    int media = !row->broken && row->val[IMP_COL_MEDIA] && !(row->bad & (1u << IMP_COL_MEDIA));
    copy_col(out, row->media_look ? "t" : "f", 1, media);
    n = snprintf(head, sizeof head, "%lld", row->media_bytes);
    copy_col(out, head, (size_t)n, media && row->media_bytes >= 0);
    copy_col(out, row->media_types.p, row->media_types.len, media);
    imp_buf_add(out, "\n", 1);
}

/* ---- times ---- */

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
