/*
 * One run's context: what the actions share, each made once and on first use. Keys are
 * generated in the background from the moment the run starts (rk_run_ctx_start_keygen), so
 * an RSA key's primes are found while the lanes connect to hosts, and an issue step only
 * waits for what is not ready yet.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "action_int.h"
#include "rekey/trustset.h"
#include "rekey/clientfile.h"
#include "rekey/envfile.h"
#include "rekey/fsutil.h"
#include "rekey/workers.h"

int
rk_incident_file(char **out, const char *dir, const char *name, struct rk_err *err)
{
	if (asprintf(out, "%s/%s", dir, name) < 0) {
		*out = NULL;
		return rk_fail_nomem(err);
	}
	return 0;
}

int
ctx_path(char **out, const struct rk_run_ctx *ctx, const char *name, struct rk_err *err)
{
	return rk_incident_file(out, ctx->dir, name, err);
}

int
ctx_cert_paths(char **cert, char **key, const struct rk_run_ctx *ctx,
    const struct rk_certificate *c, struct rk_err *err)
{
	*cert = NULL;
	*key = NULL;
	if (asprintf(cert, "%s/certs/%s.crt", ctx->dir, c->name) < 0 ||
	    asprintf(key, "%s/keys/%s.key", ctx->dir, c->name) < 0) {
		free(*cert);
		*cert = NULL;
		return rk_fail_nomem(err);
	}
	return 0;
}

/* A private folder of the incident: 0700, made when missing, refused when it is not ours. */
static int
make_private_dir(const char *path, struct rk_err *err)
{
	struct stat st;

	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		return rk_fail_errno(err, "create %s", path);
	if (lstat(path, &st) != 0)
		return rk_fail_errno(err, "stat %s", path);
	if (!S_ISDIR(st.st_mode))
		return rk_fail(err, RK_E_USAGE, "%s is not a folder", path);
	if (st.st_uid != geteuid() || (st.st_mode & 077) != 0)
		return rk_fail(err, RK_E_USAGE, "%s must be a folder of this user with mode 0700 "
		    "(it holds private keys); it is mode %04o", path, (unsigned)(st.st_mode & 07777));
	return 0;
}

int
rk_run_ctx_new(struct rk_run_ctx **out, const struct rk_run_setup *setup, struct rk_err *err)
{
	const struct rk_model *m = setup->plan->model;
	static const char *const subdirs[] = { "certs", "keys", "diffs", "ca", "served" };
	size_t nsubdirs = m->ca.rotate == RK_ROTATE_INTERMEDIATE ? 5 : m->ca.rotate ? 4 : 3;
	struct rk_run_ctx *ctx;
	char *sub = NULL;
	size_t i;
	int r;

	*out = NULL;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return rk_fail_nomem(err);
	pthread_mutex_init(&ctx->lock, NULL);
	pthread_mutex_init(&ctx->kg.lock, NULL);
	pthread_cond_init(&ctx->kg.cond, NULL);
	ctx->plan = setup->plan;
	ctx->m = m;
	ctx->setup = *setup;
	ctx->kg.model = m;
	ctx->kg.n = m->ncertificates + 1;
	ctx->kg.threads = setup->keygen_threads > 0 ? setup->keygen_threads : 1;
	if ((ctx->dir = strdup(setup->dir)) == NULL ||
	    (ctx->transports = calloc(m->nhosts + 1, sizeof(*ctx->transports))) == NULL ||
	    (ctx->served = calloc(m->nservices + 1, sizeof(*ctx->served))) == NULL ||
	    (ctx->kg.wanted = calloc(ctx->kg.n, sizeof(bool))) == NULL ||
	    (ctx->kg.ready = calloc(ctx->kg.n, sizeof(bool))) == NULL ||
	    (ctx->kg.keys = calloc(ctx->kg.n, sizeof(*ctx->kg.keys))) == NULL ||
	    (ctx->kg.errs = calloc(ctx->kg.n, sizeof(*ctx->kg.errs))) == NULL) {
		r = rk_fail_nomem(err);
		goto fail;
	}
	if ((r = make_private_dir(ctx->dir, err)) != 0)
		goto fail;
	if (setup->rehearsal && (r = rehearsal_new(&ctx->rh, setup->plan, setup, err)) != 0)
		goto fail;
	for (i = 0; i < nsubdirs; i++) {
		if ((r = ctx_path(&sub, ctx, subdirs[i], err)) != 0 ||
		    (r = make_private_dir(sub, err)) != 0)
			goto fail;
		free(sub);
		sub = NULL;
	}
	*out = ctx;
	return 0;
 fail:
	free(sub);
	rk_run_ctx_free(ctx);
	return r;
}

