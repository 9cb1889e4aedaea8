/*
 * What plan checks on this machine before anything connects: the CA's files. A server
 * certificate given as ca.cert, a junk file or another CA's key is reported on the playbook's
 * own line, with the other problems, before a run would find it in preflight.
 */
#include <errno.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rekey/cacheck.h"
#include "rekey/cert.h"
#include "rekey/fsutil.h"
#include "rekey/ledger.h"
#include "rekey/secret.h"

static bool
file_exists(const char *path)
{
	struct stat st;

	return path != NULL && stat(path, &st) == 0;
}

void
cli_check_ca(const struct rk_model *m, struct rk_diags *d)
{
	const struct rk_secret_ref *ref = &m->ca.key_passphrase;
	struct rk_secret pass = { NULL, 0 };
	struct rk_ca_check how = { 0 };
	struct rk_err err = { 0 };
	enum rk_ca_file bad;

	/* A missing file is already a warning of its own ("preflight will fail"). */
	if (!file_exists(m->ca.cert))
		return;
	how.signs_crls = rk_model_signs_crl(m);
	how.check_key = file_exists(m->ca.key);
	if (how.check_key && (ref->env != NULL || ref->file != NULL)) {
		if (rk_secret_from_source(&pass, ref->env, ref->file, &err) == 0) {
			how.passphrase = &pass;
		} else {
			/* Unset variables are warned about where they are named. */
			how.check_key = false;
			if (ref->env == NULL)
				rk_diags_warn(d, m->ca.key_pos, "ca key %s: not checked against "
				    "ca.cert: %s", m->ca.key, err.msg);
		}
	}
	if (rk_ca_check_files(&bad, m->ca.cert, m->ca.key, &how, &err) != 0) {
		if (bad == RK_CA_FILE_CERT)
			rk_diags_error(d, m->ca.cert_pos, "ca cert %s", err.msg);
		else
			rk_diags_error(d, m->ca.key_pos, "ca key %s", err.msg);
	} else if (how.lacks_crl_sign) {
		/* Not needed by this run, but the next compromise will need a CRL. */
		rk_diags_warn(d, m->ca.cert_pos, "ca cert %s: the CA may not sign CRLs (its "
		    "keyUsage lacks cRLSign): nothing it issued could be revoked", m->ca.cert);
	}
	rk_secret_clear(&pass);
}

/* Resolves one revocation into v; what goes wrong is kept as v->error, not returned. */
static int
resolve_one(struct cli_revocation_view *v, const struct rk_revocation *rev,
    const struct rk_cert *ca, const struct rk_ledger *ledger, const char *ledger_path,
    struct rk_err *err)
{
	struct rk_err why = { 0 };
	size_t found;
	int r = 0;

	switch (rev->kind) {
	case RK_REVOKE_SERIAL:
		r = rk_revoked_add_serial(&v->set, rev->value, rev->value, ledger, &why);
		break;
	case RK_REVOKE_CERT:
		r = ca == NULL ? rk_fail(&why, RK_E_USAGE, "ca.cert cannot be read") :
		    rk_revoked_add_cert_file(&v->set, rev->value, rev->value, ca, &why);
		break;
	case RK_REVOKE_FOLDER:
		r = ca == NULL ? rk_fail(&why, RK_E_USAGE, "ca.cert cannot be read") :
		    rk_revoked_add_folder(&v->set, rev->value, ca, &found, &why);
		break;
	case RK_REVOKE_CN:
		r = ledger == NULL ? rk_fail(&why, RK_E_USAGE, "the ledger %s cannot be read",
		    ledger_path) : rk_revoked_add_cn(&v->set, rev->value, ledger, ledger_path,
		    false, &found, &why);
		break;
	}
	if (r == 0)
		return 0;
	if (why.code == RK_E_NOMEM)
		return rk_fail_nomem(err);
	if ((v->error = strdup(why.msg)) == NULL)
		return rk_fail_nomem(err);
	return 0;
}

int
cli_resolve_revocations(struct cli_revocations *out, const struct rk_model *m,
    struct rk_err *err)
{
	struct rk_ledger *ledger = NULL;
	struct rk_cert *ca = NULL;
	struct rk_err ignored = { 0 };
	char *dir = NULL, *ledger_path = NULL;
	size_t i;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (m->nrevocations == 0)
		return 0;
	if ((out->views = calloc(m->nrevocations, sizeof(*out->views))) == NULL ||
	    (out->facts = calloc(m->nrevocations, sizeof(*out->facts))) == NULL)
		return rk_fail_nomem(err);
	out->n = m->nrevocations;
	out->plan_facts.revocations = out->facts;
	/* What cannot be read now is said per revocation; the run's preflight refuses it. */
	if (file_exists(m->ca.cert) && rk_cert_load_file(&ca, m->ca.cert, &ignored) != 0)
		ca = NULL;
	if (rk_path_dirname(&dir, m->ca.cert, err) != 0 ||
	    asprintf(&ledger_path, "%s/ledger.json", dir) < 0) {
		ledger_path = NULL;
		r = rk_fail_nomem(err);
		goto out;
	}
	rk_err_clear(&ignored);
	if (rk_ledger_open(&ledger, ledger_path, &ignored) != 0)
		ledger = NULL;
	for (i = 0; i < m->nrevocations && r == 0; i++) {
		r = resolve_one(&out->views[i], &m->revocations[i], ca, ledger, ledger_path, err);
		out->facts[i].resolved = out->views[i].error == NULL;
		/* Only a client whose key is at hand can be tried against the servers. */
		out->facts[i].hits_client =
		    rk_revoked_set_client_with_key(&out->views[i].set) != NULL;
	}
 out:
	rk_ledger_free(ledger);
	rk_cert_free(ca);
	free(dir);
	free(ledger_path);
	return r;
}

void
cli_revocations_clear(struct cli_revocations *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		rk_revoked_set_clear(&r->views[i].set);
		free(r->views[i].error);
	}
	free(r->views);
	free(r->facts);
	memset(r, 0, sizeof(*r));
}
