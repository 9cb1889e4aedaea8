/*
 * `rekey rehearse`: the plan's steps through the same executor, each one done as far as it
 * can be without changing a target. The read-only steps are `run`'s own; a push is tried up
 * to its rename (the transport's probe_replace), a reload's privilege is asked of the server, a command is
 * looked up, an edit is made in memory, keys and certificates are made in the scratch
 * folder. Every step's finding (its facts, and for a no-go the fix) is kept for the table,
 * and the record step proves that every file the rehearsal touched or read is as it was.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "action_int.h"
#include "rekey/chain.h"
#include "rekey/cert.h"
#include "rekey/clientfile.h"
#include "rekey/clock.h"
#include "rekey/crl.h"
#include "rekey/digest.h"
#include "rekey/envfile.h"
#include "rekey/hostfile.h"
#include "rekey/probe.h"
#include "rekey/strutil.h"
#include "rekey/verdict.h"

#define FIX_MAX		600

static struct rh_finding *
finding_of(struct rk_run_ctx *ctx, const struct rk_step *s)
{
	return &ctx->rh->findings[s - ctx->plan->steps];
}

static void
set_text(char **slot, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
set_text(char **slot, const char *fmt, va_list ap)
{
	char *text = NULL;

	if (vasprintf(&text, fmt, ap) < 0)
		return;
	free(*slot);
	*slot = text;
}

static void
note(struct rk_run_ctx *ctx, const struct rk_step *s, const char *fmt, ...) RK_PRINTF(3, 4);

static void
note(struct rk_run_ctx *ctx, const struct rk_step *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_text(&finding_of(ctx, s)->detail, fmt, ap);
	va_end(ap);
}

static void
fix(struct rk_run_ctx *ctx, const struct rk_step *s, const char *fmt, ...) RK_PRINTF(3, 4);

static void
fix(struct rk_run_ctx *ctx, const struct rk_step *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_text(&finding_of(ctx, s)->fix, fmt, ap);
	va_end(ap);
}

static void
live_only(struct rk_run_ctx *ctx, const struct rk_step *s, const char *why)
{
	finding_of(ctx, s)->live_only = true;
	note(ctx, s, "%s", why);
}

static const char *
login_of(const struct rk_host *h)
{
	return h->user != NULL ? h->user : "the login";
}

/* ---- the context ---------------------------------------------------------------------------- */

static bool
listed(const char *const *paths, size_t n, const char *path)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(paths[i], path) == 0)
			return true;
	return false;
}

static int
add_path(const char ***paths, size_t *n, const char *path, struct rk_err *err)
{
	const char **grown;

	if (path == NULL || listed(*paths, *n, path))
		return 0;
	if ((grown = reallocarray(*paths, *n + 1, sizeof(*grown))) == NULL)
		return rk_fail_nomem(err);
	grown[(*n)++] = path;
	*paths = grown;
	return 0;
}

/* The files of each host the rehearsal reads or would replace, and this machine's. */
static int
list_paths(struct rehearsal *rh, const struct rk_plan *plan, const struct rk_run_setup *setup,
    struct rk_err *err)
{
	const struct rk_model *m = plan->model;
	size_t i, k;
	int r = 0;

	for (i = 0; i < plan->nsteps && r == 0; i++) {
		const struct rk_step *s = &plan->steps[i];
		struct rh_host *h;

		if (s->host == NULL)
			continue;
		h = &rh->hosts[s->host - m->hosts];
		if (s->action == RK_ACT_PUSH_FILE)
			r = add_path(&h->paths, &h->npaths, s->file->path, err);
		else if (s->client != NULL && (s->action == RK_ACT_CHECK_CLIENT_CONFIG ||
		    s->action == RK_ACT_EDIT_CLIENT_CONFIG))
			r = add_path(&h->paths, &h->npaths, s->client->path, err);
	}
	if (r == 0)
		r = add_path(&rh->local_paths, &rh->nlocal, m->ca.cert, err);
	if (r == 0)
		r = add_path(&rh->local_paths, &rh->nlocal, m->ca.key, err);
	if (r == 0)
		r = add_path(&rh->local_paths, &rh->nlocal, m->ca.crl, err);
	if (r == 0)
		r = add_path(&rh->local_paths, &rh->nlocal, setup->ledger, err);
	for (i = 0; i < m->nrevocations && r == 0; i++)
		if (m->revocations[i].kind == RK_REVOKE_CERT)
			r = add_path(&rh->local_paths, &rh->nlocal, m->revocations[i].value, err);
	for (i = 0; i < m->nrevocations && r == 0 && setup->revoked != NULL; i++)
		for (k = 0; k < setup->revoked[i].n && r == 0; k++)
			r = add_path(&rh->local_paths, &rh->nlocal,
			    setup->revoked[i].items[k].cert_path, err);
	return r;
}

/* A file of this machine as rk_host_snapshot sees one on a host. */
static int
local_state(struct rk_path_state *out, const char *path, struct rk_err *err)
{
	struct stat st;
	int fd, r = 0;

	memset(out, 0, sizeof(*out));
	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : rk_fail_errno(err, "stat %s", path);
	out->exists = true;
	out->raw_mode = (unsigned)st.st_mode;
	out->is_regular = S_ISREG(st.st_mode);
	out->size = (unsigned long long)st.st_size;
	snprintf(out->owner, sizeof(out->owner), "%u", (unsigned)st.st_uid);
	snprintf(out->group, sizeof(out->group), "%u", (unsigned)st.st_gid);
	snprintf(out->mtime, sizeof(out->mtime), "%lld.%09ld", (long long)st.st_mtim.tv_sec,
	    st.st_mtim.tv_nsec);
	if (!out->is_regular)
		return 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return rk_fail_errno(err, "open %s", path);
	r = rk_sha256_fd(out->sha256, fd, path, err);
	close(fd);
	return r;
}

