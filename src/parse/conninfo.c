/*
 * The connection string editor. It splits a URL or a libpq keyword string into parameters
 * with byte offsets, then copies the input through, replacing only the values it was asked
 * to set. The user information of a URL is never decoded, compared or copied anywhere but out,
 * so a password cannot leak into a message.
 */
#include "rekey/conninfo.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/envfile.h"
#include "rekey/secretname.h"

/* Bound on parameters in one string; a 64 KiB line cannot hold more than this anyway. */
#define CI_PARAMS_MAX	32768

struct ci_param {
	size_t	 key_off, key_len;
	size_t	 val_off, val_end;	/* as written: quotes and percent escapes included */
	bool	 has_eq;		/* a URL parameter "k" without "=" */
	bool	 quoted;
};

struct ci {
	bool		 is_url;
	size_t		 user_off, user_end;	/* URL: the user information, or equal offsets */
	size_t		 insert;		/* where a new parameter goes */
	bool		 has_query;		/* URL: a "?" was written */
	bool		 ends_with_sep;		/* URL: the query is empty or ends with "&" */
	struct ci_param	*p;
	size_t		 n;
};

static bool
ci_is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static bool
ci_is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '.' || c == '_' || c == '~';
}

static int
ci_add(struct ci *c, struct ci_param p, struct rk_err *err)
{
	struct ci_param *grown;

	if (c->n == CI_PARAMS_MAX)
		return rk_fail(err, RK_E_LIMIT, "more than %d connection parameters",
		    CI_PARAMS_MAX);
	if ((grown = reallocarray(c->p, c->n + 1, sizeof(*grown))) == NULL)
		return rk_fail_nomem(err);
	c->p = grown;
	c->p[c->n++] = p;
	return 0;
}

/* The offset just past "scheme://", or 0 when s is not a URL. */
static size_t
ci_url_start(struct rk_bytes s)
{
	size_t i;

	for (i = 0; i < s.len; i++) {
		unsigned char ch = s.ptr[i];

		if (ch == ':' && i > 0 && i + 2 < s.len && s.ptr[i + 1] == '/' &&
		    s.ptr[i + 2] == '/')
			return i + 3;
		if (!(ci_is_unreserved(ch) || ch == '+' || ch == ':'))
			return 0;
	}
	return 0;
}

static int
ci_parse_url(struct ci *c, struct rk_bytes s, size_t start, const char *label, unsigned line,
    struct rk_err *err)
{
	struct ci_param p;
	size_t i, q, end, amp;
	int r;

	c->is_url = true;
	/* As libpq's conninfo_uri_parse_options: "@" before any "/" ends the user information. */
	for (i = start; i < s.len && s.ptr[i] != '@' && s.ptr[i] != '/'; i++)
		;
	c->user_off = c->user_end = start;
	if (i < s.len && s.ptr[i] == '@') {
		c->user_end = i;
		i++;
	} else {
		i = start;
		/*
		 * No user information, and no path before the query: libpq's lookahead for "@"
		 * runs into the query, so a raw "@" there could turn into user information once
		 * a value before it changes (a "/" in it stopped the lookahead). Refused rather
		 * than guessed; rekey itself writes "@" as %40.
		 */
		for (q = i; q < s.len && s.ptr[q] != '/' && s.ptr[q] != '?' && s.ptr[q] != '#'; q++)
			;
		if (q < s.len && s.ptr[q] != '/' && memchr(s.ptr + q, '@', s.len - q) != NULL)
			return rk_fail(err, RK_E_USAGE, "%s:%u: a raw \"@\" after the host of a "
			    "connection URL with no path is ambiguous (libpq may read it as user "
			    "information); write it as %%40", label, line);
	}
	for (q = i; q < s.len && s.ptr[q] != '?' && s.ptr[q] != '#'; q++)
		;
	for (end = q; end < s.len && s.ptr[end] != '#'; end++)
		;
	c->insert = end;
	c->has_query = q < s.len && s.ptr[q] == '?';
	c->ends_with_sep = !c->has_query || end == q + 1 || s.ptr[end - 1] == '&';
	if (!c->has_query)
		return 0;
	for (i = q + 1; i < end; i = amp + 1) {
		amp = i;
		while (amp < end && s.ptr[amp] != '&')
			amp++;
		if (amp == i)
			continue;
		memset(&p, 0, sizeof(p));
		p.key_off = i;
		while (i < amp && s.ptr[i] != '=')
			i++;
		p.key_len = i - p.key_off;
		p.has_eq = i < amp;
		p.val_off = p.has_eq ? i + 1 : amp;
		p.val_end = amp;
		if ((r = ci_add(c, p, err)) != 0)
			return r;
	}
	return 0;
}

