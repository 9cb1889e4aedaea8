/*
 * The actions on database services: record what each serves before the change, reload
 * without a restart and wait until the new certificate is what is served, verify as a
 * client with full verification, and prove what must no longer work. A reload is judged by
 * what is served, never by what the server answers: PostgreSQL's pg_reload_conf() returns
 * true even when it kept the old files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action_int.h"
#include "rekey/chain.h"
#include "rekey/cert.h"
#include "rekey/hostfile.h"
#include "rekey/probe.h"
#include "rekey/verdict.h"

static size_t
service_index(const struct rk_run_ctx *ctx, const struct rk_service *svc)
{
	return (size_t)(svc - ctx->m->services);
}

static int
timeout_ms(const struct rk_service *svc)
{
	return (svc->host != NULL ? svc->host->timeout : 10) * 1000;
}

/* The fingerprint of the certificate this run issued for c. */
static int
issued_fingerprint(char out[RK_FINGERPRINT_LEN], struct rk_run_ctx *ctx,
    const struct rk_certificate *c, struct rk_err *err)
{
	char *cert_path = NULL, *key_path = NULL;
	struct rk_cert *cert = NULL;
	int r;

	if ((r = ctx_cert_paths(&cert_path, &key_path, ctx, c, err)) == 0 &&
	    (r = rk_cert_load_file(&cert, cert_path, err)) == 0)
		rk_cert_fingerprint(out, cert);
	rk_cert_free(cert);
	free(cert_path);
	free(key_path);
	return r;
}

/* ---- probe ------------------------------------------------------------------------------- */

int
svc_ask_reload(bool *may, char *grant, size_t grant_size, const char **statement,
    struct rk_run_ctx *ctx, const struct rk_service *svc, struct rk_err *err)
{
	const struct rk_service_ops *ops = ctx->setup.service_ops(svc);
	struct svc_login login;
	char *trust = NULL;
	int r;

	*may = false;
	if (ops->check_reload_privilege == NULL)
		return rk_fail(err, RK_E_INTERNAL, "%s: the %s backend cannot ask for the reload "
		    "privilege", svc->name, ops->name);
	if ((r = ctx_old_trust(&trust, ctx, err)) != 0)
		return r;
	/* The login borrows the trust file's name. */
	if ((r = svc_login_open(&login, ctx, svc, trust, NULL, err)) == 0) {
		r = ops->check_reload_privilege(may, grant, grant_size, statement, &login.login,
		    err);
		svc_login_clear(&login);
	}
	free(trust);
	return r;
}

/* Preflight: a run that could not reload stops before it changes anything. */
static int
may_reload(struct rk_run_ctx *ctx, const struct rk_service *svc, struct rk_err *err)
{
	const char *statement = NULL;
	char grant[RK_GRANT_MAX] = "";
	bool may;
	int r;

	if ((r = svc_ask_reload(&may, grant, sizeof(grant), &statement, ctx, svc, err)) == 0 &&
	    !may)
		r = rk_fail(err, RK_E_REMOTE, "%s: %s may not run %s, so the run could not "
		    "reload it: nothing was changed (as an administrator: %s)", svc->name,
		    svc->connect.user, statement != NULL ? statement : "the reload", grant);
	return r;
}

/*
 * Under rotate: intermediate, the leaf served before is kept (dir/served/NAME.crt): the proof
 * that a client refuses it once its issuer is revoked is made on it. Kept once, so a probe
 * run again after the swap does not take the new leaf for the old.
 */
static int
keep_served_leaf(struct rk_run_ctx *ctx, const struct rk_service *svc,
    const struct rk_probe_result *p, struct rk_err *err)
{
	struct rk_bytes der = { p->leaf_der, p->leaf_der_len };
	struct rk_cert *leaf = NULL;
	char *path = NULL;
	int r;

	if (ctx->m->ca.rotate != RK_ROTATE_INTERMEDIATE || p->leaf_der_len == 0)
		return 0;
	if ((r = ctx_served_leaf_path(&path, ctx, svc, err)) != 0)
		return r;
	if (access(path, F_OK) != 0 && (r = rk_cert_load(&leaf, der, svc->name, err)) == 0)
		r = rk_cert_write_file(path, leaf, err);
	rk_cert_free(leaf);
	free(path);
	return r;
}

