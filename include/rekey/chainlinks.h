/* How the certificates of one file link up: each issued by the next, up to a root or beyond. */
#ifndef REKEY_CHAINLINKS_H
#define REKEY_CHAINLINKS_H

#include <stdbool.h>
#include <stddef.h>

#include "rekey/cert.h"
#include "rekey/err.h"

/* An index into a list of certificates that names none. */
#define RK_CHAIN_NONE	((size_t)-1)

/* What ties certificate i of a list to certificate i + 1, the one meant to have issued it. */
struct rk_chain_link {
	bool	issued;		/* i is issued by i + 1: names match, i + 1's key verifies i */
	bool	names_match;	/* i names i + 1's subject as its issuer, whoever signed it */
	bool	issuer_is_ca;	/* i + 1 says basicConstraints CA:TRUE */
	bool	issuer_can_sign;	/* i + 1's keyUsage allows keyCertSign */
	bool	self_signed;	/* i is self-signed: a chain ends at it, nothing should follow */
	bool	reversed;	/* i + 1 is issued by i: the two stand in the wrong order */
	long	issuer_path_len;	/* i + 1's pathLenConstraint; -1: none */
	/* CAs, not self-issued, between certificate 0 and i + 1: what i + 1's pathlen limits
	 * (RFC 5280, 4.2.1.9; certificate 0 is the one the path is for and does not count). */
	size_t	cas_below;
	size_t	issuer_at;	/* unless issued: another that issued i, or RK_CHAIN_NONE */
};

/* The list's last certificate, where its chain leaves the list. */
struct rk_chain_top {
	bool	self_signed;	/* a root, when it is a CA */
	bool	is_ca;
	size_t	issuer_at;	/* unless self-signed: another that issued it, or RK_CHAIN_NONE */
};

struct rk_chain_links {
	struct rk_chain_link	*links;		/* links[i] ties i to i + 1; nlinks is n - 1 */
	size_t			 nlinks;
	struct rk_chain_top	 top;
};

/*
 * Describes how certs[0..n) link in the order given, n >= 1: a file a server sends (the leaf,
 * then each issuer in turn) or a chain of CAs. *out owns its links; clear it with
 * rk_chain_links_clear, also after a failure (out of memory).
 */
int	rk_chain_links_describe(struct rk_chain_links *out, struct rk_cert *const *certs,
	    size_t n, struct rk_err *err) RK_MUST_CHECK;
void	rk_chain_links_clear(struct rk_chain_links *links);
/* Whether a link holds: issued by a CA whose pathlen allows the CAs below it. */
bool	rk_chain_link_is_sound(const struct rk_chain_link *link);
/* The first of certs[0..n) but certs[skip] that issued cert (rk_cert_is_issued_by), or
 * RK_CHAIN_NONE; skip may be RK_CHAIN_NONE. */
size_t	rk_chain_find_issuer(const struct rk_cert *cert, struct rk_cert *const *certs, size_t n,
	    size_t skip);

#endif
