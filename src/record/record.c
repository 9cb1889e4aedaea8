/*
 * The incident record's content, gathered from what outlives the run: the journal (every
 * step's start and end, with what it produced and what undoes it, for the whole incident),
 * the playbook's bytes, the plan (to say what each step was), and the files the run made.
 * Nothing here reads a host or a server: the record says what the journal proves.
 */
#include "rekey/record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "record_int.h"
#include "rekey/archive.h"
#include "rekey/digest.h"
#include "rekey/fsutil.h"

int
rk_record_path(char **out, const struct rk_model *m, bool rehearsal, struct rk_err *err)
{
	if (asprintf(out, "%s/%s%s.tar.gz", m->incident.records, m->incident.id,
	    rehearsal ? ".rehearsal" : "") < 0) {
		*out = NULL;
		return rk_fail_nomem(err);
	}
	return 0;
}

static const struct rk_step *
step_by_id(const struct rk_plan *plan, uint32_t id)
{
	if (id >= 1 && id <= plan->nsteps && plan->steps[id - 1].id == id)
		return &plan->steps[id - 1];
	return NULL;
}

static json_t *
kv_object(const struct rk_kv *kv, size_t n)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; o != NULL && i < n; i++)
		json_object_set_new(o, kv[i].key, json_string(kv[i].value));
	return o;
}

static json_t *
string_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

/* Adds o (borrowed) as a JSON member. */
static int
add_json(struct rk_archive *a, const char *name, const json_t *o, struct rk_err *err)
{
	char *text;
	int r;

	if (o == NULL)
		return rk_fail_nomem(err);
	text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text == NULL)
		return rk_fail_nomem(err);
	r = rk_archive_add(a, name, (struct rk_bytes){ (const unsigned char *)text,
	    strlen(text) }, err);
	free(text);
	return r;
}