static int
probe_service(void *arg, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	struct rk_served *served = &ctx->served[service_index(ctx, s->service)];
	struct rk_probe_request req;
	struct rk_probe_result *p;
	char days[32];
	int r;

	/* The leaf's DER makes the result large for a lane's stack. */
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return rk_fail_nomem(err);
	rk_verdict_probe_request(&req, s->service, NULL, NULL);
	if ((r = rk_probe(p, &req, err)) != 0) {
		rk_err_prefix(err, "%s", s->service->name);
		goto out;
	}
	snprintf(served->before, sizeof(served->before), "%s", p->fingerprint);
	if ((r = keep_served_leaf(ctx, s->service, p, err)) != 0)
		goto out;
	/* A rehearsal asks at its reload row, where the no-go belongs. */
	if (ctx->rh == NULL && rk_plan_asks_reload_privilege(ctx->plan, s->service) &&
	    (r = may_reload(ctx, s->service, err)) != 0)
		goto out;
	snprintf(days, sizeof(days), "%ld", rk_days_left_until(p->not_after, time(NULL)));
	if ((r = rk_step_result_out(res, "fingerprint", p->fingerprint, err)) == 0 &&
	    (r = rk_step_result_out(res, "serial", p->serial, err)) == 0 &&
	    (r = rk_step_result_out(res, "issuer", p->issuer, err)) == 0)
		r = rk_step_result_out(res, "days_left", days, err);
 out:
	free(p);
	return r;
}

static void
probe_recall(void *arg, const struct rk_step *s, const struct rk_kv *out, size_t nout)
{
	struct rk_run_ctx *ctx = arg;
	const char *fp = rk_kv_get(out, nout, "fingerprint");

	if (fp != NULL)
		snprintf(ctx->served[service_index(ctx, s->service)].before,
		    sizeof(ctx->served[0].before), "%s", fp);
}

/* ---- reload ------------------------------------------------------------------------------ */

/* Makes the server read its files again: its SQL statement, or the playbook's command. */
static int
reload_now(struct rk_run_ctx *ctx, const struct rk_service *svc, const char **what,
    struct rk_err *err)
{
	struct rk_command_outcome outcome;
	struct rk_transport *t;
	struct svc_login login;
	char *trust = NULL;
	int r;

	*what = svc->reload.command;
	if (svc->reload.kind == RK_RELOAD_COMMAND) {
		if ((r = ctx_transport(&t, ctx, svc->host, err)) != 0 ||
		    (r = rk_run_host_command(&outcome, t, svc->reload.command, err)) != 0)
			return r;
		if (outcome.exit_status != 0)
			return rk_fail(err, RK_E_REMOTE, "%s: reload command: exit %d%s%s",
			    svc->name, outcome.exit_status, outcome.summary[0] != '\0' ? ": " : "",
			    outcome.summary);
		return 0;
	}
	/* Mid-change the server may serve either CA's certificate, and the CRL just signed
	 * may list the one it serves now (a leaked key): rekey's own login trusts both CAs
	 * and checks no CRL. Clients are verified strictly afterwards. */
	if ((r = ctx_any_trust(&trust, ctx, err)) != 0)
		return r;
	if ((r = svc_login_open(&login, ctx, svc, trust, NULL, err)) == 0) {
		r = ctx->setup.service_ops(svc)->reload_tls(&login.login, what, err);
		svc_login_clear(&login);
	}
	free(trust);
	return r;
}

/* Probes until want is served; an empty want only waits until the server answers. */
static int
wait_served(struct rk_probe_result *p, const struct rk_service *svc, const char *want,
    struct rk_err *err)
{
	struct rk_probe_request req;

	rk_verdict_probe_request(&req, svc, NULL, NULL);
	if (want[0] == '\0')
		return rk_probe(p, &req, err);
	return rk_probe_wait_for_fingerprint(p, &req, want, timeout_ms(svc), err);
}

/* Whether a line of a server's log speaks of its TLS files. */
static bool
log_line_matters(const char *line)
{
	static const char *const words[] = { "private key", "certificate", "SSL configuration",
	    "could not", "FATAL", NULL };
	size_t i;

	/* Every TLS login is logged with "SSL enabled": that is not the news. */
	if (strstr(line, "connection authorized") != NULL ||
	    strstr(line, "connection received") != NULL)
		return false;
	for (i = 0; words[i] != NULL; i++)
		if (strstr(line, words[i]) != NULL)
			return true;
	return false;
}

