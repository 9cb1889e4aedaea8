/*
 * `rekey verify`: every service of the playbook checked now, in parallel, as its clients see
 * it: the chain up to the CA clients trust (and the CRL when there is one), the name they
 * connect to, the TLS version against min_tls, days left, and that older handshakes are
 * refused. The seeds' "SSL health report", for the whole estate at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "rekey/actions.h"
#include "rekey/cert.h"
#include "rekey/fsutil.h"
#include "rekey/mariadb.h"
#include "rekey/postgresql.h"
#include "rekey/probe.h"
#include "rekey/service.h"
#include "rekey/strutil.h"
#include "rekey/trustset.h"
#include "rekey/verdict.h"
#include "rekey/workers.h"

/* A certificate with fewer days left is reported as a warning, not a failure. */
#define VERIFY_WARN_DAYS	14

struct job {
	const struct rk_model	*model;
	struct rk_verdict	*verdicts;
	size_t			 n;
	const char		*trust;		/* what clients trust: ca.cert, or made in dir */
	const char		*crl;		/* the CRLs clients check, or NULL */
	const struct rk_diags	*diags;		/* the playbook's warnings, for --json */
	char			 ca_subject[256];	/* of ca.cert; "" when it cannot be read */
	char			*new_ca;	/* the incident's new CA, when ca.cert is not it */
};

/*
 * A run that rotates the CA leaves the new one in the incident folder, and the playbook still
 * names the old: every server, now on the new CA, then fails for the playbook's sake, and the
 * fix is the one the run's last line gave. The new CA's path (malloc'ed), or NULL when the
 * folder holds none or ca.cert is that CA.
 */
static char *
new_ca_not_named(const struct rk_model *m)
{
	struct rk_err ignored = { 0 };
	struct rk_cert *named = NULL, *made = NULL;
	char *dir = NULL, *path = NULL;

	if (asprintf(&dir, "%s/%s", m->incident.records, m->incident.id) < 0)
		return NULL;
	if (rk_incident_file(&path, dir, "ca/ca.crt", &ignored) != 0 ||
	    !cli_file_exists(path) || rk_cert_load_file(&made, path, &ignored) != 0 ||
	    (rk_cert_load_file(&named, m->ca.cert, &ignored) == 0 && rk_cert_same(named, made))) {
		free(path);
		path = NULL;
	}
	rk_cert_free(named);
	rk_cert_free(made);
	free(dir);
	return path;
}

static const struct rk_service_ops *
ops_of(const struct rk_service *s)
{
	switch (s->kind) {
	case RK_SERVICE_POSTGRESQL:	return rk_postgresql_ops();
	case RK_SERVICE_MYSQL:		return rk_mariadb_ops();
	}
	return NULL;
}

static void
worker(void *arg, size_t i)
{
	struct job *job = arg;
	const struct rk_service *s = &job->model->services[i];
	struct rk_verdict_request req = { s, ops_of(s), job->trust, job->crl,
	    job->ca_subject, NULL, NULL, job->model->ca.chain != NULL };

	rk_verdict_check(&job->verdicts[i], &req);
}

/* Runs the checks on up to policy.max_parallel threads: each one mostly waits on a server. */
static void
run_checks(struct job *job)
{
	(void)rk_workers_run(job->n, (size_t)job->model->policy.max_parallel, worker, job);
}

static void
short_fingerprint(char *out, size_t size, const char *fp)
{
	/* The first 8 bytes identify a certificate at a glance; --json has all of it. */
	snprintf(out, size, "%.23s", fp);
}

static void
print_table(const struct job *job, bool color)
{
	const char *green = color ? "\033[32m" : "", *red = color ? "\033[31m" : "";
	const char *yellow = color ? "\033[33m" : "", *reset = color ? "\033[0m" : "";
	char where[300], fp[32], days[16];
	size_t i;

	printf("%-16s %-22s %-8s %-24s %-23s %5s  %s\n", "SERVICE", "ADDRESS", "TLS", "CIPHER",
	    "SHA-256 (start)", "DAYS", "RESULT");
	for (i = 0; i < job->n; i++) {
		const struct rk_verdict *v = &job->verdicts[i];
		bool warn = v->ok && v->days_left < VERIFY_WARN_DAYS;

		snprintf(where, sizeof(where), "%s:%d", v->service->connect.address,
		    v->service->connect.port);
		short_fingerprint(fp, sizeof(fp), v->probe.fingerprint);
		snprintf(days, sizeof(days), "%ld", v->days_left);
		printf("%-16s %-22s %-8s %-24s %-23s %5s  %s%s%s\n", v->service->name, where,
		    v->reached ? v->probe.protocol : "-", v->reached ? v->probe.cipher : "-",
		    v->reached ? fp : "-", v->reached ? days : "-",
		    v->ok ? (warn ? yellow : green) : red,
		    v->ok ? (warn ? "ok (expires soon)" : "ok") : "FAIL", reset);
		if (!v->ok) {
			/* The words are a server's or a certificate's own: escaped. */
			snprintf(where, sizeof(where), "  %s: ", v->service->name);
			cli_print_escaped(where, v->error[0] != '\0' ? v->error : v->problems);
		}
		else
			printf("  %s: %s; TLS older than %s refused%s%s%s%s\n", v->service->name,
			    rk_verdict_what_was_verified(v->service->verify.sslmode),
			    rk_tls_version_name(v->service->verify.min_tls),
			    v->login_checked ? "; login as " : "",
			    v->login_checked ? v->service->connect.user : "",
			    v->login_checked ? " verified" : "",
			    v->plaintext_checked ? "; plaintext refused" : "");
	}
	if (job->new_ca != NULL) {
		char *esc = rk_text_escape(job->new_ca);

		printf("note: incident %s made a new CA, %s, and ca.cert still names the one it "
		    "replaced: every server is judged by the old CA. Point ca.cert, ca.key and ca.crl "
		    "at the incident's ca/ca.crt, ca/ca.key and ca/ca.crl (as the run's last line "
		    "said), then verify again\n", job->model->incident.id, esc != NULL ? esc : "?");
		free(esc);
	}
}