static int
ci_parse_keywords(struct ci *c, struct rk_bytes s, const char *label, unsigned line,
    struct rk_err *err)
{
	struct ci_param p;
	size_t i = 0;
	int r;

	c->insert = s.len;
	while (c->insert > 0 && ci_is_blank(s.ptr[c->insert - 1]))
		c->insert--;
	for (;;) {
		while (i < s.len && ci_is_blank(s.ptr[i]))
			i++;
		if (i == s.len) {
			/* A blank escaped by "\" belongs to the value before it: new parameters
			 * go after the last value, never inside it. (Found by fuzz_conninfo.) */
			if (c->n > 0 && c->p[c->n - 1].val_end > c->insert)
				c->insert = c->p[c->n - 1].val_end;
			return 0;
		}
		memset(&p, 0, sizeof(p));
		p.key_off = i;
		while (i < s.len && s.ptr[i] != '=' && !ci_is_blank(s.ptr[i]))
			i++;
		p.key_len = i - p.key_off;
		while (i < s.len && ci_is_blank(s.ptr[i]))
			i++;
		if (p.key_len == 0 || i == s.len || s.ptr[i] != '=')
			return rk_fail(err, RK_E_USAGE,
			    "%s:%u: expected key=value in connection string", label, line);
		i++;
		while (i < s.len && ci_is_blank(s.ptr[i]))
			i++;
		p.has_eq = true;
		p.val_off = i;
		if (i < s.len && s.ptr[i] == '\'') {
			p.quoted = true;
			for (i++; i < s.len && s.ptr[i] != '\''; i++)
				if (s.ptr[i] == '\\' && i + 1 < s.len)
					i++;
			if (i == s.len)
				return rk_fail(err, RK_E_USAGE,
				    "%s:%u: unterminated quote in connection string", label, line);
			i++;
		} else {
			for (; i < s.len && !ci_is_blank(s.ptr[i]); i++) {
				if (s.ptr[i] != '\\')
					continue;
				/* A lone "\" at the very end escapes nothing for libpq, but would
				 * escape the blank before any parameter added after it. */
				if (i + 1 == s.len)
					return rk_fail(err, RK_E_USAGE, "%s:%u: connection string ends "
					    "with a lone backslash", label, line);
				i++;
			}
		}
		p.val_end = i;
		if ((r = ci_add(c, p, err)) != 0)
			return r;
	}
}

/* Whether some setting was not found, so a parameter will be added. */
static bool
ci_adds_any(const bool *found, size_t nset)
{
	size_t k;

	for (k = 0; k < nset; k++)
		if (!found[k])
			return true;
	return false;
}

static int
ci_parse(struct ci *c, struct rk_bytes s, const char *label, unsigned line, struct rk_err *err)
{
	size_t start;

	memset(c, 0, sizeof(*c));
	if ((start = ci_url_start(s)) != 0)
		return ci_parse_url(c, s, start, label, line, err);
	return ci_parse_keywords(c, s, label, line, err);
}

static int
hex_val(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
		return (ch | 0x20) - 'a' + 10;
	return -1;
}

/* The decoded value of p into b, NUL-terminated. A bad "%" escape is kept as written. */
static int
ci_decode(struct rk_buf *b, const struct ci *c, const struct ci_param *p, struct rk_bytes s,
    struct rk_err *err)
{
	size_t i = p->val_off, end = p->val_end;
	unsigned char ch;
	int r, hi, lo;