#define LOG_LINES_QUOTED	3

/*
 * When a reload was not taken, the server says why in its log ("private key file ... has
 * group or world access"): the last lines of it about TLS, read through the transport,
 * appended to err's message.
 */
static void
quote_server_log(struct rk_run_ctx *ctx, const struct rk_service *svc, struct rk_err *err)
{
	const char *const argv[] = { "tail", "-n", "200", "--", svc->log, NULL };
	const char *kept[LOG_LINES_QUOTED];
	char quoted[sizeof(err->msg)] = "", *line, *save = NULL;
	struct rk_err ignored = { 0 };
	struct rk_transport *t;
	struct rk_run_result run;
	size_t n = 0, i, used;

	if (svc->log == NULL || ctx_transport(&t, ctx, svc->host, &ignored) != 0)
		return;
	rk_run_result_init(&run);
	if (t->ops->run(&run, t, argv, svc->host->sudo, &ignored) != 0 || run.exit_status != 0 ||
	    run.out.ptr == NULL)
		goto out;
	for (line = strtok_r((char *)run.out.ptr, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (!log_line_matters(line))
			continue;
		if (n == LOG_LINES_QUOTED) {
			memmove(kept, kept + 1, sizeof(kept[0]) * (LOG_LINES_QUOTED - 1));
			n--;
		}
		kept[n++] = line;
	}
	for (i = 0; i < n; i++) {
		used = strlen(quoted);
		snprintf(quoted + used, sizeof(quoted) - used, "%s\"%.160s\"", i > 0 ? " | " : "",
		    kept[i]);
	}
	if (n > 0) {
		/* The server's own words replace the guess at them. */
		char *hint = strstr(err->msg, " (PostgreSQL keeps");

		if (hint != NULL)
			*hint = '\0';
		used = strlen(err->msg);
		snprintf(err->msg + used, sizeof(err->msg) - used, "; its log says: %s", quoted);
	}
 out:
	rk_run_result_clear(&run);
}

static int
reload_service(void *arg, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	const struct rk_service *svc = s->service;
	struct rk_served *served = &ctx->served[service_index(ctx, svc)];
	char want[RK_FINGERPRINT_LEN] = "", before[RK_FINGERPRINT_LEN];
	struct rk_probe_result *p;
	const char *what = NULL;
	int r;

	/*
	 * What a rollback's reload must bring back: every file is put back before any reload is
	 * undone (RK_UNDO_CONTENT ranks first), so each reload of the service, the retire
	 * phase's too, then serves what it served before the run.
	 */
	snprintf(before, sizeof(before), "%s", served->before[0] != '\0' ? served->before :
	    served->after);
	if (before[0] != '\0' && (r = rk_step_result_undo(res, "fingerprint", before, err)) != 0)
		return r;
	if (s->phase == RK_PHASE_RELOAD && svc->certificate != NULL &&
	    (r = issued_fingerprint(want, ctx, svc->certificate, err)) != 0)
		return r;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return rk_fail_nomem(err);
	if ((r = reload_now(ctx, svc, &what, err)) != 0)
		goto out;
	if ((r = wait_served(p, svc, want, err)) != 0) {
		rk_err_prefix(err, "%s: after %s", svc->name, what != NULL ? what : "the reload");
		quote_server_log(ctx, svc, err);
		goto out;
	}
	snprintf(served->after, sizeof(served->after), "%s", p->fingerprint);
	if ((r = rk_step_result_out(res, "reload", what != NULL ? what : "?", err)) == 0)
		r = rk_step_result_out(res, "fingerprint", p->fingerprint, err);
 out:
	free(p);
	return r;
}

/* After the files were put back: reload, and wait until the old certificate is served. */
static int
reload_again(void *arg, const struct rk_step *s, const struct rk_kv *undo, size_t nundo,
    const struct rk_kv *out, size_t nout, struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	const char *want = rk_kv_get(undo, nundo, "fingerprint"), *what = NULL;
	struct rk_probe_result *p;
	int r;

	(void)out;
	(void)nout;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return rk_fail_nomem(err);
	if ((r = reload_now(ctx, s->service, &what, err)) == 0 &&
	    (r = wait_served(p, s->service, want != NULL ? want : "", err)) == 0)
		snprintf(ctx->served[service_index(ctx, s->service)].after,
		    sizeof(ctx->served[0].after), "%s", p->fingerprint);
	free(p);
	return r;
}

/* ---- verify ------------------------------------------------------------------------------ */

static int
verify_service(void *arg, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	const struct rk_service *svc = s->service;
	struct rk_served *served = &ctx->served[service_index(ctx, svc)];
	struct rk_verdict_request req = { svc, ctx->setup.service_ops(svc), NULL, NULL, NULL,
	    NULL, NULL, false };
	char want[RK_FINGERPRINT_LEN] = "", subject[256];
	char *trust = NULL, *crl = NULL, *cert = NULL, *key = NULL;
	const struct rk_signing_ca *issuer;
	struct rk_verdict *v;
	int r;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return rk_fail_nomem(err);
	if ((r = ctx_final_trust(&trust, ctx, err)) != 0 || (r = ctx_crl_file(&crl, ctx,
	    err)) != 0)
		goto out;
	if (svc->connect.certificate != NULL && (r = ctx_cert_paths(&cert, &key, ctx,
	    svc->connect.certificate, err)) != 0)
		goto out;
	if (s->certificate != NULL && (r = issued_fingerprint(want, ctx, s->certificate,
	    err)) != 0)
		goto out;
	/* The CA the leaf must name as issuer: the first of the trust is the root under an
	 * intermediate. */
	if ((r = ctx_issuing_ca(&issuer, ctx, err)) != 0)
		goto out;
	if (rk_cert_subject(subject, sizeof(subject), issuer->cert) < 0)
		subject[0] = '\0';
	req.expect_intermediates = rk_model_leaves_have_intermediates(ctx->m);
	req.ca_file = trust;
	req.crl_file = crl;
	req.ca_subject = subject;
	req.cert_file = cert;
	req.key_file = key;
	rk_verdict_check(v, &req);
	if (v->reached) {
		snprintf(served->after, sizeof(served->after), "%s", v->probe.fingerprint);
		snprintf(served->protocol, sizeof(served->protocol), "%s", v->probe.protocol);
	}
	if (!v->ok) {
		r = rk_fail(err, RK_E_REMOTE, "%s: %s%s%s", svc->name, v->problems,
		    v->error[0] != '\0' ? ": " : "", v->error);
		goto out;
	}
	if (want[0] != '\0' && strcmp(v->probe.fingerprint, want) != 0) {
		r = rk_fail(err, RK_E_REMOTE, "%s serves %.23s..., not the certificate just issued "
		    "(%.23s...)", svc->name, v->probe.fingerprint, want);
		goto out;
	}
	if ((r = rk_step_result_out(res, "fingerprint", v->probe.fingerprint, err)) == 0 &&
	    (r = rk_step_result_out(res, "protocol", v->probe.protocol, err)) == 0)
		r = rk_step_result_out(res, "cipher", v->probe.cipher, err);
 out:
	free(v);
	free(trust);
	free(crl);
	free(cert);
	free(key);
	return r;
}

/* ---- check-refused ------------------------------------------------------------------------ */

static int
old_cert_gone(struct rk_run_ctx *ctx, const struct rk_service *svc, struct rk_step_result *res,
    struct rk_err *err)
{
	const char *before = ctx->served[service_index(ctx, svc)].before;
	struct rk_probe_request req;
	struct rk_probe_result *p;
	int r;

	if (before[0] == '\0')
		return rk_fail(err, RK_E_INTERNAL, "%s: what it served before is not known",
		    svc->name);
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return rk_fail_nomem(err);
	rk_verdict_probe_request(&req, svc, NULL, NULL);
	if ((r = rk_probe(p, &req, err)) == 0) {
		if (strcmp(p->fingerprint, before) == 0)
			r = rk_fail(err, RK_E_REMOTE, "%s still serves the old certificate %.23s...",
			    svc->name, before);
		else
			r = rk_step_result_out(res, "old_fingerprint", before, err);
	}
	free(p);
	return r;
}

static int
old_tls_refused(const struct rk_service *svc, struct rk_err *err)
{
	struct rk_probe_request req;
	bool refused = false;
	int r;

	rk_verdict_probe_request(&req, svc, NULL, NULL);
	if ((r = rk_probe_refuses_older_than(&refused, &req,
	    rk_probe_version_of(svc->verify.min_tls), err)) != 0)
		return r;
	if (!refused)
		return rk_fail(err, RK_E_REMOTE, "%s accepts a handshake older than %s", svc->name,
		    rk_tls_version_name(svc->verify.min_tls));
	return 0;
}

static int
old_ca_untrusted(struct rk_run_ctx *ctx, const struct rk_service *svc,
    struct rk_step_result *res, struct rk_err *err)
{
	struct rk_probe_request req;
	struct rk_probe_result *p;
	int r;

	char *old = NULL;

	if ((r = ctx_old_trust(&old, ctx, err)) != 0)
		return r;
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		free(old);
		return rk_fail_nomem(err);
	}
	rk_verdict_probe_request(&req, svc, old, NULL);
	if ((r = rk_probe(p, &req, err)) == 0) {
		if (p->chain_ok)
			r = rk_fail(err, RK_E_REMOTE, "%s: a client trusting only the old CA still "
			    "verifies it", svc->name);
		else
			r = rk_step_result_out(res, "old_ca", p->chain_error, err);
	}
	free(p);
	free(old);
	return r;
}

