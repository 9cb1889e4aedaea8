/*
 * CA chains, checked link by link (rk_chain_check) and as a client verifies a leaf with them
 * (rk_chain_verify_leaf). Every chain is made here with rekey's pki, written to files and
 * loaded back with rk_chain_load, as a playbook's ca.cert and ca.chain are.
 */
#include "hierarchy.h"

#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "rekey/chain.h"
#include "rekey/crl.h"

/*
 *   Root CA (400 days) -- Policy CA (300) -- Issuing CA (pathlen 0, 250) -- leaf (30)
 *   Root CA            -- Int CA (pathlen 0, 250) -- leaf2 (30)
 */
struct fixture {
	char		dir[64];
	struct hca	root, policy, issuing, intca, leaf, leaf2;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	hier_dir_make(f->dir, sizeof(f->dir), "chain");
	hca_issue(&f->root, "Root CA", RK_PROFILE_CA, false, 400, NULL);
	hca_issue(&f->policy, "Policy CA", RK_PROFILE_CA, false, 300, &f->root);
	hca_issue(&f->issuing, "Issuing CA", RK_PROFILE_CA, true, 250, &f->policy);
	hca_issue(&f->intca, "Int CA", RK_PROFILE_CA, true, 250, &f->root);
	hca_issue(&f->leaf, "db1.example.com", RK_PROFILE_SERVER, false, 30, &f->issuing);
	hca_issue(&f->leaf2, "db2.example.com", RK_PROFILE_SERVER, false, 30, &f->intca);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	hier_dir_remove(f->dir);
	hca_clear(&f->root);
	hca_clear(&f->policy);
	hca_clear(&f->issuing);
	hca_clear(&f->intca);
	hca_clear(&f->leaf);
	hca_clear(&f->leaf2);
	free(f);
	return 0;
}

/*
 * Writes ca as ca.pem and above (NULL-terminated; none: no ca.chain) as chain.pem, loads
 * them with rk_chain_load and checks the chain at now. Fails the test unless the check
 * passes (want NULL), or fails with RK_E_USAGE, *bad == want_bad and want in its message.
 */
static void
expect_chain(const struct fixture *f, const char *label, const struct rk_cert *ca,
    const struct rk_cert *const *above, time_t now, size_t want_bad,
    const char *want)
{
	char ca_path[128], chain_path[128];
	struct rk_chain chain;
	struct rk_err err = { 0 };
	size_t n = 0, bad = 99;
	int r;

	while (above[n] != NULL)
		n++;
	hier_write_certs(ca_path, sizeof(ca_path), f->dir, "ca.pem", &ca, 1);
	hier_write_certs(chain_path, sizeof(chain_path), f->dir, "chain.pem", above, n);
	assert_int_equal(rk_chain_load(&chain, ca_path, n > 0 ? chain_path : NULL, &err), 0);
	assert_int_equal(chain.n, n + 1);
	r = rk_chain_check(&chain, now, &bad, &err);
	rk_chain_clear(&chain);
	if (want == NULL) {
		if (r != 0)
			fail_msg("%s: want a pass, got '%s'", label, err.msg);
		assert_int_equal(bad, 0);
		return;
	}
	if (r != RK_E_USAGE || strstr(err.msg, want) == NULL)
		fail_msg("%s: want '%s', got %d '%s'", label, want, r, err.msg);
	if (bad != want_bad)
		fail_msg("%s: want link %zu at fault, got %zu (%s)", label, want_bad, bad,
		    err.msg);
}