	b->len = 0;
	if (p->quoted) {
		i++;
		end--;
	}
	for (; i < end; i++) {
		ch = s.ptr[i];
		if (c->is_url && ch == '%' && i + 2 < end &&
		    (hi = hex_val(s.ptr[i + 1])) >= 0 && (lo = hex_val(s.ptr[i + 2])) >= 0) {
			ch = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (!c->is_url && ch == '\\' && i + 1 < end)
			ch = s.ptr[++i];
		if ((r = rk_buf_append(b, &ch, 1, err)) != 0)
			return r;
	}
	return rk_buf_append(b, "", 0, err);
}

static int
ci_encode(struct rk_buf *b, const struct ci *c, const char *v, bool quoted, struct rk_err *err)
{
	const unsigned char *u;
	int r;

	if (c->is_url) {
		for (u = (const unsigned char *)v; *u != '\0'; u++) {
			if (ci_is_unreserved(*u) || *u == '/' || *u == ':')
				r = rk_buf_append(b, u, 1, err);
			else
				r = rk_buf_printf(b, err, "%%%02X", *u);
			if (r != 0)
				return r;
		}
		return 0;
	}
	if (!quoted && v[0] != '\0' && strpbrk(v, " \t\r\n\f\v'\\") == NULL)
		return rk_buf_append_str(b, v, err);
	if ((r = rk_buf_append(b, "'", 1, err)) != 0)
		return r;
	for (; *v != '\0'; v++)
		if (((*v == '\'' || *v == '\\') && (r = rk_buf_append(b, "\\", 1, err)) != 0) ||
		    (r = rk_buf_append(b, v, 1, err)) != 0)
			return r;
	return rk_buf_append(b, "'", 1, err);
}

static int
ci_check_settings(const struct rk_setting *set, size_t nset, const char *label,
    struct rk_err *err)
{
	const unsigned char *k;
	size_t i, j;

