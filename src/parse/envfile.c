/*
 * The dotenv editor: finds the assignments of the keys to set and rewrites only the bytes of
 * their values, copying every other byte through, so a diff of the result shows only what
 * rekey meant to change. Also the input checks all client editors share.
 */
#include "rekey/envfile.h"
#include "rekey/strutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/conninfo.h"

/* One line of an env file; offsets index the input. */
struct env_line {
	size_t		 start, end;	/* the content, without "\n" or "\r\n" */
	size_t		 next;		/* where the next line starts */
	unsigned	 lineno;
	bool		 is_assign;
	size_t		 key_off, key_len;
	size_t		 val_off, val_end;	/* the value as written, quotes included */
	char		 quote;		/* 0, '\'' or '"' */
};

static bool
is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_key_start(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool
is_key_char(unsigned char c)
{
	return is_key_start(c) || (c >= '0' && c <= '9');
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0 if it is not one. */
static size_t
utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

int
rk_envfile_check_text(struct rk_bytes in, const char *label, struct rk_err *err)
{
	size_t i = 0, line_start = 0, n;
	unsigned line = 1;

	if (in.len > RK_CLIENT_FILE_MAX)
		return rk_fail(err, RK_E_LIMIT, "%s: file is %zu bytes, over the limit of %d",
		    label, in.len, RK_CLIENT_FILE_MAX);
	while (i < in.len) {
		if (in.ptr[i] == '\n') {
			line++;
			line_start = ++i;
			continue;
		}
		if (i - line_start >= RK_CLIENT_LINE_MAX)
			return rk_fail(err, RK_E_LIMIT, "%s:%u: line longer than %d bytes",
			    label, line, RK_CLIENT_LINE_MAX);
		if (in.ptr[i] == '\0')
			return rk_fail(err, RK_E_USAGE, "%s:%u: NUL byte in text", label, line);
		if ((n = utf8_len(in.ptr + i, in.len - i)) == 0)
			return rk_fail(err, RK_E_USAGE, "%s:%u: invalid UTF-8", label, line);
		i += n;
	}
	return 0;
}

/* Finds the end of the line starting at l->start; the content ends before "\r\n" or "\n". */
static void
env_next_line(struct env_line *l, struct rk_bytes in)
{
	rk_line_bounds(in.ptr, in.len, l->start, &l->end, &l->next);
}

/* Splits one line into key and value; a line that is no assignment is kept as it is. */
static int
env_parse_line(struct env_line *l, struct rk_bytes in, const char *label, struct rk_err *err)
{
	const unsigned char *s = in.ptr;
	size_t p = l->start, eq;

	l->is_assign = false;
	l->quote = 0;
	while (p < l->end && is_blank(s[p]))
		p++;
	if (p == l->end || s[p] == '#')
		return 0;
	if (l->end - p > 7 && memcmp(s + p, "export", 6) == 0 && is_blank(s[p + 6])) {
		p += 6;
		while (p < l->end && is_blank(s[p]))
			p++;
	}
	if (p == l->end || !is_key_start(s[p]))
		return 0;
	l->key_off = p;
	while (p < l->end && (is_key_char(s[p]) || s[p] == '.' || s[p] == '-'))
		p++;
	l->key_len = p - l->key_off;
	while (p < l->end && is_blank(s[p]))
		p++;
	if (p == l->end || s[p] != '=')
		return 0;
	eq = p++;
	while (p < l->end && is_blank(s[p]))
		p++;
	l->val_off = p;
	l->is_assign = true;
	if (p < l->end && (s[p] == '\'' || s[p] == '"')) {
		l->quote = (char)s[p];
		for (p++; p < l->end; p++) {
			if (l->quote == '"' && s[p] == '\\' && p + 1 < l->end)
				p++;
			else if (s[p] == (unsigned char)l->quote)
				break;
		}
		if (p == l->end)
			return rk_fail(err, RK_E_USAGE, "%s:%u: unterminated %s quote", label,
			    l->lineno, l->quote == '"' ? "double" : "single");
		l->val_end = p + 1;
		return 0;
	}
	/* Unquoted: "#" after a blank starts a comment; trailing blanks are not the value. */
	for (; p < l->end; p++)
		if (s[p] == '#' && (p > eq + 1 && is_blank(s[p - 1])))
			break;
	while (p > l->val_off && is_blank(s[p - 1]))
		p--;
	l->val_end = p;
	return 0;
}

/* Decodes the value of an assignment into b (which the caller initialised). */
static int
env_decode(struct rk_buf *b, const struct env_line *l, struct rk_bytes in, struct rk_err *err)
{
	const unsigned char *s = in.ptr;
	size_t p, end;
	int r;

	if (l->quote == 0)
		return rk_buf_append(b, s + l->val_off, l->val_end - l->val_off, err);
	end = l->val_end - 1;
	if (l->quote == '\'')
		return rk_buf_append(b, s + l->val_off + 1, end - l->val_off - 1, err);
	/* Double quotes follow sh(1): a backslash escapes only \ " $ and `. */
	for (p = l->val_off + 1; p < end; p++) {
		if (s[p] == '\\' && p + 1 < end && strchr("\\\"$`", s[p + 1]) != NULL)
			p++;
		if ((r = rk_buf_append(b, s + p, 1, err)) != 0)
			return r;
	}
	return 0;
}

static bool
env_is_plain(const char *v)
{
	for (; *v != '\0'; v++)
		if (!is_key_char((unsigned char)*v) && strchr("./:@%+,=~^-", *v) == NULL)
			return false;
	return true;
}

/* Writes v as an env value, keeping the quote style prefer when it can hold v. */
static int
env_encode(struct rk_buf *b, const char *v, char prefer, struct rk_err *err)
{
	bool has_single = strchr(v, '\'') != NULL;
	char q;
	int r;

	if (prefer == '"')
		q = '"';
	else if (prefer == '\'' && !has_single)
		q = '\'';
	else if (env_is_plain(v))
		q = 0;
	else
		q = has_single ? '"' : '\'';
	if (q == 0)
		return rk_buf_append_str(b, v, err);
	if ((r = rk_buf_append(b, &q, 1, err)) != 0)
		return r;
	for (; *v != '\0'; v++) {
		if (q == '"' && strchr("\\\"$`", *v) != NULL &&
		    (r = rk_buf_append(b, "\\", 1, err)) != 0)
			return r;
		if ((r = rk_buf_append(b, v, 1, err)) != 0)
			return r;
	}
	return rk_buf_append(b, &q, 1, err);
}

static int
env_check_settings(const struct rk_setting *set, size_t nset, const char *label,
    struct rk_err *err)
{
	size_t i, j;
	const char *k;

	for (i = 0; i < nset; i++) {
		k = set[i].key;
		if (k == NULL || set[i].value == NULL || !is_key_start((unsigned char)k[0]))
			return rk_fail(err, RK_E_USAGE, "%s: bad variable name \"%s\"", label,
			    k != NULL ? k : "");
		for (; *k != '\0'; k++)
			if (!is_key_char((unsigned char)*k))
				return rk_fail(err, RK_E_USAGE, "%s: bad variable name \"%s\"",
				    label, set[i].key);
		if (strpbrk(set[i].value, "\r\n") != NULL)
			return rk_fail(err, RK_E_USAGE, "%s: the value for %s holds a newline",
			    label, set[i].key);
		for (j = 0; j < i; j++)
			if (strcmp(set[i].key, set[j].key) == 0)
				return rk_fail(err, RK_E_USAGE, "%s: %s is set twice", label,
				    set[i].key);
	}
	return 0;
}

/* The index in set of the key at l, or nset. */
static size_t
env_find(const struct env_line *l, struct rk_bytes in, const struct rk_setting *set,
    size_t nset)
{
	size_t i;

	for (i = 0; i < nset; i++)
		if (strlen(set[i].key) == l->key_len &&
		    memcmp(set[i].key, in.ptr + l->key_off, l->key_len) == 0)
			return i;
	return nset;
}

/*
 * Writes line l with its value replaced by value, every other byte kept. A comment that
 * followed an empty value ("KEY=  #note") gets a blank before it, or it would become part
 * of the new value. (Found by fuzz_envfile.)
 */
static int
env_replace_value(struct rk_buf *out, struct rk_bytes in, const struct env_line *l,
    const char *value, struct rk_err *err)
{
	int r;

	if ((r = rk_buf_append(out, in.ptr + l->start, l->val_off - l->start, err)) != 0 ||
	    (r = env_encode(out, value, l->quote, err)) != 0)
		return r;
	if (l->val_end < l->next && in.ptr[l->val_end] == '#' &&
	    (r = rk_buf_append(out, " ", 1, err)) != 0)
		return r;
	return rk_buf_append(out, in.ptr + l->val_end, l->next - l->val_end, err);
}

int
rk_envfile_set(struct rk_buf *out, struct rk_bytes in, const struct rk_setting *set,
    size_t nset, const char *label, struct rk_err *err)
{
	struct rk_buf cur;
	struct rk_line_appender tail;
	struct env_line l;
	bool *found = NULL;
	size_t i;
	int r;

	rk_buf_init(out, RK_CLIENT_OUT_MAX);
	rk_buf_init(&cur, RK_CLIENT_LINE_MAX);
	if ((r = rk_envfile_check_text(in, label, err)) != 0 ||
	    (r = env_check_settings(set, nset, label, err)) != 0)
		goto out;
	if ((found = calloc(nset + 1, sizeof(*found))) == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	memset(&l, 0, sizeof(l));
	for (l.lineno = 1; l.start < in.len; l.start = l.next, l.lineno++) {
		env_next_line(&l, in);
		if ((r = env_parse_line(&l, in, label, err)) != 0)
			goto out;
		if (!l.is_assign || (i = env_find(&l, in, set, nset)) == nset) {
			if ((r = rk_buf_append(out, in.ptr + l.start, l.next - l.start, err)) != 0)
				goto out;
			continue;
		}
		found[i] = true;
		cur.len = 0;
		if ((r = env_decode(&cur, &l, in, err)) != 0 ||
		    (r = rk_buf_append(&cur, "", 0, err)) != 0)
			goto out;
		if (strcmp((const char *)cur.ptr, set[i].value) == 0) {
			r = rk_buf_append(out, in.ptr + l.start, l.next - l.start, err);
		} else {
			r = env_replace_value(out, in, &l, set[i].value, err);
		}
		if (r != 0)
			goto out;
	}
	/* Missing keys go at the end, in the file's newline style. */
	rk_line_appender_init(&tail, in, rk_text_newline(in));
	for (i = 0; i < nset; i++) {
		if (found[i])
			continue;
		cur.len = 0;
		if ((r = rk_buf_printf(&cur, err, "%s=", set[i].key)) != 0 ||
		    (r = env_encode(&cur, set[i].value, 0, err)) != 0 ||
		    (r = rk_line_appender_put(&tail, out, cur.ptr, cur.len, err)) != 0)
			goto out;
	}
	r = 0;
 out:
	if (r != 0)
		rk_buf_clear(out);
	rk_buf_clear(&cur);
	free(found);
	return r;
}

int
rk_envfile_get(char **out, unsigned *line, struct rk_bytes in, const char *key,
    const char *label, struct rk_err *err)
{
	struct rk_setting one = { (char *)key, NULL, { 0, 0 } };
	struct rk_buf cur;
	struct env_line l, last;
	bool have = false;
	int r;

	*out = NULL;
	rk_buf_init(&cur, RK_CLIENT_LINE_MAX);
	if ((r = rk_envfile_check_text(in, label, err)) != 0)
		goto out;
	memset(&l, 0, sizeof(l));
	for (l.lineno = 1; l.start < in.len; l.start = l.next, l.lineno++) {
		env_next_line(&l, in);
		if ((r = env_parse_line(&l, in, label, err)) != 0)
			goto out;
		if (l.is_assign && env_find(&l, in, &one, 1) == 0) {
			last = l;
			have = true;
		}
	}
	r = 0;
	if (!have)
		goto out;
	if ((r = env_decode(&cur, &last, in, err)) != 0 ||
	    (r = rk_buf_append(&cur, "", 0, err)) != 0)
		goto out;
	if (line != NULL)
		*line = last.lineno;
	if ((*out = rk_buf_detach(&cur)) == NULL)
		r = rk_fail_nomem(err);
 out:
	rk_buf_clear(&cur);
	return r;
}

int
rk_envfile_edit(struct rk_buf *out, struct rk_bytes in, const char *key,
    int (*fn)(struct rk_buf *out, const char *value, unsigned line, void *arg,
    struct rk_err *err), void *arg, const char *label, struct rk_err *err)
{
	struct rk_setting one = { (char *)key, NULL, { 0, 0 } };
	struct rk_buf cur, edited;
	struct env_line l;
	bool found = false;
	int r;

	rk_buf_init(out, RK_CLIENT_OUT_MAX);
	rk_buf_init(&cur, RK_CLIENT_LINE_MAX);
	rk_buf_init(&edited, 0);
	if ((r = rk_envfile_check_text(in, label, err)) != 0)
		goto out;
	memset(&l, 0, sizeof(l));
	for (l.lineno = 1; l.start < in.len; l.start = l.next, l.lineno++) {
		env_next_line(&l, in);
		if ((r = env_parse_line(&l, in, label, err)) != 0)
			goto out;
		if (!l.is_assign || env_find(&l, in, &one, 1) != 0) {
			if ((r = rk_buf_append(out, in.ptr + l.start, l.next - l.start, err)) != 0)
				goto out;
			continue;
		}
		found = true;
		cur.len = 0;
		rk_buf_clear(&edited);
		rk_buf_init(&edited, RK_CLIENT_LINE_MAX);
		if ((r = env_decode(&cur, &l, in, err)) != 0 ||
		    (r = rk_buf_append(&cur, "", 0, err)) != 0 ||
		    (r = fn(&edited, (const char *)cur.ptr, l.lineno, arg, err)) != 0 ||
		    (r = rk_buf_append(&edited, "", 0, err)) != 0)
			goto out;
		if (strcmp((const char *)cur.ptr, (const char *)edited.ptr) == 0) {
			r = rk_buf_append(out, in.ptr + l.start, l.next - l.start, err);
		} else {
			r = env_replace_value(out, in, &l, (const char *)edited.ptr, err);
		}
		if (r != 0)
			goto out;
	}
	if (!found)
		r = rk_fail(err, RK_E_USAGE, "%s: no variable %s to edit", label, key);
 out:
	if (r != 0)
		rk_buf_clear(out);
	rk_buf_clear(&cur);
	rk_buf_clear(&edited);
	return r;
}

/* Case-insensitive: is word somewhere in s? */
static bool
has_word(const char *s, const char *word)
{
	size_t n = strlen(word), i;

	for (; *s != '\0'; s++) {
		for (i = 0; i < n && s[i] != '\0'; i++)
			if ((s[i] & ~0x20) != (word[i] & ~0x20))
				break;
		if (i == n)
			return true;
	}
	return false;
}

bool
rk_envfile_key_is_secret(const char *key, const char *value)
{
	static const char *const words[] = {
		"PASSWORD", "PASSWD", "PASS", "SECRET", "TOKEN", "CREDENTIAL", "PRIVATE", NULL,
	};
	size_t i;

	for (i = 0; words[i] != NULL; i++)
		if (has_word(key, words[i]))
			return true;
	if (!has_word(key, "KEY"))
		return false;
	/* A key file's path is no secret; a key's value is. */
	return value == NULL || !(value[0] == '/' || strncmp(value, "./", 2) == 0 ||
	    strncmp(value, "../", 3) == 0 || strncmp(value, "~/", 2) == 0);
}

int
rk_envfile_mask(struct rk_buf *out, struct rk_bytes in, const char *label, struct rk_err *err)
{
	struct rk_buf cur, masked;
	struct env_line l;
	char *key = NULL;
	int r;

	rk_buf_init(out, RK_CLIENT_OUT_MAX);
	rk_buf_init(&cur, RK_CLIENT_LINE_MAX);
	rk_buf_init(&masked, 0);
	if ((r = rk_envfile_check_text(in, label, err)) != 0)
		goto out;
	memset(&l, 0, sizeof(l));
	for (l.lineno = 1; l.start < in.len; l.start = l.next, l.lineno++) {
		env_next_line(&l, in);
		if ((r = env_parse_line(&l, in, label, err)) != 0)
			goto out;
		if (!l.is_assign) {
			if ((r = rk_buf_append(out, in.ptr + l.start, l.next - l.start, err)) != 0)
				goto out;
			continue;
		}
		cur.len = 0;
		free(key);
		if ((key = rk_bytes_to_str(in.ptr + l.key_off, l.key_len)) == NULL) {
			r = rk_fail_nomem(err);
			goto out;
		}
		if ((r = env_decode(&cur, &l, in, err)) != 0 ||
		    (r = rk_buf_append(&cur, "", 0, err)) != 0 ||
		    (r = rk_buf_append(out, in.ptr + l.start, l.val_off - l.start, err)) != 0)
			goto out;
		rk_buf_clear(&masked);
		if (rk_envfile_key_is_secret(key, (const char *)cur.ptr))
			r = rk_buf_append_str(out, RK_MASK, err);
		else if ((r = rk_conninfo_mask(&masked, rk_buf_bytes(&cur), err)) == 0 &&
		    strcmp((const char *)masked.ptr, (const char *)cur.ptr) != 0)
			/* A plain value stays plain: the mask adds no character that needs quotes,
			 * and a diff must not show quotes the file does not have. */
			r = l.quote == 0 ? rk_buf_append(out, masked.ptr, masked.len, err) :
			    env_encode(out, (const char *)masked.ptr, l.quote, err);
		else if (r == 0)
			r = rk_buf_append(out, in.ptr + l.val_off, l.val_end - l.val_off, err);
		if (r != 0 ||
		    (r = rk_buf_append(out, in.ptr + l.val_end, l.next - l.val_end, err)) != 0)
			goto out;
	}
	r = 0;
 out:
	if (r != 0)
		rk_buf_clear(out);
	rk_buf_clear(&cur);
	rk_buf_clear(&masked);
	free(key);
	return r;
}
