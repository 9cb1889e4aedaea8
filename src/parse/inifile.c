/*
 * The ini editor for my.cnf and pg_service.conf. Each format has its own line reader, a copy
 * of what its real reader does (mysys's search_default_file_with_ext() for my.cnf, libpq's
 * parseServiceFile() for pg_service.conf), because the two disagree on almost everything:
 * comments, quotes, blanks, case, which of two sections of one name counts. A first pass finds
 * the section, the keys already there and where a missing key belongs; a second pass copies
 * the input through, rewriting only the values it was asked to set and inserting what was
 * missing.
 */
#include "rekey/inifile.h"
#include "rekey/strutil.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/envfile.h"
#include "rekey/secretname.h"

/*
 * mysys reads an option file with fgets() into 4096 bytes less one: a longer line (newline
 * included) is read as two, the second one an option of its own. Measured with
 * my_print_defaults of MariaDB 10.11.
 */
#define MYCNF_LINE_MAX	4094

enum ini_kind {
	INI_OTHER,		/* blank, comment, !include, or text outside any rule */
	INI_SECTION,
	INI_KEY,
};

/* How a key line of the file stands to a key being set. */
enum ini_match {
	INI_NO_MATCH,
	INI_SAME,		/* the key itself, or my.cnf's "loose-" form of it */
	INI_ALIAS,		/* my.cnf "skip-", "disable-" or "enable-" form: sets it too */
};

struct ini_line {
	size_t		 start, end, next;	/* content without "\r\n"; the next line */
	unsigned	 lineno;
	enum ini_kind	 kind;
	size_t		 name_off, name_len;	/* the section name or the key */
	bool		 has_eq;
	size_t		 val_off, val_end;	/* the value as written, quotes included */
	size_t		 read_end;	/* where the reader's value ends: at val_end or before */
};

struct ini {
	struct rk_bytes		 in;
	bool			 mycnf;
	const char		*label;
};

/* Why a line is refused. None quotes the line: it may hold anything. */
#define INI_NOT_OPTION		"not a key=value line"
#define INI_NO_GROUP		"an option before any [group]: mysys refuses the file"
#define INI_SERVICE_BLANK_KEY	"a blank before \"=\": libpq reads it as part of the key"
#define INI_SERVICE_NO_EQ	"not a key=value line (libpq reads no \";\" comments, " \
				"\"!include\" or keys without \"=\" in a service file)"
#define INI_SERVICE_LDAP	"an LDAP lookup line, which rekey does not follow"

static int
ini_refuse(const struct ini *f, const struct ini_line *l, const char *why, struct rk_err *err)
{
	return rk_fail(err, RK_E_USAGE, "%s:%u: %s", f->label, l->lineno, why);
}

/* isspace() in the C locale: what libpq trims from both ends of a service file line. */
static bool
pg_is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* my_isspace() of latin1, which mysys uses: a UTF-8 "à" ends in 0xa0, a latin1 space. */
static bool
my_is_space(unsigned char c)
{
	return pg_is_space(c) || c == 0xa0;
}

/* my_toupper() of latin1, with which mysys compares group names (find_type()). */
static unsigned char
my_toupper(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 0xe0 && c <= 0xfe && c != 0xf7))
		return (unsigned char)(c - 0x20);
	return c;
}

static bool
is_option_start(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '_';
}

static bool
is_option_char(unsigned char c)
{
	return is_option_start(c) || c == '-' || c == '.';
}

static void
ini_next_line(struct ini_line *l, struct rk_bytes in)
{
	rk_line_bounds(in.ptr, in.len, l->start, &l->end, &l->next);
}

/* A "[name]" line at p: the name up to the first "]", or a refusal. */
static int
ini_parse_header(struct ini_line *l, const struct ini *f, size_t p, struct rk_err *err)
{
	const unsigned char *s = f->in.ptr;
	size_t q, e;

	for (q = p + 1; q < l->end && s[q] != ']'; q++)
		;
	if (q == l->end)
		return rk_fail(err, RK_E_USAGE, "%s:%u: section header without \"]\"", f->label,
		    l->lineno);
	/*
	 * mysys trims blanks before "]" only; libpq none. For neither is "[ client ]" the
	 * section "client". What follows "]" is ignored by both.
	 */
	e = q;
	if (f->mycnf)
		while (e > p + 1 && my_is_space(s[e - 1]))
			e--;
	l->kind = INI_SECTION;
	l->name_off = p + 1;
	l->name_len = e - p - 1;
	return 0;
}

