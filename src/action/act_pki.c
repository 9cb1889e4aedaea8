/*
 * The actions on this machine: check the CA, make the new CA and the certificates into the
 * incident folder (and the ledger), revoke, sign the CRL, seal the folder. Everything is
 * written before any host is touched, so a resume or a retry never issues twice: a started
 * step whose files are there is done.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "action_int.h"
#include "rekey/cacheck.h"
#include "rekey/cert.h"
#include "rekey/chain.h"
#include "rekey/crl.h"
#include "rekey/digest.h"
#include "rekey/fsutil.h"
#include "rekey/ledger.h"

static int
out_time(struct rk_step_result *res, const char *key, time_t t, struct rk_err *err)
{
	char buf[32];
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ",
	    &tm) == 0)
		return rk_fail(err, RK_E_INTERNAL, "cannot format a time");
	return rk_step_result_out(res, key, buf, err);
}

/* What the journal keeps of a certificate made: never the key, only where it is. */
static int
out_cert(struct rk_step_result *res, const struct rk_cert *cert, const char *path,
    struct rk_err *err)
{
	char serial[64], fp[RK_FINGERPRINT_LEN];
	int r;

	rk_cert_serial(serial, sizeof(serial), cert);
	rk_cert_fingerprint(fp, cert);
	if ((r = rk_step_result_out(res, "serial", serial, err)) == 0 &&
	    (r = rk_step_result_out(res, "fingerprint", fp, err)) == 0 &&
	    (r = out_time(res, "not_after", rk_cert_not_after(cert), err)) == 0)
		r = rk_step_result_out(res, "path", path, err);
	return r;
}

/* ---- check-ca ------------------------------------------------------------------------- */

/* The chain as plan checked it: a resume a day later finds a link that expired since. */
static int
check_chain(const struct rk_model *m, struct rk_err *err)
{
	struct rk_chain chain = { NULL, 0 };
	size_t bad;
	int r;

	if ((r = rk_chain_load(&chain, m->ca.cert, m->ca.chain, err)) == 0 &&
	    (r = rk_chain_check(&chain, time(NULL), &bad, err)) != 0)
		rk_err_prefix(err, "%s", m->ca.chain);
	rk_chain_clear(&chain);
	return r;
}

/* rotate: intermediate: the parent opens (key and passphrase), signed ca.cert, owns its CRL. */
static int
check_parent(struct rk_run_ctx *ctx, const struct rk_signing_ca *ca, struct rk_err *err)
{
	const struct rk_ca_parent *p = &ctx->m->ca.parent;
	struct rk_ca_check how = { true, false, NULL, false };
	const struct rk_signing_ca *parent;
	struct rk_crl *crl = NULL;
	int r;

	if ((r = ctx_parent_ca(&parent, ctx, err)) != 0 ||
	    (r = rk_ca_check_cert(parent->cert, p->cert, &how, err)) != 0)
		return r;
	if (!rk_cert_is_issued_by(ca->cert, parent->cert))
		return rk_fail(err, RK_E_USAGE, "ca.parent %s did not sign ca.cert %s", p->cert,
		    ctx->m->ca.cert);
	if (p->crl != NULL && access(p->crl, F_OK) == 0) {
		if ((r = rk_crl_load_file(&crl, p->crl, err)) != 0)
			return r;
		if (!rk_crl_is_signed_by(crl, parent->cert))
			r = rk_fail(err, RK_E_USAGE, "%s is not signed by ca.parent %s", p->crl,
			    p->cert);
		rk_crl_free(crl);
	}
	return r;
}

