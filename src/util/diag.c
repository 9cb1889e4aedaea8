#include "rekey/diag.h"
#include "rekey/strutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
rk_diags_init(struct rk_diags *d, const char *file)
{
	memset(d, 0, sizeof(*d));
	d->file = strdup(file != NULL ? file : "-");
	if (d->file == NULL)
		d->out_of_memory = true;
}

void
rk_diags_clear(struct rk_diags *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		free(d->items[i].msg);
	free(d->items);
	free(d->file);
	memset(d, 0, sizeof(*d));
}

void
rk_diags_forget(struct rk_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->items[i].msg);
	free(d->items);
	d->items = NULL;
	d->n = d->cap = d->nerrors = 0;
	d->out_of_memory = true;
}

/*
 * Control characters from the input would let a playbook forge a diagnostic line ("\n" then
 * "other.yml:1:1: error: ...") or drive the terminal (ESC, a bidi override): show them
 * escaped instead.
 */
static char *
escape_controls(char *msg)
{
	char *out;

	if (rk_text_is_safe(msg))
		return msg;
	out = rk_text_escape(msg);
	free(msg);
	return out;
}

void
rk_diags_add(struct rk_diags *d, enum rk_severity sev, struct rk_pos pos, const char *fmt, ...)
{
	struct rk_diag *grown;
	char *msg = NULL;
	va_list ap;
	int len;

	if (sev == RK_SEV_ERROR)
		d->nerrors++;		/* counted even when not stored: errors decide the exit */
	if (d->n >= RK_DIAGS_MAX)
		return;
	if (d->n == d->cap) {
		size_t cap = d->cap == 0 ? 16 : d->cap * 2;

		if ((grown = reallocarray(d->items, cap, sizeof(*grown))) == NULL) {
			d->out_of_memory = true;
			return;
		}
		d->items = grown;
		d->cap = cap;
	}
	va_start(ap, fmt);
	len = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (len < 0 || (msg = escape_controls(msg)) == NULL) {
		d->out_of_memory = true;
		return;
	}
	d->items[d->n].severity = sev;
	d->items[d->n].pos = pos;
	d->items[d->n].msg = msg;
	d->n++;
}

bool
rk_diags_has_errors(const struct rk_diags *d)
{
	return d->nerrors > 0 || d->out_of_memory;
}

static bool
diag_before(const struct rk_diag *a, const struct rk_diag *b)
{
	if (a->pos.line != b->pos.line)
		return a->pos.line < b->pos.line;
	return a->pos.col < b->pos.col;
}

void
rk_diags_sort(struct rk_diags *d)
{
	size_t i, j;

	/* Insertion sort: stable, and diag lists are short (capped at RK_DIAGS_MAX). */
	for (i = 1; i < d->n; i++) {
		struct rk_diag cur = d->items[i];

		for (j = i; j > 0 && diag_before(&cur, &d->items[j - 1]); j--)
			d->items[j] = d->items[j - 1];
		d->items[j] = cur;
	}
}

struct rk_pos
rk_pos_at_offset(const unsigned char *text, size_t off)
{
	struct rk_pos p = { 1, 1 };
	size_t i;

	for (i = 0; i < off; i++) {
		if (text[i] == '\n') {
			p.line++;
			p.col = 1;
		} else if ((text[i] & 0xc0) != 0x80) {
			p.col++;		/* a UTF-8 continuation byte is not a new column */
		}
	}
	return p;
}