	for (i = 0; i < nset; i++) {
		k = (const unsigned char *)set[i].key;
		if (k == NULL || set[i].value == NULL || *k == '\0')
			return rk_fail(err, RK_E_USAGE, "%s: empty parameter name", label);
		for (; *k != '\0'; k++)
			if (!ci_is_unreserved(*k))
				return rk_fail(err, RK_E_USAGE, "%s: bad parameter name \"%s\"",
				    label, set[i].key);
		if (strpbrk(set[i].value, "\r\n") != NULL)
			return rk_fail(err, RK_E_USAGE, "%s: the value for %s holds a newline",
			    label, set[i].key);
		for (j = 0; j < i; j++)
			if (strcmp(set[i].key, set[j].key) == 0)
				return rk_fail(err, RK_E_USAGE, "%s: %s is set twice", label,
				    set[i].key);
	}
	return rk_envfile_check_setting_names(set, nset, label, err);
}

/*
 * Is the key of p the word key? libpq decodes a URL's keys as its values ("ssl%6dode" is
 * sslmode), and takes a keyword string's as they are.
 */
static bool
ci_key_is(const struct ci *c, const struct ci_param *p, struct rk_bytes s, const char *key)
{
	size_t i = p->key_off, end = p->key_off + p->key_len;
	int hi, lo;

	for (; i < end; i++, key++) {
		unsigned char ch = s.ptr[i];

		if (c->is_url && ch == '%' && i + 2 < end && (hi = hex_val(s.ptr[i + 1])) >= 0 &&
		    (lo = hex_val(s.ptr[i + 2])) >= 0) {
			ch = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (*key == '\0' || (unsigned char)*key != ch)
			return false;
	}
	return *key == '\0';
}

/*
 * Parameters that set sslmode by another name, in libpq: "requiressl" anywhere
 * (requiressl=1 is sslmode=require, any other value prefer), and in a URL "ssl" ("ssl=true"
 * is sslmode=require, for JDBC's sake). Written after sslmode, they win over it: setting
 * sslmode rewrites each of them into "sslmode=" the new value, where it is (issue #12).
 */
static bool
ci_is_sslmode_alias(const struct ci *c, const struct ci_param *p, struct rk_bytes s)
{
	return ci_key_is(c, p, s, "requiressl") || (c->is_url && ci_key_is(c, p, s, "ssl"));
}

/* The index in set of the setting parameter p sets, or nset; *alias when by another name. */
static size_t
ci_find(const struct ci *c, const struct ci_param *p, struct rk_bytes s,
    const struct rk_setting *set, size_t nset, bool *alias)
{
	size_t k;

	*alias = false;
	for (k = 0; k < nset; k++)
		if (ci_key_is(c, p, s, set[k].key))
			return k;
	if (!ci_is_sslmode_alias(c, p, s))
		return nset;
	for (k = 0; k < nset; k++)
		if (strcmp(set[k].key, "sslmode") == 0) {
			*alias = true;
			return k;
		}
	return nset;
}

int
rk_conninfo_edit(struct rk_buf *out, struct rk_bytes s, const struct rk_setting *set,
    size_t nset, const char *label, unsigned line, struct rk_err *err)
{
	struct rk_buf cur;
	struct ci c;
	size_t i, k, at = 0;
	bool *found = NULL, first_new = true, alias;
	int r;

	memset(&c, 0, sizeof(c));
	rk_buf_init(&cur, RK_CLIENT_LINE_MAX);
	if ((r = ci_check_settings(set, nset, label, err)) != 0 ||
	    (r = ci_parse(&c, s, label, line, err)) != 0)
		goto out;
	/*
	 * libpq has no fragments: "#" in a URL is data to it, and the start of a fragment to
	 * other readers, so there is no place to add a parameter that both would read alike.
	 */
	if (c.is_url && memchr(s.ptr, '#', s.len) != NULL) {
		r = rk_fail(err, RK_E_USAGE, "%s:%u: a raw \"#\" in a connection URL: libpq reads "
		    "it as data, other readers as the start of a fragment; write it as %%23",
		    label, line);
		goto out;
	}
	if ((found = calloc(nset + 1, sizeof(*found))) == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	for (i = 0; i < c.n; i++) {
		if ((k = ci_find(&c, &c.p[i], s, set, nset, &alias)) == nset)
			continue;
		found[k] = true;
		if ((r = ci_decode(&cur, &c, &c.p[i], s, err)) != 0)
			goto out;
		if (!alias && c.p[i].has_eq && strcmp((const char *)cur.ptr, set[k].value) == 0)
			continue;
		if (alias) {
			if ((r = rk_buf_append(out, s.ptr + at, c.p[i].key_off - at, err)) == 0)
				r = rk_buf_append_str(out, "sslmode=", err);
		} else if ((r = rk_buf_append(out, s.ptr + at, c.p[i].val_off - at, err)) == 0 &&
		    !c.p[i].has_eq) {
			r = rk_buf_append(out, "=", 1, err);
		}
		if (r != 0 || (r = ci_encode(out, &c, set[k].value, c.p[i].quoted && !alias,
		    err)) != 0)
			goto out;
		at = c.p[i].val_end;
	}
	if ((r = rk_buf_append(out, s.ptr + at, c.insert - at, err)) != 0)
		goto out;
	/* libpq skips blanks after "=": "a= b=c" gives a the value "b=c". A last parameter with
	 * an empty, unquoted value would swallow the first one added after it, so it is written
	 * as '' first: the same empty value, now unambiguous. (Found by fuzz_conninfo.) */
	if (!c.is_url && c.n > 0 && !c.p[c.n - 1].quoted &&
	    c.p[c.n - 1].val_off == c.p[c.n - 1].val_end && at < c.p[c.n - 1].val_off &&
	    ci_adds_any(found, nset) && (r = rk_buf_append(out, "''", 2, err)) != 0)
		goto out;
	for (k = 0; k < nset; k++) {
		if (found[k])
			continue;
		if (c.is_url)
			r = rk_buf_append_str(out, !c.has_query && first_new ? "?" :
			    c.ends_with_sep && first_new ? "" : "&", err);
		else
			r = c.insert == 0 && first_new ? 0 : rk_buf_append(out, " ", 1, err);
		first_new = false;
		if (r != 0 || (r = rk_buf_printf(out, err, "%s=", set[k].key)) != 0 ||
		    (r = ci_encode(out, &c, set[k].value, false, err)) != 0)
			goto out;
	}
	r = rk_buf_append(out, s.ptr + c.insert, s.len - c.insert, err);
 out:
	rk_buf_clear(&cur);
	free(found);
	free(c.p);
	return r;
}

struct ci_env_arg {
	const struct rk_setting	*set;
	size_t			 nset;
	const char		*label;
};

static int
ci_edit_env_value(struct rk_buf *out, const char *value, unsigned line, void *arg,
    struct rk_err *err)
{
	struct ci_env_arg *a = arg;
	struct rk_bytes s = { (const unsigned char *)value, strlen(value) };

	return rk_conninfo_edit(out, s, a->set, a->nset, a->label, line, err);
}

int
rk_conninfo_set(struct rk_buf *out, struct rk_bytes in, const char *variable,
    const struct rk_setting *set, size_t nset, const char *label, struct rk_err *err)
{
	struct ci_env_arg arg = { set, nset, label };
	struct rk_bytes s;
	size_t start = 0, end = in.len, i;
	unsigned line = 1;
	int r;

	if (variable != NULL)
		return rk_envfile_edit(out, in, variable, ci_edit_env_value, &arg, label, err);
	rk_buf_init(out, RK_CLIENT_OUT_MAX);
	if ((r = rk_envfile_check_text(in, label, err)) != 0)
		goto out;
	while (start < end && ci_is_blank(in.ptr[start]))
		if (in.ptr[start++] == '\n')
			line++;
	while (end > start && ci_is_blank(in.ptr[end - 1]))
		end--;
	for (i = start; i < end; i++)
		if (in.ptr[i] == '\n') {
			r = rk_fail(err, RK_E_USAGE, "%s:%u: more than one line in a connection "
			    "string file", label, line + 1);
			goto out;
		}
	s.ptr = in.ptr + start;
	s.len = end - start;
	if ((r = rk_buf_append(out, in.ptr, start, err)) != 0 ||
	    (r = rk_conninfo_edit(out, s, set, nset, label, line, err)) != 0 ||
	    (r = rk_buf_append(out, in.ptr + end, in.len - end, err)) != 0)
		goto out;
 out:
	if (r != 0)
		rk_buf_clear(out);
	return r;
}

/* RK_MASK for s[from, to), with any newline in it kept, so a masked copy keeps its lines. */
static int
append_mask(struct rk_buf *out, struct rk_bytes s, size_t from, size_t to, struct rk_err *err)
{
	int r = rk_buf_append_str(out, RK_MASK, err);

	for (; from < to && r == 0; from++)
		if (s.ptr[from] == '\n')
			r = rk_buf_append(out, "\n", 1, err);
	return r;
}

/*
 * Does parameter p hold a secret (password, sslpassword, ...: rk_secretname_holds_secret of
 * its decoded key and value)?
 */
static int
ci_param_is_secret(bool *out, const struct ci *c, const struct ci_param *p, struct rk_bytes s,
    struct rk_err *err)
{
	struct ci_param key = *p;
	struct rk_buf k, v;
	int r;

	*out = false;
	rk_buf_init(&k, RK_CLIENT_LINE_MAX);
	rk_buf_init(&v, RK_CLIENT_LINE_MAX);
	/* The key as a value of its own: decoded as values are. */
	key.val_off = p->key_off;
	key.val_end = p->key_off + p->key_len;
	key.quoted = false;
	if ((r = ci_decode(&k, c, &key, s, err)) == 0 && (r = ci_decode(&v, c, p, s, err)) == 0)
		*out = rk_secretname_holds_secret((const char *)k.ptr, (const char *)v.ptr);
	rk_buf_clear(&k);
	rk_buf_clear(&v);
	return r;
}

int
rk_conninfo_mask(struct rk_buf *out, struct rk_bytes s, struct rk_err *err)
{
	struct rk_err ignored = { 0 };
	struct rk_buf again;
	struct ci c;
	size_t i, at = 0, colon;
	bool secret;
	int r;

	/* What does not parse may still quote a password: mask it as free text. */
	if (ci_parse(&c, s, "", 0, &ignored) != 0) {
		free(c.p);
		return rk_conninfo_mask_text(out, s, err);
	}
	rk_buf_init(out, RK_CLIENT_OUT_MAX);
	if (c.is_url) {
		colon = c.user_off;
		while (colon < c.user_end && s.ptr[colon] != ':')
			colon++;
		if (colon < c.user_end) {
			if ((r = rk_buf_append(out, s.ptr, colon + 1, err)) != 0 ||
			    (r = append_mask(out, s, colon + 1, c.user_end, err)) != 0)
				goto out;
			at = c.user_end;
		}
	}
	for (i = 0; i < c.n; i++) {
		if (!c.p[i].has_eq)
			continue;
		if ((r = ci_param_is_secret(&secret, &c, &c.p[i], s, err)) != 0)
			goto out;
		if (!secret)
			continue;
		if ((r = rk_buf_append(out, s.ptr + at, c.p[i].val_off - at, err)) != 0 ||
		    (r = append_mask(out, s, c.p[i].val_off, c.p[i].val_end, err)) != 0)
			goto out;
		at = c.p[i].val_end;
	}
	if ((r = rk_buf_append(out, s.ptr + at, s.len - at, err)) != 0)
		goto out;
	/* libpq reads "h?password=x@" as a user name; a reader sees a password: hide it too. */
	r = rk_conninfo_mask_text(&again, rk_buf_bytes(out), err);
	rk_buf_clear(out);
	*out = again;
 out:
	if (r != 0)
		rk_buf_clear(out);
	free(c.p);
	return r;
}

/* Where a password value that starts at p ends: at its closing quote, or at a blank. */
static size_t
text_value_end(const unsigned char *s, size_t len, size_t p)
{
	unsigned char q;

	/* A line is the most a value may hide: a mask never takes a newline with it. */
	if (p < len && (s[p] == '\'' || s[p] == '"')) {
		for (q = s[p++]; p < len && s[p] != q && s[p] != '\n'; p++)
			if (s[p] == '\\' && p + 1 < len && s[p + 1] != '\n')
				p++;
		return p;		/* the closing quote (or the newline) stays */
	}
	while (p < len && s[p] != ' ' && s[p] != '\t' && s[p] != '\n' && s[p] != '\r' &&
	    s[p] != ',' && s[p] != ';' && s[p] != ')' && s[p] != '&')
		p++;
	return p;
}

/* If a URL's user information starts at p (just after "://"), where its password is. */
static bool
text_url_password(const unsigned char *s, size_t len, size_t p, size_t *from, size_t *to)
{
	size_t e, colon = 0, at = 0;

	/* No "#" in the stop set: libpq reads "u:p#x@h" as the password "p#x". */
	for (e = p; e < len && strchr("/? \t\r\n'\"<>", s[e]) == NULL; e++) {
		if (s[e] == ':' && colon == 0 && at == 0)
			colon = e;
		if (s[e] == '@')
			at = e;
	}
	if (colon == 0 || at == 0 || colon > at)
		return false;
	*from = colon + 1;
	*to = at;
	return true;
}

/*
 * The length of a word at s[p] that says a secret follows ("password", "MYSQL_PWD", "token"),
 * or 0. Free text has no names to split into words, so a short list of the secret names'
 * cores (secretname.h) is looked for anywhere, in any case.
 */
static size_t
text_secret_word_at(const unsigned char *s, size_t len, size_t p)
{
	static const char *const words[] = {
		"password", "passwd", "passphrase", "pwd", "secret", "token", NULL,
	};
	size_t i, n;

	for (i = 0; words[i] != NULL; i++) {
		n = strlen(words[i]);
		if (p + n <= len && strncasecmp((const char *)s + p, words[i], n) == 0)
			return n;
	}
	return 0;
}

int
rk_conninfo_mask_text(struct rk_buf *out, struct rk_bytes text, struct rk_err *err)
{
	const unsigned char *s = text.ptr;
	size_t p, copied = 0, from, to, q, n;
	int r = 0;

	rk_buf_init(out, RK_CLIENT_OUT_MAX);
	for (p = 0; p < text.len && r == 0; p++) {
		from = to = 0;
		if (p + 3 <= text.len && memcmp(s + p, "://", 3) == 0 &&
		    text_url_password(s, text.len, p + 3, &from, &to)) {
			/* from and to are set */
		} else if ((n = text_secret_word_at(s, text.len, p)) != 0) {
			for (q = p + n; q < text.len && (s[q] == ' ' || s[q] == '\t'); q++)
				;
			if (q >= text.len || (s[q] != '=' && s[q] != ':'))
				continue;
			for (q++; q < text.len && (s[q] == ' ' || s[q] == '\t'); q++)
				;
			from = q + (q < text.len && (s[q] == '\'' || s[q] == '"'));
			to = text_value_end(s, text.len, q);
			if (to <= from)
				continue;
		} else {
			continue;
		}
		if ((r = rk_buf_append(out, s + copied, from - copied, err)) == 0)
			r = rk_buf_append_str(out, RK_MASK, err);
		copied = p = to;
		p--;		/* the loop's p++ resumes at to */
	}
	if (r == 0)
		r = rk_buf_append(out, s + copied, text.len - copied, err);
	if (r != 0)
		rk_buf_clear(out);
	return r;
}