static int
check_ca(void *arg, const struct rk_step *s, struct rk_step_result *res, struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	const struct rk_model *m = ctx->m;
	struct rk_ca_check how = { rk_model_signs_crl(m), false, NULL, false };
	const struct rk_signing_ca *ca;
	struct rk_crl *crl = NULL;
	char fp[RK_FINGERPRINT_LEN];
	int r;

	(void)s;
	if ((r = ctx_current_ca(&ca, ctx, err)) != 0 ||
	    (r = rk_ca_check_cert(ca->cert, m->ca.cert, &how, err)) != 0)
		return r;
	/* The CRL it signs next keeps every entry of this one, which must be its own. */
	if (how.signs_crls && m->ca.crl != NULL && access(m->ca.crl, F_OK) == 0) {
		if ((r = rk_crl_load_file(&crl, m->ca.crl, err)) != 0)
			return r;
		if (!rk_crl_is_signed_by(crl, ca->cert))
			r = rk_fail(err, RK_E_USAGE, "%s is not signed by the CA %s", m->ca.crl,
			    m->ca.cert);
		rk_crl_free(crl);
		if (r != 0)
			return r;
	}
	if (m->ca.chain != NULL && (r = check_chain(m, err)) != 0)
		return r;
	if (m->ca.rotate == RK_ROTATE_INTERMEDIATE && (r = check_parent(ctx, ca, err)) != 0)
		return r;
	rk_cert_fingerprint(fp, ca->cert);
	return rk_step_result_out(res, "fingerprint", fp, err);
}

/* ---- check-file ------------------------------------------------------------------------ */

static int
check_file(void *arg, const struct rk_step *s, struct rk_step_result *res, struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	size_t i = (size_t)(s->revocation - ctx->m->revocations);
	const char *why = ctx->setup.revoke_errors != NULL ? ctx->setup.revoke_errors[i] : NULL;
	char count[32];

	if (why != NULL)
		return rk_fail(err, RK_E_USAGE, "%s", why);
	snprintf(count, sizeof(count), "%zu", ctx->setup.revoked[i].n);
	return rk_step_result_out(res, "certificates", count, err);
}

/* ---- generate-ca and issue-cert --------------------------------------------------------- */

/*
 * The ledger gets the certificate once, whatever happened before (a resume). It is read on
 * the first issue of the run and written after each, so a crash loses no entry.
 */
static int
record_in_ledger(struct rk_run_ctx *ctx, const struct rk_cert *cert, const char *profile,
    struct rk_err *err)
{
	char serial[64];
	int r = 0;

	if (ctx->rh != NULL)
		return 0;	/* a rehearsal's certificates are thrown away */
	rk_cert_serial(serial, sizeof(serial), cert);
	pthread_mutex_lock(&ctx->lock);
	if (ctx->ledger == NULL)
		r = rk_ledger_open(&ctx->ledger, ctx->setup.ledger, err);
	if (r == 0 && rk_ledger_find_serial(ctx->ledger, serial) == NULL &&
	    (r = rk_ledger_add_cert(ctx->ledger, cert, profile, NULL, ctx->m->incident.id,
	    err)) == 0)
		r = rk_ledger_save(ctx->ledger, err);
	pthread_mutex_unlock(&ctx->lock);
	return r;
}

/* A pair left half-made by a crash in the middle of its commit is made again. */
static void
remove_half_pair(const char *cert, const char *key)
{
	bool has_cert = access(cert, F_OK) == 0, has_key = access(key, F_OK) == 0;

	if (has_cert != has_key)
		(void)unlink(has_cert ? cert : key);
}

/* Signs key into a certificate and writes both, all or none, key 0600 from the first byte. */
static int
make_pair(struct rk_cert **out, const struct rk_cert_spec *spec, const struct rk_key *key,
    const struct rk_signing_ca *ca, const char *cert_path, const char *key_path,
    const struct rk_secret_ref *pass_ref, struct rk_err *err)
{
	struct rk_secret pass = { NULL, 0 };
	struct rk_fileset *set = NULL;
	struct rk_cert *cert = NULL;
	int r;

	*out = NULL;
	remove_half_pair(cert_path, key_path);
	/* Self-signed: the key signs its own certificate. */
	if ((r = rk_cert_issue(&cert, spec, key, ca != NULL ? ca->cert : NULL,
	    ca != NULL ? ca->key : key, err)) != 0)
		goto out;
	/* MariaDB says only "Unable to get private key" for a key that does not match. */
	if ((r = rk_cert_check_key(cert, key, err)) != 0)
		goto out;
	if (pass_ref != NULL && (r = rk_secret_from_source(&pass, pass_ref->env, pass_ref->file,
	    err)) != 0)
		goto out;
	if ((r = rk_fileset_new(&set, err)) != 0 ||
	    (r = rk_key_stage_file(set, key_path, key, pass.ptr != NULL ? &pass : NULL,
	    err)) != 0 ||
	    (r = rk_cert_stage_file(set, cert_path, cert, err)) != 0 ||
	    (r = rk_fileset_commit(set, err)) != 0)
		goto out;
	*out = cert;
	cert = NULL;
 out:
	rk_secret_clear(&pass);
	rk_fileset_free(set);
	rk_cert_free(cert);
	return r;
}