/*
 * Where the option text of a my.cnf line ends, as mysys's remove_end_comment() finds it: at
 * the first "#" outside quotes, where a quote is any ' or " not escaped inside quotes, anywhere
 * in the line, key included.
 */
static size_t
mycnf_comment_at(const unsigned char *s, size_t p, size_t end)
{
	unsigned char quote = 0;
	bool escape = false;

	for (; p < end; p++) {
		if ((s[p] == '\'' || s[p] == '"') && !escape) {
			if (quote == 0)
				quote = s[p];
			else if (quote == s[p])
				quote = 0;
		}
		if (quote == 0 && s[p] == '#')
			return p;
		escape = quote != 0 && s[p] == '\\' && !escape;
	}
	return end;
}

static int
mycnf_parse_line(struct ini_line *l, const struct ini *f, bool in_group, struct rk_err *err)
{
	const unsigned char *s = f->in.ptr;
	size_t p = l->start, cut, eq, e;

	l->kind = INI_OTHER;
	l->has_eq = false;
	if (l->next - l->start > MYCNF_LINE_MAX)
		return rk_fail(err, RK_E_USAGE, "%s:%u: line longer than the %d bytes mysys reads "
		    "as one", f->label, l->lineno, MYCNF_LINE_MAX);
	while (p < l->end && my_is_space(s[p]))
		p++;
	if (p == l->end || s[p] == '#' || s[p] == ';' || s[p] == '!')
		return 0;
	if (s[p] == '[')
		return ini_parse_header(l, f, p, err);
	if (!in_group)
		return ini_refuse(f, l, INI_NO_GROUP, err);
	cut = mycnf_comment_at(s, p, l->end);
	for (eq = p; eq < cut && s[eq] != '='; eq++)
		;
	for (e = eq; e > p && my_is_space(s[e - 1]); e--)
		;
	l->kind = INI_KEY;
	l->name_off = p;
	l->name_len = e - p;
	if (e == p || !is_option_start(s[p]))
		return ini_refuse(f, l, INI_NOT_OPTION, err);
	for (; p < e; p++)
		if (!is_option_char(s[p]))
			return ini_refuse(f, l, INI_NOT_OPTION, err);
	if (eq == cut) {
		/* "skip-ssl # note": a key, then a comment. */
		l->val_off = l->val_end = l->read_end = e;
		return 0;
	}
	l->has_eq = true;
	for (p = eq + 1; p < cut && my_is_space(s[p]); p++)
		;
	/*
	 * mysys trims latin1 blanks, so the 0xa0 that ends a UTF-8 "à" too: its value ends
	 * there, but a new value replaces the whole character.
	 */
	for (e = cut; e > p && my_is_space(s[e - 1]); e--)
		;
	l->val_off = p;
	l->read_end = e;
	for (e = cut; e > p && pg_is_space(s[e - 1]); e--)
		;
	l->val_end = e;
	return 0;
}

static int
pgsvc_parse_line(struct ini_line *l, const struct ini *f, struct rk_err *err)
{
	const unsigned char *s = f->in.ptr;
	size_t p = l->start, eq, e;

	l->kind = INI_OTHER;
	l->has_eq = false;
	/* libpq trims the line at both ends, then skips what is empty or starts with "#". */
	while (p < l->end && pg_is_space(s[p]))
		p++;
	for (e = l->end; e > p && pg_is_space(s[e - 1]); e--)
		;
	if (p == e || s[p] == '#')
		return 0;
	if (s[p] == '[')
		return ini_parse_header(l, f, p, err);
	/* With LDAP (Debian's libpq has it), a line starting "ldap" is a lookup, not a key. */
	if (e - p >= 4 && memcmp(s + p, "ldap", 4) == 0)
		return ini_refuse(f, l, INI_SERVICE_LDAP, err);
	for (eq = p; eq < e && s[eq] != '='; eq++)
		;
	l->kind = INI_KEY;
	l->name_off = p;
	l->name_len = eq - p;
	if (eq == e || eq == p)
		return ini_refuse(f, l, INI_SERVICE_NO_EQ, err);
	if (pg_is_space(s[eq - 1]))
		return ini_refuse(f, l, INI_SERVICE_BLANK_KEY, err);
	for (; p < eq; p++)
		if (!is_option_start(s[p]))
			return ini_refuse(f, l, INI_SERVICE_NO_EQ, err);
	/* The value is all after "=", blanks included: "sslmode= x" is " x" to libpq. */
	l->has_eq = true;
	l->val_off = eq + 1;
	l->val_end = l->read_end = e;
	return 0;
}

