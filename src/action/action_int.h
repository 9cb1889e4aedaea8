/* Private to action/: the run's context and the helpers the action families share. */
#ifndef REKEY_ACTION_INT_H
#define REKEY_ACTION_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "rekey/actions.h"
#include "rekey/ca.h"
#include "rekey/hostcheck.h"
#include "rekey/key.h"
#include "rekey/ledger.h"
#include "rekey/secret.h"

/* Keys made in the background, one slot per certificate of the model and one for a new CA. */
struct keygen {
	pthread_t		 thread;
	bool			 started;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	size_t			 n;
	const struct rk_model	*model;
	bool			*wanted;
	bool			*ready;
	struct rk_key		**keys;
	struct rk_err		*errs;
	size_t			 threads;
	atomic_bool		 cancel;
};

struct rk_run_ctx {
	const struct rk_plan		*plan;
	const struct rk_model		*m;
	char				*dir;
	struct rk_run_setup		 setup;
	pthread_mutex_t			 lock;		/* the CAs, the ledger, files made once */
	struct rk_signing_ca		 ca;		/* the current CA */
	bool				 ca_open;
	struct rk_signing_ca		 new_ca;	/* ca.rotate: the CA this run made */
	bool				 new_ca_open;
	struct rk_signing_ca		 parent;	/* ca.parent, when it signs */
	bool				 parent_open;
	struct rk_transport		**transports;	/* per host of the model, made on first use */
	struct rk_served		*served;	/* per service */
	struct keygen			 kg;
	struct rk_ledger		*ledger;	/* opened on the first issue, under lock */
	struct rehearsal		*rh;		/* setup.rehearsal: what the checks found */
};

/* What a rehearsal keeps (act_rehearse.c). */
struct rh_host {
	const char		**paths;	/* what it touches or reads there (borrowed) */
	size_t			  npaths;
	struct rk_path_state	 *before;	/* when it connected; NULL until then */
};

struct rh_finding {
	char		*detail;
	char		*fix;
	char		*diff;
	bool		 live_only;
	double		 seconds;
};

struct rehearsal {
	size_t			  nsteps, nhosts;
	struct rh_finding	*findings;	/* per plan step, by index */
	struct rk_finding	*views;
	struct rh_host		*hosts;		/* per host of the model */
	const char		**local_paths;	/* this machine's files it reads */
	size_t			  nlocal;
	struct rk_path_state	 *local_before;
	size_t			  files_compared, hosts_compared, local_compared;
};

int	rehearsal_new(struct rehearsal **out, const struct rk_plan *plan,
	    const struct rk_run_setup *setup, struct rk_err *err) RK_MUST_CHECK;
void	rehearsal_free(struct rehearsal *rh);

/* The slot of the new CA's key. */
#define KEYGEN_NEW_CA(m)	((m)->ncertificates)

/* dir/name, malloc'ed. */
int	ctx_path(char **out, const struct rk_run_ctx *ctx, const char *name, struct rk_err *err)
	    RK_MUST_CHECK;
/* dir/certs/NAME.crt and dir/keys/NAME.key for a certificate of the model. */
int	ctx_cert_paths(char **cert, char **key, const struct rk_run_ctx *ctx,
	    const struct rk_certificate *c, struct rk_err *err) RK_MUST_CHECK;
/* The current CA, opened on first use (its passphrase read then, and cleansed after). */
int	ctx_current_ca(const struct rk_signing_ca **out, struct rk_run_ctx *ctx,
	    struct rk_err *err) RK_MUST_CHECK;
/* The CA that signs this run's certificates: the new one under ca.rotate, else the current. */
int	ctx_issuing_ca(const struct rk_signing_ca **out, struct rk_run_ctx *ctx,
	    struct rk_err *err) RK_MUST_CHECK;
/* Waits for the key of slot and takes it (the caller frees it). */
int	ctx_take_key(struct rk_key **out, struct rk_run_ctx *ctx, size_t slot,
	    struct rk_err *err) RK_MUST_CHECK;
/* The host's transport, connected on first use; kept for every later step of the host. */
int	ctx_transport(struct rk_transport **out, struct rk_run_ctx *ctx, const struct rk_host *h,
	    struct rk_err *err) RK_MUST_CHECK;
/* ca.parent, opened on first use (rotate: intermediate signs with it). */
int	ctx_parent_ca(const struct rk_signing_ca **out, struct rk_run_ctx *ctx,
	    struct rk_err *err) RK_MUST_CHECK;
