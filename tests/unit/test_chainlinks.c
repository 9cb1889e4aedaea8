/*
 * How the certificates of a file link, each case a list of certificates in the order a file
 * holds them: a sound chain, the order reversed or mixed, another key of the issuer's name,
 * an issuer that is no CA or may not sign, a pathlen broken; what openssl verify says of the
 * pathlen case is checked in unit/pki.
 */
#include "test_util.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "rekey/ca.h"
#include "rekey/cert.h"
#include "rekey/chainlinks.h"
#include "rekey/key.h"

enum { ROOT, INTER, LEAF, SUB, UNDER_SUB, OTHER_INTER, STRANGER, UNDER_LEAF, NOT_CA,
    UNDER_NOT_CA, NCERTS };

struct fixture {
	struct rk_cert	*c[NCERTS];
	struct rk_key	*k[NCERTS];
};

static struct rk_dn_attr root_a[] = { { "CN", "test root" } };
static struct rk_dn_attr inter_a[] = { { "CN", "test issuing CA" } };
static struct rk_dn_attr sub_a[] = { { "CN", "test sub CA" } };
static struct rk_dn_attr leaf_a[] = { { "CN", "leaf.example" } };
static struct rk_dn_attr stranger_a[] = { { "CN", "somebody else's CA" } };

/* Issues c[i] for a new key, signed by c[issuer] (issuer == i: self-signed). */
static void
issue(struct fixture *f, int i, int issuer, enum rk_profile profile, struct rk_dn_attr *cn,
    bool issuing_only)
{
	struct rk_dn dn = { cn, 1 };
	struct rk_cert_spec spec = { profile, &dn, NULL, 0, 30, issuing_only };
	struct rk_err err = { 0 };

	assert_int_equal(rk_key_generate(&f->k[i], RK_KEY_EC_P256, &err), 0);
	assert_int_equal(rk_cert_issue(&f->c[i], &spec, f->k[i], issuer == i ? NULL : f->c[issuer],
	    f->k[issuer], &err), 0);
}

/*
 * A certificate rekey never issues: CA:FALSE but no keyUsage, so nothing but
 * basicConstraints keeps it from issuing. Self-signed; its key in *key_out.
 */
static struct rk_cert *
craft_not_ca(struct rk_key **key_out)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	BIO *bio = BIO_new(BIO_s_mem());
	struct rk_cert *cert = NULL;
	struct rk_err err = { 0 };
	char *pem;
	long len;

	assert_non_null(pkey);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)"not a CA", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pkey);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:FALSE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	/* What rk_cert_issue's authorityKeyIdentifier (keyid:always) takes from an issuer. */
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);
	PEM_write_bio_X509(bio, x);
	len = BIO_get_mem_data(bio, &pem);
	assert_int_equal(rk_cert_load(&cert, (struct rk_bytes){ (unsigned char *)pem,
	    (size_t)len }, "not-a-ca", &err), 0);
	BIO_reset(bio);
	PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
	len = BIO_get_mem_data(bio, &pem);
	assert_int_equal(rk_key_load(key_out, (struct rk_bytes){ (unsigned char *)pem,
	    (size_t)len }, NULL, "not-a-ca.key", &err), 0);
	BIO_free(bio);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return cert;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	issue(f, ROOT, ROOT, RK_PROFILE_CA, root_a, false);
	issue(f, INTER, ROOT, RK_PROFILE_CA, inter_a, true);
	issue(f, LEAF, INTER, RK_PROFILE_SERVER, leaf_a, false);
	issue(f, SUB, INTER, RK_PROFILE_CA, sub_a, false);
	issue(f, UNDER_SUB, SUB, RK_PROFILE_SERVER, leaf_a, false);
	/* The issuing CA's name with another key, as a second `pki init` makes it. */
	issue(f, OTHER_INTER, ROOT, RK_PROFILE_CA, inter_a, true);
	issue(f, STRANGER, STRANGER, RK_PROFILE_CA, stranger_a, false);
	/* Signed with a server's key: its keyUsage lacks keyCertSign. */
	issue(f, UNDER_LEAF, LEAF, RK_PROFILE_CLIENT, sub_a, false);
	f->c[NOT_CA] = craft_not_ca(&f->k[NOT_CA]);
	issue(f, UNDER_NOT_CA, NOT_CA, RK_PROFILE_CLIENT, leaf_a, false);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int i;

	for (i = 0; i < NCERTS; i++) {
		rk_cert_free(f->c[i]);
		rk_key_free(f->k[i]);
	}
	free(f);
	return 0;
}

/* The chain of the certificates named by which[0..n). */
static void
describe(struct rk_chain_links *out, const struct fixture *f, const int *which, size_t n)
{
	struct rk_cert *list[8];
	struct rk_err err = { 0 };
	size_t i;

	for (i = 0; i < n; i++)
		list[i] = f->c[which[i]];
	assert_int_equal(rk_chain_links_describe(out, list, n, &err), 0);
	assert_int_equal(out->nlinks, n - 1);
}

static void
test_sound_chain_ends_at_a_self_signed_root(void **state)
{
	static const int which[] = { LEAF, INTER, ROOT };
	struct rk_chain_links cl;

	describe(&cl, *state, which, 3);
	assert_true(rk_chain_link_is_sound(&cl.links[0]));
	assert_int_equal(cl.links[0].issuer_path_len, 0);	/* nothing but a leaf under it */
	assert_int_equal(cl.links[0].cas_below, 0);
	assert_true(rk_chain_link_is_sound(&cl.links[1]));
	assert_int_equal(cl.links[1].issuer_path_len, -1);
	assert_int_equal(cl.links[1].cas_below, 1);
	assert_true(cl.top.self_signed);
	assert_true(cl.top.is_ca);
	assert_int_equal(cl.top.issuer_at, RK_CHAIN_NONE);
	rk_chain_links_clear(&cl);
}

