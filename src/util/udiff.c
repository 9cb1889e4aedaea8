/*
 * Unified diffs. The edit script is Myers' O((N+M)D) greedy algorithm ("An O(ND) Difference
 * Algorithm and Its Variations", 1986) on the lines left between the common prefix and
 * suffix, as GNU diff and git do; hunks are then cut around each change with its context.
 */
#include "rekey/udiff.h"
#include "rekey/strutil.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Past this many inserted plus deleted lines, the middle is shown as one replacement: the
 * trace Myers keeps grows as D squared (1000 -> 4 MB). A rotation changes a few lines. */
#define UDIFF_MAX_EDITS		1000

struct line {
	size_t	 off, len;	/* the line's bytes, without its "\n" */
	bool	 ended;		/* a "\n" follows: the last line may lack one */
};

struct text {
	struct rk_bytes	 bytes;
	struct line	*lines;
	size_t		 n;
};

enum op { OP_SAME, OP_DEL, OP_ADD };

static int
text_split(struct text *t, struct rk_bytes bytes, struct rk_err *err)
{
	size_t i, start, n = 0;

	t->bytes = bytes;
	t->n = 0;
	for (i = 0; i < bytes.len; i++)
		n += bytes.ptr[i] == '\n';
	n += bytes.len > 0 && bytes.ptr[bytes.len - 1] != '\n';
	if ((t->lines = calloc(n + 1, sizeof(*t->lines))) == NULL)
		return rk_fail_nomem(err);
	for (start = 0, i = 0; i <= bytes.len; i++) {
		if (i < bytes.len && bytes.ptr[i] != '\n')
			continue;
		if (i == bytes.len && start == bytes.len)
			break;
		t->lines[t->n++] = (struct line){ start, i - start, i < bytes.len };
		start = i + 1;
	}
	return 0;
}

static bool
line_equal(const struct text *a, size_t i, const struct text *b, size_t j)
{
	const struct line *x = &a->lines[i], *y = &b->lines[j];

	return x->len == y->len && x->ended == y->ended &&
	    memcmp(a->bytes.ptr + x->off, b->bytes.ptr + y->off, x->len) == 0;
}

/*
 * The edit script of old[lo_a, hi_a) against new[lo_b, hi_b), appended in order at ops.
 * Returns the number of ops written, or -1 when out of memory.
 */
static long
myers(enum op *ops, const struct text *a, size_t lo_a, size_t hi_a, const struct text *b,
    size_t lo_b, size_t hi_b)
{
	long n = (long)(hi_a - lo_a), m = (long)(hi_b - lo_b);
	long max = n + m < UDIFF_MAX_EDITS ? n + m : UDIFF_MAX_EDITS;
	long d, k, x, y, found = -1, nops = 0, i;
	long *v, *trace = NULL, *prev;
	size_t trace_len = 0;

	if ((v = calloc((size_t)(2 * max + 3), sizeof(*v))) == NULL)
		return -1;
	v += max + 1;			/* v[k] for k in -max-1 .. max+1 */
	for (d = 0; d <= max && found < 0; d++) {
		long *grown = realloc(trace, (trace_len + (size_t)(2 * d + 1)) * sizeof(*trace));

		if (grown == NULL)
			goto nomem;
		trace = grown;
		for (k = -d; k <= d; k += 2) {
			x = k == -d || (k != d && v[k - 1] < v[k + 1]) ? v[k + 1] : v[k - 1] + 1;
			y = x - k;
			while (x < n && y < m && line_equal(a, lo_a + (size_t)x, b, lo_b + (size_t)y))
				x++, y++;
			v[k] = x;
			if (x >= n && y >= m) {
				found = d;
				break;
			}
		}
		memcpy(trace + trace_len, v - d, (size_t)(2 * d + 1) * sizeof(*trace));
		trace_len += (size_t)(2 * d + 1);
	}
	if (found < 0) {
		/* Too many edits for the bound: the whole middle is one replacement. */
		for (i = 0; i < n; i++)
			ops[nops++] = OP_DEL;
		for (i = 0; i < m; i++)
			ops[nops++] = OP_ADD;
		goto done;
	}
	/* Walk back from (n, m), writing ops from the end; then move them to the front. */
	nops = n + m;			/* sames + edits never exceed n + m */
	i = nops;
	x = n, y = m;
	for (d = found; d > 0; d--) {
		long prev_k, prev_x, prev_y;

		trace_len -= (size_t)(2 * d + 1);
		prev = trace + trace_len - (size_t)(2 * d - 1) + (d - 1);	/* step d-1, k=0 */
		k = x - y;
		prev_k = k == -d || (k != d && prev[k - 1] < prev[k + 1]) ? k + 1 : k - 1;
		prev_x = prev[prev_k];
		prev_y = prev_x - prev_k;
		while (x > prev_x && y > prev_y)
			ops[--i] = OP_SAME, x--, y--;
		ops[--i] = prev_k == k + 1 ? OP_ADD : OP_DEL;
		x = prev_x, y = prev_y;
	}
	while (x > 0 && y > 0)
		ops[--i] = OP_SAME, x--, y--;
	memmove(ops, ops + i, (size_t)(nops - i) * sizeof(*ops));
	nops -= i;
 done:
	free(v - (max + 1));
	free(trace);
	return nops;
 nomem:
	free(v - (max + 1));
	free(trace);
	return -1;
}

