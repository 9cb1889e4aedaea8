/*
 * The ini editor for my.cnf and pg_service.conf. A first pass finds the section, the keys
 * already there and where a missing key belongs; a second pass copies the input through,
 * rewriting only the values it was asked to set and inserting what was missing.
 */
#include "rekey/inifile.h"
#include "rekey/strutil.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/envfile.h"

enum ini_kind {
	INI_OTHER,		/* blank, comment, !include, or text outside any rule */
	INI_SECTION,
	INI_KEY,
};

struct ini_line {
	size_t		 start, end, next;	/* content without "\r\n"; the next line */
	unsigned	 lineno;
	enum ini_kind	 kind;
	size_t		 name_off, name_len;	/* the section name or the key */
	bool		 has_eq;
	size_t		 val_off, val_end;	/* the value as written, quotes included */
	char		 quote;
};

struct ini {
	struct rk_bytes		 in;
	bool			 mycnf;
	const char		*label;
};

static bool
ini_is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static void
ini_next_line(struct ini_line *l, struct rk_bytes in)
{
	rk_line_bounds(in.ptr, in.len, l->start, &l->end, &l->next);
}

static int
ini_parse_line(struct ini_line *l, const struct ini *f, struct rk_err *err)
{
	const unsigned char *s = f->in.ptr;
	size_t p = l->start, q, e;

	l->kind = INI_OTHER;
	l->quote = 0;
	l->has_eq = false;
	while (p < l->end && ini_is_blank(s[p]))
		p++;
	if (p == l->end || s[p] == '#' || s[p] == ';' || s[p] == '!')
		return 0;
	if (s[p] == '[') {
		for (q = p + 1; q < l->end && s[q] != ']'; q++)
			;
		if (q == l->end)
			return rk_fail(err, RK_E_USAGE, "%s:%u: section header without \"]\"",
			    f->label, l->lineno);
		for (p++; p < q && ini_is_blank(s[p]); p++)
			;
		for (e = q; e > p && ini_is_blank(s[e - 1]); e--)
			;
		l->kind = INI_SECTION;
		l->name_off = p;
		l->name_len = e - p;
		return 0;
	}
	l->kind = INI_KEY;
	l->name_off = p;
	for (q = p; q < l->end && s[q] != '='; q++)
		;
	for (e = q; e > p && ini_is_blank(s[e - 1]); e--)
		;
	l->name_len = e - p;
	if (q == l->end) {
		l->val_off = l->val_end = e;
		return 0;
	}
	l->has_eq = true;
	for (p = q + 1; p < l->end && ini_is_blank(s[p]); p++)
		;
	l->val_off = p;
	if (f->mycnf && p < l->end && (s[p] == '"' || s[p] == '\'')) {
		l->quote = (char)s[p];
		for (p++; p < l->end && s[p] != (unsigned char)l->quote; p++)
			if (s[p] == '\\' && p + 1 < l->end)
				p++;
		if (p == l->end)
			return rk_fail(err, RK_E_USAGE, "%s:%u: unterminated %s quote", f->label,
			    l->lineno, l->quote == '"' ? "double" : "single");
		l->val_end = p + 1;
		return 0;
	}
	for (; p < l->end; p++)
		if (f->mycnf && s[p] == '#' && p > l->val_off && ini_is_blank(s[p - 1]))
			break;
	while (p > l->val_off && ini_is_blank(s[p - 1]))
		p--;
	l->val_end = p;
	return 0;
}

static bool
ini_name_is(const struct ini_line *l, const struct ini *f, const char *name)
{
	const unsigned char *s = f->in.ptr + l->name_off;
	size_t i;

	if (strlen(name) != l->name_len)
		return false;
	for (i = 0; i < l->name_len; i++) {
		if (s[i] == (unsigned char)name[i])
			continue;
		/* mysqld reads "ssl-ca" and "ssl_ca" as one option; only keys, not sections. */
		if (!(f->mycnf && l->kind == INI_KEY && (s[i] == '-' || s[i] == '_') &&
		    (name[i] == '-' || name[i] == '_')))
			return false;
	}
	return true;
}