static void
test_good_chains_of_one_two_and_three_levels_pass(void **state)
{
	struct fixture *f = *state;
	time_t now = time(NULL);
	char ca_path[128], chain_path[128], want[RK_FINGERPRINT_LEN], got[RK_FINGERPRINT_LEN];
	const struct rk_cert *three[] = { f->policy.cert, f->root.cert };
	struct rk_chain chain;
	struct rk_err err = { 0 };

	expect_chain(f, "root alone", f->root.cert, (const struct rk_cert *[]){ NULL }, now, 0,
	    NULL);
	expect_chain(f, "2 levels", f->intca.cert, (const struct rk_cert *[]){ f->root.cert,
	    NULL }, now, 0, NULL);
	/* ca.cert's pathlen 0 limits only the CAs below it, and there are none. */
	expect_chain(f, "3 levels", f->issuing.cert, (const struct rk_cert *[]){
	    f->policy.cert, f->root.cert, NULL }, now, 0, NULL);

	/* Loaded in file order: ca.cert, then the chain file's; the root is the last. */
	hier_write_certs(ca_path, sizeof(ca_path), f->dir, "ca.pem",
	    (const struct rk_cert *[]){ f->issuing.cert }, 1);
	hier_write_certs(chain_path, sizeof(chain_path), f->dir, "chain.pem", three, 2);
	assert_int_equal(rk_chain_load(&chain, ca_path, chain_path, &err), 0);
	assert_int_equal(chain.n, 3);
	rk_cert_fingerprint(want, f->root.cert);
	rk_cert_fingerprint(got, rk_chain_root(&chain));
	assert_string_equal(got, want);
	rk_cert_fingerprint(want, f->policy.cert);
	rk_cert_fingerprint(got, chain.certs[1]);
	assert_string_equal(got, want);
	rk_chain_clear(&chain);
	assert_null(chain.certs);
	assert_int_equal(chain.n, 0);
}

static void
test_reversed_chain_names_the_link_and_says_out_of_order(void **state)
{
	struct fixture *f = *state;

	expect_chain(f, "reversed", f->issuing.cert, (const struct rk_cert *[]){ f->root.cert,
	    f->policy.cert, NULL }, time(NULL), 1,
	    "certificate 1 of ca.chain (\"/CN=Root CA\") did not sign ca.cert "
	    "(\"/CN=Issuing CA\"), certificate 2 of ca.chain (\"/CN=Policy CA\") did: the chain "
	    "is out of order");
}

static void
test_chain_of_another_root_names_the_expected_issuer(void **state)
{
	struct fixture *f = *state;
	struct hca other, twin;

	hca_issue(&other, "Other Root", RK_PROFILE_CA, false, 400, NULL);
	expect_chain(f, "other root", f->intca.cert, (const struct rk_cert *[]){ other.cert,
	    NULL }, time(NULL), 1,
	    "certificate 1 of ca.chain (\"/CN=Other Root\") did not sign ca.cert (\"/CN=Int CA\"), "
	    "whose issuer is \"/CN=Root CA\": put the certificate of \"/CN=Root CA\" here");
	/* The right Policy CA under the wrong root: the link at fault is the second. */
	expect_chain(f, "other root at the top", f->issuing.cert, (const struct rk_cert *[]){
	    f->policy.cert, other.cert, NULL }, time(NULL), 2,
	    "certificate 2 of ca.chain (\"/CN=Other Root\") did not sign certificate 1 of "
	    "ca.chain (\"/CN=Policy CA\"), whose issuer is \"/CN=Root CA\"");

	/* A root re-made under the same name, with a new key: the name alone is no proof. */
	hca_issue(&twin, "Root CA", RK_PROFILE_CA, false, 400, NULL);
	expect_chain(f, "same name, other key", f->intca.cert, (const struct rk_cert *[]){
	    twin.cert, NULL }, time(NULL), 1,
	    "certificate 1 of ca.chain (\"/CN=Root CA\") has the name of the issuer of ca.cert "
	    "(\"/CN=Int CA\"), but its key does not verify that certificate's signature: another "
	    "CA of the same name");
	hca_clear(&other);
	hca_clear(&twin);
}

