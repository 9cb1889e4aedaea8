/*
 * The human report of an incident record, in Markdown and in one self-contained HTML page
 * (inline style, no script, no fetch, readable printed), both from the record's own JSON
 * members, so the report can never say something the machine-readable members do not.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record_int.h"

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static const char *
or_dash(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : "-";
}

/* Markdown: table cells lose their pipes and newlines. */
static int
md_cell(struct rk_buf *b, const char *s, struct rk_err *err)
{
	int r = 0;

	for (s = or_dash(s); *s != '\0' && r == 0; s++)
		r = *s == '|' ? rk_buf_append_str(b, "\\|", err) : *s == '\n' || *s == '\r' ?
		    rk_buf_append_str(b, " ", err) : rk_buf_append(b, s, 1, err);
	return r;
}

static int
html_text(struct rk_buf *b, const char *s, struct rk_err *err)
{
	int r = 0;

	for (s = or_dash(s); *s != '\0' && r == 0; s++) {
		switch (*s) {
		case '<':	r = rk_buf_append_str(b, "&lt;", err); break;
		case '>':	r = rk_buf_append_str(b, "&gt;", err); break;
		case '&':	r = rk_buf_append_str(b, "&amp;", err); break;
		case '"':	r = rk_buf_append_str(b, "&quot;", err); break;
		case '\'':	r = rk_buf_append_str(b, "&#39;", err); break;
		default:	r = rk_buf_append(b, s, 1, err); break;
		}
	}
	return r;
}

/* A table in both forms at once: cols names, then rows of as many cells. */
struct table {
	struct rk_buf	*md, *html;
	size_t		 ncols;
	int		 r;
};

static void
table_begin(struct table *t, struct rk_buf *md, struct rk_buf *html, const char *const *cols,
    struct rk_err *err)
{
	bool headless;
	size_t i;

	t->md = md;
	t->html = html;
	/* A table of names and values has no header row in HTML (Markdown needs one). */
	headless = cols[0] != NULL && cols[0][0] == '\0';
	t->r = rk_buf_append_str(html, headless ? "<table class=\"kv\"><tbody><tr style=\""
	    "display:none\">" : "<table><thead><tr>", err);
	for (i = 0; cols[i] != NULL && t->r == 0; i++) {
		if ((t->r = rk_buf_printf(md, err, "| %s ", cols[i])) == 0 &&
		    (t->r = rk_buf_append_str(html, "<th>", err)) == 0 &&
		    (t->r = html_text(html, cols[i], err)) == 0)
			t->r = rk_buf_append_str(html, "</th>", err);
	}
	t->ncols = i;
	if (t->r == 0)
		t->r = rk_buf_append_str(md, "|\n", err);
	for (i = 0; i < t->ncols && t->r == 0; i++)
		t->r = rk_buf_append_str(md, "|---", err);
	if (t->r == 0 && (t->r = rk_buf_append_str(md, "|\n", err)) == 0)
		t->r = rk_buf_append_str(html, headless ? "</tr>\n" : "</tr></thead><tbody>\n",
		    err);
}

/* A fingerprint or a SHA-256: long and without spaces, broken anywhere in HTML. */
static bool
is_digest(const char *s)
{
	return s != NULL && strlen(s) > 40 && strchr(s, ' ') == NULL;
}

/* One row; cls is the row's class in HTML ("bad", "good", "") for its colour. */
static void
table_row(struct table *t, const char *cls, const char *const *cells, struct rk_err *err)
{
	size_t i;

	if (t->r == 0)
		t->r = rk_buf_printf(t->html, err, "<tr class=\"%s\">", cls);
	for (i = 0; i < t->ncols && t->r == 0; i++) {
		if ((t->r = rk_buf_append_str(t->md, "| ", err)) == 0 &&
		    (t->r = md_cell(t->md, cells[i], err)) == 0 &&
		    (t->r = rk_buf_append_str(t->md, " ", err)) == 0 &&
		    (t->r = rk_buf_append_str(t->html, is_digest(cells[i]) ? "<td class=\"h\">" :
		    "<td>", err)) == 0 &&
		    (t->r = html_text(t->html, cells[i], err)) == 0)
			t->r = rk_buf_append_str(t->html, "</td>", err);
	}
	if (t->r == 0 && (t->r = rk_buf_append_str(t->md, "|\n", err)) == 0)
		t->r = rk_buf_append_str(t->html, "</tr>\n", err);
}