static void
generate_one(void *arg, size_t i)
{
	struct keygen *kg = arg;
	struct rk_key *key = NULL;
	struct rk_err err = { 0 };
	enum rk_key_type type;

	if (!kg->wanted[i])
		return;
	type = i == KEYGEN_NEW_CA(kg->model) ? kg->model->ca.new_ca.key :
	    kg->model->certificates[i].key;
	if (atomic_load(&kg->cancel))
		(void)rk_fail(&err, RK_E_INTERNAL, "the run ended before the key was made");
	else if (rk_key_generate(&key, type, &err) != 0)
		key = NULL;	/* err says why; the issue step reports it */
	pthread_mutex_lock(&kg->lock);
	kg->keys[i] = key;
	kg->errs[i] = err;
	kg->ready[i] = true;
	pthread_cond_broadcast(&kg->cond);
	pthread_mutex_unlock(&kg->lock);
}

static void *
keygen_main(void *arg)
{
	struct keygen *kg = arg;

	(void)rk_workers_run(kg->n, kg->threads, generate_one, kg);
	return NULL;
}

/* Whether a certificate's files are in the incident folder already (issued before a crash). */
static bool
already_issued(const struct rk_run_ctx *ctx, size_t slot)
{
	char *cert = NULL, *key = NULL;
	struct rk_err err = { 0 };
	bool there = false;

	if (slot == KEYGEN_NEW_CA(ctx->m)) {
		if (ctx_path(&cert, ctx, "ca/ca.crt", &err) == 0)
			there = access(cert, F_OK) == 0;
	} else if (ctx_cert_paths(&cert, &key, ctx, &ctx->m->certificates[slot], &err) == 0) {
		there = access(cert, F_OK) == 0 && access(key, F_OK) == 0;
	}
	free(cert);
	free(key);
	return there;
}

int
rk_run_ctx_start_keygen(struct rk_run_ctx *ctx, struct rk_err *err)
{
	struct keygen *kg = &ctx->kg;
	size_t i, wanted = 0;

	for (i = 0; i < kg->n; i++) {
		if (i == KEYGEN_NEW_CA(ctx->m) && !ctx->m->ca.rotate)
			continue;
		kg->wanted[i] = !already_issued(ctx, i);
		wanted += kg->wanted[i];
	}
	if (wanted == 0)
		return 0;
	if ((errno = pthread_create(&kg->thread, NULL, keygen_main, kg)) != 0)
		return rk_fail_errno(err, "start the key generators");
	kg->started = true;
	return 0;
}

int
ctx_take_key(struct rk_key **out, struct rk_run_ctx *ctx, size_t slot, struct rk_err *err)
{
	struct keygen *kg = &ctx->kg;
	int r = 0;

	*out = NULL;
	if (slot >= kg->n)
		return rk_fail(err, RK_E_INTERNAL, "no key slot %zu", slot);
	if (!kg->started || !kg->wanted[slot]) {
		/* Not asked for in the background (a resume that found files): make it now. */
		enum rk_key_type type = slot == KEYGEN_NEW_CA(ctx->m) ? ctx->m->ca.new_ca.key :
		    ctx->m->certificates[slot].key;

		return rk_key_generate(out, type, err);
	}
	pthread_mutex_lock(&kg->lock);
	while (!kg->ready[slot])
		pthread_cond_wait(&kg->cond, &kg->lock);
	if (kg->keys[slot] == NULL) {
		*err = kg->errs[slot];
		r = err->code != RK_OK ? err->code : rk_fail(err, RK_E_INTERNAL,
		    "the key was taken twice");
	}
	*out = kg->keys[slot];
	kg->keys[slot] = NULL;
	pthread_mutex_unlock(&kg->lock);
	return r;
}