/* A certificate signed by issuer (NULL: itself), with the given extensions (NULL: none). */
static X509 *
craft(EVP_PKEY *key, const char *cn, const char *basic, const char *usage, X509 *issuer,
    EVP_PKEY *issuer_key)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	const char *const exts[][2] = {
		{ "basicConstraints", basic }, { "keyUsage", usage },
		{ "subjectKeyIdentifier", "hash" }, { "authorityKeyIdentifier", "keyid:always" },
	};
	size_t i;

	assert_non_null(x);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(issuer != NULL ? issuer : x));
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 30 * 86400);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		X509_EXTENSION *ext;

		if (exts[i][1] == NULL)
			continue;
		assert_non_null(ext = X509V3_EXT_conf(NULL, &ctx, exts[i][0], exts[i][1]));
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256()) > 0);
	return x;
}

static struct rk_cert *
to_rk_cert(X509 *x)
{
	struct rk_cert *cert = NULL;
	struct rk_err err = { 0 };
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);

	assert_true(len > 0);
	assert_int_equal(rk_cert_load(&cert, (struct rk_bytes){ der, (size_t)len }, "crafted",
	    &err), 0);
	OPENSSL_free(der);
	return cert;
}

/*
 * The middle link of ca.cert -- middle -- root is made by hand, with extensions rekey itself
 * never writes: each must be told for what it is, not as a link that did not sign.
 */
static void
test_link_that_is_no_ca_or_may_not_sign_certificates_is_named(void **state)
{
	static const struct {
		const char *label, *basic, *usage, *want;
	} cases[] = {
		{ "a CA", "critical,CA:TRUE", "critical,keyCertSign,cRLSign", NULL },
		{ "no keyCertSign", "critical,CA:TRUE", "critical,cRLSign,digitalSignature",
		    "certificate 1 of ca.chain (\"/CN=Middle\") may not sign certificates (its "
		    "keyUsage lacks keyCertSign)" },
		{ "CA:FALSE with keyCertSign", "critical,CA:FALSE", "critical,keyCertSign",
		    "certificate 1 of ca.chain (\"/CN=Middle\") is not a CA (no basicConstraints "
		    "CA:TRUE)" },
		{ "no extensions", NULL, NULL, "certificate 1 of ca.chain (\"/CN=Middle\") is not "
		    "a CA (no basicConstraints CA:TRUE)" },
		/* A server certificate listed in the chain by mistake. */
		{ "a leaf", "critical,CA:FALSE", "critical,digitalSignature,keyEncipherment",
		    "certificate 1 of ca.chain (\"/CN=Middle\") is not a CA" },
	};
	struct fixture *f = *state;
	EVP_PKEY *root_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *mid_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *low_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *root = craft(root_key, "Crafted Root", "critical,CA:TRUE",
	    "critical,keyCertSign,cRLSign", NULL, NULL);
	struct rk_cert *rk_root = to_rk_cert(root);
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		X509 *mid = craft(mid_key, "Middle", cases[i].basic, cases[i].usage, root,
		    root_key);
		X509 *low = craft(low_key, "Low", "critical,CA:TRUE,pathlen:0",
		    "critical,keyCertSign,cRLSign", mid, mid_key);
		struct rk_cert *rk_mid = to_rk_cert(mid), *rk_low = to_rk_cert(low);

		expect_chain(f, cases[i].label, rk_low, (const struct rk_cert *[]){ rk_mid,
		    rk_root, NULL }, time(NULL), 1, cases[i].want);
		rk_cert_free(rk_low);
		rk_cert_free(rk_mid);
		X509_free(low);
		X509_free(mid);
	}
	rk_cert_free(rk_root);
	X509_free(root);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(mid_key);
	EVP_PKEY_free(low_key);
}

static void
test_path_length_exceeded_names_the_constraining_link(void **state)
{
	struct fixture *f = *state;
	struct hca policy0, below;

	/* A policy CA made issuing-only (pathlen 0) that went on to sign an issuing CA. */
	hca_issue(&policy0, "Policy CA 0", RK_PROFILE_CA, true, 300, &f->root);
	hca_issue(&below, "Issuing CA 2", RK_PROFILE_CA, true, 250, &policy0);
	assert_int_equal(rk_cert_path_len(policy0.cert), 0);
	assert_int_equal(rk_cert_path_len(f->policy.cert), -1);
	expect_chain(f, "pathlen", below.cert, (const struct rk_cert *[]){ policy0.cert,
	    f->root.cert, NULL }, time(NULL), 1,
	    "certificate 1 of ca.chain (\"/CN=Policy CA 0\") allows 0 CAs below it "
	    "(pathLenConstraint) and has 1: clients refuse the chain");
	hca_clear(&policy0);
	hca_clear(&below);
}

