/*
 * A CA's chain up to its root: ca.cert, then ca.chain, each certificate signed by the next.
 * Checked link by link so that a playbook with the chain in the wrong order, a link that does
 * not sign the one below it, or an expired link is told which link, before anything runs.
 */
#ifndef REKEY_CHAIN_H
#define REKEY_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "rekey/cert.h"
#include "rekey/crl.h"
#include "rekey/err.h"

struct rk_chain {
	struct rk_cert	**certs;	/* certs[0] is the CA that signs the leaves; the last the root */
	size_t		  n;
};

/* Loads ca_path's certificate and every certificate of chain_path (NULL: none) after it. */
int	rk_chain_load(struct rk_chain *out, const char *ca_path, const char *chain_path,
	    struct rk_err *err) RK_MUST_CHECK;
void	rk_chain_clear(struct rk_chain *chain);

/*
 * Checks each link above certs[0] at time now: certs[i] is a CA that may sign certificates,
 * signed certs[i - 1] (names and signature), lets that many CAs below it (pathLenConstraint),
 * is within its validity period; and the last one is a root (self-signed). On failure returns
 * RK_E_USAGE with *bad the 1-based position in the chain file of the link at fault and err
 * saying what is wrong and how to put it right ("certificate 2 ("/CN=Root") signed
 * certificate 1 ...: the order is reversed").
 */
int	rk_chain_check(const struct rk_chain *chain, time_t now, size_t *bad, struct rk_err *err)
	    RK_MUST_CHECK;

/* The root: the last certificate. */
const struct rk_cert *rk_chain_root(const struct rk_chain *chain);

/* What OpenSSL made of a leaf: verified, or the first failure and the link it is at. */
struct rk_chain_verdict {
	bool	ok;
	bool	revoked;		/* the failure is a revoked certificate */
	int	depth;			/* 0: the leaf, 1: its issuer, ... */
	char	reason[160];		/* OpenSSL's words, "certificate revoked" */
};

/*
 * Verifies leaf as a client does that trusts trusted_file (its CA file) and is handed
 * untrusted (the certificates a server sends after its leaf), with CRL checks of every link
 * when crl_file is given (X509_V_FLAG_CRL_CHECK_ALL, as PostgreSQL and MariaDB check theirs).
 * Fails only when the verification cannot be made at all.
 */
int	rk_chain_verify_leaf(struct rk_chain_verdict *out, const struct rk_cert *leaf,
	    struct rk_cert *const *untrusted, size_t nuntrusted, const char *trusted_file,
	    const char *crl_file, struct rk_err *err) RK_MUST_CHECK;

#endif