void
rk_run_ctx_close_transports(struct rk_run_ctx *ctx)
{
	for (size_t i = 0; ctx != NULL && ctx->transports != NULL && i < ctx->m->nhosts; i++) {
		rk_transport_free(ctx->transports[i]);
		ctx->transports[i] = NULL;
	}
}

void
rk_run_ctx_free(struct rk_run_ctx *ctx)
{
	size_t i;

	if (ctx == NULL)
		return;
	if (ctx->kg.started) {
		atomic_store(&ctx->kg.cancel, true);
		(void)pthread_join(ctx->kg.thread, NULL);
	}
	for (i = 0; ctx->kg.keys != NULL && i < ctx->kg.n; i++)
		rk_key_free(ctx->kg.keys[i]);
	rk_run_ctx_close_transports(ctx);
	if (ctx->ca_open)
		rk_signing_ca_close(&ctx->ca);
	if (ctx->new_ca_open)
		rk_signing_ca_close(&ctx->new_ca);
	if (ctx->parent_open)
		rk_signing_ca_close(&ctx->parent);
	rk_ledger_free(ctx->ledger);
	rehearsal_free(ctx->rh);
	pthread_mutex_destroy(&ctx->lock);
	pthread_mutex_destroy(&ctx->kg.lock);
	pthread_cond_destroy(&ctx->kg.cond);
	free(ctx->kg.wanted);
	free(ctx->kg.ready);
	free(ctx->kg.keys);
	free(ctx->kg.errs);
	free(ctx->transports);
	free(ctx->served);
	free(ctx->dir);
	free(ctx);
}

const struct rk_served *
rk_run_ctx_served(const struct rk_run_ctx *ctx, size_t i)
{
	return i < ctx->m->nservices ? &ctx->served[i] : NULL;
}

int
ctx_current_ca(const struct rk_signing_ca **out, struct rk_run_ctx *ctx, struct rk_err *err)
{
	const struct rk_ca *ca = &ctx->m->ca;
	struct rk_secret pass = { NULL, 0 };
	int r = 0;

	pthread_mutex_lock(&ctx->lock);
	if (!ctx->ca_open) {
		if ((r = rk_secret_from_source(&pass, ca->key_passphrase.env,
		    ca->key_passphrase.file, err)) == 0 &&
		    (r = rk_signing_ca_open(&ctx->ca, ca->cert, ca->key,
		    pass.ptr != NULL ? &pass : NULL, err)) == 0)
			ctx->ca_open = true;
		rk_secret_clear(&pass);
	}
	pthread_mutex_unlock(&ctx->lock);
	*out = r == 0 ? &ctx->ca : NULL;
	return r;
}

int
ctx_issuing_ca(const struct rk_signing_ca **out, struct rk_run_ctx *ctx, struct rk_err *err)
{
	char *cert = NULL, *key = NULL;
	int r = 0;

	if (!ctx->m->ca.rotate)
		return ctx_current_ca(out, ctx, err);
	*out = NULL;
	pthread_mutex_lock(&ctx->lock);
	if (!ctx->new_ca_open) {
		if ((r = ctx_path(&cert, ctx, "ca/ca.crt", err)) == 0 &&
		    (r = ctx_path(&key, ctx, "ca/ca.key", err)) == 0 &&
		    (r = rk_signing_ca_open(&ctx->new_ca, cert, key, NULL, err)) == 0)
			ctx->new_ca_open = true;
		else if (r != 0)
			rk_err_prefix(err, "the new CA");
	}
	pthread_mutex_unlock(&ctx->lock);
	free(cert);
	free(key);
	*out = r == 0 ? &ctx->new_ca : NULL;
	return r;
}

