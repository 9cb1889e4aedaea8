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
#include <time.h>

#include "cli.h"
#include "rekey/cacheck.h"
#include "rekey/chain.h"
#include "rekey/crl.h"
#include "rekey/cert.h"
#include "rekey/fsutil.h"
#include "rekey/ledger.h"
#include "rekey/secret.h"

bool
cli_file_exists(const char *path)
{
	struct stat st;

	return path != NULL && stat(path, &st) == 0;
}

/*
 * Memory that ran out is no fault of the playbook: the diags say so once (out of memory),
 * instead of blaming a line for it.
 */
static bool
memory_ran_out(struct rk_diags *d, const struct rk_err *err)
{
	if (err->code != RK_E_NOMEM)
		return false;
	d->out_of_memory = true;
	return true;
}

/*
 * Checks a CA's certificate and key files as a run will use them; problems go on the lines
 * of cert_pos and key_pos, with label ("ca", "ca parent") in front.
 */
static bool
check_ca_files(struct rk_diags *d, const char *label, const char *cert, struct rk_pos cert_pos,
    const char *key, struct rk_pos key_pos, const struct rk_secret_ref *ref, bool signs_crls)
{
	struct rk_secret pass = { NULL, 0 };
	struct rk_ca_check how = { 0 };
	struct rk_err err = { 0 };
	enum rk_ca_file bad;
	bool ok = true;

	how.signs_crls = signs_crls;
	how.check_key = cli_file_exists(key);
	if (how.check_key && (ref->env != NULL || ref->file != NULL)) {
		if (rk_secret_from_source(&pass, ref->env, ref->file, &err) == 0) {
			how.passphrase = &pass;
		} else {
			/* Unset variables are warned about where they are named. */
			how.check_key = false;
			if (ref->env == NULL)
				rk_diags_warn(d, key_pos, "%s key %s: not checked against its "
				    "certificate: %s", label, key, err.msg);
		}
	}
	if (rk_ca_check_files(&bad, cert, key, &how, &err) != 0) {
		ok = false;
		if (memory_ran_out(d, &err))
			;
		else if (bad == RK_CA_FILE_CERT)
			rk_diags_error(d, cert_pos, "%s cert %s", label, err.msg);
		else
			rk_diags_error(d, key_pos, "%s key %s", label, err.msg);
	} else if (how.lacks_crl_sign) {
		/* Not needed by this run, but the next compromise will need a CRL. */
		rk_diags_warn(d, cert_pos, "%s cert %s: the CA may not sign CRLs (its keyUsage "
		    "lacks cRLSign): nothing it issued could be revoked", label, cert);
	}
	rk_secret_clear(&pass);
	return ok;
}

/* ca.parent: the CA above ca.cert, its key when it signs, its CRL when there is one. */
static void
check_parent(const struct rk_model *m, const struct rk_chain *chain, struct rk_diags *d)
{
	const struct rk_ca_parent *p = &m->ca.parent;
	struct rk_cert *cert = NULL;
	struct rk_crl *crl = NULL;
	struct rk_err err = { 0 };
	char subject[256];
	long left;

	if (!cli_file_exists(p->cert))
		return;
	if (rk_cert_load_file(&cert, p->cert, &err) != 0) {
		if (!memory_ran_out(d, &err))
			rk_diags_error(d, p->cert_pos, "ca parent cert %s", err.msg);
		return;
	}
	if (chain->n < 2 || !rk_cert_same(cert, chain->certs[1])) {
		if (rk_cert_subject(subject, sizeof(subject), cert) < 0)
			subject[0] = '\0';
		rk_diags_error(d, p->cert_pos, "ca parent cert %s (\"%s\") is not the issuer of "
		    "ca.cert, the first certificate of ca.chain", p->cert, subject);
		goto out;
	}
	if (p->key != NULL && !check_ca_files(d, "ca parent", p->cert, p->cert_pos, p->key,
	    p->key_pos, &p->key_passphrase, m->ca.rotate == RK_ROTATE_INTERMEDIATE))
		goto out;
	if (cli_file_exists(p->crl)) {
		if (rk_crl_load_file(&crl, p->crl, &err) != 0) {
			if (!memory_ran_out(d, &err))
				rk_diags_error(d, p->crl_pos, "ca parent crl %s", err.msg);
		} else if (!rk_crl_is_signed_by(crl, cert))
			rk_diags_error(d, p->crl_pos, "ca parent crl %s is not signed by the parent "
			    "CA %s", p->crl, p->cert);
	}
	/* A client refuses a certificate once any CA above it has expired. */
	left = rk_cert_days_left(cert, time(NULL));
	if (m->ca.rotate == RK_ROTATE_INTERMEDIATE && m->ca.has_new &&
	    m->ca.new_ca.days > left)
		rk_diags_warn(d, m->ca.new_ca.pos, "ca new: days %d outlives the parent CA, which "
		    "expires in %ld days: clients refuse the new intermediate from then on",
		    m->ca.new_ca.days, left);
 out:
	rk_crl_free(crl);
	rk_cert_free(cert);
}