/* Splits the probe's "DNS:x, IP:y" into f->san. */
static int
split_sans(struct cli_cert_facts *f, const char *joined)
{
	const char *s = joined, *comma;
	size_t n = 1, len;

	if (*joined == '\0')
		return 0;
	for (comma = joined; (comma = strstr(comma, ", ")) != NULL; comma += 2)
		n++;
	if ((f->san = calloc(n, sizeof(*f->san))) == NULL)
		return -1;
	while (f->nsan < n) {
		comma = strstr(s, ", ");
		len = comma != NULL ? (size_t)(comma - s) : strlen(s);
		if ((f->san[f->nsan] = strndup(s, len)) == NULL)
			return -1;
		f->nsan++;
		s += len + (comma != NULL ? 2 : 0);
	}
	return 0;
}

/*
 * The served certificate in the shape pki inspect uses (render_cert_json), from the leaf the
 * probe kept. Should that be missing (a certificate over 16 KiB), the probe's own fields
 * give what they can and the rest is null.
 */
static json_t *
served_cert_json(const struct rk_probe_result *p)
{
	struct rk_bytes der = { p->leaf_der, p->leaf_der_len };
	struct cli_cert_facts f;
	struct rk_cert *cert = NULL;
	struct rk_err err = { 0 };
	json_t *o = NULL;

	memset(&f, 0, sizeof(f));
	if (der.len > 0 && rk_cert_load(&cert, der, "served certificate", &err) == 0 &&
	    cli_cert_facts_of(&f, cert, &err) == 0) {
		o = render_cert_json(&f, time(NULL));
		goto out;
	}
	cli_cert_facts_clear(&f);
	memset(&f, 0, sizeof(f));
	snprintf(f.subject, sizeof(f.subject), "%s", p->subject);
	snprintf(f.issuer, sizeof(f.issuer), "%s", p->issuer);
	snprintf(f.serial, sizeof(f.serial), "%s", p->serial);
	snprintf(f.sha256, sizeof(f.sha256), "%s", p->fingerprint);
	f.not_before = (time_t)-1;
	f.not_after = p->not_after;
	f.ca = -1;
	if (split_sans(&f, p->sans) == 0)
		o = render_cert_json(&f, time(NULL));
 out:
	cli_cert_facts_clear(&f);
	rk_cert_free(cert);
	return o;
}

static json_t *
verdict_json(const struct rk_verdict *v)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:b}", "service", v->service->name,
	    "kind", rk_service_kind_label(v->service), "address",
	    v->service->connect.address, "port", v->service->connect.port, "ok", v->ok);

	if (o == NULL)
		return NULL;
	if (!v->reached) {
		json_object_set_new(o, "error", json_string(v->error));
		return o;
	}
	json_object_set_new(o, "tls", json_pack("{s:s, s:s}", "protocol", v->probe.protocol,
	    "cipher", v->probe.cipher));
	json_object_set_new(o, "certificate", served_cert_json(&v->probe));
	/* Only verify-full checks the name: under the other modes "name" is null, and
	 * "has_name" says whether the certificate carries it all the same. */
	json_object_set_new(o, "checks", json_pack("{s:b, s:s, s:o, s:b, s:b, s:o}",
	    "chain", v->probe.chain_ok, "chain_error", v->probe.chain_error, "name",
	    v->service->verify.sslmode == RK_SSLMODE_VERIFY_FULL ?
	    json_boolean(v->probe.name_ok) : json_null(), "has_name", v->probe.name_ok,
	    "min_tls", v->version_ok, "older_tls_refused",
	    v->old_tls_checked ? json_boolean(v->old_tls_refused) : json_null()));
	if (v->login_checked)
		json_object_set_new(o, "login", json_pack("{s:s, s:b, s:s, s:s, s:s}",
		    "user", v->service->connect.user, "ok", v->login_error[0] == '\0',
		    "error", v->login_error, "protocol", v->login.protocol, "cipher",
		    v->login.cipher));
	json_object_set_new(json_object_get(o, "checks"), "plaintext_refused",
	    v->plaintext_checked ? json_boolean(v->plaintext_refused) : json_null());
	if (!v->ok)
		json_object_set_new(o, "problems", json_string(v->problems));
	return o;
}