/* "2026-12-02T03:51:14.293Z" as milliseconds since the epoch; -1 when it is not one. */
static long long
ms_of(const char *at)
{
	struct tm tm;
	long ms = 0;
	const char *rest;
	char *end;

	memset(&tm, 0, sizeof(tm));
	if (at == NULL || (rest = strptime(at, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (rest[0] == '.') {
		errno = 0;
		ms = strtol(rest + 1, &end, 10);
		if (errno != 0 || end == rest + 1 || ms < 0 || ms > 999)
			return -1;
	}
	return (long long)timegm(&tm) * 1000 + ms;
}

static void
format_time(char *buf, size_t size, time_t t)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "?");
}

/* ---- incident.json ------------------------------------------------------------------------- */

static json_t *
units_json(const struct rk_record_input *in, const char *kind)
{
	json_t *list = json_array();
	size_t i;

	for (i = 0; list != NULL && i < in->nunits; i++) {
		const struct rk_record_unit *u = &in->units[i];
		json_t *o;

		if (strcmp(u->kind, kind) != 0)
			continue;
		o = json_pack("{s:s, s:o, s:s, s:o, s:o}", "name", u->name, "host",
		    string_or_null(u->host), "result", u->result, "error", string_or_null(u->error),
		    "undo_error", string_or_null(u->undo_error));
		if (o != NULL && strcmp(kind, "service") == 0) {
			json_object_set_new(o, "fingerprint_before",
			    string_or_null(u->fingerprint_before));
			json_object_set_new(o, "fingerprint_after",
			    string_or_null(u->fingerprint_after));
		}
		json_array_append_new(list, o);
	}
	return list;
}

static json_t *
revocations_json(const struct rk_record_input *in)
{
	const struct rk_model *m = in->model;
	json_t *list = json_array();
	char key[64];
	size_t i;

	for (i = 0; list != NULL && i < m->nrevocations; i++) {
		const char *serials;

		snprintf(key, sizeof(key), "revoke.%zu", i + 1);
		serials = rk_kv_get(in->log->facts, in->log->nfacts, key);
		json_array_append_new(list, json_pack("{s:s, s:s, s:o}", "target",
		    m->revocations[i].value, "reason", rk_reason_name(m->revocations[i].reason),
		    "serials", string_or_null(serials)));
	}
	return list;
}

/* What the run was narrowed to (`run --only-expiring`), from its journal's header. */
static json_t *
scope_json(const struct rk_journal_log *log)
{
	const char *names = rk_kv_get(log->facts, log->nfacts, "only.certificates");
	const char *window = rk_kv_get(log->facts, log->nfacts, "only.window_seconds");
	const char *crl = rk_kv_get(log->facts, log->nfacts, "only.crl");
	char text[1024];

	if (names == NULL)
		return json_string("the whole playbook");
	snprintf(text, sizeof(text), "only what ended within %ld days: %s%s",
	    window != NULL ? strtol(window, NULL, 10) / 86400 : 0L,
	    names[0] != '\0' ? names : "no certificate",
	    crl != NULL && strcmp(crl, "yes") == 0 ? "; a new CRL" : "");
	return json_string(text);
}

static json_t *
incident_json(const struct rk_record_input *in, const char *playbook_sha256)
{
	const struct rk_model *m = in->model;
	char ended[32];
	size_t i, counts[4] = { 0 };
	json_t *o;

	format_time(ended, sizeof(ended), in->ended);
	for (i = 0; i < in->log->nrecords; i++)
		if ((unsigned)in->log->records[i].state < 4)
			counts[in->log->records[i].state]++;
	o = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
	    "record", "rekey incident record", "id", m->incident.id,
	    "reason", rk_reason_name(m->incident.reason),
	    "summary", string_or_null(m->incident.summary),
	    "mode", in->rehearsal ? "rehearsal" : "live",
	    "title", in->rehearsal ? "REHEARSAL" : "LIVE",
	    "command", in->command, "operator", in->operator_name,
	    "rekey_version", in->log->version, "started", in->log->started, "ended", ended,
	    "outcome", in->outcome, "playbook_sha256", playbook_sha256);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "plan_digest", json_string(in->log->plan_digest));
	json_object_set_new(o, "scope", scope_json(in->log));
	json_object_set_new(o, "signed_by", string_or_null(in->signed_by));
	json_object_set_new(o, "steps", json_integer((json_int_t)in->plan->nsteps));
	json_object_set_new(o, "journal", json_pack("{s:I, s:I, s:I, s:I}", "started",
	    (json_int_t)counts[RK_JOURNAL_START], "done", (json_int_t)counts[RK_JOURNAL_DONE],
	    "failed", (json_int_t)counts[RK_JOURNAL_FAILED], "undone",
	    (json_int_t)counts[RK_JOURNAL_UNDONE]));
	json_object_set_new(o, "revocations", revocations_json(in));
	json_object_set_new(o, "services", units_json(in, "service"));
	json_object_set_new(o, "clients", units_json(in, "client"));
	return o;
}

/* ---- timeline.jsonl -------------------------------------------------------------------------- */

static int
timeline(struct rk_buf *out, const struct rk_record_input *in, const char *seed,
    struct rk_err *err)
{
	char prev[RK_SHA256_HEX], what[1024];
	size_t i;
	int r = 0;

	snprintf(prev, sizeof(prev), "%s", seed);
	for (i = 0; i < in->log->nrecords && r == 0; i++) {
		const struct rk_journal_record *rec = &in->log->records[i];
		const struct rk_step *s = step_by_id(in->plan, rec->step);
		json_t *o;
		char *line;

		if (s != NULL)
			rk_step_describe(what, sizeof(what), in->plan, s);
		o = json_pack("{s:s, s:I, s:s, s:I, s:s, s:s, s:I, s:o, s:s, s:o, s:o, s:o, s:o}",
		    "prev", prev, "seq", (json_int_t)rec->seq, "at", rec->at, "step",
		    (json_int_t)rec->step, "action", rec->action, "phase", rec->phase, "wave",
		    (json_int_t)rec->wave, "host", string_or_null(rec->host), "state",
		    rk_journal_state_name(rec->state), "what", s != NULL ? json_string(what) :
		    json_null(), "out", kv_object(rec->out, rec->nout), "undo",
		    kv_object(rec->undo, rec->nundo), "error", string_or_null(rec->error));
		if (o == NULL)
			return rk_fail_nomem(err);
		line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(o);
		if (line == NULL)
			return rk_fail_nomem(err);
		if ((r = rk_sha256_hex(prev, (struct rk_bytes){ (const unsigned char *)line,
		    strlen(line) }, err)) == 0)
			r = rk_buf_printf(out, err, "%s\n", line);
		free(line);
	}
	return r;
}

