/*
 * The engine's actions: one row of operations per action of the plan (enum rk_action), and
 * the context of one run they share: the incident folder, the CA, the keys being generated,
 * one transport per host, what each service served before the change. cli/ fills in the
 * backends (which transport for a host, which service backend for a server), as curl is
 * handed a TLS backend; nothing here prints.
 *
 * The incident folder (<records>/<incident>/, mode 0700) holds what the run made, under
 * names that follow from the plan alone, so a resume finds them without asking the journal:
 *   certs/NAME.crt   keys/NAME.key (0600)   ca/ca.crt ca/ca.key ca/ca.crl (ca.rotate)
 *   crl.pem (what hosts get: the current CA's CRL, and the new CA's under ca.rotate)
 *   trust-any.pem (old and new CA: how rekey itself reaches a server mid-change)
 *   MANIFEST.sha256 (the record step)
 */
#ifndef REKEY_ACTIONS_H
#define REKEY_ACTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "rekey/err.h"
#include "rekey/executor.h"
#include "rekey/hostcheck.h"
#include "rekey/plan.h"
#include "rekey/revocation.h"
#include "rekey/service.h"
#include "rekey/transport.h"

struct rk_run_setup {
	const struct rk_plan	*plan;
	const char		*dir;		/* the incident folder; made here when missing */
	/* Makes the (unconnected) transport for a host. */
	int	(*transport_new)(struct rk_transport **out, const struct rk_host *host,
		    struct rk_err *err);
	/* The backend for a service's kind. */
	const struct rk_service_ops *(*service_ops)(const struct rk_service *svc);
	/* Per revocation of the model, in order: the serials it hits, settled when the run
	 * began (and journaled), and why it could not be resolved (NULL: it was). */
	const struct rk_revoked_set	*revoked;
	const char *const		*revoke_errors;
	const char			*ledger;	/* ledger.json beside ca.cert */
	/* Threads for key generation, started at once in the background. */
	size_t				 keygen_threads;
	/* A rehearsal (rk_rehearsal_table): dir is a scratch folder, removed afterwards by the
	 * caller; nothing goes to the ledger or the CA's CRL file, and no host is changed. */
	bool				 rehearsal;
};

struct rk_run_ctx;

int	rk_run_ctx_new(struct rk_run_ctx **out, const struct rk_run_setup *setup,
	    struct rk_err *err) RK_MUST_CHECK;
/* Closes every host's session (a later step would open it again): once the steps are done,
 * a thousand sessions' buffers need not stay through the record. NULL is fine. */
void	rk_run_ctx_close_transports(struct rk_run_ctx *ctx);
/* Joins the key generators, closes every transport, cleanses every key. NULL is fine. */
void	rk_run_ctx_free(struct rk_run_ctx *ctx);

/*
 * Starts generating every key the run will issue and has not issued yet (an RSA-3072 key
 * takes about half a second), so the primes are found while the lanes connect to hosts.
 */
int	rk_run_ctx_start_keygen(struct rk_run_ctx *ctx, struct rk_err *err) RK_MUST_CHECK;

/* RK_ACTIONS rows, indexed by enum rk_action, for struct rk_executor_config. */
const struct rk_action_ops *rk_action_table(void);

/* What a service served, as the run saw it: before the change (probe) and after (verify). */
struct rk_served {
	char	before[96];		/* SHA-256 fingerprint, "" when not probed */
	char	after[96];
	char	protocol[16];		/* of the last verification */
};

/* The facts for service index i of the model (after the run, for the summary). */
const struct rk_served *rk_run_ctx_served(const struct rk_run_ctx *ctx, size_t i);

/*
 * The rehearsal's rows: the read-only steps as `run` does them; for every step that would
 * change something, the checks that tell whether it would work (a replace tried up to its
 * rename, a reload's privilege asked of the server, a command looked up, an edit made in
 * memory); keys and certificates made in the scratch folder; and the record step proves
 * that every file the rehearsal touched or read on every host is as it was.
 */
const struct rk_action_ops *rk_rehearsal_table(void);

/* What a rehearsal found at one step. Strings are the context's; NULL when there is none. */
struct rk_finding {
	const char	*detail;	/* what was seen: a go's facts, or a no-go's evidence */
	const char	*fix;		/* for a no-go: what to do about it */
	const char	*diff;		/* an edit's unified diff, secrets masked */
	bool		 live_only;	/* needs the change made: only the live run can check it */
	double		 seconds;	/* how long the step took */
};

/* The finding of step s (a rehearsal context only; NULL otherwise). */
const struct rk_finding *rk_run_ctx_finding(const struct rk_run_ctx *ctx,
	    const struct rk_step *s);
/* Files whose state the rehearsal compared before and after, and hosts it read them on. */
void	rk_run_ctx_proof_counts(const struct rk_run_ctx *ctx, size_t *files, size_t *hosts,
	    size_t *local);
/* Calls fn for each file the rehearsal snapshotted, with its state before (host NULL: this
 * machine), in host order. */
void	rk_run_ctx_each_snapshot(const struct rk_run_ctx *ctx,
	    void (*fn)(const char *host, const char *path, const struct rk_path_state *before,
	    void *arg), void *arg);

/* The incident folder's path for what a step makes (certs/NAME.crt, ...); *out malloc'ed. */
int	rk_incident_file(char **out, const char *dir, const char *name, struct rk_err *err)
	    RK_MUST_CHECK;

#endif