static void
test_expired_link_says_how_many_days_ago(void **state)
{
	struct fixture *f = *state;
	const struct rk_cert *three[] = { f->policy.cert, f->root.cert, NULL };
	const struct rk_cert *two[] = { f->root.cert, NULL };
	time_t policy_end = rk_cert_not_after(f->policy.cert);
	time_t root_end = rk_cert_not_after(f->root.cert);
	struct hca short_root, long_policy, issuing;

	/* An hour before the Policy CA ends, the chain is good; ca.cert's own dates are the
	 * CA check's (rk_ca_check_cert), not the chain's, so the expired Issuing CA is not
	 * reported here. */
	expect_chain(f, "policy CA ends in an hour", f->issuing.cert, three, policy_end - 3600,
	    0, NULL);
	expect_chain(f, "a minute", f->issuing.cert, three, policy_end + 60, 1,
	    "certificate 1 of ca.chain (\"/CN=Policy CA\") expired less than a day ago: every "
	    "client refuses what it signed");
	expect_chain(f, "a day", f->issuing.cert, three, policy_end + 86400 + 60, 1,
	    "(\"/CN=Policy CA\") expired 1 day ago:");
	expect_chain(f, "a week", f->issuing.cert, three, policy_end + 7 * 86400 + 60, 1,
	    "(\"/CN=Policy CA\") expired 7 days ago:");
	/* Ten years on. */
	expect_chain(f, "years", f->intca.cert, two, root_end + 3650 * 86400L + 5, 1,
	    "(\"/CN=Root CA\") expired 3650 days ago:");

	/* The root ends first: the link at fault is the second of the file. */
	hca_issue(&short_root, "Short Root", RK_PROFILE_CA, false, 10, NULL);
	hca_issue(&long_policy, "Long Policy", RK_PROFILE_CA, false, 300, &short_root);
	hca_issue(&issuing, "Issuing CA 3", RK_PROFILE_CA, true, 250, &long_policy);
	expect_chain(f, "root first", issuing.cert, (const struct rk_cert *[]){
	    long_policy.cert, short_root.cert, NULL },
	    rk_cert_not_after(short_root.cert) + 2 * 86400 + 60, 2,
	    "certificate 2 of ca.chain (\"/CN=Short Root\") expired 2 days ago");
	hca_clear(&short_root);
	hca_clear(&long_policy);
	hca_clear(&issuing);
}

static void
test_link_not_valid_yet_blames_the_clock(void **state)
{
	struct fixture *f = *state;

	/* A day back, the Policy CA (notBefore five minutes ago) does not exist yet. */
	expect_chain(f, "yesterday", f->issuing.cert, (const struct rk_cert *[]){
	    f->policy.cert, f->root.cert, NULL }, time(NULL) - 86400, 1,
	    "certificate 1 of ca.chain (\"/CN=Policy CA\") is not valid yet (check this "
	    "machine's clock)");
	expect_chain(f, "ten minutes ago", f->intca.cert, (const struct rk_cert *[]){
	    f->root.cert, NULL }, time(NULL) - 600, 1, "(\"/CN=Root CA\") is not valid yet");
}

static void
test_chain_that_stops_below_the_root_asks_for_the_rest(void **state)
{
	struct fixture *f = *state;

	expect_chain(f, "no root", f->issuing.cert, (const struct rk_cert *[]){ f->policy.cert,
	    NULL }, time(NULL), 1,
	    "the chain ends at certificate 1 of ca.chain (\"/CN=Policy CA\"), which is not a "
	    "root (it is not self-signed): add its issuer, up to the root");
	/* An intermediate as ca.cert with no ca.chain at all. */
	expect_chain(f, "no chain", f->intca.cert, (const struct rk_cert *[]){ NULL }, time(NULL),
	    0, "ca.cert (\"/CN=Int CA\") is not a root (it is not self-signed): name the "
	    "certificates above it, up to the root, as ca.chain");
}