int
ctx_parent_ca(const struct rk_signing_ca **out, struct rk_run_ctx *ctx, struct rk_err *err)
{
	const struct rk_ca_parent *p = &ctx->m->ca.parent;
	struct rk_secret pass = { NULL, 0 };
	int r = 0;

	*out = NULL;
	if (p->cert == NULL || p->key == NULL)
		return rk_fail(err, RK_E_INTERNAL, "no ca.parent key to sign with");
	pthread_mutex_lock(&ctx->lock);
	if (!ctx->parent_open) {
		if ((r = rk_secret_from_source(&pass, p->key_passphrase.env,
		    p->key_passphrase.file, err)) == 0 &&
		    (r = rk_signing_ca_open(&ctx->parent, p->cert, p->key,
		    pass.ptr != NULL ? &pass : NULL, err)) == 0)
			ctx->parent_open = true;
		else
			rk_err_prefix(err, "ca.parent");
		rk_secret_clear(&pass);
	}
	pthread_mutex_unlock(&ctx->lock);
	*out = r == 0 ? &ctx->parent : NULL;
	return r;
}

int
ctx_transport(struct rk_transport **out, struct rk_run_ctx *ctx, const struct rk_host *h,
    struct rk_err *err)
{
	size_t i = (size_t)(h - ctx->m->hosts);
	struct rk_transport *t = ctx->transports[i];
	int r;

	/* Only the host's own lane reaches this slot: no lock is needed. */
	*out = NULL;
	if (t == NULL) {
		if ((r = ctx->setup.transport_new(&t, h, err)) != 0)
			return r;
		if ((r = t->ops->connect(t, err)) != 0) {
			rk_transport_free(t);
			return r;
		}
		ctx->transports[i] = t;
	}
	*out = t;
	return 0;
}

int
ctx_keep_diff(struct rk_run_ctx *ctx, const struct rk_client_change *change, struct rk_err *err)
{
	struct rk_buf diff;
	char *path = NULL;
	int r;

	if (asprintf(&path, "%s/diffs/%s.diff", ctx->dir, change->client->name) < 0)
		return rk_fail_nomem(err);
	rk_buf_init(&diff, RK_CLIENT_OUT_MAX * 2);
	if ((r = rk_client_change_diff(&diff, change, err)) == 0)
		r = rk_file_replace(path, rk_buf_bytes(&diff), 0600, err);
	rk_buf_clear(&diff);
	free(path);
	return r;
}

int
ctx_read_local(struct rk_buf *out, const char *path, struct rk_err *err)
{
	rk_buf_init(out, RK_PEM_MAX * 4);
	return rk_file_read(out, path, RK_PEM_MAX * 4, err);
}

/* Whether the trust is ca.cert's file as it is: a root, kept. */
static bool
trust_is_ca_cert(const struct rk_model *m)
{
	return m->ca.chain == NULL && m->ca.rotate == RK_ROTATE_NONE;
}

/* The run's new CA certificate, or NULL without rotation (malloc'ed into *path). */
static int
new_ca_path(char **path, const struct rk_run_ctx *ctx, struct rk_err *err)
{
	*path = NULL;
	return ctx->m->ca.rotate ? ctx_path(path, ctx, "ca/ca.crt", err) : 0;
}

/* dir/name holding the trust at moment, written once (under the lock). */
static int
trust_file(char **out, struct rk_run_ctx *ctx, const char *name, enum rk_trust_moment moment,
    struct rk_err *err)
{
	struct rk_buf pem;
	char *new_ca = NULL;
	int r;