static int
ini_decode(struct rk_buf *b, const struct ini_line *l, const struct ini *f, struct rk_err *err)
{
	const unsigned char *s = f->in.ptr;
	unsigned char ch;
	size_t p;
	int r;

	b->len = 0;
	if (l->quote == 0) {
		if ((r = rk_buf_append(b, s + l->val_off, l->val_end - l->val_off, err)) != 0)
			return r;
		return rk_buf_append(b, "", 0, err);
	}
	/* Escapes as mysys reads them in option files. */
	for (p = l->val_off + 1; p < l->val_end - 1; p++) {
		ch = s[p];
		if (ch == '\\' && p + 1 < l->val_end - 1) {
			ch = s[++p];
			ch = ch == 'n' ? '\n' : ch == 't' ? '\t' : ch == 'r' ? '\r' :
			    ch == 'b' ? '\b' : ch == 's' ? ' ' : ch;
		}
		if ((r = rk_buf_append(b, &ch, 1, err)) != 0)
			return r;
	}
	return rk_buf_append(b, "", 0, err);
}

static bool
ini_edge_blank(const char *v)
{
	size_t n = strlen(v);

	return n > 0 && (ini_is_blank((unsigned char)v[0]) ||
	    ini_is_blank((unsigned char)v[n - 1]));
}

static int
ini_encode(struct rk_buf *b, const struct ini *f, const char *v, char prefer, struct rk_err *err)
{
	int r;

	if (!f->mycnf)
		return rk_buf_append_str(b, v, err);
	if (prefer == 0 && strpbrk(v, " \t#'\"\\") == NULL)
		return rk_buf_append_str(b, v, err);
	if ((r = rk_buf_append(b, "\"", 1, err)) != 0)
		return r;
	for (; *v != '\0'; v++)
		if (((*v == '"' || *v == '\\') && (r = rk_buf_append(b, "\\", 1, err)) != 0) ||
		    (r = rk_buf_append(b, v, 1, err)) != 0)
			return r;
	return rk_buf_append(b, "\"", 1, err);
}

static int
ini_check_settings(const struct ini *f, const char *section, const struct rk_setting *set,
    size_t nset, struct rk_err *err)
{
	size_t i, j;

	if (section == NULL || section[0] == '\0' || strpbrk(section, "[]\r\n") != NULL ||
	    ini_edge_blank(section))
		return rk_fail(err, RK_E_USAGE, "%s: bad section name", f->label);
	for (i = 0; i < nset; i++) {
		if (set[i].key == NULL || set[i].value == NULL || set[i].key[0] == '\0' ||
		    strchr("#;![", set[i].key[0]) != NULL || ini_edge_blank(set[i].key) ||
		    strpbrk(set[i].key, "=\r\n") != NULL)
			return rk_fail(err, RK_E_USAGE, "%s: bad key name \"%s\"", f->label,
			    set[i].key != NULL ? set[i].key : "");
		if (strpbrk(set[i].value, "\r\n") != NULL)
			return rk_fail(err, RK_E_USAGE, "%s: the value for %s holds a newline",
			    f->label, set[i].key);
		if (!f->mycnf && ini_edge_blank(set[i].value))
			return rk_fail(err, RK_E_USAGE, "%s: the value for %s starts or ends "
			    "with a blank, which a service file cannot hold", f->label, set[i].key);
		for (j = 0; j < i; j++)
			if (strcmp(set[i].key, set[j].key) == 0)
				return rk_fail(err, RK_E_USAGE, "%s: %s is set twice", f->label,
				    set[i].key);
	}
	return 0;
}

static int
ini_emit_missing(struct rk_buf *out, const struct ini *f, const struct rk_setting *set,
    size_t nset, const bool *found, struct rk_bytes sep, struct rk_line_appender *tail,
    struct rk_err *err)
{
	struct rk_buf line;
	size_t i;
	int r = 0;