static int
table_end(struct table *t, struct rk_err *err)
{
	if (t->r == 0 && (t->r = rk_buf_append_str(t->md, "\n", err)) == 0)
		t->r = rk_buf_append_str(t->html, "</tbody></table>\n", err);
	return t->r;
}

static int
heading(struct rk_buf *md, struct rk_buf *html, const char *title, struct rk_err *err)
{
	int r;

	if ((r = rk_buf_printf(md, err, "## %s\n\n", title)) == 0 &&
	    (r = rk_buf_append_str(html, "<h2>", err)) == 0 &&
	    (r = html_text(html, title, err)) == 0)
		r = rk_buf_append_str(html, "</h2>\n", err);
	return r;
}

static int
paragraph(struct rk_buf *md, struct rk_buf *html, const char *text, struct rk_err *err)
{
	int r;

	if ((r = rk_buf_printf(md, err, "%s\n\n", text)) == 0 &&
	    (r = rk_buf_append_str(html, "<p>", err)) == 0 &&
	    (r = html_text(html, text, err)) == 0)
		r = rk_buf_append_str(html, "</p>\n", err);
	return r;
}

static const char style[] =
    "<style>\n"
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;"
    "max-width:70em;color:#1b1f23;padding:0 1em}\n"
    "h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.6em;"
    "border-bottom:1px solid #d0d7de;padding-bottom:.2em}\n"
    "table{border-collapse:collapse;width:100%;margin:.5em 0;font-size:13px}\n"
    "th,td{border:1px solid #d0d7de;padding:.3em .5em;text-align:left;vertical-align:top;"
    "overflow-wrap:break-word}\n"
    "td.h{word-break:break-all;font-family:ui-monospace,monospace;font-size:11px;"
    "min-width:12em}\n"
    "table.kv td:first-child{width:12em;font-weight:600;background:#f6f8fa}\n"
    "th{background:#f6f8fa}tr.bad td{background:#ffebe9}tr.good td:first-child{"
    "border-left:4px solid #2da44e}\n"
    ".banner{padding:.6em 1em;border-radius:6px;font-weight:600;margin:1em 0}\n"
    ".ok{background:#dafbe1;color:#116329}.fail{background:#ffebe9;color:#a40e26}\n"
    ".rehearsal{background:#fff8c5;color:#7d4e00}\n"
    "code{font-family:ui-monospace,monospace;font-size:12px}\n"
    "@media print{body{margin:0;max-width:none}.banner{border:1px solid #888}"
    "tr{page-break-inside:avoid}}\n"
    "</style>\n";

static bool
outcome_ok(const char *outcome)
{
	return strcmp(outcome, "verified") == 0 || strcmp(outcome, "go") == 0 ||
	    strcmp(outcome, "rolled back") == 0;
}