/*
 * Resume: the certificate's files are there (the fileset made them all or none) and signed
 * by the CA that signs this run: it is done, once it is in the ledger too.
 */
static int
found_pair(bool *done, struct rk_run_ctx *ctx, const char *cert_path, const char *key_path,
    const struct rk_signing_ca *issuer, const char *profile, struct rk_step_result *res,
    struct rk_err *err)
{
	struct rk_cert *cert = NULL;
	int r;

	*done = false;
	if (access(cert_path, F_OK) != 0 || access(key_path, F_OK) != 0)
		return 0;
	if ((r = rk_cert_load_file(&cert, cert_path, err)) != 0)
		return r;
	if (issuer == NULL || rk_cert_is_issued_by(cert, issuer->cert)) {
		if ((r = record_in_ledger(ctx, cert, profile, err)) == 0 &&
		    (r = out_cert(res, cert, cert_path, err)) == 0)
			*done = true;
	}
	rk_cert_free(cert);
	return r;
}

static int
new_ca_paths(char **cert, char **key, const struct rk_run_ctx *ctx, struct rk_err *err)
{
	int r;

	*key = NULL;
	if ((r = ctx_path(cert, ctx, "ca/ca.crt", err)) == 0 &&
	    (r = ctx_path(key, ctx, "ca/ca.key", err)) != 0) {
		free(*cert);
		*cert = NULL;
	}
	return r;
}

/* Takes slot's key, signs it (ca NULL: self-signed), writes the pair and the ledger. */
static int
issue_pair(struct rk_run_ctx *ctx, const struct rk_cert_spec *spec, size_t slot,
    const struct rk_signing_ca *ca, const char *cert_path, const char *key_path,
    const struct rk_secret_ref *pass, const char *profile, struct rk_step_result *res,
    struct rk_err *err)
{
	struct rk_cert *cert = NULL;
	struct rk_key *key = NULL;
	int r;

	if ((r = ctx_take_key(&key, ctx, slot, err)) == 0 &&
	    (r = make_pair(&cert, spec, key, ca, cert_path, key_path, pass, err)) == 0 &&
	    (r = record_in_ledger(ctx, cert, profile, err)) == 0)
		r = out_cert(res, cert, cert_path, err);
	rk_cert_free(cert);
	rk_key_free(key);
	return r;
}

/*
 * The CA being replaced, kept beside the new one (ca/previous.crt): once the playbook names
 * the new CA, `rekey sweep` still knows which one is compromised.
 */
static int
keep_previous_ca(const struct rk_run_ctx *ctx, struct rk_err *err)
{
	struct rk_buf data;
	char *path = NULL;
	int r;

	rk_buf_init(&data, RK_PEM_MAX);
	if ((r = ctx_path(&path, ctx, "ca/previous.crt", err)) == 0 &&
	    access(path, F_OK) != 0 &&
	    (r = rk_file_read(&data, ctx->m->ca.cert, RK_PEM_MAX, err)) == 0)
		r = rk_file_replace(path, rk_buf_bytes(&data), 0644, err);
	rk_buf_clear(&data);
	free(path);
	return r;
}

static int
generate_ca(void *arg, const struct rk_step *s, struct rk_step_result *res, struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	const struct rk_new_ca *nc = &ctx->m->ca.new_ca;
	bool intermediate = ctx->m->ca.rotate == RK_ROTATE_INTERMEDIATE;
	/* An issuing intermediate signs leaves only: pathlen 0 keeps a stolen copy of its key
	 * from minting CAs of its own. */
	struct rk_cert_spec spec = { RK_PROFILE_CA, &nc->dn, NULL, 0, nc->days, intermediate };
	const struct rk_signing_ca *parent = NULL;
	char *cert_path = NULL, *key_path = NULL;
	int r;

	(void)s;
	if ((r = keep_previous_ca(ctx, err)) == 0 &&
	    (r = new_ca_paths(&cert_path, &key_path, ctx, err)) == 0 &&
	    (!intermediate || (r = ctx_parent_ca(&parent, ctx, err)) == 0))
		r = issue_pair(ctx, &spec, KEYGEN_NEW_CA(ctx->m), parent, cert_path, key_path,
		    NULL, "ca", res, err);
	free(cert_path);
	free(key_path);
	return r;
}