static int
print_json(const struct job *job)
{
	json_t *doc = json_object(), *list = json_array();
	size_t i, failed = 0;

	if (doc == NULL || list == NULL)
		goto oom;
	for (i = 0; i < job->n; i++) {
		failed += !job->verdicts[i].ok;
		if (json_array_append_new(list, verdict_json(&job->verdicts[i])) != 0)
			goto oom;
	}
	json_object_set_new(doc, "rekey_verify", json_integer(1));
	json_object_set_new(doc, "playbook", json_string(job->model->playbook));
	json_object_set_new(doc, "ca", json_string(job->model->ca.cert));
	json_object_set_new(doc, "crl", job->crl != NULL ? json_string(job->crl) : json_null());
	json_object_set_new(doc, "ok", json_boolean(failed == 0));
	json_object_set_new(doc, "new_ca", job->new_ca != NULL ? json_string(job->new_ca) :
	    json_null());
	json_object_set_new(doc, "services", list);
	json_object_set_new(doc, "warnings", cli_diags_json(job->diags, RK_SEV_WARNING));
	json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(doc);
	return RK_EXIT_OK;
 oom:
	json_decref(list);
	json_decref(doc);
	fprintf(stderr, "rekey: verify: out of memory\n");
	return RK_EXIT_FAILED;
}

static void
verify_usage(FILE *f)
{
	fprintf(f,
	    "usage: rekey verify [--json] PLAYBOOK\n"
	    "\n"
	    "Checks every service of PLAYBOOK now, in parallel (policy.max_parallel at once), as\n"
	    "its clients see it: the chain up to ca.cert (and ca.crl when it exists), the name in\n"
	    "connect.address under verify-full, the TLS version against verify.min_tls, days left,\n"
	    "and that handshakes older than min_tls are refused; with connect.user, a login with\n"
	    "full verification (password from password_env/_file, client certificate from\n"
	    "sslcert/sslkey) and, under require_tls, that a plaintext login is refused.\n"
	    "Changes nothing.\n"
	    "Exit status 1 when any check fails.\n"
	    "\n"
	    "  --json   one JSON document with every fact and check\n"
	    "  --help   this help\n");
}

int
cmd_verify(const struct rk_cli *cli, int argc, char **argv)
{
	struct cli_playbook_args args = { 0 };
	struct rk_model *model = NULL;
	struct rk_err err = { 0 };
	struct rk_diags diags;
	struct cli_trust_files files;
	struct job job;
	size_t i;
	int rc;

	if ((rc = cli_open_playbook_command(cli, argc, argv, verify_usage, &args, &diags,
	    &model)) != RK_EXIT_OK || model == NULL) {
		rk_diags_clear(&diags);
		return rc;
	}
	memset(&job, 0, sizeof(job));
	job.diags = &diags;
	job.model = model;
	job.n = model->nservices;
	memset(&files, 0, sizeof(files));
	if (job.n == 0) {
		fprintf(stderr, "rekey: verify: the playbook has no service to check\n");
		rc = RK_EXIT_USAGE;
		goto out;
	}
	if (cli_trust_files_make(&files, model, &err) != 0) {
		cli_report_error(cli, "verify", &err);
		rc = RK_EXIT_FAILED;
		goto out;
	}
	job.trust = files.trust;
	job.crl = files.crl;
	if ((job.verdicts = calloc(job.n, sizeof(*job.verdicts))) == NULL) {
		fprintf(stderr, "rekey: verify: out of memory\n");
		rc = RK_EXIT_FAILED;
		goto out;
	}
	for (i = 0; i < job.n; i++)
		job.verdicts[i].service = &model->services[i];
	rk_verdict_ca_subject(job.ca_subject, sizeof(job.ca_subject), model->ca.cert);
	/* Connector/C's global state is set up before any thread: it is not thread-safe. */
	if (rk_mariadb_global_init(&err) != 0) {
		cli_report_error(cli, "verify", &err);
		rc = RK_EXIT_FAILED;
		goto out;
	}
	run_checks(&job);
	rk_mariadb_global_cleanup();
	for (i = 0; i < job.n && job.verdicts[i].ok; i++)
		;
	if (i < job.n)
		job.new_ca = new_ca_not_named(model);
	rc = args.json ? print_json(&job) : (print_table(&job, cli->color), RK_EXIT_OK);
	for (i = 0; i < job.n && rc == RK_EXIT_OK; i++)
		if (!job.verdicts[i].ok)
			rc = RK_EXIT_FAILED;
 out:
	cli_trust_files_remove(&files);
	free(job.new_ca);
	free(job.verdicts);
	rk_model_free(model);
	rk_diags_clear(&diags);
	return rc;
}