static int
summary(struct rk_buf *md, struct rk_buf *html, const json_t *inc, struct rk_err *err)
{
	static const char *const cols[] = { "", "", NULL };
	const char *id = str(inc, "id"), *outcome = str(inc, "outcome");
	bool rehearsal = strcmp(str(inc, "mode"), "rehearsal") == 0;
	static const char *const keys[][2] = {
		{ "Incident", "id" }, { "Mode", "mode" }, { "Reason", "reason" },
		{ "Scope", "scope" }, { "Summary", "summary" }, { "Outcome", "outcome" }, { "Command", "command" },
		{ "Operator", "operator" }, { "Started", "started" }, { "Ended", "ended" },
		{ "rekey", "rekey_version" }, { "Playbook SHA-256", "playbook_sha256" },
		{ "Plan", "plan_digest" }, { "Signed by", "signed_by" },
	};
	struct table t;
	char title[400];
	size_t i;
	int r;

	snprintf(title, sizeof(title), "%sIncident %s: %s", rehearsal ? "REHEARSAL: " : "", id,
	    outcome);
	if ((r = rk_buf_printf(md, err, "# %s\n\n", title)) != 0 ||
	    (r = rk_buf_append_str(html, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><title>", err)) != 0 ||
	    (r = html_text(html, title, err)) != 0 ||
	    (r = rk_buf_append_str(html, "</title>\n", err)) != 0 ||
	    (r = rk_buf_append_str(html, style, err)) != 0 ||
	    (r = rk_buf_append_str(html, "</head><body>\n<h1>", err)) != 0 ||
	    (r = html_text(html, title, err)) != 0 ||
	    (r = rk_buf_printf(html, err, "</h1>\n<div class=\"banner %s\">", rehearsal ?
	    "rehearsal" : outcome_ok(outcome) ? "ok" : "fail")) != 0)
		return r;
	if (rehearsal)
		snprintf(title, sizeof(title), "REHEARSAL: nothing was changed. %s",
		    outcome_ok(outcome) ? "Every step was tried against the estate and would go." :
		    "Not every step would go: see the no-go rows and their fixes.");
	else
		snprintf(title, sizeof(title), "%s", outcome_ok(outcome) ?
		    "Every step was carried out and verified." :
		    "Not everything was carried out and verified: see what is still open.");
	if (strcmp(outcome, "rolled back") == 0)
		snprintf(title, sizeof(title), "Rolled back: the hosts hold their previous files.");
	if ((r = html_text(html, title, err)) != 0 ||
	    (r = rk_buf_append_str(html, "</div>\n", err)) != 0 ||
	    (r = rk_buf_printf(md, err, "**%s**\n\n", title)) != 0)
		return r;
	table_begin(&t, md, html, cols, err);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *cells[2] = { keys[i][0], str(inc, keys[i][1]) };

		table_row(&t, "", cells, err);
	}
	return table_end(&t, err);
}

static int
units(struct rk_buf *md, struct rk_buf *html, const json_t *inc, struct rk_err *err)
{
	static const char *const cols[] = { "Kind", "Name", "Host", "Result", "Served before",
	    "Served after", "Error", NULL };
	static const char *const kinds[] = { "services", "clients" };
	struct table t;
	size_t k, i;
	json_t *u;
	int r;

	if ((r = heading(md, html, "Services and clients", err)) != 0)
		return r;
	table_begin(&t, md, html, cols, err);
	for (k = 0; k < 2; k++)
		json_array_foreach(json_object_get(inc, kinds[k]), i, u) {
			const char *result = str(u, "result"), *undo = str(u, "undo_error");
			char *why = NULL;
			const char *cells[7] = { k == 0 ? "service" : "client", str(u, "name"),
			    str(u, "host"), result, str(u, "fingerprint_before"),
			    str(u, "fingerprint_after"), str(u, "error") };

			/* Records written before undo_error have none: the cell is the error. */
			if (undo[0] != '\0') {
				if (asprintf(&why, "%s%sundo FAILED: %s", cells[6], cells[6][0] !=
				    '\0' ? "; " : "", undo) < 0)
					return rk_fail_nomem(err);
				cells[6] = why;
			}
			table_row(&t, strcmp(result, "verified") == 0 || strcmp(result, "go") == 0 ?
			    "good" : "bad", cells, err);
			free(why);
		}
	return table_end(&t, err);
}

static int
timeline_table(struct rk_buf *md, struct rk_buf *html, struct rk_bytes lines,
    struct rk_err *err)
{
	static const char *const cols[] = { "At", "Step", "Host", "State", "What", "Error",
	    NULL };
	const unsigned char *p = lines.ptr, *end = lines.ptr + lines.len, *nl;
	json_t *all = json_array(), *o;
	size_t i, n, maxstep = 0;
	bool *later = NULL;
	struct table t;
	char step[16];
	int r;

	if (all == NULL)
		return rk_fail_nomem(err);
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if ((o = json_loadb((const char *)p, (size_t)(nl - p), 0, NULL)) == NULL)
			continue;
		if ((size_t)json_integer_value(json_object_get(o, "step")) > maxstep)
			maxstep = (size_t)json_integer_value(json_object_get(o, "step"));
		json_array_append_new(all, o);
	}
	n = json_array_size(all);
	if ((later = calloc(maxstep + 1, sizeof(*later))) == NULL) {
		json_decref(all);
		return rk_fail_nomem(err);
	}
	if ((r = heading(md, html, "Timeline", err)) != 0 ||
	    (r = paragraph(md, html, "How each step ended (timeline.jsonl holds every record, "
	    "starts included, chained by SHA-256).", err)) != 0)
		goto out;
	/* A start is news only when nothing followed it (the run stopped there): marked
	 * from the end, so one pass tells. */
	for (i = n; i-- > 0;) {
		size_t id = (size_t)json_integer_value(json_object_get(json_array_get(all, i),
		    "step"));

		if (strcmp(str(json_array_get(all, i), "state"), "start") == 0 && later[id])
			json_object_set_new(json_array_get(all, i), "hide", json_true());
		later[id] = true;
	}
	table_begin(&t, md, html, cols, err);
	json_array_foreach(all, i, o) {
		const char *state = str(o, "state");
		const char *cells[6] = { str(o, "at"), step, str(o, "host"), state,
		    str(o, "what"), str(o, "error") };

		if (json_is_true(json_object_get(o, "hide")))
			continue;
		snprintf(step, sizeof(step), "%lld",
		    (long long)json_integer_value(json_object_get(o, "step")));
		table_row(&t, strcmp(state, "failed") == 0 ? "bad" : "", cells, err);
	}
	r = table_end(&t, err);
 out:
	free(later);
	json_decref(all);
	return r;
}

