/*
 * text: what text a user gives must be, defined once for the API, the
 * webhook intake and the importer alike: valid UTF-8 PostgreSQL can store,
 * and what "blank" means (a post's content, an external_id). Pure.
 */
#ifndef POSTPACE_UTIL_TEXT_H
#define POSTPACE_UTIL_TEXT_H

#include <stddef.h>

/*
 * 1 when s[0..len) holds no visible character: only code points with the
 * Unicode White_Space property (U+0009-000D, U+0020, U+0085, U+00A0,
 * U+1680, U+2000-200A, U+2028, U+2029, U+202F, U+205F, U+3000) and the
 * invisible ones that render as nothing or as a space without being
 * White_Space (U+180E, U+200B-200D, U+2060, U+FEFF, the Hangul fillers
 * U+115F, U+1160, U+3164, U+FFA0, and U+2800 BRAILLE PATTERN BLANK).
 * The empty text is blank. s must be UTF-8; a byte that is not counts as
 * visible (invalid text is refused for that reason elsewhere).
 */
int text_is_blank(const char *s, size_t len);

/*
 * Checks that s[0..len) is UTF-8 without NUL bytes (PostgreSQL text cannot
 * hold them): no overlong forms, no surrogates, nothing above U+10FFFF.
 * Returns len when it is, else the offset of the first bad byte.
 */
size_t text_utf8_check(const char *s, size_t len);

/* Length of the UTF-8 sequence at s, `left` bytes available (0: invalid there). */
size_t text_utf8_seq(const unsigned char *s, size_t left);

/*
 * A copy of s[0..len) that PostgreSQL text can hold, for bytes that come
 * from outside and are only kept to be read (a provider's answer): each
 * byte that is not part of valid UTF-8, and each NUL, becomes U+FFFD, and
 * the copy is cut at a character boundary to at most `max` bytes. Heap; the
 * caller frees it.
 */
char *text_sanitize(const char *s, size_t len, size_t max);

#endif
