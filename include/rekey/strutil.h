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
/* A size for people: "812 bytes", "23 KiB", "79 GiB" (whole units, ten of them at least
 * before the next unit is used). Returns buf. */
const char *rk_size_text(char *buf, size_t size, unsigned long long bytes);
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
/*
 * The first component of the absolute path path[0..n) that is empty ('//', or a final '/'),
 * '.' or '..', with its length in *len; NULL when there is none ("/" itself has none). Such a
 * path is two names for one file (or, through a symbolic link, not one file at all), so the
 * plan, the sweep and the transports refuse it rather than act on a name it does not show.
 */
const char *rk_path_odd_component(const char *path, size_t n, size_t *len);

/*
 * Text from outside (a certificate's SAN, a file's line, a server's message) must not drive
 * the terminal or hide what it says: C0 controls, DEL, C1 controls (U+0080..U+009F), the
 * bidirectional overrides and isolates (U+061C, U+200E, U+200F, U+202A..U+202E,
 * U+2066..U+2069) and bytes that are not UTF-8 are shown escaped ("\x1b", "\u202e").
 *
 * rk_text_char_is_unsafe looks at the character that starts at p[0] (of len > 0): *n is how
 * many bytes it has (1 for a byte that is not UTF-8), and the result tells whether it must be
 * escaped. A tab counts as safe when keep_tab is set.
 */
bool	rk_text_char_is_unsafe(const unsigned char *p, size_t len, bool keep_tab, size_t *n);
/*
 * Writes the escaped form of the unsafe character p[0..n) (from rk_text_char_is_unsafe) into out,
 * which holds at least RK_TEXT_ESCAPE_MAX bytes; returns the length written. "\n", "\r" and
 * "\t" are spelled so; other bytes as "\xNN", code points as "\uNNNN".
 */
#define RK_TEXT_ESCAPE_MAX	16
size_t	rk_text_escape_one(char out[RK_TEXT_ESCAPE_MAX], const unsigned char *p, size_t n);
/* A malloc'ed, escaped copy of s (NULL only when out of memory); tabs are escaped too. */
char	*rk_text_escape(const char *s);
/* true when s needs no escaping at all. */
bool	rk_text_is_safe(const char *s);

#endif