	*out = NULL;
	if (trust_is_ca_cert(ctx->m)) {
		if ((*out = strdup(ctx->m->ca.cert)) == NULL)
			return rk_fail_nomem(err);
		return 0;
	}
	if ((r = ctx_path(out, ctx, name, err)) != 0)
		return r;
	if (moment != RK_TRUST_BEFORE && (r = new_ca_path(&new_ca, ctx, err)) != 0)
		goto out;
	pthread_mutex_lock(&ctx->lock);
	if (access(*out, F_OK) != 0) {
		rk_buf_init(&pem, RK_PEM_MAX * 4);
		if ((r = rk_trust_bundle(&pem, ctx->m, new_ca, moment, err)) == 0)
			r = rk_file_replace(*out, rk_buf_bytes(&pem), 0644, err);
		rk_buf_clear(&pem);
	}
	pthread_mutex_unlock(&ctx->lock);
 out:
	free(new_ca);
	if (r != 0) {
		free(*out);
		*out = NULL;
	}
	return r;
}

/* out gets first's bytes, then second's, under the lock (files other threads may make). */
static int
join_files(struct rk_run_ctx *ctx, const char *out, const char *first, const char *second,
    struct rk_err *err)
{
	struct rk_buf both, part;
	int r;

	pthread_mutex_lock(&ctx->lock);
	rk_buf_init(&both, RK_PEM_MAX * 8);
	if ((r = ctx_read_local(&part, first, err)) == 0)
		r = rk_buf_append(&both, part.ptr, part.len, err);
	rk_buf_clear(&part);
	if (r == 0 && (r = ctx_read_local(&part, second, err)) == 0)
		r = rk_buf_append(&both, part.ptr, part.len, err);
	rk_buf_clear(&part);
	if (r == 0)
		r = rk_file_replace(out, rk_buf_bytes(&both), 0644, err);
	rk_buf_clear(&both);
	pthread_mutex_unlock(&ctx->lock);
	return r;
}

int
ctx_old_trust(char **out, struct rk_run_ctx *ctx, struct rk_err *err)
{
	return trust_file(out, ctx, "trust-before.pem", RK_TRUST_BEFORE, err);
}

int
ctx_final_trust(char **out, struct rk_run_ctx *ctx, struct rk_err *err)
{
	return trust_file(out, ctx, "trust-final.pem", RK_TRUST_AFTER, err);
}

int
ctx_any_trust(char **out, struct rk_run_ctx *ctx, struct rk_err *err)
{
	char *before = NULL, *after = NULL;
	int r;

	/* Not the overlap bundle: rekey must reach a server on either side of its change
	 * whatever the policy gives clients. */
	*out = NULL;
	if (!ctx->m->ca.rotate)
		return ctx_old_trust(out, ctx, err);
	if ((r = ctx_path(out, ctx, "trust-any.pem", err)) != 0)
		return r;
	if (access(*out, F_OK) == 0)
		return 0;
	if ((r = ctx_old_trust(&before, ctx, err)) == 0 &&
	    (r = ctx_final_trust(&after, ctx, err)) == 0)
		r = join_files(ctx, *out, before, after, err);
	free(before);
	free(after);
	if (r != 0) {
		free(*out);
		*out = NULL;
	}
	return r;
}

int
ctx_parent_crl_file(char **out, const struct rk_run_ctx *ctx, struct rk_err *err)
{
	const char *given = ctx->m->ca.parent.crl;
	int r;

	*out = NULL;
	if (ctx->m->ca.rotate == RK_ROTATE_INTERMEDIATE) {
		if ((r = ctx_path(out, ctx, "ca/parent.crl", err)) != 0)
			return r;
		if (access(*out, F_OK) == 0)
			return 0;
		free(*out);
		*out = NULL;
	}
	if (given != NULL && access(given, F_OK) == 0 && (*out = strdup(given)) == NULL)
		return rk_fail_nomem(err);
	return 0;
}