/* Trust files (trustset.h): ca.cert itself for a root that stays, else made once in dir.
 * What clients trust before the run, */
int	ctx_old_trust(char **out, struct rk_run_ctx *ctx, struct rk_err *err) RK_MUST_CHECK;
/* once the change is done, */
int	ctx_final_trust(char **out, struct rk_run_ctx *ctx, struct rk_err *err) RK_MUST_CHECK;
/* and what rekey trusts to reach a server mid-change: both. */
int	ctx_any_trust(char **out, struct rk_run_ctx *ctx, struct rk_err *err) RK_MUST_CHECK;
/* The parent's CRL: the run's (dir/ca/parent.crl) under rotate: intermediate once signed,
 * else ca.parent.crl when it exists, else NULL. */
int	ctx_parent_crl_file(char **out, const struct rk_run_ctx *ctx, struct rk_err *err)
	    RK_MUST_CHECK;
/* The CRL file the verification checks against: dir/crl.pem once signed, else ca.crl when
 * it exists (with the parent's, in dir/crl-check.pem), else NULL (*out NULL). */
int	ctx_crl_file(char **out, struct rk_run_ctx *ctx, struct rk_err *err) RK_MUST_CHECK;
/* Appends the PEM intermediates a server sends after a leaf this run issues (trustset.h);
 * nothing when the leaves are signed by a root. */
int	ctx_intermediates(struct rk_buf *out, const struct rk_run_ctx *ctx, struct rk_err *err)
	    RK_MUST_CHECK;
/* dir/served/NAME.crt: under rotate: intermediate, the leaf svc served before the run. */
int	ctx_served_leaf_path(char **out, const struct rk_run_ctx *ctx,
	    const struct rk_service *svc, struct rk_err *err) RK_MUST_CHECK;
/* The bytes a push-file step installs. */
int	ctx_push_content(struct rk_buf *out, struct rk_run_ctx *ctx, const struct rk_step *s,
	    struct rk_err *err) RK_MUST_CHECK;
struct rk_client_change;
/* Keeps an edit's diff (secrets masked) as diffs/CLIENT.diff of the incident folder, for the
 * record. */
int	ctx_keep_diff(struct rk_run_ctx *ctx, const struct rk_client_change *change,
	    struct rk_err *err) RK_MUST_CHECK;
/* Reads a local file the run made (certs, CRL, CA) whole. */
int	ctx_read_local(struct rk_buf *out, const char *path, struct rk_err *err) RK_MUST_CHECK;

/*
 * How rekey logs into a service for its own work (reload, the refusal checks): the login's
 * files (the client certificate this run issued when connect.certificate names one, else
 * connect.sslcert), the trust given, its password read (cleanse with login_clear).
 */
struct svc_login {
	struct rk_service_login	 login;
	struct rk_secret	 password;
	char			*cert;
	char			*key;
};
int	svc_login_open(struct svc_login *out, struct rk_run_ctx *ctx, const struct rk_service *svc,
	    const char *ca_file, const char *crl_file, struct rk_err *err) RK_MUST_CHECK;
void	svc_login_clear(struct svc_login *l);

/* Room for the GRANT a backend names (the account's host part may be long). */
#define RK_GRANT_MAX	640

/*
 * Whether svc's login may reload, asked of the server, never by reloading (act_services.c).
 * The login trusts the current CA, which is what every server serves before the change, and
 * checks no CRL: the certificate served may be the one being revoked.
 */
int	svc_ask_reload(bool *may, char *grant, size_t grant_size, const char **statement,
	    struct rk_run_ctx *ctx, const struct rk_service *svc, struct rk_err *err)
	    RK_MUST_CHECK;

/* The action families, each filling its rows of the table. */
void	act_pki_rows(struct rk_action_ops *ops);
void	act_hosts_rows(struct rk_action_ops *ops);
void	act_services_rows(struct rk_action_ops *ops);

/* Shared by the families: a step result from a backup (the undo of a replace). */
int	result_put_backup(struct rk_step_result *res, const struct rk_backup *b,
	    struct rk_err *err) RK_MUST_CHECK;
/* The backup a journal record's undo describes, rebuilt (clear it with rk_backup_clear). */
int	backup_from_undo(struct rk_backup *out, const struct rk_kv *undo, size_t n,
	    struct rk_err *err) RK_MUST_CHECK;

#endif