int
rehearsal_new(struct rehearsal **out, const struct rk_plan *plan,
    const struct rk_run_setup *setup, struct rk_err *err)
{
	const struct rk_model *m = plan->model;
	struct rehearsal *rh;
	size_t i;
	int r;

	*out = NULL;
	if ((rh = calloc(1, sizeof(*rh))) == NULL ||
	    (rh->findings = calloc(plan->nsteps + 1, sizeof(*rh->findings))) == NULL ||
	    (rh->views = calloc(plan->nsteps + 1, sizeof(*rh->views))) == NULL ||
	    (rh->hosts = calloc(m->nhosts + 1, sizeof(*rh->hosts))) == NULL) {
		rehearsal_free(rh);
		return rk_fail_nomem(err);
	}
	rh->nsteps = plan->nsteps;
	rh->nhosts = m->nhosts;
	if ((r = list_paths(rh, plan, setup, err)) != 0)
		goto fail;
	if ((rh->local_before = calloc(rh->nlocal + 1, sizeof(*rh->local_before))) == NULL) {
		r = rk_fail_nomem(err);
		goto fail;
	}
	/* Before anything else reads them. */
	for (i = 0; i < rh->nlocal; i++)
		if ((r = local_state(&rh->local_before[i], rh->local_paths[i], err)) != 0)
			goto fail;
	*out = rh;
	return 0;
 fail:
	rehearsal_free(rh);
	return r;
}

void
rehearsal_free(struct rehearsal *rh)
{
	size_t i;

	if (rh == NULL)
		return;
	for (i = 0; rh->findings != NULL && i < rh->nsteps; i++) {
		free(rh->findings[i].detail);
		free(rh->findings[i].fix);
		free(rh->findings[i].diff);
	}
	for (i = 0; rh->hosts != NULL && i < rh->nhosts; i++) {
		free(rh->hosts[i].paths);
		free(rh->hosts[i].before);
	}
	free(rh->findings);
	free(rh->views);
	free(rh->hosts);
	free(rh->local_paths);
	free(rh->local_before);
	free(rh);
}

const struct rk_finding *
rk_run_ctx_finding(const struct rk_run_ctx *ctx, const struct rk_step *s)
{
	struct rk_finding *v;
	const struct rh_finding *f;

	if (ctx == NULL || ctx->rh == NULL || s < ctx->plan->steps ||
	    s >= ctx->plan->steps + ctx->plan->nsteps)
		return NULL;
	f = &ctx->rh->findings[s - ctx->plan->steps];
	v = &ctx->rh->views[s - ctx->plan->steps];
	v->detail = f->detail;
	v->fix = f->fix;
	v->diff = f->diff;
	v->live_only = f->live_only;
	v->seconds = f->seconds;
	return v;
}

void
rk_run_ctx_proof_counts(const struct rk_run_ctx *ctx, size_t *files, size_t *hosts,
    size_t *local)
{
	*files = ctx != NULL && ctx->rh != NULL ? ctx->rh->files_compared : 0;
	*hosts = ctx != NULL && ctx->rh != NULL ? ctx->rh->hosts_compared : 0;
	*local = ctx != NULL && ctx->rh != NULL ? ctx->rh->local_compared : 0;
}

void
rk_run_ctx_each_snapshot(const struct rk_run_ctx *ctx,
    void (*fn)(const char *host, const char *path, const struct rk_path_state *before,
    void *arg), void *arg)
{
	const struct rehearsal *rh = ctx != NULL ? ctx->rh : NULL;
	size_t i, k;

	if (rh == NULL)
		return;
	for (i = 0; i < rh->nhosts; i++)
		for (k = 0; rh->hosts[i].before != NULL && k < rh->hosts[i].npaths; k++)
			fn(ctx->m->hosts[i].name, rh->hosts[i].paths[k], &rh->hosts[i].before[k],
			    arg);
	for (k = 0; k < rh->nlocal; k++)
		fn(NULL, rh->local_paths[k], &rh->local_before[k], arg);
}

/* ---- preflight ------------------------------------------------------------------------------ */

static const struct rk_action_ops *
live(void)
{
	return rk_action_table();
}