int
ctx_crl_file(char **out, struct rk_run_ctx *ctx, struct rk_err *err)
{
	char *parent = NULL;
	int r;

	*out = NULL;
	if ((r = ctx_path(out, ctx, "crl.pem", err)) != 0)
		return r;
	if (access(*out, F_OK) == 0)
		return 0;
	free(*out);
	*out = NULL;
	if (ctx->m->ca.crl == NULL || access(ctx->m->ca.crl, F_OK) != 0)
		return 0;
	if ((r = ctx_parent_crl_file(&parent, ctx, err)) != 0)
		return r;
	if (parent == NULL) {
		if ((*out = strdup(ctx->m->ca.crl)) == NULL)
			return rk_fail_nomem(err);
		return 0;
	}
	/* Every link is checked (CRL_CHECK_ALL): the parent's CRL goes with the CA's. */
	if ((r = ctx_path(out, ctx, "crl-check.pem", err)) == 0)
		r = join_files(ctx, *out, ctx->m->ca.crl, parent, err);
	free(parent);
	if (r != 0) {
		free(*out);
		*out = NULL;
	}
	return r;
}

int
ctx_intermediates(struct rk_buf *out, const struct rk_run_ctx *ctx, struct rk_err *err)
{
	char *new_ca = NULL;
	int r;

	if (!rk_model_leaves_have_intermediates(ctx->m))
		return 0;
	if ((r = new_ca_path(&new_ca, ctx, err)) == 0)
		r = rk_trust_intermediates(out, ctx->m, new_ca, err);
	free(new_ca);
	return r;
}

int
ctx_served_leaf_path(char **out, const struct rk_run_ctx *ctx, const struct rk_service *svc,
    struct rk_err *err)
{
	char name[300];

	snprintf(name, sizeof(name), "served/%s.crt", svc->name);
	return ctx_path(out, ctx, name, err);
}

/* The leaf as issued, then the intermediates a client needs to reach the root. */
static int
cert_with_intermediates(struct rk_buf *out, struct rk_run_ctx *ctx, const char *cert,
    struct rk_err *err)
{
	int r;

	rk_buf_clear(out);
	if ((r = ctx_read_local(out, cert, err)) == 0)
		r = ctx_intermediates(out, ctx, err);
	return r;
}

int
ctx_push_content(struct rk_buf *out, struct rk_run_ctx *ctx, const struct rk_step *s,
    struct rk_err *err)
{
	const struct rk_model *m = ctx->m;
	char *cert = NULL, *key = NULL, *path = NULL;
	int r;

	rk_buf_init(out, RK_PEM_MAX * 4);
	switch (s->content) {
	case RK_CONTENT_CERT:
	case RK_CONTENT_KEY:
		if (s->certificate == NULL)
			return rk_fail(err, RK_E_INTERNAL, "a push of %s without its certificate",
			    s->file->path);
		if ((r = ctx_cert_paths(&cert, &key, ctx, s->certificate, err)) != 0)
			break;
		if (s->content == RK_CONTENT_CERT) {
			r = cert_with_intermediates(out, ctx, cert, err);
		} else {
			rk_buf_clear(out);
			r = ctx_read_local(out, key, err);
		}
		break;
	case RK_CONTENT_TRUST_BUNDLE:
	case RK_CONTENT_TRUST_FINAL:
		if ((r = new_ca_path(&path, ctx, err)) == 0)
			r = rk_trust_bundle(out, m, path, s->content == RK_CONTENT_TRUST_FINAL ?
			    RK_TRUST_AFTER : RK_TRUST_DURING, err);
		free(path);
		path = NULL;
		break;
	case RK_CONTENT_CRL:
		if ((r = ctx_path(&path, ctx, "crl.pem", err)) == 0) {
			rk_buf_clear(out);
			r = ctx_read_local(out, path, err);
		}
		break;
	case RK_CONTENT_NONE:
	default:
		r = rk_fail(err, RK_E_INTERNAL, "a push with no content");
		break;
	}
	free(cert);
	free(key);
	free(path);
	return r;
}

