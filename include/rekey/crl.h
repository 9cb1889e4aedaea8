/* Certificate revocation lists (v2): build one that keeps every earlier entry, load, inspect. */
#ifndef REKEY_CRL_H
#define REKEY_CRL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "rekey/bytes.h"
#include "rekey/cert.h"
#include "rekey/err.h"
#include "rekey/key.h"
#include "rekey/model.h"

struct rk_crl;

/* One revocation: a serial as "5D:3A:91" (upper-case hex bytes), when and why. */
struct rk_crl_entry {
	char		serial[64];	/* 20 bytes at most (RFC 5280) as hex with colons */
	time_t		revoked_at;
	enum rk_reason	reason;
	bool		has_reason;
};

/*
 * Builds and signs a CRL for ca. Every entry of previous (when given) is kept: a revocation
 * is never dropped because a playbook no longer lists it. previous must be signed by ca's
 * key. The CRL Number is previous's plus one (1 without previous); lastUpdate is now and
 * nextUpdate now + next_update_days. A serial already revoked keeps its first entry.
 */
int	rk_crl_build(struct rk_crl **out, const struct rk_crl *previous,
	    const struct rk_crl_entry *add, size_t nadd, const struct rk_cert *ca,
	    const struct rk_key *ca_key, int next_update_days, struct rk_err *err) RK_MUST_CHECK;
int	rk_crl_load(struct rk_crl **out, struct rk_bytes data, const char *label,
	    struct rk_err *err) RK_MUST_CHECK;
int	rk_crl_load_file(struct rk_crl **out, const char *path, struct rk_err *err) RK_MUST_CHECK;
/* Every CRL of PEM data (a CA's then its parent's, as hosts load them), or the one of DER
 * data; *out is an array of n, at least one. */
int	rk_crl_load_bundle(struct rk_crl ***out, size_t *n, struct rk_bytes data,
	    const char *label, struct rk_err *err) RK_MUST_CHECK;
void	rk_crl_bundle_free(struct rk_crl **crls, size_t n);
int	rk_crl_to_pem(struct rk_buf *out, const struct rk_crl *crl, struct rk_err *err)
	    RK_MUST_CHECK;
/* Whether crl's signature verifies with ca's public key. */
bool	rk_crl_is_signed_by(const struct rk_crl *crl, const struct rk_cert *ca);

size_t	rk_crl_count(const struct rk_crl *crl);
void	rk_crl_entry_at(struct rk_crl_entry *out, const struct rk_crl *crl, size_t i);
bool	rk_crl_has_serial(const struct rk_crl *crl, const char *serial);
/* The CRL Number, or -1 when it has none (or it is negative, or does not fit a long). */
long	rk_crl_number(const struct rk_crl *crl);
time_t	rk_crl_last_update(const struct rk_crl *crl);
time_t	rk_crl_next_update(const struct rk_crl *crl);
int	rk_crl_issuer(char *buf, size_t size, const struct rk_crl *crl);

/* Normalises a serial ("5d3a91", "5D:3A:91") to the entry form; false when it is not hex. */
bool	rk_serial_normalise(char *out, size_t size, const char *serial);

void	rk_crl_free(struct rk_crl *crl);

#endif