/* ---- rk_chain_verify_leaf ---------------------------------------------------------- */

/* Signs a CRL of ca revoking what (NULL: nothing) and appends it to path. */
static void
append_crl(const char *path, const struct hca *ca, const struct rk_cert *what)
{
	struct rk_crl_entry e = { .revoked_at = 0 };
	struct rk_crl *crl = NULL;
	struct rk_err err = { 0 };
	struct rk_buf pem;

	if (what != NULL) {
		rk_cert_serial(e.serial, sizeof(e.serial), what);
		e.revoked_at = time(NULL) - 60;
		e.reason = RK_REASON_CA_COMPROMISE;
		e.has_reason = true;
	}
	assert_int_equal(rk_crl_build(&crl, NULL, &e, what != NULL ? 1 : 0, ca->cert, ca->key, 7,
	    &err), 0);
	rk_buf_init(&pem, RK_PEM_MAX);
	assert_int_equal(rk_crl_to_pem(&pem, crl, &err), 0);
	hier_append(path, pem.ptr, pem.len);
	rk_buf_clear(&pem);
	rk_crl_free(crl);
}

static void
verify(struct rk_chain_verdict *v, const struct fixture *f, const struct rk_cert *leaf,
    struct rk_cert *const *untrusted, size_t n, const char *crl_path)
{
	char trusted[128];
	struct rk_err err = { 0 };

	hier_write_certs(trusted, sizeof(trusted), f->dir, "root.pem",
	    (const struct rk_cert *[]){ f->root.cert }, 1);
	if (rk_chain_verify_leaf(v, leaf, untrusted, n, trusted, crl_path, &err) != 0)
		fail_msg("verify: %s", err.msg);
}

static void
test_leaf_verifies_with_the_root_trusted_and_intermediates_sent(void **state)
{
	struct fixture *f = *state;
	struct rk_cert *sent2[] = { f->intca.cert };
	struct rk_cert *sent3[] = { f->issuing.cert, f->policy.cert };
	struct rk_chain_verdict v;

	verify(&v, f, f->leaf2.cert, sent2, 1, NULL);
	assert_true(v.ok);
	assert_false(v.revoked);
	assert_string_equal(v.reason, "");
	verify(&v, f, f->leaf.cert, sent3, 2, NULL);
	assert_true(v.ok);

	/* Sent alone, the leaf has no path to the root: the failure is at the leaf. */
	verify(&v, f, f->leaf2.cert, NULL, 0, NULL);
	assert_false(v.ok);
	assert_false(v.revoked);
	assert_int_equal(v.depth, 0);
	assert_string_equal(v.reason, "unable to get local issuer certificate");
	/* Half the chain: the Policy CA is missing above the Issuing CA. */
	verify(&v, f, f->leaf.cert, sent3, 1, NULL);
	assert_false(v.ok);
	assert_int_equal(v.depth, 1);
}

/* Who signs a CRL of a case, or is revoked in it. */
enum who { NOBODY, ROOT, INTCA, LEAF2 };

static const struct hca *
who_is(const struct fixture *f, enum who w)
{
	switch (w) {
	case NOBODY:	return NULL;
	case ROOT:	return &f->root;
	case INTCA:	return &f->intca;
	case LEAF2:	return &f->leaf2;
	}
	return NULL;
}