/* ca.chain: each link signs the one below it, up to a root; or ca.cert is the root. */
static void
check_chain(const struct rk_model *m, struct rk_diags *d)
{
	const struct rk_ca *ca = &m->ca;
	struct rk_chain chain = { NULL, 0 };
	struct rk_err err = { 0 };
	size_t bad;

	if (ca->chain != NULL && !cli_file_exists(ca->chain))
		return;		/* warned where it is named */
	if (rk_chain_load(&chain, ca->cert, ca->chain, &err) != 0) {
		if (!memory_ran_out(d, &err))
			rk_diags_error(d, ca->chain != NULL ? ca->chain_pos : ca->cert_pos, "%s %s",
		    ca->chain != NULL ? "ca chain" : "ca cert", err.msg);
		return;
	}
	if (ca->chain != NULL && rk_cert_is_self_signed(chain.certs[0])) {
		rk_diags_error(d, ca->chain_pos, "ca chain %s: ca.cert is a root (self-signed), "
		    "so nothing is above it: drop ca.chain, or name the intermediate as ca.cert",
		    ca->chain);
		goto out;
	}
	if (rk_chain_check(&chain, time(NULL), &bad, &err) != 0) {
		if (memory_ran_out(d, &err))
			;
		else if (bad == 0 || ca->chain == NULL)
			rk_diags_error(d, ca->cert_pos, "ca cert %s: %s", ca->cert, err.msg);
		else
			rk_diags_error(d, ca->chain_pos, "ca chain %s: %s", ca->chain, err.msg);
		goto out;
	}
	if (ca->parent.present)
		check_parent(m, &chain, d);
	/* PostgreSQL and MariaDB check every link's CRL once they load one (CRL_CHECK_ALL). */
	if (chain.n > 1 && rk_model_signs_crl(m) && ca->parent.crl == NULL)
		rk_diags_warn(d, ca->chain_pos, "ca chain: servers that load a CRL, and rekey's "
		    "own checks, want the CRL of every CA of the chain: name the parent's CRL as "
		    "ca.parent.crl so it goes with ca.crl");
	else if (chain.n > 2 && rk_model_signs_crl(m))
		rk_diags_warn(d, ca->chain_pos, "ca chain: only ca.crl and ca.parent.crl are "
		    "distributed; the CRLs of the CAs above the parent are not");
 out:
	rk_chain_clear(&chain);
}

/*
 * ca.crl, when it exists: every entry of it is kept in the CRL the run signs, so it must be
 * this CA's; and the run replaces it, which it refuses to do through a symbolic link.
 */
static void
check_crl(const struct rk_model *m, struct rk_diags *d)
{
	const struct rk_ca *ca = &m->ca;
	struct rk_cert *cert = NULL;
	struct rk_crl *crl = NULL;
	struct rk_err err = { 0 };
	struct stat st;

	if (ca->crl == NULL || lstat(ca->crl, &st) != 0)
		return;		/* none yet: the run signs the first */
	if (S_ISLNK(st.st_mode) && rk_model_signs_crl(m)) {
		rk_diags_error(d, ca->crl_pos, "ca crl %s is a symbolic link: the run replaces "
		    "the CRL and does not write through a link; name the file itself", ca->crl);
		return;
	}
	if (rk_crl_load_file(&crl, ca->crl, &err) != 0) {
		if (!memory_ran_out(d, &err))
			rk_diags_error(d, ca->crl_pos, "ca crl %s", err.msg);
	} else if (rk_cert_load_file(&cert, ca->cert, &err) == 0 &&
	    !rk_crl_is_signed_by(crl, cert)) {
		rk_diags_error(d, ca->crl_pos, "ca crl %s is not signed by ca.cert %s: the CRL "
		    "the run signs keeps every entry of this one", ca->crl, ca->cert);
	}
	rk_cert_free(cert);
	rk_crl_free(crl);
}

void
cli_check_ca(const struct rk_model *m, struct rk_diags *d)
{
	/* A missing file is already a warning of its own ("preflight will fail"). */
	if (!cli_file_exists(m->ca.cert))
		return;
	if (!check_ca_files(d, "ca", m->ca.cert, m->ca.cert_pos, m->ca.key, m->ca.key_pos,
	    &m->ca.key_passphrase, rk_model_signs_crl(m)))
		return;
	check_crl(m, d);
	check_chain(m, d);
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
	    (out->facts = calloc(m->nrevocations, sizeof(*out->facts))) == NULL) {
		cli_revocations_clear(out);
		return rk_fail_nomem(err);
	}
	out->n = m->nrevocations;
	out->plan_facts.revocations = out->facts;
	/* What cannot be read now is said per revocation; the run's preflight refuses it. */
	if (cli_file_exists(m->ca.cert) && rk_cert_load_file(&ca, m->ca.cert, &ignored) != 0)
		ca = NULL;
	/* Only what the files say may be settled here: a run journals it for its resume. */
	if (ignored.code == RK_E_NOMEM) {
		r = rk_fail_nomem(err);
		goto out;
	}
	if (rk_path_dirname(&dir, m->ca.cert, err) != 0 ||
	    asprintf(&ledger_path, "%s/ledger.json", dir) < 0) {
		ledger_path = NULL;
		r = rk_fail_nomem(err);
		goto out;
	}
	rk_err_clear(&ignored);
	if (rk_ledger_open(&ledger, ledger_path, &ignored) != 0)
		ledger = NULL;
	if (ignored.code == RK_E_NOMEM) {
		r = rk_fail_nomem(err);
		goto out;
	}
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
	if (r != 0)
		cli_revocations_clear(out);	/* nothing half-resolved for the caller */
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