static int
rh_check_ca(struct rk_run_ctx *ctx, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	const struct rk_model *m = ctx->m;
	const struct rk_secret_ref *pass = &m->ca.key_passphrase;
	struct rk_crl *crl = NULL;
	char when[32];
	time_t next;
	struct tm tm;
	int r;

	if ((r = live()[s->action].run(ctx, s, res, err)) != 0) {
		/* A passphrase that is wrong, or whose variable or file is missing. */
		if (strstr(err->msg, "passphrase") != NULL ||
		    (pass->env != NULL && strstr(err->msg, pass->env) != NULL) ||
		    (pass->file != NULL && strstr(err->msg, pass->file) != NULL))
			fix(ctx, s, "give the passphrase that decrypts %s: ca.key_passphrase_env "
			    "(the variable must be set for rekey) or ca.key_passphrase_file (mode "
			    "0600)", m->ca.key);
		else
			fix(ctx, s, "ca.cert must be the CA certificate and ca.key its key, readable "
			    "by this user (check them with `rekey pki inspect`)");
		return r;
	}
	if (m->ca.crl == NULL || access(m->ca.crl, F_OK) != 0) {
		note(ctx, s, "the CA key loads and signs; no CRL yet (%s)", m->ca.crl != NULL ?
		    m->ca.crl : "none named");
		return 0;
	}
	if ((r = rk_crl_load_file(&crl, m->ca.crl, err)) != 0) {
		fix(ctx, s, "ca.crl must be a CRL of this CA in PEM or DER");
		return r;
	}
	next = rk_crl_next_update(crl);
	rk_crl_free(crl);
	if (gmtime_r(&next, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC",
	    &tm) == 0)
		snprintf(when, sizeof(when), "?");
	if (next != (time_t)-1 && next < time(NULL)) {
		fix(ctx, s, "sign a fresh CRL with this CA now, every entry kept, and push it: "
		    "`rekey pki revoke --ca-cert %s --ca-key %s --crl %s --renew --crl-days 30` "
		    "signs it again (with --serial/--cert it also revokes), or `openssl ca "
		    "-gencrl` with the CA's database%s",
		    m->ca.cert, m->ca.key, m->ca.crl, rk_model_signs_crl(m) ? " (the live run "
		    "signs one too, but clients are refused until then)" : "");
		return rk_fail(err, RK_E_USAGE, "the CRL %s expired on %s (its nextUpdate): a "
		    "server that checks client certificates against it refuses every one",
		    m->ca.crl, when);
	}
	note(ctx, s, "the CA key loads and signs; the CRL is good until %s", when);
	return 0;
}

static int
rh_connect(struct rk_run_ctx *ctx, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	const struct rk_host *h = s->host;
	struct rh_host *rh = &ctx->rh->hosts[h - ctx->m->hosts];
	struct rk_transport *t;
	long long started = rk_clock_ms();
	int r;

	if ((r = live()[s->action].run(ctx, s, res, err)) != 0) {
		if (r == RK_E_HOSTKEY)
			fix(ctx, s, "check the host key's fingerprint out of band (on the host: "
			    "ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub), then add the host's "
			    "line to %s (ssh-keyscan -p %d %s prints it)", h->known_hosts != NULL ?
			    h->known_hosts : "~/.ssh/known_hosts", h->port,
			    h->address != NULL ? h->address : "HOST");
		else if (strstr(err->msg, "sudo -n") != NULL)
			fix(ctx, s, "let %s use sudo without a password on %s (a sudoers line such "
			    "as '%s ALL=(root) NOPASSWD: ALL': each file step is one 'sudo -n -- timeout "
			    "... sh -c' script, so no narrower rule serves), or set sudo: false when the "
			    "login owns the files", login_of(h), h->name, login_of(h));
		else if (strstr(err->msg, "authentication") != NULL)
			fix(ctx, s, "check hosts[].user and its key (hosts[].identity, or a key in "
			    "ssh-agent) against the host's authorized_keys");
		else
			fix(ctx, s, "check that %s answers on %s port %d (address, port, firewall, "
			    "sshd running)", h->name, h->address != NULL ? h->address : "?", h->port);
		return r;
	}
	note(ctx, s, "connected as %s in %.2f s%s", login_of(h),
	    (double)(rk_clock_ms() - started) / 1000.0, h->sudo ? "; sudo -n works" : "");
	if (rh->npaths == 0)
		return 0;
	if ((rh->before = calloc(rh->npaths, sizeof(*rh->before))) == NULL)
		return rk_fail_nomem(err);
	/* The state every later step of this host must leave as it is. */
	if ((r = ctx_transport(&t, ctx, h, err)) != 0 ||
	    (r = rk_host_snapshot(rh->before, t, rh->paths, rh->npaths, err)) != 0) {
		free(rh->before);
		rh->before = NULL;
		fix(ctx, s, "the login (with sudo when the host has it) must be able to read "
		    "the files it will replace");
	}
	return r;
}

static int
rh_probe(struct rk_run_ctx *ctx, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	const char *fp, *issuer, *days;
	int r;

	if ((r = live()[s->action].run(ctx, s, res, err)) != 0) {
		fix(ctx, s, "check that %s listens on %s port %d with TLS (connect.address, "
		    "connect.port)", s->service->name, s->service->connect.address,
		    s->service->connect.port);
		return r;
	}
	fp = rk_kv_get(res->out, res->nout, "fingerprint");
	issuer = rk_kv_get(res->out, res->nout, "issuer");
	days = rk_kv_get(res->out, res->nout, "days_left");
	note(ctx, s, "serves %.23s... issued by %s, %s days left", fp != NULL ? fp : "?",
	    issuer != NULL ? issuer : "?", days != NULL ? days : "?");
	return 0;
}

static int
rh_check_client(struct rk_run_ctx *ctx, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	int r;

	if ((r = live()[s->action].run(ctx, s, res, err)) != 0) {
		fix(ctx, s, "correct %s on %s where the message says, or the client's file.format "
		    "and section in the playbook", s->client->path, s->host->name);
		return r;
	}
	note(ctx, s, "%s reads and parses", s->client->path);
	return 0;
}

/* ---- issue, revoke, CRL ------------------------------------------------------------------------ */