/* leaf2, sent with Int CA, checked against the CRLs of each case (one file of them all). */
static void
test_crls_of_every_link_decide_and_a_missing_one_fails(void **state)
{
	static const struct {
		const char *label;
		enum who crl[2][2];	/* { signer, revoked } each; signer NOBODY: no CRL */
		bool ok, revoked;
		int depth;
		const char *reason;
	} cases[] = {
		{ "both CRLs, nothing revoked", { { ROOT, NOBODY }, { INTCA, NOBODY } }, true,
		    false, 0, "" },
		{ "the root's CRL revokes the intermediate", { { ROOT, INTCA },
		    { INTCA, NOBODY } }, false, true, 1, "certificate revoked" },
		{ "the intermediate's CRL revokes the leaf", { { ROOT, NOBODY },
		    { INTCA, LEAF2 } }, false, true, 0, "certificate revoked" },
		/* The leaf's issuer has no CRL: nothing is proven about the leaf. */
		{ "only the root's CRL", { { ROOT, NOBODY }, { NOBODY, NOBODY } }, false, false, 0,
		    "unable to get certificate CRL" },
		{ "only the intermediate's CRL", { { INTCA, NOBODY }, { NOBODY, NOBODY } }, false,
		    false, 1, "unable to get certificate CRL" },
	};
	struct fixture *f = *state;
	struct rk_cert *sent[] = { f->intca.cert };
	char crls[128];
	size_t i, j;

	snprintf(crls, sizeof(crls), "%s/crls.pem", f->dir);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rk_chain_verdict v;

		(void)unlink(crls);
		for (j = 0; j < 2; j++) {
			const struct hca *revoked = who_is(f, cases[i].crl[j][1]);

			if (cases[i].crl[j][0] != NOBODY)
				append_crl(crls, who_is(f, cases[i].crl[j][0]),
				    revoked != NULL ? revoked->cert : NULL);
		}
		verify(&v, f, f->leaf2.cert, sent, 1, crls);
		if (v.ok != cases[i].ok || v.revoked != cases[i].revoked ||
		    v.depth != cases[i].depth || strcmp(v.reason, cases[i].reason) != 0)
			fail_msg("%s: got ok %d, revoked %d, depth %d, '%s'", cases[i].label, v.ok,
			    v.revoked, v.depth, v.reason);
	}
}

static void
test_verification_that_cannot_be_made_is_an_error(void **state)
{
	struct fixture *f = *state;
	struct rk_chain_verdict v;
	struct rk_err err = { 0 };
	char missing[128], empty[128];

	snprintf(missing, sizeof(missing), "%s/no-such.pem", f->dir);
	assert_int_equal(rk_chain_verify_leaf(&v, f->leaf2.cert, NULL, 0, missing, NULL, &err),
	    RK_E_CRYPTO);
	assert_non_null(strstr(err.msg, missing));
	assert_non_null(strstr(err.msg, "cannot load the trusted certificates"));

	rk_err_clear(&err);
	hier_write_certs(empty, sizeof(empty), f->dir, "root.pem",
	    (const struct rk_cert *[]){ f->root.cert }, 1);
	snprintf(missing, sizeof(missing), "%s/no-such.crl", f->dir);
	assert_int_equal(rk_chain_verify_leaf(&v, f->leaf2.cert, NULL, 0, empty, missing, &err),
	    RK_E_CRYPTO);
	assert_non_null(strstr(err.msg, "cannot load the CRLs"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_chains_of_one_two_and_three_levels_pass),
		cmocka_unit_test(test_reversed_chain_names_the_link_and_says_out_of_order),
		cmocka_unit_test(test_chain_of_another_root_names_the_expected_issuer),
		cmocka_unit_test(test_link_that_is_no_ca_or_may_not_sign_certificates_is_named),
		cmocka_unit_test(test_path_length_exceeded_names_the_constraining_link),
		cmocka_unit_test(test_expired_link_says_how_many_days_ago),
		cmocka_unit_test(test_link_not_valid_yet_blames_the_clock),
		cmocka_unit_test(test_chain_that_stops_below_the_root_asks_for_the_rest),
		cmocka_unit_test(test_leaf_verifies_with_the_root_trusted_and_intermediates_sent),
		cmocka_unit_test(test_crls_of_every_link_decide_and_a_missing_one_fails),
		cmocka_unit_test(test_verification_that_cannot_be_made_is_an_error),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
