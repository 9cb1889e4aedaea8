#include "rekey/chainlinks.h"

#include <stdlib.h>
#include <string.h>

#include "rekey/ca.h"

size_t
rk_chain_find_issuer(const struct rk_cert *cert, struct rk_cert *const *certs, size_t n,
    size_t skip)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (i != skip && rk_cert_is_issued_by(cert, certs[i]))
			return i;
	return RK_CHAIN_NONE;
}

/* What ties certs[i] to certs[i + 1]. */
static void
describe_link(struct rk_chain_link *l, struct rk_cert *const *certs, size_t n, size_t i)
{
	const struct rk_cert *cert = certs[i], *next = certs[i + 1];
	size_t j;

	l->issued = rk_cert_is_issued_by(cert, next);
	l->names_match = rk_cert_names_as_issuer(cert, next);
	l->issuer_is_ca = rk_cert_is_ca(next);
	l->issuer_can_sign = rk_cert_can_sign_certificates(next);
	l->self_signed = rk_cert_is_self_signed(cert);
	l->reversed = !l->issued && rk_cert_is_issued_by(next, cert);
	l->issuer_path_len = rk_cert_path_len(next);
	/* A self-issued CA (a key rollover) does not count against a pathlen (RFC 5280, 6.1.4). */
	l->cas_below = 0;
	for (j = 1; j <= i; j++)
		if (rk_cert_is_ca(certs[j]) && !rk_cert_names_as_issuer(certs[j], certs[j]))
			l->cas_below++;
	/* Its own issuer (self-signed) is not where its chain goes on. */
	l->issuer_at = l->issued ? RK_CHAIN_NONE : rk_chain_find_issuer(cert, certs, n, i);
}

int
rk_chain_links_describe(struct rk_chain_links *out, struct rk_cert *const *certs, size_t n,
    struct rk_err *err)
{
	const struct rk_cert *top;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return rk_fail(err, RK_E_INTERNAL, "a chain of no certificate");
	if (n > 1 && (out->links = calloc(n - 1, sizeof(*out->links))) == NULL)
		return rk_fail_nomem(err);
	out->nlinks = n - 1;
	for (i = 0; i + 1 < n; i++)
		describe_link(&out->links[i], certs, n, i);
	top = certs[n - 1];
	out->top.self_signed = rk_cert_is_self_signed(top);
	out->top.is_ca = rk_cert_is_ca(top);
	out->top.issuer_at = out->top.self_signed ? RK_CHAIN_NONE :
	    rk_chain_find_issuer(top, certs, n, n - 1);
	return 0;
}

void
rk_chain_links_clear(struct rk_chain_links *links)
{
	if (links == NULL)
		return;
	free(links->links);
	memset(links, 0, sizeof(*links));
}

bool
rk_chain_link_is_sound(const struct rk_chain_link *link)
{
	return link->issued && link->issuer_is_ca &&
	    (link->issuer_path_len < 0 || link->cas_below <= (size_t)link->issuer_path_len);
}