int
svc_login_open(struct svc_login *out, struct rk_run_ctx *ctx, const struct rk_service *svc,
    const char *ca_file, const char *crl_file, struct rk_err *err)
{
	const struct rk_connect *c = &svc->connect;
	int r;

	memset(out, 0, sizeof(*out));
	if (c->certificate != NULL) {
		if ((r = ctx_cert_paths(&out->cert, &out->key, ctx, c->certificate, err)) != 0)
			return r;
	} else if (c->sslcert != NULL &&
	    ((out->cert = strdup(c->sslcert)) == NULL || (out->key = strdup(c->sslkey)) == NULL)) {
		svc_login_clear(out);
		return rk_fail_nomem(err);
	}
	if ((r = rk_secret_from_source(&out->password, c->password.env, c->password.file,
	    err)) != 0) {
		rk_err_prefix(err, "%s: the password of %s", svc->name, c->user != NULL ?
		    c->user : "the login");
		svc_login_clear(out);
		return r;
	}
	out->login.service = svc;
	out->login.ca_file = ca_file;
	out->login.crl_file = crl_file;
	out->login.cert_file = out->cert;
	out->login.key_file = out->key;
	out->login.password = out->password.ptr != NULL ? &out->password : NULL;
	out->login.timeout = svc->host != NULL ? svc->host->timeout : 10;
	return 0;
}

void
svc_login_clear(struct svc_login *l)
{
	rk_secret_clear(&l->password);
	free(l->cert);
	free(l->key);
	memset(l, 0, sizeof(*l));
}

int
result_put_backup(struct rk_step_result *res, const struct rk_backup *b, struct rk_err *err)
{
	char mode[8];
	int r;

	if (b->target == NULL)
		return 0;
	snprintf(mode, sizeof(mode), "%04o", (unsigned)b->mode);
	if ((r = rk_step_result_undo(res, "path", b->target, err)) != 0 ||
	    (r = rk_step_result_undo(res, "existed", b->existed ? "yes" : "no", err)) != 0)
		return r;
	if (!b->existed)
		return 0;
	if ((r = rk_step_result_undo(res, "backup", b->path != NULL ? b->path : "", err)) == 0 &&
	    (r = rk_step_result_undo(res, "old_sha256", b->sha256, err)) == 0 &&
	    (r = rk_step_result_undo(res, "mode", mode, err)) == 0 &&
	    (r = rk_step_result_undo(res, "owner", b->owner, err)) == 0)
		r = rk_step_result_undo(res, "group", b->group, err);
	return r;
}

int
backup_from_undo(struct rk_backup *out, const struct rk_kv *undo, size_t n, struct rk_err *err)
{
	const char *path = rk_kv_get(undo, n, "path"), *existed = rk_kv_get(undo, n, "existed");
	const char *bak = rk_kv_get(undo, n, "backup"), *sha = rk_kv_get(undo, n, "old_sha256");
	const char *mode = rk_kv_get(undo, n, "mode"), *owner = rk_kv_get(undo, n, "owner");
	const char *group = rk_kv_get(undo, n, "group");
	char *end = NULL;

	memset(out, 0, sizeof(*out));
	if (path == NULL || existed == NULL)
		return rk_fail(err, RK_E_USAGE, "the journal does not say what the step replaced");
	out->existed = strcmp(existed, "yes") == 0;
	if (out->existed && (bak == NULL || *bak == '\0' || sha == NULL || mode == NULL ||
	    owner == NULL || group == NULL))
		return rk_fail(err, RK_E_USAGE, "the journal keeps no backup of %s", path);
	if ((out->target = strdup(path)) == NULL ||
	    (out->existed && (out->path = strdup(bak)) == NULL)) {
		rk_backup_clear(out);
		return rk_fail_nomem(err);
	}
	if (out->existed) {
		out->mode = (mode_t)strtoul(mode, &end, 8);
		snprintf(out->owner, sizeof(out->owner), "%s", owner);
		snprintf(out->group, sizeof(out->group), "%s", group);
		snprintf(out->sha256, sizeof(out->sha256), "%s", sha);
	}
	return 0;
}