static int
rh_issue(struct rk_run_ctx *ctx, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	const char *serial;
	int r;

	if ((r = live()[s->action].run(ctx, s, res, err)) != 0) {
		fix(ctx, s, "see check-ca: the certificate is signed by the CA the run uses");
		return r;
	}
	serial = rk_kv_get(res->out, res->nout, "serial");
	note(ctx, s, "made and signed (serial %s) in the rehearsal's scratch folder, never "
	    "pushed, not in the ledger, removed at the end", serial != NULL ? serial : "?");
	return 0;
}

static int
rh_revoke(struct rk_run_ctx *ctx, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	const char *serials;
	int r;

	if ((r = live()[s->action].run(ctx, s, res, err)) != 0) {
		fix(ctx, s, "the revocation's target must name certificates of this CA that "
		    "exist on this machine now");
		return r;
	}
	serials = rk_kv_get(res->out, res->nout, "serials");
	note(ctx, s, "revokes %s", serials != NULL && serials[0] != '\0' ? serials :
	    "nothing (no certificate matched)");
	return 0;
}

static int
rh_check_file(struct rk_run_ctx *ctx, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	const char *n;
	int r;

	if ((r = live()[s->action].run(ctx, s, res, err)) != 0) {
		fix(ctx, s, "the revocation's target must be a certificate of this CA (or a "
		    "folder of them) readable on this machine now");
		return r;
	}
	n = rk_kv_get(res->out, res->nout, "certificates");
	note(ctx, s, "%s certificate%s found", n != NULL ? n : "?", n != NULL &&
	    strcmp(n, "1") == 0 ? "" : "s");
	return 0;
}

static int
rh_sign_crl(struct rk_run_ctx *ctx, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	const char *entries;
	int r;

	if ((r = live()[s->action].run(ctx, s, res, err)) != 0) {
		fix(ctx, s, "see check-ca: the CRL is signed with the CA key");
		return r;
	}
	entries = rk_kv_get(res->out, res->nout, "entries");
	note(ctx, s, "signed with %s entr%s in the scratch folder; %s is left as it is",
	    entries != NULL ? entries : "?", entries != NULL && strcmp(entries, "1") == 0 ?
	    "y" : "ies", ctx->m->ca.crl);
	return 0;
}

static int
rh_revoke_ca(struct rk_run_ctx *ctx, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	const struct rk_ca_parent *p = &ctx->m->ca.parent;
	const char *serial;
	int r;

	if ((r = live()[s->action].run(ctx, s, res, err)) != 0) {
		fix(ctx, s, "ca.parent must be the CA that signed ca.cert, with its key (and "
		    "key_passphrase_*) readable here and ca.parent.crl a CRL it signed");
		return r;
	}
	serial = rk_kv_get(res->out, res->nout, "serial");
	note(ctx, s, "the parent's key signs; the old intermediate %s is revoked in the scratch "
	    "folder's copy; %s is left as it is", serial != NULL ? serial : "?", p->crl);
	return 0;
}

/* ---- swap ----------------------------------------------------------------------------------- */

static void
fix_push(struct rk_run_ctx *ctx, const struct rk_step *s, const struct rk_push_probe *p,
    const char *path)
{
	const struct rk_host *h = s->host;

	switch (p->problem) {
	case RK_PUSH_NO_FOLDER:
		fix(ctx, s, "create the folder on %s, or correct the path in the playbook", h->name);
		break;
	case RK_PUSH_CANNOT_CREATE:
		if (h->sudo)
			fix(ctx, s, "root cannot write there (a read-only or full file system?): "
			    "make the folder of %s writable", path);
		else
			fix(ctx, s, "make the folder of %s writable by %s, or set sudo: true on host "
			    "%s", path, login_of(h), h->name);
		break;
	case RK_PUSH_CANNOT_OWN:
		fix(ctx, s, "only root gives a file to another user: set sudo: true on host %s, "
		    "or drop owner and group from the target so the file keeps the login's", h->name);
		break;
	case RK_PUSH_SYMLINK:
		fix(ctx, s, "name the link's target as the path, or set allow_symlink: true on the "
		    "target to replace the link itself");
		break;
	case RK_PUSH_NOT_FILE:
		fix(ctx, s, "remove what stands at %s on %s, or name another path", path, h->name);
		break;
	case RK_PUSH_NO_ROOM:
		fix(ctx, s, "free space in the folder of %s on %s", path, h->name);
		break;
	case RK_PUSH_HARD_LINKS:
		fix(ctx, s, "make %s on %s a file of its own: its other names symbolic links to "
		    "it, or copies", path, h->name);
		break;
	case RK_PUSH_OPEN_FOLDER:
		fix(ctx, s, "chmod go-w the folder named above on %s (or set its sticky bit), or "
		    "keep %s in a folder only its owner writes", h->name, path);
		break;
	case RK_PUSH_FOREIGN_FILE:
		fix(ctx, s, "check who put %s on %s, then give it to root or the login, or use a "
		    "folder of its own", path, h->name);
		break;
	case RK_PUSH_OK:
	case RK_PUSH_OTHER:
		break;
	}
}

/* The replace tried up to its rename; p->current says what stands there now. */
static int
try_replace(struct rk_push_probe *p, struct rk_run_ctx *ctx, const struct rk_step *s,
    const struct rk_file_spec *spec, unsigned long long size, struct rk_err *err)
{
	struct rk_transport *t;
	int r;

	if ((r = ctx_transport(&t, ctx, s->host, err)) != 0)
		return r;
	if ((r = t->ops->probe_replace(p, t, spec, size, err)) != 0)
		fix_push(ctx, s, p, spec->path);
	return r;
}