/* One printed line: its bytes from the shown copy, a CR before the newline dropped. */
static int
emit_line(struct rk_buf *out, char mark, const struct text *shown, size_t i, bool ended,
    struct rk_err *err)
{
	const struct line *l = &shown->lines[i];
	const unsigned char *p = shown->bytes.ptr + l->off;
	size_t len = l->len, j, n;
	char esc[RK_TEXT_ESCAPE_MAX];
	int r;

	if (len > 0 && p[len - 1] == '\r')
		len--;
	if ((r = rk_buf_append(out, &mark, 1, err)) != 0)
		return r;
	for (j = 0; j < len && r == 0; j += n) {
		if (rk_text_char_is_unsafe(p + j, len - j, true, &n))
			r = rk_buf_append(out, esc, rk_text_escape_one(esc, p + j, n), err);
		else
			r = rk_buf_append(out, p + j, n, err);
	}
	if (r == 0)
		r = rk_buf_append(out, "\n", 1, err);
	if (r == 0 && !ended)
		r = rk_buf_append_str(out, "\\ No newline at end of file\n", err);
	return r;
}

static int
emit_range(struct rk_buf *out, char sign, size_t first, size_t count, struct rk_err *err)
{
	/* diff -u: an empty range names the line before it; a single line has no count. */
	if (count == 0)
		return rk_buf_printf(out, err, "%c%zu,0", sign, first);
	if (count == 1)
		return rk_buf_printf(out, err, "%c%zu", sign, first + 1);
	return rk_buf_printf(out, err, "%c%zu,%zu", sign, first + 1, count);
}

struct cursor {
	size_t	op, a, b;	/* an op index, and the old and new lines before it */
};

static void
cursor_step(struct cursor *c, const enum op *ops)
{
	c->a += ops[c->op] != OP_ADD;
	c->b += ops[c->op] != OP_DEL;
	c->op++;
}

static int
emit_hunk(struct rk_buf *out, const enum op *ops, struct cursor from, size_t end,
    const struct text *a, const struct text *b, const struct text *sa, const struct text *sb,
    struct rk_err *err)
{
	struct cursor c = from;
	size_t na = 0, nb = 0;
	int r;

	for (; c.op < end; c.op++) {
		na += ops[c.op] != OP_ADD;
		nb += ops[c.op] != OP_DEL;
	}
	if ((r = rk_buf_append_str(out, "@@ ", err)) != 0 ||
	    (r = emit_range(out, '-', from.a, na, err)) != 0 ||
	    (r = rk_buf_append_str(out, " ", err)) != 0 ||
	    (r = emit_range(out, '+', from.b, nb, err)) != 0 ||
	    (r = rk_buf_append_str(out, " @@\n", err)) != 0)
		return r;
	for (c = from; c.op < end && r == 0; cursor_step(&c, ops)) {
		if (ops[c.op] == OP_SAME)
			r = emit_line(out, ' ', sb, c.b, b->lines[c.b].ended, err);
		else if (ops[c.op] == OP_DEL)
			r = emit_line(out, '-', sa, c.a, a->lines[c.a].ended, err);
		else
			r = emit_line(out, '+', sb, c.b, b->lines[c.b].ended, err);
	}
	return r;
}