/* ---- certs/ ---------------------------------------------------------------------------------- */

static int
add_file_if_there(struct rk_archive *a, const char *name, const char *dir, const char *rel,
    struct rk_err *err)
{
	struct rk_buf data;
	char *path = NULL;
	int r = 0;

	if (asprintf(&path, "%s/%s", dir, rel) < 0)
		return rk_fail_nomem(err);
	if (access(path, F_OK) == 0) {
		rk_buf_init(&data, 4 * 1024 * 1024);
		if ((r = rk_file_read(&data, path, 4 * 1024 * 1024, err)) == 0)
			r = rk_archive_add(a, name, rk_buf_bytes(&data), err);
		rk_buf_clear(&data);
	}
	free(path);
	return r;
}

/* The newest DONE record of step's action for certificate c ("not_after" of issue-cert). */
static const char *
issued_not_after(const struct rk_record_input *in, const struct rk_certificate *c)
{
	size_t i;

	for (i = 0; i < in->plan->nsteps; i++) {
		const struct rk_step *s = &in->plan->steps[i];
		const struct rk_journal_record *rec;

		if (s->action == RK_ACT_ISSUE_CERT && s->certificate == c &&
		    (rec = rk_journal_log_last(in->log, s->id)) != NULL &&
		    rec->state == RK_JOURNAL_DONE)
			return rk_kv_get(rec->out, rec->nout, "not_after");
	}
	return NULL;
}

static int
add_certs(struct rk_archive *a, const struct rk_record_input *in, struct rk_err *err)
{
	const struct rk_model *m = in->model;
	char name[300], rel[300];
	struct rk_buf tsv;
	size_t i, k;
	int r;

	/* The parent's CRL is in crl.pem too; apart, an auditor reads the old intermediate's
	 * revocation without sorting the CRLs out. */
	if ((r = add_file_if_there(a, "certs/new-ca.crt", in->dir, "ca/ca.crt", err)) != 0 ||
	    (r = add_file_if_there(a, "certs/crl.pem", in->dir, "crl.pem", err)) != 0 ||
	    (r = add_file_if_there(a, "certs/parent.crl", in->dir, "ca/parent.crl", err)) != 0)
		return r;
	for (i = 0; i < m->ncertificates && r == 0; i++) {
		snprintf(name, sizeof(name), "certs/%s.crt", m->certificates[i].name);
		snprintf(rel, sizeof(rel), "certs/%s.crt", m->certificates[i].name);
		r = add_file_if_there(a, name, in->dir, rel, err);
	}
	if (r != 0)
		return r;
	rk_buf_init(&tsv, 1024 * 1024);
	r = rk_buf_append_str(&tsv, "service\told_fingerprint\tnew_fingerprint\tnot_after\n",
	    err);
	for (i = 0; i < m->nservices && r == 0; i++) {
		const struct rk_service *svc = &m->services[i];
		const char *before = "-", *after = "-", *until = NULL;

		for (k = 0; k < in->nunits; k++)
			if (strcmp(in->units[k].kind, "service") == 0 &&
			    strcmp(in->units[k].name, svc->name) == 0) {
				if (in->units[k].fingerprint_before != NULL &&
				    in->units[k].fingerprint_before[0] != '\0')
					before = in->units[k].fingerprint_before;
				if (in->units[k].fingerprint_after != NULL &&
				    in->units[k].fingerprint_after[0] != '\0')
					after = in->units[k].fingerprint_after;
			}
		if (svc->certificate != NULL)
			until = issued_not_after(in, svc->certificate);
		r = rk_buf_printf(&tsv, err, "%s\t%s\t%s\t%s\n", svc->name, before, after,
		    until != NULL ? until : "-");
	}
	if (r == 0)
		r = rk_archive_add(a, "certs/fingerprints.tsv", rk_buf_bytes(&tsv), err);
	rk_buf_clear(&tsv);
	return r;
}

/* ---- changes/ --------------------------------------------------------------------------------- */

static bool
changes_a_file(const struct rk_step *s)
{
	return s->action == RK_ACT_PUSH_FILE || s->action == RK_ACT_EDIT_CLIENT_CONFIG;
}

static int
add_changes(struct rk_archive *a, const struct rk_record_input *in, json_t *all,
    struct rk_err *err)
{
	const struct rk_model *m = in->model;
	char name[160];
	size_t h, i;
	int r = 0;