/*
 * rotate: intermediate: the certificate the service served before, a leaf of the old
 * intermediate, verified as a client does that trusts the root and checks every link's CRL
 * against what the run distributed: OpenSSL must refuse it as revoked, at the intermediate.
 */
static int
old_issuer_refused(struct rk_run_ctx *ctx, const struct rk_service *svc,
    struct rk_step_result *res, struct rk_err *err)
{
	struct rk_chain old = { NULL, 0 };
	struct rk_cert *leaf = NULL;
	char *path = NULL, *trust = NULL, *crl = NULL, depth_text[16];
	struct rk_chain_verdict v;
	int r;

	if ((r = ctx_served_leaf_path(&path, ctx, svc, err)) != 0)
		return r;
	if (access(path, F_OK) != 0) {
		r = rk_fail(err, RK_E_INTERNAL, "%s: the certificate it served before was not "
		    "kept (%s)", svc->name, path);
		goto out;
	}
	if ((r = rk_cert_load_file(&leaf, path, err)) != 0 ||
	    (r = rk_chain_load(&old, ctx->m->ca.cert, ctx->m->ca.chain, err)) != 0 ||
	    (r = ctx_final_trust(&trust, ctx, err)) != 0 ||
	    (r = ctx_crl_file(&crl, ctx, err)) != 0)
		goto out;
	if (crl == NULL) {
		r = rk_fail(err, RK_E_INTERNAL, "no CRL was signed");
		goto out;
	}
	if ((r = rk_chain_verify_leaf(&v, leaf, old.certs, old.n - 1, trust, crl, err)) != 0)
		goto out;
	if (v.ok)
		r = rk_fail(err, RK_E_REMOTE, "%s: a client trusting the root still accepts the "
		    "certificate it served before, with the CRLs distributed", svc->name);
	else if (!v.revoked || v.depth < 1)
		r = rk_fail(err, RK_E_REMOTE, "%s: the certificate it served before is refused, "
		    "but not for its revoked issuer: %s (at depth %d)", svc->name, v.reason,
		    v.depth);
	else {
		snprintf(depth_text, sizeof(depth_text), "%d", v.depth);
		if ((r = rk_step_result_out(res, "refused", v.reason, err)) == 0)
			r = rk_step_result_out(res, "depth", depth_text, err);
	}
 out:
	rk_chain_clear(&old);
	rk_cert_free(leaf);
	free(path);
	free(trust);
	free(crl);
	return r;
}