static void
note_replace(struct rk_run_ctx *ctx, const struct rk_step *s, const struct rk_push_probe *p,
    mode_t mode)
{
	char room[32];

	if (p->current.exists)
		note(ctx, s, "now %s:%s %04o, %llu bytes%s; would become %s:%s %04o (made by "
		    "%s); %s free", p->current.owner, p->current.group,
		    (unsigned)p->current.mode, p->current.size, p->current.is_symlink ?
		    " (a symbolic link, allowed)" : "", p->owner, p->group, (unsigned)mode,
		    p->creator, rk_size_text(room, sizeof(room), p->free_bytes));
	else
		note(ctx, s, "not there yet; would be made %s:%s %04o (by %s); %s free", p->owner,
		    p->group, (unsigned)mode, p->creator,
		    rk_size_text(room, sizeof(room), p->free_bytes));
}

static int
rh_push(struct rk_run_ctx *ctx, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	const struct rk_file_target *f = s->file;
	struct rk_file_spec spec = { f->path, f->owner, f->group, f->mode, f->allow_symlink };
	struct rk_err ignored = { 0 };
	struct rk_push_probe p;
	struct rk_buf content;
	/* Without the content (its certificate could not be made) a certificate's size. */
	unsigned long long size = 8192;
	int r;

	(void)res;
	if (ctx_push_content(&content, ctx, s, &ignored) == 0)
		size = content.len;
	rk_buf_clear(&content);
	if ((r = try_replace(&p, ctx, s, &spec, size, err)) != 0)
		return r;
	note_replace(ctx, s, &p, f->mode);
	return 0;
}

/* ---- reload --------------------------------------------------------------------------------- */

static int
check_command(struct rk_run_ctx *ctx, const struct rk_step *s, const char *command,
    const char *key, struct rk_err *err)
{
	struct rk_transport *t;
	char where[256];
	bool found;
	int r;

	if ((r = ctx_transport(&t, ctx, s->host, err)) != 0)
		return r;
	if ((r = rk_host_has_command(&found, where, sizeof(where), t, command, err)) != 0) {
		fix(ctx, s, "write %s as a program and its arguments", key);
		return r;
	}
	if (!found) {
		fix(ctx, s, "install %s on %s, or correct %s (it is looked up as %s, %s)", where,
		    s->host->name, key, login_of(s->host), s->host->sudo ? "through sudo" :
		    "without sudo");
		return rk_fail(err, RK_E_REMOTE, "%s: %s not found on %s (command -v)", key, where,
		    s->host->name);
	}
	note(ctx, s, "its programs are there (%s); not run in a rehearsal", where);
	return 0;
}

/* Under ca.rotate, a login with connect.certificate uses a certificate of the new CA, which
 * no server trusts before the run distributes it. */
static bool
rotating_login(const struct rk_run_ctx *ctx, const struct rk_service *svc)
{
	return ctx->m->ca.rotate && svc->connect.certificate != NULL;
}

static int
rh_reload(struct rk_run_ctx *ctx, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	const struct rk_service *svc = s->service;
	const char *statement = NULL;
	char grant[RK_GRANT_MAX] = "";
	bool may = false;
	int r;

	(void)res;
	if (svc->reload.kind == RK_RELOAD_COMMAND)
		return check_command(ctx, s, svc->reload.command, "reload.command", err);
	if (rotating_login(ctx, svc)) {
		live_only(ctx, s, "connect.certificate is issued by the new CA, which the server "
		    "trusts only once the run has distributed it: the privilege is asked then");
		return 0;
	}
	if ((r = svc_ask_reload(&may, grant, sizeof(grant), &statement, ctx, svc, err)) != 0) {
		fix(ctx, s, "rekey logs in as connect.user to reload: the login must work with TLS "
		    "(see the message)");
		return r;
	}
	if (!may) {
		fix(ctx, s, "as an administrator of %s: %s", svc->name, grant);
		return rk_fail(err, RK_E_REMOTE, "%s: %s may not run %s", svc->name,
		    svc->connect.user != NULL ? svc->connect.user : "the login",
		    statement != NULL ? statement : "the reload");
	}
	if (s->phase == RK_PHASE_RETIRE_TRUST)
		note(ctx, s, "%s may run %s again once the old CA is retired (asked, nothing "
		    "reloaded)", svc->connect.user, statement != NULL ? statement : "the reload");
	else
		note(ctx, s, "%s may run %s (asked the server; nothing reloaded)",
		    svc->connect.user, statement != NULL ? statement : "the reload");
	return 0;
}

/* ---- verify --------------------------------------------------------------------------------- */

/*
 * The CRLs the new certificate is checked against: every CRL the run signed (crl.pem holds
 * the old CA's, the new CA's and the parent's), or NULL when the run signs none under
 * ca.rotate (the new CA has no CRL then, and the live run checks none).
 */
static int
issuer_crl(char **out, struct rk_run_ctx *ctx, struct rk_err *err)
{
	*out = NULL;
	if (ctx->m->ca.rotate && !rk_model_signs_crl(ctx->m))
		return 0;
	return ctx_crl_file(out, ctx, err);
}

/* The intermediates the server will send after the new certificate. */
static int
load_intermediates(struct rk_cert ***out, size_t *n, struct rk_run_ctx *ctx,
    struct rk_err *err)
{
	struct rk_buf pem;
	int r;