static int
generate_ca_done(bool *done, void *arg, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	char *cert_path = NULL, *key_path = NULL;
	int r;

	const struct rk_signing_ca *parent = NULL;

	(void)s;
	if ((r = new_ca_paths(&cert_path, &key_path, ctx, err)) == 0 &&
	    (ctx->m->ca.rotate != RK_ROTATE_INTERMEDIATE ||
	    (r = ctx_parent_ca(&parent, ctx, err)) == 0))
		r = found_pair(done, ctx, cert_path, key_path, parent, "ca", res, err);
	free(cert_path);
	free(key_path);
	return r;
}

static int
issue_cert(void *arg, const struct rk_step *s, struct rk_step_result *res, struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	const struct rk_certificate *c = s->certificate;
	struct rk_cert_spec spec = { c->profile, &c->dn, c->san, c->nsan, c->days, false };
	const struct rk_signing_ca *ca;
	char *cert_path = NULL, *key_path = NULL;
	int r;

	if ((r = ctx_cert_paths(&cert_path, &key_path, ctx, c, err)) == 0 &&
	    (r = ctx_issuing_ca(&ca, ctx, err)) == 0)
		r = issue_pair(ctx, &spec, (size_t)(c - ctx->m->certificates), ca, cert_path,
		    key_path, &c->key_passphrase, rk_profile_name(c->profile), res, err);
	if (r != 0)
		rk_err_prefix(err, "issue %s", c->name);
	free(cert_path);
	free(key_path);
	return r;
}

static int
issue_cert_done(bool *done, void *arg, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	const struct rk_signing_ca *ca;
	char *cert_path = NULL, *key_path = NULL;
	int r;

	if ((r = ctx_cert_paths(&cert_path, &key_path, ctx, s->certificate, err)) == 0 &&
	    (r = ctx_issuing_ca(&ca, ctx, err)) == 0)
		r = found_pair(done, ctx, cert_path, key_path, ca,
		    rk_profile_name(s->certificate->profile), res, err);
	free(cert_path);
	free(key_path);
	return r;
}

/* ---- revoke and sign-crl ---------------------------------------------------------------- */

static int
revoke_serials(void *arg, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	size_t i = (size_t)(s->revocation - ctx->m->revocations);
	const char *why = ctx->setup.revoke_errors != NULL ? ctx->setup.revoke_errors[i] : NULL;
	char *serials = NULL;
	int r;

	if (why != NULL)
		return rk_fail(err, RK_E_USAGE, "%s", why);
	if ((r = rk_revoked_set_serials(&serials, &ctx->setup.revoked[i], err)) == 0)
		r = rk_step_result_out(res, "serials", serials, err);
	free(serials);
	return r;
}

/* Every serial the incident revokes, with its revocation's reason. */
static int
crl_entries(struct rk_crl_entry **out, size_t *n, const struct rk_run_ctx *ctx,
    struct rk_err *err)
{
	const struct rk_model *m = ctx->m;
	size_t i, k, total = 0;
	time_t now = time(NULL);

	for (i = 0; i < m->nrevocations; i++)
		total += ctx->setup.revoked[i].n;
	*n = 0;
	if ((*out = calloc(total + 1, sizeof(**out))) == NULL)
		return rk_fail_nomem(err);
	for (i = 0; i < m->nrevocations; i++)
		for (k = 0; k < ctx->setup.revoked[i].n; k++) {
			struct rk_crl_entry *e = &(*out)[(*n)++];

			snprintf(e->serial, sizeof(e->serial), "%s",
			    ctx->setup.revoked[i].items[k].serial);
			e->revoked_at = now;
			e->reason = m->revocations[i].reason;
			e->has_reason = true;
		}
	return 0;
}

/* The CA's own CRL file gets the current CA's CRL; hosts get it (and the new CA's). */
static int
install_crls(struct rk_run_ctx *ctx, const struct rk_crl *current, const struct rk_crl *new_ca,
    struct rk_err *err)
{
	struct rk_buf pem, both;
	char *path = NULL, *ca_crl = NULL, *parent = NULL;
	int r;