/* Logs in as the service's clients do, with (cert, key) instead when given. */
static int
try_login(bool *accepted, char *why, size_t size, struct rk_run_ctx *ctx,
    const struct rk_service *svc, const char *cert, const char *key, bool plaintext,
    struct rk_err *err)
{
	const struct rk_service_ops *ops = ctx->setup.service_ops(svc);
	struct rk_tls_session session;
	struct rk_err refused = { 0 };
	struct svc_login login;
	char *trust = NULL, *crl = NULL;
	bool was_refused = false;
	int r;

	*accepted = false;
	if ((r = ctx_final_trust(&trust, ctx, err)) != 0 ||
	    (r = ctx_crl_file(&crl, ctx, err)) != 0 ||
	    (r = svc_login_open(&login, ctx, svc, trust, crl, err)) != 0)
		goto out;
	if (cert != NULL) {
		login.login.cert_file = cert;
		login.login.key_file = key;
	}
	if (plaintext) {
		if ((r = ops->check_plaintext_refused(&was_refused, &login.login, err)) == 0)
			*accepted = !was_refused;
	} else if (ops->check_login(&session, &login.login, &refused) == 0) {
		*accepted = true;
	} else {
		snprintf(why, size, "%s", refused.msg);
	}
	svc_login_clear(&login);
 out:
	free(trust);
	free(crl);
	return r;
}