	*out = NULL;
	*n = 0;
	rk_buf_init(&pem, RK_PEM_MAX * 4);
	if ((r = ctx_intermediates(&pem, ctx, err)) == 0 && pem.len > 0)
		r = rk_cert_load_bundle(out, n, rk_buf_bytes(&pem), "the intermediates", err);
	rk_buf_clear(&pem);
	return r;
}

/* What verify-full will check of the new certificate, checked on it before it is served. */
static int
rh_verify(struct rk_run_ctx *ctx, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	const struct rk_service *svc = s->service;
	char *cert_path = NULL, *key_path = NULL, *trust = NULL, *crl_path = NULL;
	struct rk_cert *cert = NULL, **intermediates = NULL;
	struct rk_chain_verdict v;
	size_t nintermediates = 0;
	int r;

	(void)res;
	if (s->certificate == NULL) {
		live_only(ctx, s, "what is served is verified by the live run, after the change");
		return 0;
	}
	if ((r = ctx_cert_paths(&cert_path, &key_path, ctx, s->certificate, err)) != 0 ||
	    (r = ctx_final_trust(&trust, ctx, err)) != 0 ||
	    (r = issuer_crl(&crl_path, ctx, err)) != 0)
		goto out;
	if ((r = rk_cert_load_file(&cert, cert_path, err)) != 0) {
		fix(ctx, s, "see the issue step of %s", s->certificate->name);
		goto out;
	}
	if (svc->verify.sslmode == RK_SSLMODE_VERIFY_FULL &&
	    (r = rk_cert_check_name(cert, svc->connect.address, err)) != 0) {
		fix(ctx, s, "add %s to certificates[%s].san: clients with verify-full check the "
		    "name they connect to", svc->connect.address, s->certificate->name);
		goto out;
	}
	if ((r = load_intermediates(&intermediates, &nintermediates, ctx, err)) != 0 ||
	    (r = rk_chain_verify_leaf(&v, cert, intermediates, nintermediates, trust, crl_path,
	    err)) != 0)
		goto out;
	if (!v.ok) {
		r = rk_fail(err, RK_E_CRYPTO, "verification failed: %s (at depth %d)", v.reason,
		    v.depth);
		fix(ctx, s, "the new certificate must verify against what clients will trust");
		goto out;
	}
	note(ctx, s, "the new certificate names %s and verifies against the CA%s%s; what is "
	    "served is checked by the live run after the reload", svc->connect.address,
	    nintermediates > 0 ? " through the intermediate" : "",
	    crl_path != NULL ? " with every link's CRL" : "");
 out:
	rk_cert_free(cert);
	rk_cert_bundle_free(intermediates, nintermediates);
	free(cert_path);
	free(key_path);
	free(trust);
	free(crl_path);
	return r;
}

/* As the live check, against what the server serves now: either CA (under ca.rotate the
 * final trust is the new CA alone, which nothing serves yet), no CRL. */
static int
plaintext_refused_now(struct rk_run_ctx *ctx, const struct rk_service *svc, struct rk_err *err)
{
	struct svc_login login;
	char *trust = NULL;
	bool refused = false;
	int r;

	if ((r = ctx_any_trust(&trust, ctx, err)) != 0)
		return r;
	if ((r = svc_login_open(&login, ctx, svc, trust, NULL, err)) == 0) {
		r = ctx->setup.service_ops(svc)->check_plaintext_refused(&refused, &login.login,
		    err);
		svc_login_clear(&login);
	}
	free(trust);
	if (r == 0 && !refused)
		r = rk_fail(err, RK_E_REMOTE, "%s accepts a login without TLS", svc->name);
	return r;
}

static int
rh_refused(struct rk_run_ctx *ctx, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	const struct rk_service *svc = s->service;
	bool pg = svc->kind == RK_SERVICE_POSTGRESQL;
	int r;

	switch (s->refusal) {
	case RK_REFUSE_OLD_CERT:
		live_only(ctx, s, "the old certificate is gone only after the live run's reload");
		return 0;
	case RK_REFUSE_OLD_CA:
		live_only(ctx, s, "the old CA is refused only once the new CA's certificate is "
		    "served");
		return 0;
	case RK_REFUSE_OLD_ISSUER:
		/* Made on the CRLs signed in the scratch folder: the proof stands before. */
		if ((r = live()[s->action].run(ctx, s, res, err)) != 0) {
			fix(ctx, s, "the CRLs the run distributes must revoke the old intermediate: "
			    "check ca.parent.crl and that the certificate %s serves is a leaf of "
			    "ca.cert", svc->name);
			return r;
		}
		note(ctx, s, "the CRLs the run will distribute refuse the certificate %s serves "
		    "now (its issuer, the old intermediate, is revoked)", svc->name);
		return 0;
	case RK_REFUSE_REVOKED_CLIENT:
		live_only(ctx, s, "the revocation is in force only once the new CRL is pushed and "
		    "loaded");
		return 0;
	case RK_REFUSE_PLAINTEXT:
		if (rotating_login(ctx, svc)) {
			live_only(ctx, s, "the login's certificate is issued by the new CA, which "
			    "the server trusts only once the run has distributed it");
			return 0;
		}
		/* The run changes no server setting: what is accepted now is accepted then. */
		if ((r = plaintext_refused_now(ctx, svc, err)) != 0) {
			fix(ctx, s, pg ? "put a 'hostnossl all all 0.0.0.0/0 reject' line (and "
			    "::/0) above the other host lines of pg_hba.conf, then reload (the run "
			    "changes no server setting)" : "set require_secure_transport = "
			    "ON, or REQUIRE SSL for the user (the run changes no server setting)");
			return r;
		}
		note(ctx, s, "a login without TLS is refused now, as the live run will check");
		return 0;
	case RK_REFUSE_OLD_TLS:
		if ((r = live()[s->action].run(ctx, s, res, err)) != 0) {
			fix(ctx, s, pg ? "set ssl_min_protocol_version = '%s' in postgresql.conf "
			    "(the run changes no server setting)" : "set tls_version to %s and later "
			    "(the run changes no server setting)",
			    rk_tls_version_name(svc->verify.min_tls));
			return r;
		}
		note(ctx, s, "a handshake older than %s is refused now",
		    rk_tls_version_name(svc->verify.min_tls));
		return 0;
	}
	return rk_fail(err, RK_E_INTERNAL, "unknown refusal check");
}

