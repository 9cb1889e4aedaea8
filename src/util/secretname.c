/*
 * Secret-looking names, in one place, so that what a diff masks and what a playbook may not
 * set never drift apart (issue #12: MYSQL_PWD and AUTH were shown in clear by one list and
 * missing from the other).
 */
#include "rekey/secretname.h"

#include <stddef.h>
#include <string.h>

/* Longest word compared; longer words are compared on their first and last bytes only. */
#define WORD_MAX	64

/* Words that mark a secret wherever they appear inside a word. */
static const char *const inside[] = {
	"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATE",
	"AUTHORIZATION", "PWD", NULL,
};

/* Words that mark a secret only as a whole word. */
static const char *const whole[] = { "PW", "PSK", "AUTH", NULL };

static bool
word_has(const char *w, const char *part)
{
	return strstr(w, part) != NULL;
}

static bool
word_starts(const char *w, size_t n, const char *part)
{
	size_t lp = strlen(part);

	return n >= lp && strncmp(w, part, lp) == 0;
}

static bool
word_ends(const char *w, size_t n, const char *part)
{
	size_t lp = strlen(part);

	return n >= lp && strcmp(w + n - lp, part) == 0;
}

static bool
word_is_secret(const char *w, size_t n)
{
	size_t i;

	for (i = 0; inside[i] != NULL; i++)
		if (word_has(w, inside[i]))
			return true;
	for (i = 0; whole[i] != NULL; i++)
		if (strcmp(w, whole[i]) == 0)
			return true;
	/* DBPASS, PASSCODE; a PASS inside a word (PGPASSFILE) is left to the reference rule. */
	if (word_starts(w, n, "PASS") || word_ends(w, n, "PASS"))
		return true;
	/* REDISAUTH, OAUTH; AUTHOR and AUTHORITY are not about secrets. */
	return word_ends(w, n, "AUTH");
}

static bool
is_lower(unsigned char c)
{
	return c >= 'a' && c <= 'z';
}

static bool
is_upper(unsigned char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool
is_alnum(unsigned char c)
{
	return is_lower(c) || is_upper(c) || (c >= '0' && c <= '9');
}

/*
 * Calls fn on each word of name, upper-cased, until it returns true; *last gets the last word.
 * Words longer than WORD_MAX keep their first WORD_MAX bytes: every marker is shorter.
 */
static bool
scan_words(const char *name, bool (*fn)(const char *, size_t), char last[WORD_MAX + 1])
{
	const unsigned char *p = (const unsigned char *)name;
	char w[WORD_MAX + 1];
	size_t n = 0;
	bool hit = false;

	last[0] = '\0';
	for (;; p++) {
		bool cut = *p == '\0' || !is_alnum(*p) ||
		    (n > 0 && is_upper(*p) && is_lower(p[-1]));

		if (cut && n > 0) {
			if (n > WORD_MAX)
				n = WORD_MAX;
			w[n] = '\0';
			memcpy(last, w, n + 1);
			if (!hit && fn(w, n))
				hit = true;
			n = 0;
		}
		if (*p == '\0')
			return hit;
		if (!is_alnum(*p))
			continue;
		if (n < WORD_MAX)
			w[n] = (char)(is_lower(*p) ? *p - 'a' + 'A' : *p);
		n++;
	}
}

static bool
word_has_key(const char *w, size_t n)
{
	(void)n;
	return word_has(w, "KEY");
}

/* The name says where a secret is kept (PASSWORD_FILE, passfile, DB_TOKEN_ENV). */
static bool
names_a_reference(const char *last)
{
	size_t n = strlen(last);

	return word_ends(last, n, "FILE") || strcmp(last, "ENV") == 0 ||
	    word_ends(last, n, "PATH");
}

bool
rk_secretname_is_secret(const char *name)
{
	char last[WORD_MAX + 1];
	bool hit;

	if (name == NULL)
		return false;
	hit = scan_words(name, word_is_secret, last);
	return hit && !names_a_reference(last);
}

static bool
value_is_path(const char *v)
{
	return v != NULL && (v[0] == '/' || strncmp(v, "./", 2) == 0 ||
	    strncmp(v, "../", 3) == 0 || strncmp(v, "~/", 2) == 0);
}

bool
rk_secretname_holds_secret(const char *name, const char *value)
{
	char last[WORD_MAX + 1];

	if (rk_secretname_is_secret(name))
		return true;
	if (name == NULL || !scan_words(name, word_has_key, last) || names_a_reference(last))
		return false;
	/* A key file's path is no secret; a key's value is. */
	return !value_is_path(value);
}