static int
revocations(struct rk_buf *md, struct rk_buf *html, const json_t *inc, struct rk_err *err)
{
	static const char *const cols[] = { "Target", "Reason", "Serials revoked", NULL };
	json_t *list = json_object_get(inc, "revocations"), *v;
	struct table t;
	size_t i;
	int r;

	if ((r = heading(md, html, "Revocations", err)) != 0)
		return r;
	if (json_array_size(list) == 0)
		return paragraph(md, html, "This incident revoked nothing.", err);
	table_begin(&t, md, html, cols, err);
	json_array_foreach(list, i, v) {
		const char *cells[3] = { str(v, "target"), str(v, "reason"), str(v, "serials") };

		table_row(&t, "", cells, err);
	}
	return table_end(&t, err);
}

static int
changes_table(struct rk_buf *md, struct rk_buf *html, const json_t *changes,
    struct rk_err *err)
{
	static const char *const cols[] = { "Host", "File", "New SHA-256", "Old SHA-256",
	    "Mode, owner", "Backup", "State", NULL };
	const char *host;
	json_t *list, *c;
	struct table t;
	char who[200];
	size_t i;
	int r;

	if ((r = heading(md, html, "Changes on hosts", err)) != 0)
		return r;
	if (json_object_size(changes) == 0)
		return paragraph(md, html, "No file was changed on any host.", err);
	table_begin(&t, md, html, cols, err);
	json_object_foreach((json_t *)changes, host, list)
		json_array_foreach(list, i, c) {
			const char *cells[7] = { host, str(c, "path"), str(c, "sha256"),
			    str(c, "old_sha256"), who, str(c, "backup"), str(c, "state") };

			snprintf(who, sizeof(who), "%s %s:%s", or_dash(str(c, "mode")),
			    or_dash(str(c, "owner")), or_dash(str(c, "group")));
			table_row(&t, strcmp(str(c, "state"), "undone") == 0 ? "bad" : "", cells,
			    err);
		}
	return table_end(&t, err);
}