/*
 * A login refused after the handshake (the password, pg_hba.conf, a user the certificate does
 * not map to) means the server accepted the revoked certificate for TLS: no proof at all.
 */
static bool
refused_after_handshake(const char *why)
{
	static const char *const words[] = { "password authentication failed",
	    "certificate authentication failed", "no pg_hba.conf entry", "Access denied",
	    "does not exist", NULL };
	size_t i;

	for (i = 0; words[i] != NULL; i++)
		if (strstr(why, words[i]) != NULL)
			return true;
	return false;
}

static int
revoked_client_refused(struct rk_run_ctx *ctx, const struct rk_service *svc,
    struct rk_step_result *res, struct rk_err *err)
{
	const struct rk_revoked *client = NULL;
	char why[512] = "";
	bool accepted;
	size_t i;
	int r;

	for (i = 0; i < ctx->m->nrevocations && client == NULL; i++)
		client = rk_revoked_set_client_with_key(&ctx->setup.revoked[i]);
	if (client == NULL)
		return rk_fail(err, RK_E_INTERNAL, "no revoked client certificate with its key");
	if ((r = try_login(&accepted, why, sizeof(why), ctx, svc, client->cert_path,
	    client->key_path, false, err)) != 0)
		return r;
	if (accepted)
		return rk_fail(err, RK_E_REMOTE, "%s accepts the revoked client certificate %s",
		    svc->name, client->serial);
	if (refused_after_handshake(why))
		return rk_fail(err, RK_E_REMOTE, "%s accepted the revoked client certificate %s "
		    "in the TLS handshake (does it load the CRL?); the login then failed: %.200s",
		    svc->name, client->serial, why);
	if ((r = rk_step_result_out(res, "serial", client->serial, err)) == 0)
		r = rk_step_result_out(res, "refused", why, err);
	return r;
}

static int
check_refused(void *arg, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	const struct rk_service *svc = s->service;
	char why[8] = "";
	bool accepted;
	int r;

	switch (s->refusal) {
	case RK_REFUSE_OLD_CERT:
		return old_cert_gone(ctx, svc, res, err);
	case RK_REFUSE_PLAINTEXT:
		if ((r = try_login(&accepted, why, sizeof(why), ctx, svc, NULL, NULL, true,
		    err)) != 0)
			return r;
		return accepted ? rk_fail(err, RK_E_REMOTE, "%s accepts a login without TLS",
		    svc->name) : 0;
	case RK_REFUSE_OLD_TLS:
		return old_tls_refused(svc, err);
	case RK_REFUSE_REVOKED_CLIENT:
		return revoked_client_refused(ctx, svc, res, err);
	case RK_REFUSE_OLD_CA:
		return old_ca_untrusted(ctx, svc, res, err);
	case RK_REFUSE_OLD_ISSUER:
		return old_issuer_refused(ctx, svc, res, err);
	}
	return rk_fail(err, RK_E_INTERNAL, "unknown refusal check");
}

void
act_services_rows(struct rk_action_ops *ops)
{
	ops[RK_ACT_PROBE_SERVICE].run = probe_service;
	ops[RK_ACT_PROBE_SERVICE].recall = probe_recall;
	ops[RK_ACT_RELOAD_SERVICE].run = reload_service;
	ops[RK_ACT_RELOAD_SERVICE].undo = reload_again;
	ops[RK_ACT_RELOAD_SERVICE].undo_rank = RK_UNDO_RELOAD;
	ops[RK_ACT_VERIFY_SERVICE].run = verify_service;
	ops[RK_ACT_CHECK_REFUSED].run = check_refused;
}
