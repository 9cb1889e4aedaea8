/*
 * Trust sets from the playbook's CA. Certificates are loaded and written back as PEM, each
 * once (by fingerprint), so a bundle never carries the root twice nor a stray comment of
 * the files it came from.
 */
#include "rekey/trustset.h"

#include <stdlib.h>
#include <string.h>

#include "rekey/cert.h"
#include "rekey/chain.h"

/* The certificates a set is made of, borrowed from the loaded chain and new CA. */
struct cert_list {
	const struct rk_cert	*items[RK_TRUST_MAX];
	size_t			 n;
};

struct sources {
	struct rk_chain		 chain;		/* ca.cert, then ca.chain */
	struct rk_cert		*new_ca;	/* the run's, or NULL */
};

static void
list_add(struct cert_list *l, const struct rk_cert *c)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (rk_cert_same(c, l->items[i]))
			return;
	if (l->n < RK_TRUST_MAX)
		l->items[l->n++] = c;
}

static int
sources_load(struct sources *src, const struct rk_model *m, const char *new_ca,
    struct rk_err *err)
{
	int r;

	memset(src, 0, sizeof(*src));
	if ((r = rk_chain_load(&src->chain, m->ca.cert, m->ca.chain, err)) != 0)
		return r;
	if (src->chain.n > RK_TRUST_MAX - 1) {
		rk_chain_clear(&src->chain);
		return rk_fail(err, RK_E_LIMIT, "%s: more than %d certificates in the chain",
		    m->ca.chain, RK_TRUST_MAX - 1);
	}
	if (new_ca != NULL && (r = rk_cert_load_file(&src->new_ca, new_ca, err)) != 0) {
		rk_chain_clear(&src->chain);
		return r;
	}
	return 0;
}

static void
sources_clear(struct sources *src)
{
	rk_chain_clear(&src->chain);
	rk_cert_free(src->new_ca);
}

/* Before the run: the root alone, or ca.cert and what is above it (trust: chain). */
static void
add_before(struct cert_list *l, const struct rk_model *m, const struct sources *src)
{
	size_t i;

	if (m->ca.chain == NULL || m->ca.trust == RK_TRUST_ROOT) {
		list_add(l, rk_chain_root(&src->chain));
		return;
	}
	for (i = 0; i < src->chain.n; i++)
		list_add(l, src->chain.certs[i]);
}

static int
add_after(struct cert_list *l, const struct rk_model *m, const struct sources *src,
    struct rk_err *err)
{
	size_t i;

	if (m->ca.rotate == RK_ROTATE_NONE) {
		add_before(l, m, src);
		return 0;
	}
	if (src->new_ca == NULL)
		return rk_fail(err, RK_E_INTERNAL, "the trust after the run needs the new CA");
	if (m->ca.rotate == RK_ROTATE_ROOT) {
		list_add(l, src->new_ca);
		return 0;
	}
	if (m->ca.trust == RK_TRUST_ROOT) {
		list_add(l, rk_chain_root(&src->chain));
		return 0;
	}
	list_add(l, src->new_ca);
	for (i = 1; i < src->chain.n; i++)
		list_add(l, src->chain.certs[i]);
	return 0;
}

static int
write_list(struct rk_buf *out, const struct cert_list *l, struct rk_err *err)
{
	size_t i;
	int r = 0;

	for (i = 0; i < l->n && r == 0; i++)
		r = rk_cert_to_pem(out, l->items[i], err);
	return r;
}

int
rk_trust_bundle(struct rk_buf *out, const struct rk_model *m, const char *new_ca,
    enum rk_trust_moment moment, struct rk_err *err)
{
	struct cert_list list = { { NULL }, 0 };
	struct sources src;
	int r = 0;

	if ((r = sources_load(&src, m, new_ca, err)) != 0)
		return r;
	switch (moment) {
	case RK_TRUST_BEFORE:
		add_before(&list, m, &src);
		break;
	case RK_TRUST_DURING:
		/* Old trust first: a client walks the bundle in order, and it serves now. */
		if (m->ca.rotate == RK_ROTATE_NONE || m->policy.trust_overlap)
			add_before(&list, m, &src);
		r = add_after(&list, m, &src, err);
		break;
	case RK_TRUST_AFTER:
		r = add_after(&list, m, &src, err);
		break;
	}
	if (r == 0)
		r = write_list(out, &list, err);
	sources_clear(&src);
	return r;
}

int
rk_trust_intermediates(struct rk_buf *out, const struct rk_model *m, const char *new_ca,
    struct rk_err *err)
{
	struct cert_list list = { { NULL }, 0 };
	struct sources src;
	size_t i;
	int r;

	if (!rk_model_leaves_have_intermediates(m))
		return 0;
	if ((r = sources_load(&src, m, new_ca, err)) != 0)
		return r;
	if (m->ca.rotate == RK_ROTATE_INTERMEDIATE) {
		if (src.new_ca == NULL)
			r = rk_fail(err, RK_E_INTERNAL, "the intermediates need the new CA");
		else
			list_add(&list, src.new_ca);
	} else {
		list_add(&list, src.chain.certs[0]);
	}
	/* What is above the issuing CA, the root aside: clients have the root already. The
	 * chain check lets a root follow itself, so a chain file may hold it twice. */
	for (i = 1; r == 0 && i + 1 < src.chain.n; i++)
		if (!rk_cert_is_self_signed(src.chain.certs[i]))
			list_add(&list, src.chain.certs[i]);
	if (r == 0)
		r = write_list(out, &list, err);
	sources_clear(&src);
	return r;
}