static int
verification_table(struct rk_buf *md, struct rk_buf *html, const json_t *verification,
    struct rk_err *err)
{
	static const char *const cols[] = { "Step", "Check", "Of", "Endpoint", "Result",
	    "TLS", "Fingerprint", "Latency", "Error", NULL };
	struct table t;
	char step[16], latency[32];
	size_t i;
	json_t *v;
	int r;

	if ((r = heading(md, html, "Verification", err)) != 0)
		return r;
	table_begin(&t, md, html, cols, err);
	json_array_foreach((json_t *)verification, i, v) {
		const char *of = str(v, "service")[0] != '\0' ? str(v, "service") : str(v, "client");
		const char *result = str(v, "result");
		const json_t *ms = json_object_get(v, "latency_ms");
		const char *cells[9] = { step, str(v, "check"), of, str(v, "endpoint"), result,
		    str(v, "protocol"), str(v, "fingerprint"), latency, str(v, "error") };

		snprintf(step, sizeof(step), "%lld",
		    (long long)json_integer_value(json_object_get(v, "step")));
		if (json_is_integer(ms))
			snprintf(latency, sizeof(latency), "%lld ms",
			    (long long)json_integer_value(ms));
		else
			snprintf(latency, sizeof(latency), "-");
		table_row(&t, strcmp(result, "passed") == 0 ? "good" : "bad", cells, err);
	}
	return table_end(&t, err);
}

/* What an auditor must still follow up: every unit not verified, every file put back. */
static int
still_open(struct rk_buf *md, struct rk_buf *html, const json_t *inc, const json_t *changes,
    struct rk_err *err)
{
	static const char *const kinds[] = { "services", "clients" };
	char line[800];
	const char *host;
	json_t *u, *list;
	size_t k, i, n = 0;
	int r;

	if ((r = heading(md, html, "Still open", err)) != 0)
		return r;
	if (strcmp(str(inc, "mode"), "rehearsal") == 0 && (r = paragraph(md, html,
	    "This was a rehearsal: nothing was changed, the rotation itself is still to be "
	    "done.", err)) != 0)
		return r;
	for (k = 0; k < 2 && r == 0; k++)
		json_array_foreach(json_object_get(inc, kinds[k]), i, u) {
			const char *result = str(u, "result");

			if (strcmp(result, "verified") == 0 || strcmp(result, "go") == 0)
				continue;
			snprintf(line, sizeof(line), "%s %s on %s: %s%s%s", k == 0 ? "Service" :
			    "Client", str(u, "name"), or_dash(str(u, "host")), result,
			    str(u, "error")[0] != '\0' ? ": " : "", str(u, "error"));
			if ((r = paragraph(md, html, line, err)) != 0)
				return r;
			n++;
		}
	json_object_foreach((json_t *)changes, host, list)
		json_array_foreach(list, i, u) {
			if (strcmp(str(u, "state"), "undone") != 0)
				continue;
			snprintf(line, sizeof(line), "%s:%s was put back as it was before", host,
			    str(u, "path"));
			if ((r = paragraph(md, html, line, err)) != 0)
				return r;
			n++;
		}
	if (n == 0 && strcmp(str(inc, "mode"), "rehearsal") != 0)
		r = paragraph(md, html, "Nothing: every service and client verified.", err);
	return r;
}

int
rk_report_render(struct rk_buf *md, struct rk_buf *html, const json_t *incident,
    const json_t *verification, const json_t *changes, struct rk_bytes timeline,
    struct rk_err *err)
{
	int r;

	if ((r = summary(md, html, incident, err)) != 0 ||
	    (r = units(md, html, incident, err)) != 0 ||
	    (r = timeline_table(md, html, timeline, err)) != 0 ||
	    (r = revocations(md, html, incident, err)) != 0 ||
	    (r = changes_table(md, html, changes, err)) != 0 ||
	    (r = verification_table(md, html, verification, err)) != 0 ||
	    (r = still_open(md, html, incident, changes, err)) != 0)
		return r;
	return rk_buf_append_str(html, "</body></html>\n", err);
}