	for (h = 0; h < m->nhosts && r == 0; h++) {
		json_t *list = json_array();

		for (i = 0; list != NULL && i < in->plan->nsteps; i++) {
			const struct rk_step *s = &in->plan->steps[i];
			const struct rk_journal_record *rec, *done = NULL;
			size_t k;

			if (s->host != &m->hosts[h] || !changes_a_file(s))
				continue;
			for (k = 0; k < in->log->nrecords; k++) {
				rec = &in->log->records[k];
				if (rec->step == s->id && rec->state == RK_JOURNAL_DONE)
					done = rec;
			}
			rec = rk_journal_log_last(in->log, s->id);
			if (done == NULL)
				continue;
			json_array_append_new(list, json_pack("{s:I, s:s, s:s, s:o, s:o, s:o, "
			    "s:o, s:o, s:o, s:o, s:s}", "step", (json_int_t)s->id, "action",
			    rk_action_name(s->action), "path", s->file != NULL ? s->file->path :
			    s->client->path, "sha256", string_or_null(rk_kv_get(done->out,
			    done->nout, "sha256")), "old_sha256", string_or_null(rk_kv_get(
			    done->undo, done->nundo, "old_sha256")), "existed", string_or_null(
			    rk_kv_get(done->undo, done->nundo, "existed")), "mode", string_or_null(
			    rk_kv_get(done->undo, done->nundo, "mode")), "owner", string_or_null(
			    rk_kv_get(done->undo, done->nundo, "owner")), "group", string_or_null(
			    rk_kv_get(done->undo, done->nundo, "group")), "backup", string_or_null(
			    rk_kv_get(done->undo, done->nundo, "backup")), "state",
			    rec != NULL && rec->state == RK_JOURNAL_UNDONE ? "undone" : "in place"));
		}
		if (list == NULL)
			return rk_fail_nomem(err);
		if (json_array_size(list) == 0) {
			json_decref(list);
			continue;
		}
		json_object_set(all, m->hosts[h].name, list);
		snprintf(name, sizeof(name), "changes/%s.json", m->hosts[h].name);
		r = add_json(a, name, list, err);
		json_decref(list);
	}
	/* Each client edit's diff, secrets masked, as the run (or rehearsal) worked it out. */
	for (i = 0; i < m->nclients && r == 0; i++) {
		char rel[200];

		snprintf(name, sizeof(name), "changes/%s/%s.diff", m->clients[i].host != NULL ?
		    m->clients[i].host->name : "-", m->clients[i].name);
		snprintf(rel, sizeof(rel), "diffs/%s.diff", m->clients[i].name);
		r = add_file_if_there(a, name, in->dir, rel, err);
	}
	return r;
}

/* ---- verification.json ------------------------------------------------------------------------ */

static bool
verifies(const struct rk_step *s)
{
	return s->action == RK_ACT_VERIFY_SERVICE || s->action == RK_ACT_CHECK_REFUSED ||
	    s->action == RK_ACT_PROBE_SERVICE || s->action == RK_ACT_RUN_CLIENT_VERIFY;
}