	rk_buf_init(&pem, RK_PEM_MAX);
	rk_buf_init(&both, RK_PEM_MAX * 3);
	if ((r = rk_crl_to_pem(&pem, current, err)) != 0 ||
	    (r = rk_buf_append(&both, pem.ptr, pem.len, err)) != 0)
		goto out;
	if (new_ca != NULL) {
		struct rk_buf more;

		rk_buf_init(&more, RK_PEM_MAX);
		if ((r = rk_crl_to_pem(&more, new_ca, err)) == 0 &&
		    (r = ctx_path(&ca_crl, ctx, "ca/ca.crl", err)) == 0 &&
		    (r = rk_file_replace(ca_crl, rk_buf_bytes(&more), 0644, err)) == 0)
			r = rk_buf_append(&both, more.ptr, more.len, err);
		rk_buf_clear(&more);
		if (r != 0)
			goto out;
	}
	/* Servers check every link's CRL (CRL_CHECK_ALL): the parent's goes with them. */
	if ((r = ctx_parent_crl_file(&parent, ctx, err)) != 0)
		goto out;
	if (parent != NULL) {
		struct rk_buf more;

		if ((r = ctx_read_local(&more, parent, err)) == 0)
			r = rk_buf_append(&both, more.ptr, more.len, err);
		rk_buf_clear(&more);
		if (r != 0)
			goto out;
	}
	/* The incident's copy first: a resume that finds it finishes the CA's file from it. */
	if ((r = ctx_path(&path, ctx, "crl.pem", err)) != 0 ||
	    (r = rk_file_replace(path, rk_buf_bytes(&both), 0644, err)) != 0)
		goto out;
	/* A rehearsal signs the CRL to prove the CA can, and keeps it in its scratch folder. */
	if (ctx->rh == NULL)
		r = rk_file_replace(ctx->m->ca.crl, rk_buf_bytes(&pem), 0644, err);
 out:
	rk_buf_clear(&pem);
	rk_buf_clear(&both);
	free(path);
	free(ca_crl);
	free(parent);
	return r;
}

static int
out_crl(struct rk_step_result *res, const struct rk_crl *crl, struct rk_err *err)
{
	char number[32], count[32];
	int r;

	snprintf(number, sizeof(number), "%ld", rk_crl_number(crl));
	snprintf(count, sizeof(count), "%zu", rk_crl_count(crl));
	if ((r = rk_step_result_out(res, "crl_number", number, err)) == 0 &&
	    (r = rk_step_result_out(res, "entries", count, err)) == 0)
		r = out_time(res, "next_update", rk_crl_next_update(crl), err);
	return r;
}

static int
sign_crl(void *arg, const struct rk_step *s, struct rk_step_result *res, struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	const struct rk_model *m = ctx->m;
	const struct rk_signing_ca *ca, *new_ca = NULL;
	struct rk_crl *previous = NULL, *crl = NULL, *fresh = NULL;
	struct rk_crl_entry *entries = NULL;
	size_t n = 0;
	int r;

	(void)s;
	if ((r = ctx_current_ca(&ca, ctx, err)) != 0 ||
	    (r = crl_entries(&entries, &n, ctx, err)) != 0)
		goto out;
	if (access(m->ca.crl, F_OK) == 0 && (r = rk_crl_load_file(&previous, m->ca.crl,
	    err)) != 0)
		goto out;
	if ((r = rk_crl_build(&crl, previous, entries, n, ca->cert, ca->key, m->ca.crl_days,
	    err)) != 0)
		goto out;
	/* Servers that check client certificates against a CRL want one from every CA they
	 * trust: the new CA gets its own, empty. */
	if (m->ca.rotate && ((r = ctx_issuing_ca(&new_ca, ctx, err)) != 0 ||
	    (r = rk_crl_build(&fresh, NULL, NULL, 0, new_ca->cert, new_ca->key, m->ca.crl_days,
	    err)) != 0))
		goto out;
	if ((r = install_crls(ctx, crl, fresh, err)) == 0)
		r = out_crl(res, crl, err);
 out:
	free(entries);
	rk_crl_free(previous);
	rk_crl_free(crl);
	rk_crl_free(fresh);
	return r;
}

