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
#include "rekey/secretname.h"

enum env_kind {
	ENV_OTHER,		/* blank or comment */
	ENV_EXPORT,		/* "export KEY": no value changes */
	ENV_ASSIGN,		/* [export] KEY=value */
};

/* One line of an env file; offsets index the input. */
struct env_line {
	size_t		 start, end;	/* the content, without "\n" or "\r\n" */
	size_t		 next;		/* where the next line starts */
	unsigned	 lineno;
	enum env_kind	 kind;
	bool		 is_export;
	size_t		 key_off, key_len;
	size_t		 val_off, val_end;	/* the value as written, quotes included */
	char		 quote;		/* 0, '\'' or '"' */
	bool		 dynamic;	/* bash expands it ($, ~): its value is not the bytes */
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

/*
 * The PEM label of a "-----BEGIN LABEL-----" somewhere in the line p[0..n), if any: *label
 * and *label_len point into p.
 */
static bool
pem_begin_in(const unsigned char *p, size_t n, const unsigned char **label, size_t *label_len)
{
	static const char begin[] = "-----BEGIN";
	const size_t nb = sizeof(begin) - 1;
	size_t i, j;

	for (i = 0; i + nb <= n; i++) {
		if (memcmp(p + i, begin, nb) != 0)
			continue;
		for (j = i + nb; j < n && !(j + 5 <= n && memcmp(p + j, "-----", 5) == 0); j++)
			;
		*label = p + i + nb;
		*label_len = j - i - nb;
		return true;
	}
	return false;
}

static bool
bytes_contain(const unsigned char *p, size_t n, const char *word)
{
	size_t nw = strlen(word), i;

	for (i = 0; i + nw <= n; i++)
		if (memcmp(p + i, word, nw) == 0)
			return true;
	return false;
}

int
rk_envfile_check_bytes(struct rk_bytes in, const char *label, struct rk_err *err)
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

int
rk_envfile_check_text(struct rk_bytes in, const char *label, struct rk_err *err)
{
	const unsigned char *name;
	size_t start, end, next, name_len;
	unsigned line = 1;
	int r;

	if ((r = rk_envfile_check_bytes(in, label, err)) != 0)
		return r;
	/*
	 * A key where a configuration file should be (a key file named as the client's file, or
	 * pasted into it) is refused whole: shown as diff context, its lines would print the
	 * key itself (issue #12). The message says where, never what.
	 */
	for (start = 0; start < in.len; start = next, line++) {
		rk_line_bounds(in.ptr, in.len, start, &end, &next);
		if (pem_begin_in(in.ptr + start, end - start, &name, &name_len) &&
		    bytes_contain(name, name_len, "PRIVATE KEY"))
			return rk_fail(err, RK_E_USAGE, "%s:%u: holds a PEM private key block; a "
			    "client configuration file holding one is neither edited nor shown",
			    label, line);
	}
	return 0;
}

int
rk_envfile_mask_pem(struct rk_buf *out, struct rk_bytes in, struct rk_err *err)
{
	const unsigned char *name;
	size_t start, end, next, name_len;
	bool inside = false, hide, ends;
	int r = 0;

	rk_buf_init(out, RK_CLIENT_OUT_MAX);
	for (start = 0; start < in.len && r == 0; start = next) {
		rk_line_bounds(in.ptr, in.len, start, &end, &next);
		if (pem_begin_in(in.ptr + start, end - start, &name, &name_len))
			inside = true;
		/* An END line alone hides too: it may close the tail of a key. */
		ends = bytes_contain(in.ptr + start, end - start, "-----END");
		hide = inside || ends;
		inside = inside && !ends;
		if (!hide)
			r = rk_buf_append(out, in.ptr + start, next - start, err);
		else if ((r = rk_buf_append_str(out, RK_MASK, err)) == 0)
			r = rk_buf_append(out, in.ptr + end, next - end, err);
	}
	if (r != 0)
		rk_buf_clear(out);
	return r;
}

/* Finds the end of the line starting at l->start; the content ends before "\r\n" or "\n". */
static void
env_next_line(struct env_line *l, struct rk_bytes in)
{
	rk_line_bounds(in.ptr, in.len, l->start, &l->end, &l->next);
}

/* Why a line is refused. Each says what bash would do; none quotes the line. */
#define ENV_NOT_ASSIGNMENT	"not a KEY=value line"
#define ENV_BLANK_BEFORE_EQ	"a blank before \"=\": bash runs the name as a command"
#define ENV_BLANK_AFTER_EQ	"a blank after \"=\" ends the value: bash runs the rest of the " \
				"line as a command"
#define ENV_MORE_WORDS		"more than one word after \"=\": bash runs the rest of the line " \
				"as another assignment or a command"
#define ENV_JOINED		"quotes joined to other text (as in K=''a) make one word, which " \
				"rekey does not edit"
#define ENV_CONTINUED		"a backslash at the end joins the next line, which rekey does " \
				"not edit"
#define ENV_BACKSLASH		"a backslash outside quotes, which bash removes: quote the value"
#define ENV_OPERATOR		"a shell operator (one of ;&|<>()) outside quotes"
#define ENV_COMMAND		"a command substitution: rekey cannot tell what bash reads"

static int
env_refuse(const struct env_line *l, const char *label, const char *why, struct rk_err *err)
{
	return rk_fail(err, RK_E_USAGE, "%s:%u: %s", label, l->lineno, why);
}

/* After a value: blanks, then the end of the line or a comment. */
static int
env_check_rest(const struct env_line *l, const unsigned char *s, size_t p, bool after_eq,
    const char *label, struct rk_err *err)
{
	size_t q = p;

	while (q < l->end && is_blank(s[q]))
		q++;
	if (q == l->end || (q > p && s[q] == '#'))
		return 0;
	if (q == p)
		return env_refuse(l, label, ENV_JOINED, err);
	return env_refuse(l, label, after_eq ? ENV_BLANK_AFTER_EQ : ENV_MORE_WORDS, err);
}

/* A value in quotes, from its opening quote at p; l->val_end is set past the closing one. */
static int
env_parse_quoted(struct env_line *l, const unsigned char *s, size_t p, const char *label,
    struct rk_err *err)
{
	l->quote = (char)s[p];
	for (p++; p < l->end; p++) {
		if (l->quote == '\'') {
			if (s[p] == '\'')
				break;
			continue;
		}
		/* Double quotes, as sh(1) reads them: "\" escapes the next byte. */
		if (s[p] == '\\' && p + 1 < l->end)
			p++;
		else if (s[p] == '"')
			break;
		else if (s[p] == '`' || (s[p] == '$' && p + 1 < l->end && s[p + 1] == '('))
			return env_refuse(l, label, ENV_COMMAND, err);
		else if (s[p] == '$')
			l->dynamic = true;
	}
	if (p == l->end)
		return rk_fail(err, RK_E_USAGE, "%s:%u: unterminated %s quote", label, l->lineno,
		    l->quote == '"' ? "double" : "single");
	l->val_end = p + 1;
	return env_check_rest(l, s, l->val_end, false, label, err);
}

/* A value without quotes: one word of bytes bash takes as they are. */
static int
env_parse_plain(struct env_line *l, const unsigned char *s, size_t p, const char *label,
    struct rk_err *err)
{
	for (; p < l->end && !is_blank(s[p]); p++) {
		unsigned char c = s[p];

		if (c == '\'' || c == '"')
			return env_refuse(l, label, ENV_JOINED, err);
		if (c == '\\')
			return env_refuse(l, label, p + 1 == l->end ? ENV_CONTINUED : ENV_BACKSLASH,
			    err);
		if (strchr(";&|<>()", c) != NULL)
			return env_refuse(l, label, ENV_OPERATOR, err);
		if (c == '`' || (c == '$' && p + 1 < l->end && s[p + 1] == '('))
			return env_refuse(l, label, ENV_COMMAND, err);
		/*
		 * What bash computes rather than reads: parameters, a tilde at the start or
		 * after ":" (PGSSLROOTCERT=~/x is the home folder's), and braces after export,
		 * which expands "export K={a,b}" to two words.
		 */
		if (c == '$' || (c == '~' && (p == l->val_off || s[p - 1] == ':')) ||
		    (c == '{' && l->is_export))
			l->dynamic = true;
	}
	l->val_end = p;
	return env_check_rest(l, s, p, p == l->val_off, label, err);
}

/*
 * Splits one line into key and value, as bash reads it when it sources the file. A line
 * bash would read differently from "KEY=value" (a command, a second word, a continued line)
 * is refused with its number: rekey edits only what it can read as bash does.
 */
static int
env_parse_line(struct env_line *l, struct rk_bytes in, const char *label, struct rk_err *err)
{
	const unsigned char *s = in.ptr;
	size_t p = l->start, q;

	l->kind = ENV_OTHER;
	l->quote = 0;
	l->dynamic = false;
	l->is_export = false;
	while (p < l->end && is_blank(s[p]))
		p++;
	if (p == l->end || s[p] == '#')
		return 0;
	if (l->end - p > 7 && memcmp(s + p, "export", 6) == 0 && is_blank(s[p + 6])) {
		l->is_export = true;
		for (p += 6; p < l->end && is_blank(s[p]); p++)
			;
	}
	if (p == l->end || !is_key_start(s[p]))
		return env_refuse(l, label, ENV_NOT_ASSIGNMENT, err);
	l->key_off = p;
	while (p < l->end && is_key_char(s[p]))
		p++;
	l->key_len = p - l->key_off;
	if (p == l->end || is_blank(s[p])) {
		for (q = p; q < l->end && is_blank(s[q]); q++)
			;
		if (q < l->end && s[q] == '=')
			return env_refuse(l, label, ENV_BLANK_BEFORE_EQ, err);
		/* "export KEY" marks a variable for export and changes no value. */
		if (l->is_export && (q == l->end || (q > p && s[q] == '#'))) {
			l->kind = ENV_EXPORT;
			return 0;
		}
		return env_refuse(l, label, ENV_NOT_ASSIGNMENT, err);
	}
	if (s[p] != '=')
		return env_refuse(l, label, ENV_NOT_ASSIGNMENT, err);
	l->kind = ENV_ASSIGN;
	/* The value starts right after "=": "K= x" is an empty K, then the command x. */
	l->val_off = ++p;
	if (p < l->end && (s[p] == '\'' || s[p] == '"'))
		return env_parse_quoted(l, s, p, label, err);
	return env_parse_plain(l, s, p, label, err);
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
	/* No "~": bash expands it at the start and after ":" (PGSSLROOTCERT=~/x). */
	for (; *v != '\0'; v++)
		if (!is_key_char((unsigned char)*v) && strchr("./:@%+,=^-", *v) == NULL)
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
	return rk_envfile_check_setting_names(set, nset, label, err);
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
 * Writes line l with its value replaced by value, every other byte kept. The value goes
 * right after "=", so "K= #note" becomes "K=value #note" and never "K= value", which bash
 * reads as an empty K and the command "value" (issue #12).
 */
static int
env_replace_value(struct rk_buf *out, struct rk_bytes in, const struct env_line *l,
    const char *value, struct rk_err *err)
{
	int r;

	if ((r = rk_buf_append(out, in.ptr + l->start, l->val_off - l->start, err)) != 0 ||
	    (r = env_encode(out, value, l->quote, err)) != 0)
		return r;
	return rk_buf_append(out, in.ptr + l->val_end, l->next - l->val_end, err);
}

/* The decoded value of an assignment into cur, NUL-terminated. */
static int
env_value_of(struct rk_buf *cur, const struct env_line *l, struct rk_bytes in,
    struct rk_err *err)
{
	int r;

	cur->len = 0;
	if ((r = env_decode(cur, l, in, err)) != 0)
		return r;
	return rk_buf_append(cur, "", 0, err);
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
		if (l.kind != ENV_ASSIGN || (i = env_find(&l, in, set, nset)) == nset) {
			if ((r = rk_buf_append(out, in.ptr + l.start, l.next - l.start, err)) != 0)
				goto out;
			continue;
		}
		found[i] = true;
		if ((r = env_value_of(&cur, &l, in, err)) != 0)
			goto out;
		/* A value bash computes ($X, ~/x) is not the bytes: it is rewritten. */
		if (!l.dynamic && strcmp((const char *)cur.ptr, set[i].value) == 0)
			r = rk_buf_append(out, in.ptr + l.start, l.next - l.start, err);
		else
			r = env_replace_value(out, in, &l, set[i].value, err);
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

static int
env_refuse_dynamic(const struct env_line *l, const char *key, const char *label,
    struct rk_err *err)
{
	return rk_fail(err, RK_E_USAGE, "%s:%u: the value of %s holds a shell expansion ($ or ~); "
	    "rekey cannot tell what bash reads", label, l->lineno, key);
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
		if (l.kind == ENV_ASSIGN && env_find(&l, in, &one, 1) == 0) {
			last = l;
			have = true;
		}
	}
	r = 0;
	if (!have)
		goto out;
	if (last.dynamic) {
		r = env_refuse_dynamic(&last, key, label, err);
		goto out;
	}
	if ((r = env_value_of(&cur, &last, in, err)) != 0)
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
		if (l.kind != ENV_ASSIGN || env_find(&l, in, &one, 1) != 0) {
			if ((r = rk_buf_append(out, in.ptr + l.start, l.next - l.start, err)) != 0)
				goto out;
			continue;
		}
		found = true;
		/* An edit of part of a value must start from what bash reads. */
		if (l.dynamic) {
			r = env_refuse_dynamic(&l, key, label, err);
			goto out;
		}
		rk_buf_clear(&edited);
		rk_buf_init(&edited, RK_CLIENT_LINE_MAX);
		if ((r = env_value_of(&cur, &l, in, err)) != 0 ||
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

int
rk_envfile_check_setting_names(const struct rk_setting *set, size_t nset, const char *label,
    struct rk_err *err)
{
	size_t i;

	for (i = 0; i < nset; i++)
		if (set[i].key != NULL && rk_secretname_holds_secret(set[i].key, set[i].value))
			return rk_fail(err, RK_E_USAGE, "%s: %s names a secret; rekey changes TLS "
			    "settings, never secrets", label, set[i].key);
	return 0;
}

/* The masked copy of one assignment's value: RK_MASK, or connection passwords hidden. */
static int
env_mask_value(struct rk_buf *out, const struct env_line *l, struct rk_bytes in,
    struct rk_buf *cur, struct rk_err *err)
{
	struct rk_buf masked;
	char *key;
	int r;

	if ((key = rk_bytes_to_str(in.ptr + l->key_off, l->key_len)) == NULL)
		return rk_fail_nomem(err);
	rk_buf_init(&masked, 0);
	if ((r = env_value_of(cur, l, in, err)) != 0)
		goto out;
	if (rk_secretname_holds_secret(key, (const char *)cur->ptr))
		r = rk_buf_append_str(out, RK_MASK, err);
	else if ((r = rk_conninfo_mask(&masked, rk_buf_bytes(cur), err)) == 0 &&
	    strcmp((const char *)masked.ptr, (const char *)cur->ptr) != 0)
		/* A plain value stays plain: the mask adds no character that needs quotes,
		 * and a diff must not show quotes the file does not have. */
		r = l->quote == 0 ? rk_buf_append(out, masked.ptr, masked.len, err) :
		    env_encode(out, (const char *)masked.ptr, l->quote, err);
	else if (r == 0)
		r = rk_buf_append(out, in.ptr + l->val_off, l->val_end - l->val_off, err);
 out:
	rk_buf_clear(&masked);
	free(key);
	return r;
}

int
rk_envfile_mask(struct rk_buf *out, struct rk_bytes raw, const char *label, struct rk_err *err)
{
	struct rk_buf cur, copy;
	struct rk_err ignored;
	struct rk_bytes in;
	struct env_line l;
	int r;

	rk_buf_init(out, RK_CLIENT_OUT_MAX);
	rk_buf_init(&cur, RK_CLIENT_LINE_MAX);
	rk_buf_init(&copy, 0);
	if ((r = rk_envfile_check_bytes(raw, label, err)) != 0 ||
	    (r = rk_envfile_mask_pem(&copy, raw, err)) != 0)
		goto out;
	in = rk_buf_bytes(&copy);
	memset(&l, 0, sizeof(l));
	for (l.lineno = 1; l.start < in.len; l.start = l.next, l.lineno++) {
		env_next_line(&l, in);
		memset(&ignored, 0, sizeof(ignored));
		if (env_parse_line(&l, in, label, &ignored) != 0) {
			/* A line the editor would refuse may hold anything: none of it shows. */
			if ((r = rk_buf_append_str(out, RK_MASK, err)) != 0 ||
			    (r = rk_buf_append(out, in.ptr + l.end, l.next - l.end, err)) != 0)
				goto out;
			continue;
		}
		if (l.kind != ENV_ASSIGN) {
			if ((r = rk_buf_append(out, in.ptr + l.start, l.next - l.start, err)) != 0)
				goto out;
			continue;
		}
		if ((r = rk_buf_append(out, in.ptr + l.start, l.val_off - l.start, err)) != 0 ||
		    (r = env_mask_value(out, &l, in, &cur, err)) != 0 ||
		    (r = rk_buf_append(out, in.ptr + l.val_end, l.next - l.val_end, err)) != 0)
			goto out;
	}
	r = 0;
 out:
	if (r != 0)
		rk_buf_clear(out);
	rk_buf_clear(&cur);
	rk_buf_clear(&copy);
	return r;
}