static int
ini_parse_line(struct ini_line *l, const struct ini *f, bool in_group, struct rk_err *err)
{
	return f->mycnf ? mycnf_parse_line(l, f, in_group, err) : pgsvc_parse_line(l, f, err);
}

/* Is the section of line l the one named name, as the format's reader compares them? */
static bool
ini_section_is(const struct ini_line *l, const struct ini *f, const char *name)
{
	const unsigned char *s = f->in.ptr + l->name_off;
	size_t i;

	if (strlen(name) != l->name_len)
		return false;
	for (i = 0; i < l->name_len; i++)
		if (f->mycnf ? my_toupper(s[i]) != my_toupper((unsigned char)name[i]) :
		    s[i] != (unsigned char)name[i])
			return false;
	return true;
}

/* mysqld and its clients read "ssl-ca" and "ssl_ca" as one option. */
static bool
mycnf_names_equal(const unsigned char *a, size_t n, const char *b)
{
	size_t i;

	if (strlen(b) != n)
		return false;
	for (i = 0; i < n; i++)
		if (a[i] != (unsigned char)b[i] && !((a[i] == '-' || a[i] == '_') &&
		    (b[i] == '-' || b[i] == '_')))
			return false;
	return true;
}

/* Strips prefix (with "-" or "_" after it) from the option name [*p, *p + *n). */
static bool
mycnf_strip(const unsigned char **p, size_t *n, const char *prefix)
{
	size_t lp = strlen(prefix);

	if (*n <= lp + 1 || memcmp(*p, prefix, lp) != 0 || ((*p)[lp] != '-' && (*p)[lp] != '_'))
		return false;
	*p += lp + 1;
	*n -= lp + 1;
	return true;
}

/*
 * How the key of line l stands to key. A MariaDB or MySQL client reads "loose-ssl-ca" as
 * "ssl-ca", and "skip-", "disable-" and "enable-" before a boolean option set it, so a
 * "skip-ssl" left after "ssl=1" would win (my_getopt).
 */
static enum ini_match
ini_key_match(const struct ini_line *l, const struct ini *f, const char *key)
{
	const unsigned char *p = f->in.ptr + l->name_off;
	size_t n = l->name_len;

	if (!f->mycnf)
		return strlen(key) == n && memcmp(p, key, n) == 0 ? INI_SAME : INI_NO_MATCH;
	(void)mycnf_strip(&p, &n, "loose");
	if (mycnf_names_equal(p, n, key))
		return INI_SAME;
	if ((mycnf_strip(&p, &n, "skip") || mycnf_strip(&p, &n, "disable") ||
	    mycnf_strip(&p, &n, "enable")) && mycnf_names_equal(p, n, key))
		return INI_ALIAS;
	return INI_NO_MATCH;
}