/* Resume: the incident's CRL holds every serial; the CA's file is brought up to it. */
static int
sign_crl_done(bool *done, void *arg, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	const struct rk_signing_ca *ca;
	struct rk_crl_entry *entries = NULL;
	struct rk_crl *crl = NULL;
	struct rk_buf pem;
	char *path = NULL;
	size_t i, n = 0;
	int r;

	(void)s;
	*done = false;
	rk_buf_init(&pem, RK_PEM_MAX);
	if ((r = ctx_path(&path, ctx, "crl.pem", err)) != 0 || access(path, F_OK) != 0)
		goto out;
	if ((r = ctx_current_ca(&ca, ctx, err)) != 0 ||
	    (r = crl_entries(&entries, &n, ctx, err)) != 0 ||
	    (r = rk_crl_load_file(&crl, path, err)) != 0)
		goto out;
	if (!rk_crl_is_signed_by(crl, ca->cert))
		goto out;
	for (i = 0; i < n; i++)
		if (!rk_crl_has_serial(crl, entries[i].serial))
			goto out;
	if ((r = rk_crl_to_pem(&pem, crl, err)) != 0 ||
	    (r = rk_file_replace(ctx->m->ca.crl, rk_buf_bytes(&pem), 0644, err)) != 0 ||
	    (r = out_crl(res, crl, err)) != 0)
		goto out;
	*done = true;
 out:
	rk_buf_clear(&pem);
	rk_crl_free(crl);
	free(entries);
	free(path);
	return r;
}

/* ---- revoke-ca ----------------------------------------------------------------------------- */

/*
 * rotate: intermediate: the old intermediate goes into the parent's CRL, every earlier entry
 * kept. The incident's copy (dir/ca/parent.crl) is written first, then ca.parent.crl (not in
 * a rehearsal), so a resume that finds the copy finishes the parent's file from it.
 */
static int
revoke_ca(void *arg, const struct rk_step *s, struct rk_step_result *res, struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	const struct rk_model *m = ctx->m;
	const struct rk_signing_ca *ca, *parent;
	struct rk_crl *previous = NULL, *crl = NULL;
	struct rk_crl_entry entry = { 0 };
	struct rk_buf pem;
	char *copy = NULL;
	int r;

	(void)s;
	rk_buf_init(&pem, RK_PEM_MAX);
	if ((r = ctx_current_ca(&ca, ctx, err)) != 0 ||
	    (r = ctx_parent_ca(&parent, ctx, err)) != 0)
		goto out;
	if (access(m->ca.parent.crl, F_OK) == 0 &&
	    (r = rk_crl_load_file(&previous, m->ca.parent.crl, err)) != 0)
		goto out;
	rk_cert_serial(entry.serial, sizeof(entry.serial), ca->cert);
	entry.revoked_at = time(NULL);
	entry.reason = RK_REASON_CA_COMPROMISE;
	entry.has_reason = true;
	if ((r = rk_crl_build(&crl, previous, &entry, 1, parent->cert, parent->key,
	    m->ca.crl_days, err)) != 0 ||
	    (r = rk_crl_to_pem(&pem, crl, err)) != 0 ||
	    (r = ctx_path(&copy, ctx, "ca/parent.crl", err)) != 0 ||
	    (r = rk_file_replace(copy, rk_buf_bytes(&pem), 0644, err)) != 0)
		goto out;
	if (ctx->rh == NULL &&
	    (r = rk_file_replace(m->ca.parent.crl, rk_buf_bytes(&pem), 0644, err)) != 0)
		goto out;
	if ((r = rk_step_result_out(res, "serial", entry.serial, err)) == 0)
		r = out_crl(res, crl, err);
 out:
	rk_buf_clear(&pem);
	rk_crl_free(previous);
	rk_crl_free(crl);
	free(copy);
	return r;
}

