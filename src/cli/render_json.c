/* The plan and certificates as JSON documents (jansson), for scripts and for review tools. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "rekey/local.h"
#include "rekey/ssh.h"
#include "rekey/strutil.h"

/* jansson's setters steal references and accept NULL values as failures; one flag
 * collects every failure so the code reads as the document it builds. */
struct jb {
	bool	failed;
};

static void
put(struct jb *jb, json_t *obj, const char *key, json_t *value)
{
	if (value == NULL || json_object_set_new(obj, key, value) != 0)
		jb->failed = true;
}

static json_t *
str_or_null(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
host_json(struct jb *jb, const struct rk_host *h)
{
	json_t *o = json_object();

	if (o == NULL) {
		jb->failed = true;
		return NULL;
	}
	put(jb, o, "name", json_string(h->name));
	put(jb, o, "transport", json_string(rk_transport_name(h->transport)));
	put(jb, o, "address", str_or_null(h->address));
	put(jb, o, "port", h->transport == RK_TRANSPORT_SSH ? json_integer(h->port) : json_null());
	put(jb, o, "user", str_or_null(h->user));
	put(jb, o, "sudo", json_boolean(h->sudo));
	put(jb, o, "jump", h->jump != NULL ? json_string(h->jump->name) : json_null());
	put(jb, o, "swap", json_string(h->transport == RK_TRANSPORT_SSH ?
	    rk_ssh_rename_method(h) : rk_local_rename_method(h)));
	return o;
}

/* {"resolved": bool, "error": string|null, "items": [{serial, profile, source}], "notes"} */
static json_t *
revocation_json(struct jb *jb, const struct rk_plan *plan, const struct cli_revocations *revs,
    const struct rk_step *s)
{
	size_t r = (size_t)(s->revocation - plan->model->revocations), i;
	const struct cli_revocation_view *v;
	json_t *items = json_array(), *notes = json_array();

	if (items == NULL || notes == NULL || r >= revs->n) {
		json_decref(items);
		json_decref(notes);
		return r >= revs->n ? json_null() : NULL;
	}
	v = &revs->views[r];
	for (i = 0; i < v->set.n; i++)
		if (json_array_append_new(items, json_pack("{s:s, s:o, s:s}", "serial",
		    v->set.items[i].serial, "profile", str_or_null(v->set.items[i].profile),
		    "source", v->set.items[i].source)) != 0)
			jb->failed = true;
	for (i = 0; i < v->set.nnotes; i++)
		if (json_array_append_new(notes, json_string(v->set.notes[i])) != 0)
			jb->failed = true;
	return json_pack("{s:b, s:o, s:o, s:o}", "resolved", v->error == NULL, "error",
	    str_or_null(v->error), "items", items, "notes", notes);
}

static json_t *
step_json(struct jb *jb, const struct rk_plan *plan, const struct cli_client_views *views,
    const struct cli_revocations *revs, const struct rk_step *s)
{
	const struct cli_client_view *v;
	char line[1024], mode[8];
	json_t *o = json_object(), *file;

	if (o == NULL) {
		jb->failed = true;
		return NULL;
	}
	rk_step_describe(line, sizeof(line), plan, s);
	put(jb, o, "id", json_integer(s->id));
	put(jb, o, "phase", json_string(rk_phase_name(s->phase)));
	put(jb, o, "wave", s->wave > 0 ? json_integer(s->wave) : json_null());
	put(jb, o, "action", json_string(rk_action_name(s->action)));
	put(jb, o, "read_only", json_boolean(rk_step_is_read_only(s)));
	if (s->action == RK_ACT_PUSH_FILE)
		put(jb, o, "source", s->source > 0 ? json_integer(s->source) : json_null());
	put(jb, o, "host", s->host != NULL ? json_string(s->host->name) : json_null());
	if (s->service != NULL)
		put(jb, o, "service", json_string(s->service->name));
	if (s->client != NULL)
		put(jb, o, "client", json_string(s->client->name));
	/* With --diff: what the edit does to the file now on the host, secrets masked. */
	if (s->action == RK_ACT_EDIT_CLIENT_CONFIG &&
	    (v = cli_client_view_of(views, plan->model, s->client)) != NULL) {
		put(jb, o, "changes_file", v->error == NULL ? json_boolean(v->changed) :
		    json_null());
		put(jb, o, "diff", v->error == NULL ? json_string(v->diff) : json_null());
		put(jb, o, "error", v->error != NULL ? json_string(v->error) : json_null());
	}
	if (s->certificate != NULL)
		put(jb, o, "certificate", json_string(s->certificate->name));
	if (s->revocation != NULL) {
		put(jb, o, "revoke", json_pack("{s:s, s:s, s:s}",
		    "by", rk_revoke_kind_name(s->revocation->kind),
		    "value", s->revocation->value,
		    "reason", rk_reason_name(s->revocation->reason)));
	}
	if (s->file != NULL) {
		snprintf(mode, sizeof(mode), "%04o", (unsigned)s->file->mode);
		file = json_pack("{s:s, s:o, s:o, s:s, s:s, s:s, s:b}",
		    "path", s->file->path,
		    "owner", str_or_null(s->file->owner),
		    "group", str_or_null(s->file->group),
		    "mode", mode,
		    "role", rk_file_role_name(s->file->role),
		    "content", rk_content_name(s->content),
		    "allow_symlink", s->file->allow_symlink);
		put(jb, o, "file", file);
	}
	if (s->action == RK_ACT_REVOKE && revs != NULL)
		put(jb, o, "serials", revocation_json(jb, plan, revs, s));
	if (s->action == RK_ACT_CHECK_REFUSED)
		put(jb, o, "check", json_string(rk_refusal_name(s->refusal)));
	put(jb, o, "description", json_string(line));
	return o;
}

json_t *
cli_diags_json(const struct rk_diags *d, enum rk_severity sev)
{
	json_t *list = json_array(), *o;
	size_t i;

	for (i = 0; list != NULL && i < d->n; i++) {
		const struct rk_diag *g = &d->items[i];

		if (g->severity != sev)
			continue;
		/* Line and column 0 mean the whole file: null, as tools expect no position. */
		o = json_pack("{s:s, s:o, s:o, s:s}", "file", d->file,
		    "line", g->pos.line > 0 ? json_integer(g->pos.line) : json_null(),
		    "column", g->pos.line > 0 ? json_integer(g->pos.col) : json_null(),
		    "message", g->msg);
		if (o == NULL || json_array_append_new(list, o) != 0) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

int
render_diags_json(FILE *f, const struct rk_diags *d)
{
	json_t *doc = json_pack("{s:o?, s:o?}", "errors", cli_diags_json(d, RK_SEV_ERROR),
	    "warnings", cli_diags_json(d, RK_SEV_WARNING));
	int r = -1;

	if (doc != NULL && json_object_size(doc) == 2 &&
	    json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0) {
		fputc('\n', f);
		r = 0;
	}
	json_decref(doc);
	if (r != 0)
		fprintf(stderr, "rekey: %s: cannot build the JSON list of problems (out of memory)\n",
		    d->file);
	return r;
}

int
render_plan_json(FILE *f, const struct rk_plan *plan, const struct cli_client_views *views,
    const struct cli_revocations *revs, const struct rk_diags *diags)
{
	const struct rk_model *m = plan->model;
	struct jb jb = { false };
	json_t *doc, *phases, *hosts, *phase = NULL, *steps = NULL;
	size_t i;
	int last = -1;

	doc = json_object();
	phases = json_array();
	hosts = json_array();
	if (doc == NULL || phases == NULL || hosts == NULL) {
		json_decref(phases);
		json_decref(hosts);
		jb.failed = true;
		goto out;
	}
	put(&jb, doc, "rekey_plan", json_integer(1));
	put(&jb, doc, "playbook", json_string(m->playbook));
	put(&jb, doc, "incident", json_pack("{s:s, s:b, s:s, s:o, s:s}",
	    "id", m->incident.id, "id_generated", m->incident.id_generated,
	    "reason", rk_reason_name(m->incident.reason),
	    "summary", str_or_null(m->incident.summary), "records", m->incident.records));
	put(&jb, doc, "ca", json_pack("{s:s, s:s, s:b, s:s, s:o, s:s, s:o, s:i}", "cert",
	    m->ca.cert, "crl", m->ca.crl != NULL ? m->ca.crl : "", "rotate",
	    m->ca.rotate != RK_ROTATE_NONE, "rotation", rk_ca_rotation_name(m->ca.rotate),
	    "chain", str_or_null(m->ca.chain), "trust", rk_trust_name(m->ca.trust),
	    "parent", str_or_null(m->ca.parent.cert), "crl_days", m->ca.crl_days));
	put(&jb, doc, "policy", json_pack("{s:i, s:i, s:s, s:b}",
	    "max_parallel", m->policy.max_parallel, "canary", m->policy.canary,
	    "on_failure", rk_on_failure_name(m->policy.on_failure),
	    "trust_overlap", m->policy.trust_overlap));
	put(&jb, doc, "digest", json_string(plan->digest));
	put(&jb, doc, "waves", json_integer(plan->nwaves));
	for (i = 0; i < m->nhosts; i++)
		if (json_array_append_new(hosts, host_json(&jb, &m->hosts[i])) != 0)
			jb.failed = true;
	put(&jb, doc, "hosts", hosts);
	/* Every phase appears, empty or not, in run order; waves repeat their phases. */
	for (i = 0; i < plan->nsteps; i++) {
		const struct rk_step *s = &plan->steps[i];

		if (steps == NULL || i == 0 || s->phase != plan->steps[i - 1].phase ||
		    s->wave != plan->steps[i - 1].wave) {
			/* A new wave starts swap, reload and verify over, as the text does. */
			if (i > 0 && s->wave != plan->steps[i - 1].wave && s->wave > 0 &&
			    last >= RK_PHASE_SWAP)
				last = RK_PHASE_SWAP - 1;
			while ((int)s->phase > last + 1) {
				last++;
				if (json_array_append_new(phases, json_pack("{s:s, s:o, s:[]}",
				    "phase", rk_phase_name((enum rk_phase)last), "wave",
				    last >= RK_PHASE_SWAP && last <= RK_PHASE_VERIFY && s->wave > 0 ?
				    json_integer(s->wave) : json_null(), "steps")) != 0)
					jb.failed = true;
			}
			if ((int)s->phase > last)
				last = (int)s->phase;
			phase = json_pack("{s:s, s:o, s:[]}", "phase", rk_phase_name(s->phase),
			    "wave", s->wave > 0 ? json_integer(s->wave) : json_null(), "steps");
			if (phase == NULL || json_array_append_new(phases, phase) != 0) {
				jb.failed = true;
				break;
			}
			steps = json_object_get(phase, "steps");
		}
		if (json_array_append_new(steps, step_json(&jb, plan, views, revs, s)) != 0)
			jb.failed = true;
	}
	while (last + 1 < RK_PHASES) {
		last++;
		if (json_array_append_new(phases, json_pack("{s:s, s:n, s:[]}", "phase",
		    rk_phase_name((enum rk_phase)last), "wave", "steps")) != 0)
			jb.failed = true;
	}
	put(&jb, doc, "phases", phases);
	put(&jb, doc, "steps", json_integer((json_int_t)plan->nsteps));
	put(&jb, doc, "warnings", cli_diags_json(diags, RK_SEV_WARNING));
 out:
	if (!jb.failed && json_dumpf(doc, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0)
		fputc('\n', f);
	else
		jb.failed = true;
	json_decref(doc);
	if (jb.failed) {
		fprintf(stderr, "rekey: plan: cannot build the JSON plan (out of memory)\n");
		return RK_EXIT_FAILED;
	}
	return RK_EXIT_OK;
}

/* ---- certificates: one shape for every command ----------------------------------------- */

void
cli_format_time(char *buf, size_t size, time_t t)
{
	struct tm tm;

	if (t == (time_t)-1 || gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "?");
}

int
cli_cert_facts_of(struct cli_cert_facts *out, const struct rk_cert *cert, struct rk_err *err)
{
	memset(out, 0, sizeof(*out));
	rk_cert_subject(out->subject, sizeof(out->subject), cert);
	rk_cert_issuer(out->issuer, sizeof(out->issuer), cert);
	rk_cert_serial(out->serial, sizeof(out->serial), cert);
	rk_cert_fingerprint(out->sha256, cert);
	rk_cert_describe_key(out->key, sizeof(out->key), cert);
	rk_cert_key_type(out->key_type, sizeof(out->key_type), cert);
	out->key_bits = rk_cert_key_size(cert);
	out->not_before = rk_cert_not_before(cert);
	out->not_after = rk_cert_not_after(cert);
	out->ca = rk_cert_is_ca(cert) ? 1 : 0;
	return rk_cert_sans(&out->san, &out->nsan, cert, err);
}

void
cli_cert_facts_clear(struct cli_cert_facts *f)
{
	if (f == NULL)
		return;
	rk_cert_sans_free(f->san, f->nsan);
	f->san = NULL;
	f->nsan = 0;
}

static json_t *
time_or_null(time_t t)
{
	char buf[32];

	if (t == (time_t)-1)
		return json_null();
	cli_format_time(buf, sizeof(buf), t);
	return json_string(buf);
}

/*
 * A string from a certificate as JSON. JSON must be UTF-8 and a certificate's strings may
 * be any bytes: those that are not UTF-8 are given escaped (rk_text_escape), so the document
 * stays valid; "" is null (not known).
 */
json_t *
cli_json_text(const char *s)
{
	json_t *v;
	char *esc;

	if (s[0] == '\0')
		return json_null();
	if (rk_utf8_is_valid((const unsigned char *)s, strlen(s), NULL))
		return json_string(s);
	if ((esc = rk_text_escape(s)) == NULL)
		return NULL;
	v = json_string(esc);
	free(esc);
	return v;
}

json_t *
render_cert_json(const struct cli_cert_facts *f, time_t now)
{
	struct jb jb = { false };
	json_t *o = json_object(), *san = json_array();
	size_t i;

	if (o == NULL || san == NULL) {
		json_decref(o);
		json_decref(san);
		return NULL;
	}
	for (i = 0; i < f->nsan; i++)
		if (json_array_append_new(san, cli_json_text(f->san[i])) != 0)
			jb.failed = true;
	put(&jb, o, "subject", cli_json_text(f->subject));
	put(&jb, o, "issuer", cli_json_text(f->issuer));
	put(&jb, o, "serial", cli_json_text(f->serial));
	put(&jb, o, "sha256", cli_json_text(f->sha256));
	put(&jb, o, "san", san);
	put(&jb, o, "not_before", time_or_null(f->not_before));
	put(&jb, o, "not_after", time_or_null(f->not_after));
	put(&jb, o, "days_left", f->not_after != (time_t)-1 ?
	    json_integer(rk_days_left_until(f->not_after, now)) : json_null());
	put(&jb, o, "key", cli_json_text(f->key));
	put(&jb, o, "key_type", cli_json_text(f->key_type));
	put(&jb, o, "key_bits", f->key_bits > 0 ? json_integer(f->key_bits) : json_null());
	put(&jb, o, "ca", f->ca >= 0 ? json_boolean(f->ca == 1) : json_null());
	if (jb.failed) {
		json_decref(o);
		return NULL;
	}
	return o;
}