/* The value of line l as the format's reader gets it, NUL-terminated, into b. */
static int
ini_decode(struct rk_buf *b, const struct ini_line *l, const struct ini *f, struct rk_err *err)
{
	const unsigned char *s = f->in.ptr;
	size_t p = l->val_off, end = l->read_end;
	unsigned char ch;
	int r;

	b->len = 0;
	if (!f->mycnf) {
		if ((r = rk_buf_append(b, s + p, end - p, err)) != 0)
			return r;
		return rk_buf_append(b, "", 0, err);
	}
	/* As mysys: matching quotes around the value go, then escapes are read, quoted or not. */
	if (end - p > 1 && (s[p] == '"' || s[p] == '\'') && s[end - 1] == s[p]) {
		p++;
		end--;
	}
	for (; p < end; p++) {
		ch = s[p];
		if (ch == '\\' && p + 1 < end) {
			ch = s[++p];
			switch (ch) {
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			case 'r': ch = '\r'; break;
			case 'b': ch = '\b'; break;
			case 's': ch = ' '; break;
			case '"': case '\'': case '\\': break;
			default:
				/* Unknown: the backslash stays. */
				if ((r = rk_buf_append(b, "\\", 1, err)) != 0)
					return r;
			}
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

	return n > 0 && (pg_is_space((unsigned char)v[0]) ||
	    pg_is_space((unsigned char)v[n - 1]));
}

/*
 * A value for my.cnf: plainly when it is printable ASCII without a blank, "#", a quote or "\",
 * else in double quotes with "\" before "\" and '"'. Quotes keep mysys from cutting a "#"
 * comment or trimming a blank (or the 0xa0 that ends a UTF-8 "à").
 */
static int
ini_encode(struct rk_buf *b, const struct ini *f, const char *v, struct rk_err *err)
{
	const unsigned char *u;
	bool plain = true;
	int r;

	if (!f->mycnf)
		return rk_buf_append_str(b, v, err);
	for (u = (const unsigned char *)v; *u != '\0' && plain; u++)
		plain = *u > ' ' && *u < 0x7f && strchr("#'\"\\", *u) == NULL;
	if (plain)
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
	const unsigned char *k;
	size_t i, j;

	if (section == NULL || section[0] == '\0' || strpbrk(section, "[]\r\n") != NULL ||
	    ini_edge_blank(section))
		return rk_fail(err, RK_E_USAGE, "%s: bad section name", f->label);
	for (i = 0; i < nset; i++) {
		k = (const unsigned char *)set[i].key;
		if (k == NULL || set[i].value == NULL || !is_option_start(*k))
			return rk_fail(err, RK_E_USAGE, "%s: bad key name \"%s\"", f->label,
			    set[i].key != NULL ? set[i].key : "");
		for (; *k != '\0'; k++)
			if (f->mycnf ? !is_option_char(*k) : !is_option_start(*k))
				return rk_fail(err, RK_E_USAGE, "%s: bad key name \"%s\"",
				    f->label, set[i].key);
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
	return rk_envfile_check_setting_names(set, nset, f->label, err);
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
		    (r = ini_encode(&line, f, set[i].value, err)) == 0)
			r = rk_line_appender_put(tail, out, line.ptr, line.len, err);
	}
	rk_buf_clear(&line);
	return r;
}

/*
 * Line l, a key of the section being set, with the value of set[i]; every other byte kept.
 * A key that had no value gets sep, the section's own "=" or " = ".
 */
static int
ini_rewrite(struct rk_buf *out, const struct ini_line *l, const struct ini *f,
    const struct rk_setting *st, enum ini_match how, struct rk_bytes sep, struct rk_err *err)
{
	const unsigned char *s = f->in.ptr;
	size_t key_end = l->name_off + l->name_len, rest = l->has_eq ? l->val_end : key_end;
	int r;

	if (how == INI_ALIAS) {
		/* "skip-ssl # note" becomes "ssl=1 # note": the setting itself, where it was. */
		if ((r = rk_buf_append(out, s + l->start, l->name_off - l->start, err)) != 0 ||
		    (r = rk_buf_append_str(out, st->key, err)) != 0 ||
		    (r = l->has_eq ? rk_buf_append(out, s + key_end, l->val_off - key_end, err) :
		    rk_buf_append(out, sep.ptr, sep.len, err)) != 0)
			return r;
	} else if ((r = rk_buf_append(out, s + l->start, (l->has_eq ? l->val_off : key_end) -
	    l->start, err)) != 0 || (!l->has_eq && (r = rk_buf_append(out, sep.ptr, sep.len,
	    err)) != 0)) {
		return r;
	}
	if ((r = ini_encode(out, f, st->value, err)) != 0)
		return r;
	return rk_buf_append(out, s + rest, l->next - rest, err);
}

/* Refuses a line mysys would split: a long value rekey wrote included. */
static int
ini_check_output(const struct ini *f, struct rk_bytes out, struct rk_err *err)
{
	size_t start, end, next;
	unsigned line = 1;

	if (!f->mycnf)
		return 0;
	for (start = 0; start < out.len; start = next, line++) {
		rk_line_bounds(out.ptr, out.len, start, &end, &next);
		if (next - start > MYCNF_LINE_MAX)
			return rk_fail(err, RK_E_USAGE, "%s:%u: the new value would make a line "
			    "longer than the %d bytes mysys reads as one", f->label, line,
			    MYCNF_LINE_MAX);
	}
	return 0;
}

/*
 * Which lines hold the section: for my.cnf every group of that name, in any case, since
 * mysys reads them all, in order; for a service file only the first, the one libpq reads,
 * and a second one is refused rather than left for someone to edit in vain.
 */
struct ini_scan {
	bool	 in_group;	/* my.cnf: a group header was seen */
	bool	 in_section;
	unsigned first;		/* line of the first header of the section, or 0 */
};

static int
ini_track(struct ini_scan *sc, const struct ini_line *l, const struct ini *f,
    const char *section, struct rk_err *err)
{
	if (l->kind != INI_SECTION)
		return 0;
	sc->in_group = true;
	sc->in_section = ini_section_is(l, f, section);
	if (!sc->in_section)
		return 0;
	if (!f->mycnf && sc->first != 0)
		return rk_fail(err, RK_E_USAGE, "%s:%u: service [%s] is written a second time "
		    "(first at line %u); libpq reads only the first: merge them", f->label,
		    l->lineno, section, sc->first);
	if (sc->first == 0)
		sc->first = l->lineno;
	return 0;
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
	struct ini_scan sc;
	struct rk_line_appender tail;
	enum ini_match how = INI_NO_MATCH;
	const char *nl;
	bool *found = NULL, missing = false, last_blank = true;
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
	/* Pass one: every line read as its reader would, which keys are there, where a missing
	 * one goes. */
	memset(&l, 0, sizeof(l));
	memset(&sc, 0, sizeof(sc));
	for (l.lineno = 1; l.start < in.len; l.start = l.next, l.lineno++) {
		ini_next_line(&l, in);
		if ((r = ini_parse_line(&l, &f, sc.in_group, err)) != 0 ||
		    (r = ini_track(&sc, &l, &f, section, err)) != 0)
			goto out;
		last_blank = l.kind == INI_OTHER && l.end == l.start;
		if (l.kind == INI_SECTION && sc.in_section) {
			insert_at = l.next;
		} else if (l.kind == INI_KEY && sc.in_section) {
			insert_at = l.next;
			/* A service file's keys are "key=value" exactly; my.cnf keeps its style. */
			if (l.has_eq && f.mycnf) {
				sep.ptr = in.ptr + l.name_off + l.name_len;
				sep.len = l.val_off - l.name_off - l.name_len;
			}
			for (i = 0; i < nset; i++)
				if (ini_key_match(&l, &f, set[i].key) != INI_NO_MATCH)
					found[i] = true;
		}
	}
	for (i = 0; i < nset; i++)
		missing = missing || !found[i];
	nl = rk_text_newline(in);

	/* Pass two: copy, rewrite, insert. */
	memset(&l, 0, sizeof(l));
	memset(&sc, 0, sizeof(sc));
	for (l.lineno = 1; l.start < in.len; l.start = l.next, l.lineno++) {
		if (missing && l.start == insert_at) {
			rk_line_appender_init(&tail, (struct rk_bytes){ in.ptr, insert_at }, nl);
			if ((r = ini_emit_missing(out, &f, set, nset, found, sep, &tail, err)) != 0)
				goto out;
		}
		ini_next_line(&l, in);
		if ((r = ini_parse_line(&l, &f, sc.in_group, err)) != 0 ||
		    (r = ini_track(&sc, &l, &f, section, err)) != 0)
			goto out;
		for (i = 0; l.kind == INI_KEY && sc.in_section && i < nset; i++)
			if ((how = ini_key_match(&l, &f, set[i].key)) != INI_NO_MATCH)
				break;
		if (l.kind != INI_KEY || !sc.in_section || i == nset) {
			if ((r = rk_buf_append(out, in.ptr + l.start, l.next - l.start, err)) != 0)
				goto out;
			continue;
		}
		if ((r = ini_decode(&cur, &l, &f, err)) != 0)
			goto out;
		if (how == INI_SAME && l.has_eq && strcmp((const char *)cur.ptr, set[i].value) == 0)
			r = rk_buf_append(out, in.ptr + l.start, l.next - l.start, err);
		else
			r = ini_rewrite(out, &l, &f, &set[i], how, sep, err);
		if (r != 0)
			goto out;
	}
	rk_line_appender_init(&tail, in, nl);
	if (missing && insert_at == in.len &&
	    (r = ini_emit_missing(out, &f, set, nset, found, sep, &tail, err)) != 0)
		goto out;
	if (missing && sc.first == 0) {
		if ((r = rk_buf_printf(&hdr, err, "[%s]", section)) != 0 ||
		    (!last_blank && in.len > 0 &&
		    (r = rk_line_appender_put(&tail, out, "", 0, err)) != 0) ||
		    (r = rk_line_appender_put(&tail, out, hdr.ptr, hdr.len, err)) != 0 ||
		    (r = ini_emit_missing(out, &f, set, nset, found, sep, &tail, err)) != 0)
			goto out;
	}
	r = ini_check_output(&f, rk_buf_bytes(out), err);
 out:
	if (r != 0)
		rk_buf_clear(out);
	rk_buf_clear(&cur);
	rk_buf_clear(&hdr);
	free(found);
	return r;
}

int
rk_inifile_mask(struct rk_buf *out, struct rk_bytes raw, enum rk_client_format format,
    const char *label, struct rk_err *err)
{
	struct ini f = { raw, format == RK_FORMAT_INI, label };
	struct rk_buf key, cur, copy;
	struct rk_err ignored;
	struct ini_line l;
	bool in_group = false;
	int r;

	rk_buf_init(out, RK_CLIENT_OUT_MAX);
	rk_buf_init(&key, RK_CLIENT_LINE_MAX);
	rk_buf_init(&cur, RK_CLIENT_LINE_MAX);
	rk_buf_init(&copy, 0);
	if ((r = rk_envfile_check_bytes(raw, label, err)) != 0 ||
	    (r = rk_envfile_mask_pem(&copy, raw, err)) != 0)
		goto out;
	f.in = rk_buf_bytes(&copy);
	memset(&l, 0, sizeof(l));
	for (l.lineno = 1; l.start < f.in.len; l.start = l.next, l.lineno++) {
		ini_next_line(&l, f.in);
		memset(&ignored, 0, sizeof(ignored));
		if (ini_parse_line(&l, &f, in_group, &ignored) != 0) {
			/* A line the editor would refuse may hold anything: none of it shows. */
			if ((r = rk_buf_append_str(out, RK_MASK, err)) != 0 ||
			    (r = rk_buf_append(out, f.in.ptr + l.end, l.next - l.end, err)) != 0)
				goto out;
			continue;
		}
		in_group = in_group || l.kind == INI_SECTION;
		key.len = 0;
		if (l.kind != INI_KEY || !l.has_eq || l.val_end == l.val_off ||
		    (r = rk_buf_append(&key, f.in.ptr + l.name_off, l.name_len, err)) != 0 ||
		    (r = rk_buf_append(&key, "", 0, err)) != 0 ||
		    (r = ini_decode(&cur, &l, &f, err)) != 0 ||
		    !rk_secretname_holds_secret((const char *)key.ptr, (const char *)cur.ptr)) {
			if (r != 0 || (r = rk_buf_append(out, f.in.ptr + l.start, l.next - l.start,
			    err)) != 0)
				goto out;
			continue;
		}
		/* The mask replaces the value with its quotes: a quote count says nothing
		 * either. */
		if ((r = rk_buf_append(out, f.in.ptr + l.start, l.val_off - l.start, err)) != 0 ||
		    (r = rk_buf_append_str(out, RK_MASK, err)) != 0 ||
		    (r = rk_buf_append(out, f.in.ptr + l.val_end, l.next - l.val_end, err)) != 0)
			goto out;
	}
	r = 0;
 out:
	if (r != 0)
		rk_buf_clear(out);
	rk_buf_clear(&cur);
	rk_buf_clear(&key);
	rk_buf_clear(&copy);
	return r;
}