static int
revoke_ca_done(bool *done, void *arg, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	const struct rk_signing_ca *ca, *parent;
	struct rk_crl *crl = NULL;
	struct rk_buf pem;
	char *copy = NULL, serial[64];
	int r;

	(void)s;
	*done = false;
	rk_buf_init(&pem, RK_PEM_MAX);
	if ((r = ctx_path(&copy, ctx, "ca/parent.crl", err)) != 0 || access(copy, F_OK) != 0)
		goto out;
	if ((r = ctx_current_ca(&ca, ctx, err)) != 0 ||
	    (r = ctx_parent_ca(&parent, ctx, err)) != 0 ||
	    (r = rk_crl_load_file(&crl, copy, err)) != 0)
		goto out;
	rk_cert_serial(serial, sizeof(serial), ca->cert);
	if (!rk_crl_is_signed_by(crl, parent->cert) || !rk_crl_has_serial(crl, serial))
		goto out;
	if ((r = rk_crl_to_pem(&pem, crl, err)) != 0 ||
	    (r = rk_file_replace(ctx->m->ca.parent.crl, rk_buf_bytes(&pem), 0644, err)) != 0 ||
	    (r = rk_step_result_out(res, "serial", serial, err)) != 0 ||
	    (r = out_crl(res, crl, err)) != 0)
		goto out;
	*done = true;
 out:
	rk_buf_clear(&pem);
	rk_crl_free(crl);
	free(copy);
	return r;
}

/* ---- record ------------------------------------------------------------------------------ */

static int
manifest_line(struct rk_buf *out, const struct rk_run_ctx *ctx, const char *name,
    struct rk_err *err)
{
	char hex[RK_SHA256_HEX], *path = NULL;
	struct rk_buf data;
	int r;

	if ((r = ctx_path(&path, ctx, name, err)) != 0)
		return r;
	if (access(path, F_OK) != 0) {
		free(path);
		return 0;
	}
	if ((r = ctx_read_local(&data, path, err)) == 0 &&
	    (r = rk_sha256_hex(hex, rk_buf_bytes(&data), err)) == 0)
		r = rk_buf_printf(out, err, "%s  %s\n", hex, name);
	rk_buf_clear(&data);
	free(path);
	return r;
}

/*
 * MANIFEST.sha256 over what the run made that is public (certificates, the CRL, the new CA),
 * in `sha256sum -c` form, run from the incident folder. The archive is the next issue's.
 */
static int
write_record(void *arg, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	char name[512], *path = NULL;
	struct rk_buf text;
	size_t i;
	int r;

	(void)s;
	rk_buf_init(&text, 16 * 1024 * 1024);
	r = manifest_line(&text, ctx, "ca/ca.crt", err);
	for (i = 0; i < ctx->m->ncertificates && r == 0; i++) {
		snprintf(name, sizeof(name), "certs/%s.crt", ctx->m->certificates[i].name);
		r = manifest_line(&text, ctx, name, err);
	}
	if (r == 0)
		r = manifest_line(&text, ctx, "crl.pem", err);
	if (r == 0)
		r = manifest_line(&text, ctx, "ca/parent.crl", err);
	if (r == 0 && (r = ctx_path(&path, ctx, "MANIFEST.sha256", err)) == 0 &&
	    (r = rk_file_replace(path, rk_buf_bytes(&text), 0644, err)) == 0)
		r = rk_step_result_out(res, "manifest", path, err);
	rk_buf_clear(&text);
	free(path);
	return r;
}

void
act_pki_rows(struct rk_action_ops *ops)
{
	ops[RK_ACT_CHECK_CA].run = check_ca;
	ops[RK_ACT_CHECK_LOCAL_FILE].run = check_file;
	ops[RK_ACT_GENERATE_CA].run = generate_ca;
	ops[RK_ACT_GENERATE_CA].check_done = generate_ca_done;
	ops[RK_ACT_ISSUE_CERT].run = issue_cert;
	ops[RK_ACT_ISSUE_CERT].check_done = issue_cert_done;
	/* Revocations are settled when the run begins; a revoked certificate is never
	 * un-revoked, so neither step has an undo. */
	ops[RK_ACT_REVOKE].run = revoke_serials;
	ops[RK_ACT_SIGN_CRL].run = sign_crl;
	ops[RK_ACT_SIGN_CRL].check_done = sign_crl_done;
	ops[RK_ACT_REVOKE_CA].run = revoke_ca;
	ops[RK_ACT_REVOKE_CA].check_done = revoke_ca_done;
	ops[RK_ACT_WRITE_RECORD].run = write_record;
}