static int
emit_hunks(struct rk_buf *out, const enum op *ops, size_t nops, unsigned context,
    const struct text *a, const struct text *b, const struct text *sa, const struct text *sb,
    struct rk_err *err)
{
	struct cursor c = { 0, 0, 0 }, start;
	size_t end, same, back;
	int r;

	while (c.op < nops) {
		while (c.op < nops && ops[c.op] == OP_SAME)
			cursor_step(&c, ops);
		if (c.op == nops)
			break;
		/* Context before the first change: the sames just walked over. */
		for (back = 0; back < context && back < c.op && ops[c.op - back - 1] == OP_SAME;
		    back++)
			;
		start = (struct cursor){ c.op - back, c.a - back, c.b - back };
		/* Take changes while the sames between them are at most twice the context. */
		for (;;) {
			while (c.op < nops && ops[c.op] != OP_SAME)
				cursor_step(&c, ops);
			for (same = 0; c.op + same < nops && ops[c.op + same] == OP_SAME; same++)
				;
			if (c.op + same == nops || same > 2 * (size_t)context) {
				end = c.op + (same < context ? same : context);
				break;
			}
			while (same-- > 0)
				cursor_step(&c, ops);
		}
		if ((r = emit_hunk(out, ops, start, end, a, b, sa, sb, err)) != 0)
			return r;
		while (c.op < end)
			cursor_step(&c, ops);
	}
	return 0;
}

int
rk_udiff(struct rk_buf *out, const struct rk_udiff_input *in, bool *changed, struct rk_err *err)
{
	struct text a = { 0 }, b = { 0 }, sa = { 0 }, sb = { 0 };
	enum op *ops = NULL;
	size_t pre = 0, suf = 0, nops, i;
	long mid;
	int r;

	if (changed != NULL)
		*changed = false;
	if ((r = text_split(&a, in->old_text, err)) != 0 ||
	    (r = text_split(&b, in->new_text, err)) != 0 ||
	    (r = text_split(&sa, in->old_shown.ptr != NULL ? in->old_shown : in->old_text,
	    err)) != 0 ||
	    (r = text_split(&sb, in->new_shown.ptr != NULL ? in->new_shown : in->new_text,
	    err)) != 0)
		goto out;
	if (sa.n != a.n || sb.n != b.n) {
		r = rk_fail(err, RK_E_INTERNAL, "a masked copy does not line up with its file");
		goto out;
	}
	while (pre < a.n && pre < b.n && line_equal(&a, pre, &b, pre))
		pre++;
	while (suf < a.n - pre && suf < b.n - pre &&
	    line_equal(&a, a.n - 1 - suf, &b, b.n - 1 - suf))
		suf++;
	if (pre == a.n && pre == b.n) {
		r = 0;
		goto out;
	}
	if ((ops = calloc(a.n + b.n + 1, sizeof(*ops))) == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	for (i = 0; i < pre; i++)
		ops[i] = OP_SAME;
	if ((mid = myers(ops + pre, &a, pre, a.n - suf, &b, pre, b.n - suf)) < 0) {
		r = rk_fail_nomem(err);
		goto out;
	}
	nops = pre + (size_t)mid;
	for (i = 0; i < suf; i++)
		ops[nops++] = OP_SAME;
	if (changed != NULL)
		*changed = true;
	if ((r = rk_buf_printf(out, err, "--- %s\n+++ %s\n", in->label_old, in->label_new)) != 0)
		goto out;
	r = emit_hunks(out, ops, nops, in->context, &a, &b, &sa, &sb, err);
 out:
	free(a.lines);
	free(b.lines);
	free(sa.lines);
	free(sb.lines);
	free(ops);
	return r;
}
