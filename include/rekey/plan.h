/* The plan: the ordered steps `run` will carry out, built from a model without touching anything. */
#ifndef REKEY_PLAN_H
#define REKEY_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "rekey/err.h"
#include "rekey/model.h"

/* Phases run in this order; every step belongs to exactly one. */
enum rk_phase {
	RK_PHASE_PREFLIGHT,
	RK_PHASE_ISSUE,
	RK_PHASE_REVOKE,
	RK_PHASE_DISTRIBUTE_TRUST,
	RK_PHASE_SWAP,
	RK_PHASE_RELOAD,
	RK_PHASE_VERIFY,
	RK_PHASE_UPDATE_CLIENTS,
	RK_PHASE_VERIFY_CLIENTS,
	RK_PHASE_RETIRE_TRUST,
	RK_PHASE_RECORD,
};
#define RK_PHASES	11

enum rk_action {
	RK_ACT_CHECK_CA,		/* CA certificate and key load, match, can sign */
	RK_ACT_CHECK_LOCAL_FILE,	/* a certificate named for revocation is readable */
	RK_ACT_CONNECT_HOST,		/* host key, login, sudo -n */
	RK_ACT_PROBE_SERVICE,		/* record the certificate a service serves now */
	RK_ACT_CHECK_CLIENT_CONFIG,	/* the client's file is there and parses */
	RK_ACT_GENERATE_CA,		/* a new root CA, or intermediate (ca.rotate) */
	RK_ACT_ISSUE_CERT,		/* a new key and certificate */
	RK_ACT_REVOKE,			/* an entry for the CRL */
	RK_ACT_SIGN_CRL,		/* the CRL, every earlier entry kept */
	RK_ACT_REVOKE_CA,		/* the old intermediate, in the parent's CRL */
	RK_ACT_PUSH_FILE,		/* atomic replace with owner, mode and a backup */
	RK_ACT_RELOAD_SERVICE,		/* reload without restart */
	RK_ACT_VERIFY_SERVICE,		/* verify-full: chain, name, TLS version, fingerprint */
	RK_ACT_CHECK_REFUSED,		/* what must no longer work (see enum rk_refusal) */
	RK_ACT_EDIT_CLIENT_CONFIG,	/* set the named keys, keep every other byte */
	RK_ACT_RUN_CLIENT_RELOAD,	/* the client's reload command */
	RK_ACT_RUN_CLIENT_VERIFY,	/* the client's verify command */
	RK_ACT_WRITE_RECORD,		/* journal, manifest and incident archive */
};

/* What a pushed file holds. */
enum rk_content {
	RK_CONTENT_NONE,
	RK_CONTENT_CERT,		/* the newly issued certificate, then its intermediates */
	RK_CONTENT_KEY,			/* its private key */
	RK_CONTENT_TRUST_BUNDLE,	/* the CA certificates clients trust during the change */
	RK_CONTENT_TRUST_FINAL,		/* the new CA alone, once every server serves it */
	RK_CONTENT_CRL,
};

/* Negative checks: what no longer works after the change, proven rather than assumed. */
enum rk_refusal {
	RK_REFUSE_OLD_CERT,		/* the old certificate is no longer served */
	RK_REFUSE_PLAINTEXT,		/* a login without TLS is refused */
	RK_REFUSE_OLD_TLS,		/* a handshake below min_tls is refused */
	RK_REFUSE_REVOKED_CLIENT,	/* a revoked client certificate is refused */
	RK_REFUSE_OLD_CA,		/* a client trusting only the old CA fails */
	RK_REFUSE_OLD_ISSUER,		/* a leaf of the old intermediate is refused (CRLs) */
};

struct rk_step {
	uint32_t			 id;		/* 1-based and stable: the journal's key */
	enum rk_phase			 phase;
	unsigned			 wave;		/* 1-based for swap/reload/verify, else 0 */
	enum rk_action			 action;
	const struct rk_host		*host;		/* NULL: runs where rekey runs */
	const struct rk_service		*service;
	const struct rk_client		*client;
	const struct rk_certificate	*certificate;
	const struct rk_revocation	*revocation;
	const struct rk_file_target	*file;
	enum rk_content			 content;
	enum rk_refusal			 refusal;
	/* For a push, the step whose output it installs (the issue-cert of its certificate,
	 * sign-crl for a CRL, generate-ca for a new CA's bundle); 0 when the content exists
	 * before the run (the current CA certificate). */
	uint32_t			 source;
};

/* A run of steps with one phase and wave, in plan order: the executor's barrier unit. */
struct rk_step_group {
	size_t		 first;		/* index into steps */
	size_t		 n;
	enum rk_phase	 phase;
	unsigned	 wave;
};

#define RK_PLAN_DIGEST_LEN	72	/* "sha256:" and 64 hex digits and a NUL */

struct rk_plan {
	const struct rk_model	*model;		/* borrowed: the model outlives the plan */
	struct rk_step		*steps;
	size_t			 nsteps;
	unsigned		 nwaves;
	unsigned		 canary_services;	/* services in wave 1 when nwaves > 1 */
	struct rk_step_group	*groups;
	size_t			 ngroups;
	/* Of every step's id, phase, wave, action, host and description: a journal begun under
	 * another plan is refused on resume. */
	char			 digest[RK_PLAN_DIGEST_LEN];
};

/*
 * What cli/ learned on this machine before the plan is built (the plan itself reads no
 * file): for each revocation of the model, in order, whether it was resolved and whether it
 * hits a client certificate whose key is at hand, so a run can try it against the servers.
 */
struct rk_revocation_facts {
	bool	resolved;
	bool	hits_client;
};

struct rk_plan_facts {
	const struct rk_revocation_facts *revocations;	/* model->nrevocations of them */
};

/*
 * Builds the plan for model. Deterministic: the same model and facts always give the same
 * steps. facts may be NULL (nothing known): then no check is promised that depends on them
 * (a revoked client refused needs a revocation known to hit a client certificate).
 */
int	rk_plan_build(struct rk_plan **out, const struct rk_model *model,
	    const struct rk_plan_facts *facts, struct rk_err *err) RK_MUST_CHECK;
void	rk_plan_free(struct rk_plan *plan);

const char	*rk_phase_name(enum rk_phase phase);
/* The action's stable name, as the journal and the JSON plan write it ("push-file"). */
const char	*rk_action_name(enum rk_action action);
const char	*rk_content_name(enum rk_content content);
const char	*rk_refusal_name(enum rk_refusal refusal);
/* Whether preflight asks the server if svc's login may reload (a SQL reload the plan makes,
 * by a login that exists before the run), so a run that could not reload stops before any
 * change. */
bool		 rk_plan_asks_reload_privilege(const struct rk_plan *plan,
		    const struct rk_service *svc);
/* Whether the step changes anything (rehearse runs only the ones that do not). */
bool		 rk_step_is_read_only(const struct rk_step *step);
/* One human line saying what the step does; never holds a secret. */
int		 rk_step_describe(char *buf, size_t size, const struct rk_plan *plan,
		    const struct rk_step *step);

#endif
