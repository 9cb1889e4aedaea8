/* Small string helpers: edit distance for "did you mean", UTF-8 checks, bounded copies. */
#ifndef REKEY_STRUTIL_H
#define REKEY_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Levenshtein distance, giving up (returning limit + 1) once it exceeds limit. */
size_t	rk_edit_distance(const char *a, const char *b, size_t limit);
/*
 * The closest of the NULL-terminated candidates to word, or NULL when none is close enough
 * to be a likely typo.
 */
const char *rk_closest_word(const char *word, const char *const *candidates);
/* true when s[0..len) is valid UTF-8; otherwise *bad_at is the offset of the first bad byte. */
bool	rk_utf8_is_valid(const unsigned char *s, size_t len, size_t *bad_at);
/* Lower-case hex of len bytes into out, which holds 2 * len + 1 characters. */
void	rk_hex_encode(char *out, const unsigned char *data, size_t len);
/*
 * The line of text that starts at start: *end is where its content ends (before "\r\n",
 * "\n", or a "\r" that ends the text), *next where the next line starts (len after the last).
 */
void	rk_line_bounds(const unsigned char *text, size_t len, size_t start, size_t *end,
	    size_t *next);
/*
 * A NUL-terminated copy of exactly n bytes of p (malloc'ed), for input that has no NUL:
 * strndup() may read past n looking for one (and sanitizers flag it).
 */
char	*rk_bytes_to_str(const unsigned char *p, size_t n);
/* snprintf that reports truncation: returns false if dst was too small. */
bool	rk_strlcpy(char *dst, const char *src, size_t size);

#endif