/* ---- clients -------------------------------------------------------------------------------- */

static int
rh_edit(struct rk_run_ctx *ctx, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	struct rk_client_change *change = NULL;
	struct rk_file_spec spec;
	struct rk_push_probe p;
	struct rk_transport *t;
	struct rk_buf diff;
	int r;

	(void)res;
	rk_buf_init(&diff, RK_CLIENT_OUT_MAX * 2);
	if ((r = ctx_transport(&t, ctx, s->host, err)) != 0 ||
	    (r = rk_client_change_read(&change, t, s->client, err)) != 0) {
		fix(ctx, s, "correct %s on %s where the message says, or the client's file in the "
		    "playbook", s->client->path, s->host->name);
		goto out;
	}
	if (!change->changed) {
		note(ctx, s, "no change: %s holds these settings already", s->client->path);
		goto out;
	}
	if ((r = rk_client_change_diff(&diff, change, err)) != 0)
		goto out;
	free(finding_of(ctx, s)->diff);
	finding_of(ctx, s)->diff = rk_buf_detach(&diff);
	if ((r = ctx_keep_diff(ctx, change, err)) != 0)
		goto out;
	spec = (struct rk_file_spec){ s->client->path, change->found.owner, change->found.group,
	    change->found.mode, false };
	if ((r = try_replace(&p, ctx, s, &spec, change->after.len, err)) != 0)
		goto out;
	note_replace(ctx, s, &p, change->found.mode);
 out:
	rk_buf_clear(&diff);
	rk_client_change_free(change);
	return r;
}

static int
rh_client_reload(struct rk_run_ctx *ctx, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	(void)res;
	return check_command(ctx, s, s->client->reload_command, "reload.command", err);
}

static int
rh_client_verify(struct rk_run_ctx *ctx, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	int r;

	if ((r = check_command(ctx, s, s->client->verify_command, "verify.command", err)) != 0 ||
	    !s->client->verify_safe_in_rehearsal)
		return r;
	if ((r = live()[s->action].run(ctx, s, res, err)) != 0) {
		fix(ctx, s, "the command fails now, before any change: make it pass on the estate "
		    "as it is, or drop safe_in_rehearsal");
		return r;
	}
	note(ctx, s, "passes now (safe_in_rehearsal: run against the estate as it is)");
	return 0;
}

/* ---- the proof of zero change ------------------------------------------------------------- */

struct changes {
	char	text[1400];
	size_t	n;
};

static void
add_change(struct changes *c, const char *where, const char *path, const char *what)
{
	size_t used = strlen(c->text);

	if (c->n++ < 8 && used + 1 < sizeof(c->text))
		snprintf(c->text + used, sizeof(c->text) - used, "%s%s%s%s: %s",
		    used > 0 ? "; " : "", where != NULL ? where : "", where != NULL ? ":" : "",
		    path, what);
}

static int
compare_host(struct changes *c, struct rk_run_ctx *ctx, const struct rk_host *h,
    struct rh_host *rh, struct rk_err *err)
{
	struct rk_path_state *after;
	struct rk_transport *t;
	const char *what;
	size_t i;
	int r;

	if ((after = calloc(rh->npaths, sizeof(*after))) == NULL)
		return rk_fail_nomem(err);
	if ((r = ctx_transport(&t, ctx, h, err)) == 0 &&
	    (r = rk_host_snapshot(after, t, rh->paths, rh->npaths, err)) == 0)
		for (i = 0; i < rh->npaths; i++)
			if ((what = rk_path_state_change(&rh->before[i], &after[i])) != NULL)
				add_change(c, h->name, rh->paths[i], what);
	if (r != 0)
		rk_err_prefix(err, "%s", h->name);
	free(after);
	return r;
}

static int
compare_served(struct changes *c, struct rk_run_ctx *ctx, size_t i, struct rk_err *err)
{
	const struct rk_service *svc = &ctx->m->services[i];
	const char *before = ctx->served[i].before;
	struct rk_probe_request req;
	struct rk_probe_result *p;
	int r;

	if (before[0] == '\0')
		return 0;	/* never reached: nothing to compare */
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return rk_fail_nomem(err);
	rk_verdict_probe_request(&req, svc, NULL, NULL);
	if ((r = rk_probe(p, &req, err)) == 0 && strcmp(p->fingerprint, before) != 0)
		add_change(c, NULL, svc->name, "serves another certificate than at the start");
	free(p);
	return r;
}

