/*
 * text: what "blank" means for text a user gives (a post's content, an
 * external_id), defined once for the API and the importer alike. Pure.
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

#endif