static void
test_reversed_and_mixed_orders_say_where_the_issuer_is(void **state)
{
	static const int reversed[] = { INTER, LEAF }, mixed[] = { LEAF, ROOT, INTER };
	static const int alone[] = { LEAF };
	struct rk_chain_links cl;

	describe(&cl, *state, reversed, 2);
	assert_false(cl.links[0].issued);
	assert_true(cl.links[0].reversed);
	assert_false(cl.top.self_signed);
	assert_int_equal(cl.top.issuer_at, 0);
	rk_chain_links_clear(&cl);

	describe(&cl, *state, mixed, 3);
	assert_false(cl.links[0].issued);
	assert_false(cl.links[0].reversed);
	assert_false(cl.links[0].names_match);
	assert_int_equal(cl.links[0].issuer_at, 2);
	assert_true(cl.links[1].reversed);			/* the root before what it signs */
	assert_true(cl.links[1].self_signed);
	rk_chain_links_clear(&cl);

	describe(&cl, *state, alone, 1);
	assert_null(cl.links);
	assert_false(cl.top.self_signed);
	assert_int_equal(cl.top.issuer_at, RK_CHAIN_NONE);
	rk_chain_links_clear(&cl);
}

static void
test_issuer_of_the_name_with_another_key_or_no_right_to_sign(void **state)
{
	static const int other_key[] = { LEAF, OTHER_INTER }, stranger[] = { LEAF, STRANGER };
	static const int under_leaf[] = { UNDER_LEAF, LEAF }, not_ca[] = { UNDER_NOT_CA, NOT_CA };
	struct fixture *f = *state;
	struct rk_chain_links cl;

	describe(&cl, f, other_key, 2);
	assert_true(cl.links[0].names_match);
	assert_false(cl.links[0].issued);
	assert_true(cl.links[0].issuer_can_sign);
	assert_false(rk_chain_link_is_sound(&cl.links[0]));
	assert_int_equal(cl.links[0].issuer_at, RK_CHAIN_NONE);
	rk_chain_links_clear(&cl);

	describe(&cl, f, stranger, 2);
	assert_false(cl.links[0].names_match);
	assert_false(cl.links[0].issued);
	assert_true(cl.top.self_signed);
	rk_chain_links_clear(&cl);

	describe(&cl, f, under_leaf, 2);
	assert_true(cl.links[0].names_match);
	assert_false(cl.links[0].issuer_can_sign);
	assert_false(cl.links[0].issued);
	rk_chain_links_clear(&cl);

	/* Signed by its key and allowed by keyUsage: issued, yet not by a CA. */
	describe(&cl, f, not_ca, 2);
	assert_true(cl.links[0].issued);
	assert_false(cl.links[0].issuer_is_ca);
	assert_false(rk_chain_link_is_sound(&cl.links[0]));
	assert_true(cl.top.self_signed);
	assert_false(cl.top.is_ca);
	rk_chain_links_clear(&cl);
}

static void
test_pathlen_0_breaks_with_a_ca_below(void **state)
{
	static const int which[] = { UNDER_SUB, SUB, INTER, ROOT };
	struct rk_chain_links cl;

	describe(&cl, *state, which, 4);
	assert_true(rk_chain_link_is_sound(&cl.links[0]));
	assert_true(cl.links[1].issued);
	assert_true(cl.links[1].issuer_is_ca);
	assert_int_equal(cl.links[1].issuer_path_len, 0);
	assert_int_equal(cl.links[1].cas_below, 1);
	assert_false(rk_chain_link_is_sound(&cl.links[1]));
	assert_true(rk_chain_link_is_sound(&cl.links[2]));	/* the root has no limit */
	rk_chain_links_clear(&cl);
}

static void
test_find_issuer_skips_and_names_are_compared_as_names(void **state)
{
	struct fixture *f = *state;
	struct rk_cert *pool[] = { f->c[LEAF], f->c[OTHER_INTER], f->c[INTER] };

	assert_int_equal(rk_chain_find_issuer(f->c[LEAF], pool, 3, RK_CHAIN_NONE), 2);
	assert_int_equal(rk_chain_find_issuer(f->c[LEAF], pool, 3, 2), RK_CHAIN_NONE);
	assert_int_equal(rk_chain_find_issuer(f->c[ROOT], pool, 3, RK_CHAIN_NONE), RK_CHAIN_NONE);
	assert_true(rk_cert_names_as_issuer(f->c[LEAF], f->c[OTHER_INTER]));
	assert_false(rk_cert_names_as_issuer(f->c[LEAF], f->c[ROOT]));
	assert_true(rk_cert_names_as_issuer(f->c[ROOT], f->c[ROOT]));	/* self-issued */
	assert_false(rk_cert_names_as_issuer(f->c[INTER], f->c[INTER]));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sound_chain_ends_at_a_self_signed_root),
		cmocka_unit_test(test_reversed_and_mixed_orders_say_where_the_issuer_is),
		cmocka_unit_test(test_issuer_of_the_name_with_another_key_or_no_right_to_sign),
		cmocka_unit_test(test_pathlen_0_breaks_with_a_ca_below),
		cmocka_unit_test(test_find_issuer_skips_and_names_are_compared_as_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