static json_t *
verification_json(const struct rk_record_input *in)
{
	json_t *list = json_array();
	char endpoint[320];
	size_t i, k;

	for (i = 0; list != NULL && i < in->plan->nsteps; i++) {
		const struct rk_step *s = &in->plan->steps[i];
		const struct rk_journal_record *rec, *start = NULL, *end = NULL;
		long long latency = -1;
		json_t *o;

		if (!verifies(s))
			continue;
		for (k = 0; k < in->log->nrecords; k++) {
			rec = &in->log->records[k];
			if (rec->step != s->id)
				continue;
			if (rec->state == RK_JOURNAL_START)
				start = rec;
			else if (rec->state == RK_JOURNAL_DONE || rec->state == RK_JOURNAL_FAILED)
				end = rec;
		}
		if (start != NULL && end != NULL && ms_of(start->at) >= 0 && ms_of(end->at) >= 0)
			latency = ms_of(end->at) - ms_of(start->at);
		if (s->service != NULL)
			snprintf(endpoint, sizeof(endpoint), "%s:%d", s->service->connect.address,
			    s->service->connect.port);
		else
			snprintf(endpoint, sizeof(endpoint), "%s", s->host != NULL ?
			    s->host->name : "-");
		o = json_pack("{s:I, s:s, s:o, s:o, s:s, s:s}", "step", (json_int_t)s->id,
		    "check", s->action == RK_ACT_CHECK_REFUSED ? rk_refusal_name(s->refusal) :
		    rk_action_name(s->action), "service", s->service != NULL ?
		    json_string(s->service->name) : json_null(), "client", s->client != NULL ?
		    json_string(s->client->name) : json_null(), "endpoint", endpoint, "result",
		    end == NULL ? "not made" : end->state == RK_JOURNAL_DONE ? "passed" :
		    "failed");
		if (o == NULL)
			continue;
		json_object_set_new(o, "protocol", string_or_null(end != NULL ?
		    rk_kv_get(end->out, end->nout, "protocol") : NULL));
		json_object_set_new(o, "cipher", string_or_null(end != NULL ?
		    rk_kv_get(end->out, end->nout, "cipher") : NULL));
		json_object_set_new(o, "fingerprint", string_or_null(end != NULL ?
		    rk_kv_get(end->out, end->nout, "fingerprint") : NULL));
		json_object_set_new(o, "latency_ms", latency >= 0 ? json_integer(latency) :
		    json_null());
		json_object_set_new(o, "error", string_or_null(end != NULL ? end->error : NULL));
		json_array_append_new(list, o);
	}
	return list;
}

/* ---- the archive ------------------------------------------------------------------------------ */

static int
gather(struct rk_archive *a, const struct rk_record_input *in, struct rk_err *err)
{
	char seed[RK_SHA256_HEX];
	json_t *incident = NULL, *verification = NULL, *changes = json_object();
	struct rk_buf lines, md, html;
	size_t i;
	int r;

	rk_buf_init(&lines, RK_JOURNAL_MAX * 2);
	rk_buf_init(&md, 16 * 1024 * 1024);
	rk_buf_init(&html, 16 * 1024 * 1024);
	/* A secret of a few bytes ("wrong") would match words of the record by chance. */
	for (i = 0, r = 0; i < in->nsecrets && r == 0; i++)
		if (in->secrets[i].len >= RK_RECORD_SECRET_MIN)
			r = rk_archive_forbid(a, in->secrets[i], err);
	if (r != 0 || changes == NULL ||
	    (r = rk_sha256_hex(seed, in->playbook, err)) != 0 ||
	    (r = timeline(&lines, in, seed, err)) != 0)
		goto out;
	incident = incident_json(in, seed);
	verification = verification_json(in);
	if (incident == NULL || verification == NULL) {
		r = rk_fail_nomem(err);
		goto out;
	}
	if ((r = add_json(a, "incident.json", incident, err)) != 0 ||
	    (r = rk_archive_add(a, "timeline.jsonl", rk_buf_bytes(&lines), err)) != 0 ||
	    (r = rk_archive_add(a, "playbook.yml", in->playbook, err)) != 0 ||
	    (r = add_certs(a, in, err)) != 0 ||
	    (r = add_changes(a, in, changes, err)) != 0 ||
	    (r = add_json(a, "verification.json", verification, err)) != 0)
		goto out;
	if ((r = rk_report_render(&md, &html, incident, verification, changes,
	    rk_buf_bytes(&lines), err)) != 0 ||
	    (r = rk_archive_add(a, "report.md", rk_buf_bytes(&md), err)) != 0)
		goto out;
	r = rk_archive_add(a, "report.html", rk_buf_bytes(&html), err);
 out:
	json_decref(incident);
	json_decref(verification);
	json_decref(changes);
	rk_buf_clear(&lines);
	rk_buf_clear(&md);
	rk_buf_clear(&html);
	return r;
}

int
rk_record_write(const char *path, const struct rk_record_input *in, struct rk_err *err)
{
	struct rk_archive *a = NULL;
	char folder[300];
	int r;

	snprintf(folder, sizeof(folder), "%s%s", in->model->incident.id, in->rehearsal ?
	    ".rehearsal" : "");
	if ((r = rk_archive_new(&a, folder, err)) == 0 && (r = gather(a, in, err)) == 0)
		r = rk_archive_write(a, path, in->signer, err);
	if (r != 0)
		rk_err_prefix(err, "the incident record %s", path);
	rk_archive_free(a);
	return r;
}
