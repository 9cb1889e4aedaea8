/*
 * The Prometheus text exposition format (version 0.0.4), as node_exporter's textfile
 * collector reads it: gauges only, each family with its HELP and TYPE, label values escaped
 * as the format asks (backslash, double quote, newline), so a path or a subject with odd
 * characters cannot break a line or forge a label.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

int
prom_gauge_family(struct rk_buf *b, const char *name, const char *help, struct rk_err *err)
{
	/* HELP text escapes backslash and newline only. */
	int r = rk_buf_printf(b, err, "# HELP %s ", name);
	const char *p;

	for (p = help; r == 0 && *p != '\0'; p++)
		r = *p == '\\' ? rk_buf_append_str(b, "\\\\", err) : *p == '\n' ?
		    rk_buf_append_str(b, "\\n", err) : rk_buf_append(b, p, 1, err);
	if (r == 0)
		r = rk_buf_printf(b, err, "\n# TYPE %s gauge\n", name);
	return r;
}

static int
append_label_value(struct rk_buf *b, const char *v, struct rk_err *err)
{
	int r = 0;

	for (; r == 0 && *v != '\0'; v++) {
		if (*v == '\\')
			r = rk_buf_append_str(b, "\\\\", err);
		else if (*v == '"')
			r = rk_buf_append_str(b, "\\\"", err);
		else if (*v == '\n')
			r = rk_buf_append_str(b, "\\n", err);
		else
			r = rk_buf_append(b, v, 1, err);
	}
	return r;
}

int
prom_sample(struct rk_buf *b, const char *name, const struct prom_label *labels, size_t n,
    double value, struct rk_err *err)
{
	size_t i, shown = 0;
	int r = rk_buf_append_str(b, name, err);

	for (i = 0; r == 0 && i < n; i++) {
		/* An empty value is the same as no label to Prometheus: left out. */
		if (labels[i].value == NULL || labels[i].value[0] == '\0')
			continue;
		if ((r = rk_buf_printf(b, err, "%s%s=\"", shown++ == 0 ? "{" : ",",
		    labels[i].name)) == 0 && (r = append_label_value(b, labels[i].value,
		    err)) == 0)
			r = rk_buf_append_str(b, "\"", err);
	}
	if (r == 0 && shown > 0)
		r = rk_buf_append_str(b, "}", err);
	/* Integral values (times, counts) print exactly, not as 1.7e+09. */
	if (r == 0)
		r = value == floor(value) && fabs(value) < 1e15 ?
		    rk_buf_printf(b, err, " %.0f\n", value) : rk_buf_printf(b, err, " %g\n", value);
	return r;
}
