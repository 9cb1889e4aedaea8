/*
 * What clients trust and what servers send, worked out from the playbook's CA: one place,
 * so the files a run pushes, the checks it makes and `rekey verify` agree.
 *
 *   ca.cert a root          trust: ca.cert                 servers send: the leaf
 *   ca.cert an intermediate trust: root (or the chain)     servers send: leaf, intermediates
 *   ca.rotate: root         trust: the new CA              servers send: the leaf
 *   ca.rotate: intermediate trust: root (or new chain)     servers send: leaf, new intermediate
 */
#ifndef REKEY_TRUSTSET_H
#define REKEY_TRUSTSET_H

#include "rekey/bytes.h"
#include "rekey/err.h"
#include "rekey/model.h"

/* Certificates in a trust set at most: a chain deeper than this is not an estate's. */
#define RK_TRUST_MAX	16

enum rk_trust_moment {
	RK_TRUST_BEFORE,	/* what clients trust before the run */
	RK_TRUST_DURING,	/* while servers change: both, when the trust changes */
	RK_TRUST_AFTER,		/* once every server serves the new chain */
};

/*
 * The PEM certificates clients trust at moment, each once. new_ca is the run's new CA
 * certificate (NULL before it exists: then only RK_TRUST_BEFORE may be asked under
 * ca.rotate). DURING holds both sets with policy.trust_overlap, else the AFTER set.
 */
int	rk_trust_bundle(struct rk_buf *out, const struct rk_model *m, const char *new_ca,
	    enum rk_trust_moment moment, struct rk_err *err) RK_MUST_CHECK;

/*
 * The PEM certificates a server sends after its leaf (the intermediates, not the root), for
 * certificates the run issues: empty when the leaves are signed by a root.
 */
int	rk_trust_intermediates(struct rk_buf *out, const struct rk_model *m, const char *new_ca,
	    struct rk_err *err) RK_MUST_CHECK;

#endif