	rk_buf_init(&line, RK_CLIENT_LINE_MAX);
	for (i = 0; i < nset && r == 0; i++) {
		if (found[i])
			continue;
		line.len = 0;
		if ((r = rk_buf_append_str(&line, set[i].key, err)) == 0 &&
		    (r = rk_buf_append(&line, sep.ptr, sep.len, err)) == 0 &&
		    (r = ini_encode(&line, f, set[i].value, 0, err)) == 0)
			r = rk_line_appender_put(tail, out, line.ptr, line.len, err);
	}
	rk_buf_clear(&line);
	return r;
}

int
rk_inifile_set(struct rk_buf *out, struct rk_bytes in, enum rk_client_format format,
    const char *section, const struct rk_setting *set, size_t nset, const char *label,
    struct rk_err *err)
{
	struct ini f = { in, format == RK_FORMAT_INI, label };
	struct rk_bytes sep = { (const unsigned char *)"=", 1 };
	struct rk_buf cur, hdr;
	struct ini_line l;
	struct rk_line_appender tail;
	const char *nl;
	bool *found = NULL, in_section, have_section = false, missing = false;
	bool last_blank = true;
	size_t insert_at = SIZE_MAX, i;
	int r;

	rk_buf_init(out, RK_CLIENT_OUT_MAX);
	rk_buf_init(&cur, RK_CLIENT_LINE_MAX);
	rk_buf_init(&hdr, RK_CLIENT_LINE_MAX);
	if (format != RK_FORMAT_INI && format != RK_FORMAT_PG_SERVICE) {
		r = rk_fail(err, RK_E_INTERNAL, "%s: not an ini format", label);
		goto out;
	}
	if ((r = rk_envfile_check_text(in, label, err)) != 0 ||
	    (r = ini_check_settings(&f, section, set, nset, err)) != 0)
		goto out;
	if ((found = calloc(nset + 1, sizeof(*found))) == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	/* Pass one: which keys are there, and where a missing one goes. */
	memset(&l, 0, sizeof(l));
	in_section = false;
	for (l.lineno = 1; l.start < in.len; l.start = l.next, l.lineno++) {
		ini_next_line(&l, in);
		if ((r = ini_parse_line(&l, &f, err)) != 0)
			goto out;
		last_blank = l.kind == INI_OTHER && l.end == l.start;
		if (l.kind == INI_SECTION) {
			in_section = ini_name_is(&l, &f, section);
			if (in_section) {
				have_section = true;
				insert_at = l.next;
			}
		} else if (l.kind == INI_KEY && in_section) {
			insert_at = l.next;
			if (l.has_eq) {
				sep.ptr = in.ptr + l.name_off + l.name_len;
				sep.len = l.val_off - l.name_off - l.name_len;
			}
			for (i = 0; i < nset; i++)
				if (ini_name_is(&l, &f, set[i].key))
					found[i] = true;
		}
	}
	for (i = 0; i < nset; i++)
		missing = missing || !found[i];
	nl = rk_text_newline(in);

	/* Pass two: copy, rewrite, insert. */
	memset(&l, 0, sizeof(l));
	in_section = false;
	for (l.lineno = 1; l.start < in.len; l.start = l.next, l.lineno++) {
		if (missing && l.start == insert_at) {
			rk_line_appender_init(&tail, (struct rk_bytes){ in.ptr, insert_at }, nl);
			if ((r = ini_emit_missing(out, &f, set, nset, found, sep, &tail, err)) != 0)
				goto out;
		}
		ini_next_line(&l, in);
		if ((r = ini_parse_line(&l, &f, err)) != 0)
			goto out;
		if (l.kind == INI_SECTION)
			in_section = ini_name_is(&l, &f, section);
		for (i = 0; l.kind == INI_KEY && in_section && i < nset; i++)
			if (ini_name_is(&l, &f, set[i].key))
				break;
		if (l.kind != INI_KEY || !in_section || i == nset) {
			if ((r = rk_buf_append(out, in.ptr + l.start, l.next - l.start, err)) != 0)
				goto out;
			continue;
		}
		if ((r = ini_decode(&cur, &l, &f, err)) != 0)
			goto out;
		if (l.has_eq && strcmp((const char *)cur.ptr, set[i].value) == 0) {
			r = rk_buf_append(out, in.ptr + l.start, l.next - l.start, err);
		} else if ((r = rk_buf_append(out, in.ptr + l.start, l.val_off - l.start,
		    err)) == 0 && (l.has_eq || (r = rk_buf_append(out, sep.ptr, sep.len,
		    err)) == 0) && (r = ini_encode(out, &f, set[i].value, l.quote, err)) == 0)
			r = rk_buf_append(out, in.ptr + l.val_end, l.next - l.val_end, err);
		if (r != 0)
			goto out;
	}
	rk_line_appender_init(&tail, in, nl);
	if (missing && insert_at == in.len &&
	    (r = ini_emit_missing(out, &f, set, nset, found, sep, &tail, err)) != 0)
		goto out;
	if (missing && !have_section) {
		if ((r = rk_buf_printf(&hdr, err, "[%s]", section)) != 0 ||
		    (!last_blank && in.len > 0 &&
		    (r = rk_line_appender_put(&tail, out, "", 0, err)) != 0) ||
		    (r = rk_line_appender_put(&tail, out, hdr.ptr, hdr.len, err)) != 0 ||
		    (r = ini_emit_missing(out, &f, set, nset, found, sep, &tail, err)) != 0)
			goto out;
	}
	r = 0;
 out:
	if (r != 0)
		rk_buf_clear(out);
	rk_buf_clear(&cur);
	rk_buf_clear(&hdr);
	free(found);
	return r;
}

int
rk_inifile_mask(struct rk_buf *out, struct rk_bytes in, enum rk_client_format format,
    const char *label, struct rk_err *err)
{
	struct ini f = { in, format == RK_FORMAT_INI, label };
	struct rk_buf key, cur;
	struct ini_line l;
	int r;

	rk_buf_init(out, RK_CLIENT_OUT_MAX);
	rk_buf_init(&key, RK_CLIENT_LINE_MAX);
	rk_buf_init(&cur, RK_CLIENT_LINE_MAX);
	if ((r = rk_envfile_check_text(in, label, err)) != 0)
		goto out;
	memset(&l, 0, sizeof(l));
	for (l.lineno = 1; l.start < in.len; l.start = l.next, l.lineno++) {
		ini_next_line(&l, in);
		if ((r = ini_parse_line(&l, &f, err)) != 0)
			goto out;
		key.len = 0;
		if (l.kind != INI_KEY || !l.has_eq || l.val_end == l.val_off ||
		    (r = rk_buf_append(&key, in.ptr + l.name_off, l.name_len, err)) != 0 ||
		    (r = rk_buf_append(&key, "", 0, err)) != 0 ||
		    (r = ini_decode(&cur, &l, &f, err)) != 0 ||
		    !rk_envfile_key_is_secret((const char *)key.ptr, (const char *)cur.ptr)) {
			if (r != 0 ||
			    (r = rk_buf_append(out, in.ptr + l.start, l.next - l.start, err)) != 0)
				goto out;
			continue;
		}
		/* The mask replaces the value with its quotes: a quote count says nothing either. */
		if ((r = rk_buf_append(out, in.ptr + l.start, l.val_off - l.start, err)) != 0 ||
		    (r = rk_buf_append_str(out, RK_MASK, err)) != 0 ||
		    (r = rk_buf_append(out, in.ptr + l.val_end, l.next - l.val_end, err)) != 0)
			goto out;
	}
	r = 0;
 out:
	if (r != 0)
		rk_buf_clear(out);
	rk_buf_clear(&cur);
	rk_buf_clear(&key);
	return r;
}