static int
rh_prove(struct rk_run_ctx *ctx, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	struct rehearsal *rh = ctx->rh;
	struct changes c = { "", 0 };
	struct rk_path_state now;
	const char *what;
	size_t i, files = 0, hosts = 0, services = 0;
	int r = 0;

	(void)res;
	for (i = 0; i < ctx->m->nhosts && r == 0; i++) {
		if (rh->hosts[i].before == NULL)
			continue;
		if ((r = compare_host(&c, ctx, &ctx->m->hosts[i], &rh->hosts[i], err)) == 0) {
			files += rh->hosts[i].npaths;
			hosts++;
		}
	}
	for (i = 0; i < rh->nlocal && r == 0; i++)
		if ((r = local_state(&now, rh->local_paths[i], err)) == 0 &&
		    (what = rk_path_state_change(&rh->local_before[i], &now)) != NULL)
			add_change(&c, "here", rh->local_paths[i], what);
	for (i = 0; i < ctx->m->nservices && r == 0; i++) {
		if ((r = compare_served(&c, ctx, i, err)) == 0 && ctx->served[i].before[0] != '\0')
			services++;
	}
	if (r != 0) {
		fix(ctx, s, "the state after the rehearsal could not be read: check by hand that "
		    "nothing changed");
		return r;
	}
	rh->files_compared = files;
	rh->hosts_compared = hosts;
	rh->local_compared = rh->nlocal;
	if (c.n > 0) {
		fix(ctx, s, "a rehearsal changes nothing: another process changed these meanwhile "
		    "(a deploy, another rotation), or it is a bug of rekey to report with this "
		    "output");
		return rk_fail(err, RK_E_REMOTE, "changed during the rehearsal: %s%s", c.text,
		    c.n > 8 ? "; and more" : "");
	}
	note(ctx, s, "%zu file%s on %zu host%s and %zu here are as they were (SHA-256, mode, "
	    "owner, group, mtime); %zu service%s the certificate %s at the start",
	    files, files == 1 ? "" : "s", hosts, hosts == 1 ? "" : "s", rh->nlocal, services,
	    services == 1 ? " serves" : "s serve", services == 1 ? "it served" : "they served");
	return 0;
}

/* ---- the table ------------------------------------------------------------------------------ */

static int
rehearse_step(struct rk_run_ctx *ctx, const struct rk_step *s, struct rk_step_result *res,
    struct rk_err *err)
{
	switch (s->action) {
	case RK_ACT_CHECK_CA:		return rh_check_ca(ctx, s, res, err);
	case RK_ACT_CONNECT_HOST:	return rh_connect(ctx, s, res, err);
	case RK_ACT_PROBE_SERVICE:	return rh_probe(ctx, s, res, err);
	case RK_ACT_CHECK_CLIENT_CONFIG: return rh_check_client(ctx, s, res, err);
	case RK_ACT_GENERATE_CA:
	case RK_ACT_ISSUE_CERT:		return rh_issue(ctx, s, res, err);
	case RK_ACT_CHECK_LOCAL_FILE:	return rh_check_file(ctx, s, res, err);
	case RK_ACT_REVOKE:		return rh_revoke(ctx, s, res, err);
	case RK_ACT_SIGN_CRL:		return rh_sign_crl(ctx, s, res, err);
	case RK_ACT_REVOKE_CA:		return rh_revoke_ca(ctx, s, res, err);
	case RK_ACT_PUSH_FILE:		return rh_push(ctx, s, res, err);
	case RK_ACT_RELOAD_SERVICE:	return rh_reload(ctx, s, res, err);
	case RK_ACT_VERIFY_SERVICE:	return rh_verify(ctx, s, res, err);
	case RK_ACT_CHECK_REFUSED:	return rh_refused(ctx, s, res, err);
	case RK_ACT_EDIT_CLIENT_CONFIG:	return rh_edit(ctx, s, res, err);
	case RK_ACT_RUN_CLIENT_RELOAD:	return rh_client_reload(ctx, s, res, err);
	case RK_ACT_RUN_CLIENT_VERIFY:	return rh_client_verify(ctx, s, res, err);
	case RK_ACT_WRITE_RECORD:	return rh_prove(ctx, s, res, err);
	}
	return rk_fail(err, RK_E_INTERNAL, "no rehearsal for action %d", (int)s->action);
}

static int
rehearse(void *arg, const struct rk_step *s, struct rk_step_result *res, struct rk_err *err)
{
	struct rk_run_ctx *ctx = arg;
	long long started = rk_clock_ms();
	int r;

	if (ctx->rh == NULL)
		return rk_fail(err, RK_E_INTERNAL, "a rehearsal step in a live run");
	r = rehearse_step(ctx, s, res, err);
	finding_of(ctx, s)->seconds = (double)(rk_clock_ms() - started) / 1000.0;
	return r;
}

static struct rk_action_ops rehearsal_rows[RK_ACTIONS];
static pthread_once_t rehearsal_once = PTHREAD_ONCE_INIT;

static void
fill_rehearsal_rows(void)
{
	size_t i;

	/* Nothing to undo, nothing to find done: a rehearsal is never resumed. */
	for (i = 0; i < RK_ACTIONS; i++)
		rehearsal_rows[i].run = rehearse;
}

const struct rk_action_ops *
rk_rehearsal_table(void)
{
	(void)pthread_once(&rehearsal_once, fill_rehearsal_rows);
	return rehearsal_rows;
}
