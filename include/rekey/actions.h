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
};

struct rk_run_ctx;

int	rk_run_ctx_new(struct rk_run_ctx **out, const struct rk_run_setup *setup,
	    struct rk_err *err) RK_MUST_CHECK;
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

/* The incident folder's path for what a step makes (certs/NAME.crt, ...); *out malloc'ed. */
int	rk_incident_file(char **out, const char *dir, const char *name, struct rk_err *err)
	    RK_MUST_CHECK;

#endif
