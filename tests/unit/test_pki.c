/*
 * The PKI engine checked by the real openssl CLI: what rekey issues must pass
 * `openssl verify -crl_check`, what it revokes must fail it, and the fields must read back
 * as asked. Also every error path a responder can meet.
 */
#include "test_util.h"

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "rekey/ca.h"
#include "rekey/cert.h"
#include "rekey/crl.h"
#include "rekey/fsutil.h"
#include "rekey/key.h"

struct pki {
	char		 dir[64];
	struct rk_key	*ca_key;
	struct rk_cert	*ca;
	struct rk_dn	 ca_dn;
	struct rk_dn	 leaf_dn;
};

static struct rk_dn_attr ca_attrs[] = { { "O", "rekey test" }, { "CN", "rekey unit CA" } };
static struct rk_dn_attr leaf_attrs[] = { { "O", "rekey test" }, { "CN", "db1.example.com" } };
static char *server_sans[] = { "DNS:db1.example.com", "DNS:localhost", "IP:127.0.0.1",
    "IP:::1" };

static void
path(char *buf, size_t size, const struct pki *p, const char *name)
{
	snprintf(buf, size, "%s/%s", p->dir, name);
}

static int
setup(void **state)
{
	struct pki *p = calloc(1, sizeof(*p));
	struct rk_err err = { 0 };
	struct rk_cert_spec spec;

	snprintf(p->dir, sizeof(p->dir), "/tmp/rk-pki-XXXXXX");
	if (mkdtemp(p->dir) == NULL)
		return -1;
	p->ca_dn = (struct rk_dn){ ca_attrs, 2 };
	p->leaf_dn = (struct rk_dn){ leaf_attrs, 2 };
	spec = (struct rk_cert_spec){ RK_PROFILE_CA, &p->ca_dn, NULL, 0, 30, false };
	if (rk_key_generate(&p->ca_key, RK_KEY_EC_P384, &err) != 0 ||
	    rk_cert_issue(&p->ca, &spec, p->ca_key, NULL, p->ca_key, &err) != 0)
		return -1;
	*state = p;
	return 0;
}

static int
teardown(void **state)
{
	struct pki *p = *state;
	char cmd_out[256];
	char *argv[] = { "rm", "-rf", p->dir, NULL };

	(void)rk_test_run(cmd_out, sizeof(cmd_out), argv);
	rk_cert_free(p->ca);
	rk_key_free(p->ca_key);
	free(p);
	return 0;
}

static void
write_ca_and_crl(struct pki *p, const struct rk_crl_entry *revoked, size_t n)
{
	struct rk_crl *crl = NULL;
	struct rk_buf pem;
	struct rk_err err = { 0 };
	char file[128];
	FILE *f;

	path(file, sizeof(file), p, "ca.crt");
	unlink(file);
	assert_int_equal(rk_cert_write_file(file, p->ca, &err), 0);
	assert_int_equal(rk_crl_build(&crl, NULL, revoked, n, p->ca, p->ca_key, 7, &err), 0);
	rk_buf_init(&pem, RK_PEM_MAX);
	assert_int_equal(rk_crl_to_pem(&pem, crl, &err), 0);
	path(file, sizeof(file), p, "ca.crl");
	assert_non_null(f = fopen(file, "w"));
	assert_int_equal(fwrite(pem.ptr, 1, pem.len, f), pem.len);
	fclose(f);
	rk_buf_clear(&pem);
	rk_crl_free(crl);
}

static int
openssl_verify(struct pki *p, const char *leaf, char *out, size_t size)
{
	char ca[128], crl[128], file[128];
	char *argv[] = { "openssl", "verify", "-CAfile", ca, "-crl_check", "-CRLfile", crl, file,
	    NULL };

	path(ca, sizeof(ca), p, "ca.crt");
	path(crl, sizeof(crl), p, "ca.crl");
	path(file, sizeof(file), p, leaf);
	return rk_test_run(out, size, argv);
}

static void
test_every_key_type_issues_a_certificate_openssl_verifies(void **state)
{
	static const enum rk_key_type types[] = { RK_KEY_RSA_2048, RK_KEY_RSA_3072,
	    RK_KEY_EC_P256, RK_KEY_EC_P384, RK_KEY_ED25519 };
	struct pki *p = *state;
	struct rk_cert_spec spec = { RK_PROFILE_SERVER, &p->leaf_dn, server_sans, 4, 90, false };
	char out[4096], file[128], name[32], fp[RK_FINGERPRINT_LEN], want[160], desc[32];
	size_t i;

	write_ca_and_crl(p, NULL, 0);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct rk_key *key = NULL;
		struct rk_cert *cert = NULL;
		struct rk_err err = { 0 };
		char *x509_argv[] = { "openssl", "x509", "-in", file, "-noout", "-fingerprint",
		    "-sha256", "-text", NULL };

		assert_int_equal(rk_key_generate(&key, types[i], &err), 0);
		assert_int_equal(rk_cert_issue(&cert, &spec, key, p->ca, p->ca_key, &err), 0);
		assert_int_equal(rk_cert_check_key(cert, key, &err), 0);
		snprintf(name, sizeof(name), "leaf-%zu.crt", i);
		path(file, sizeof(file), p, name);
		assert_int_equal(rk_cert_write_file(file, cert, &err), 0);
		if (openssl_verify(p, name, out, sizeof(out)) != 0)
			fail_msg("%s: openssl verify failed: %s", rk_key_type_name(types[i]), out);
		assert_non_null(strstr(out, ": OK"));

		assert_int_equal(rk_test_run(out, sizeof(out), x509_argv), 0);
		rk_cert_fingerprint(fp, cert);
		snprintf(want, sizeof(want), "sha256 Fingerprint=%s", fp);
		if (strstr(out, want) == NULL)
			fail_msg("fingerprint %s not in openssl's output", fp);
		assert_non_null(strstr(out, "DNS:db1.example.com, DNS:localhost, "
		    "IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"));
		assert_non_null(strstr(out, "TLS Web Server Authentication"));
		assert_non_null(strstr(out, "CA:FALSE"));
		assert_non_null(strstr(out, "Subject: O = rekey test, CN = db1.example.com"));
		assert_non_null(strstr(out, "X509v3 Authority Key Identifier"));
		assert_non_null(strstr(out, "X509v3 Subject Key Identifier"));
		/* Signed by the P-384 CA: SHA-384 whatever the leaf's own key (RFC 5480). */
		assert_non_null(strstr(out, "Signature Algorithm: ecdsa-with-SHA384"));
		if (types[i] == RK_KEY_RSA_2048 || types[i] == RK_KEY_RSA_3072)
			assert_non_null(strstr(out, "Digital Signature, Key Encipherment"));
		rk_key_describe(desc, sizeof(desc), key);
		assert_int_equal(rk_cert_not_after(cert) - rk_cert_not_before(cert),
		    90 * 86400 + RK_CLOCK_SKEW);
		assert_true(rk_cert_days_left(cert, time(NULL)) >= 89);
		assert_int_equal(rk_cert_days_left(cert, rk_cert_not_after(cert) + 1), -1);
		assert_int_equal(rk_cert_check_name(cert, "db1.example.com", &err), 0);
		assert_int_equal(rk_cert_check_name(cert, "127.0.0.1", &err), 0);
		assert_int_equal(rk_cert_check_name(cert, "db2.example.com", &err), RK_E_USAGE);
		rk_cert_free(cert);
		rk_key_free(key);
	}
}

static void
test_serials_are_positive_128_bit_and_distinct(void **state)
{
	struct pki *p = *state;
	struct rk_cert_spec spec = { RK_PROFILE_CLIENT, &p->leaf_dn, NULL, 0, 1, false };
	char s1[64], s2[64];
	struct rk_cert *a = NULL, *b = NULL;
	struct rk_err err = { 0 };

	assert_int_equal(rk_cert_issue(&a, &spec, p->ca_key, p->ca, p->ca_key, &err), 0);
	assert_int_equal(rk_cert_issue(&b, &spec, p->ca_key, p->ca, p->ca_key, &err), 0);
	rk_cert_serial(s1, sizeof(s1), a);
	rk_cert_serial(s2, sizeof(s2), b);
	assert_int_equal(strlen(s1), 16 * 3 - 1);
	assert_true(strtol((char[]){ s1[0], '\0' }, NULL, 16) < 8);	/* top bit clear */
	assert_string_not_equal(s1, s2);
	/* notBefore is a few minutes back, for hosts whose clocks lag. */
	assert_true(time(NULL) - rk_cert_not_before(a) >= RK_CLOCK_SKEW - 2);
	rk_cert_free(a);
	rk_cert_free(b);
}

static void
test_revoked_certificate_fails_openssl_verify_and_crl_keeps_entries(void **state)
{
	struct pki *p = *state;
	struct rk_cert_spec spec = { RK_PROFILE_CLIENT, &p->leaf_dn, NULL, 0, 30, false };
	struct rk_crl_entry e = { .revoked_at = 0 };
	struct rk_crl *first = NULL, *second = NULL, *reread = NULL;
	struct rk_cert *cert = NULL;
	struct rk_err err = { 0 };
	struct rk_crl_entry got;
	struct rk_buf pem;
	char out[4096], file[128];

	assert_int_equal(rk_cert_issue(&cert, &spec, p->ca_key, p->ca, p->ca_key, &err), 0);
	path(file, sizeof(file), p, "client.crt");
	assert_int_equal(rk_cert_write_file(file, cert, &err), 0);
	rk_cert_serial(e.serial, sizeof(e.serial), cert);
	e.revoked_at = time(NULL) - 60;
	e.reason = RK_REASON_KEY_COMPROMISE;
	e.has_reason = true;

	write_ca_and_crl(p, NULL, 0);
	assert_int_equal(openssl_verify(p, "client.crt", out, sizeof(out)), 0);
	write_ca_and_crl(p, &e, 1);
	assert_int_not_equal(openssl_verify(p, "client.crt", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "certificate revoked"));

	/* A second CRL that lists nothing new keeps the entry and counts up. */
	assert_int_equal(rk_crl_build(&first, NULL, &e, 1, p->ca, p->ca_key, 7, &err), 0);
	assert_int_equal(rk_crl_build(&second, first, NULL, 0, p->ca, p->ca_key, 3, &err), 0);
	rk_buf_init(&pem, RK_PEM_MAX);
	assert_int_equal(rk_crl_to_pem(&pem, second, &err), 0);
	assert_int_equal(rk_crl_load(&reread, rk_buf_bytes(&pem), "crl", &err), 0);
	assert_int_equal(rk_crl_count(reread), 1);
	assert_int_equal(rk_crl_number(first), 1);
	assert_int_equal(rk_crl_number(reread), 2);
	assert_true(rk_crl_has_serial(reread, e.serial));
	rk_crl_entry_at(&got, reread, 0);
	assert_string_equal(got.serial, e.serial);
	assert_int_equal(got.reason, RK_REASON_KEY_COMPROMISE);
	assert_int_equal(got.revoked_at, e.revoked_at);
	assert_true(rk_crl_next_update(reread) - rk_crl_last_update(reread) == 3 * 86400);
	assert_true(rk_crl_is_signed_by(reread, p->ca));
	/* The engine's own verification agrees with openssl's. */
	assert_int_equal(rk_cert_verify(cert, &p->ca, 1, reread, 0, &err), RK_E_CRYPTO);
	assert_string_equal(err.msg, "verification failed: certificate revoked");
	rk_buf_clear(&pem);
	rk_crl_free(first);
	rk_crl_free(second);
	rk_crl_free(reread);
	rk_cert_free(cert);
}

static void
test_crl_of_another_ca_is_not_replaced(void **state)
{
	struct pki *p = *state;
	struct rk_cert_spec spec = { RK_PROFILE_CA, &p->ca_dn, NULL, 0, 30, false };
	struct rk_key *other_key = NULL;
	struct rk_cert *other = NULL;
	struct rk_crl *theirs = NULL, *ours = NULL;
	struct rk_err err = { 0 };

	assert_int_equal(rk_key_generate(&other_key, RK_KEY_EC_P256, &err), 0);
	assert_int_equal(rk_cert_issue(&other, &spec, other_key, NULL, other_key, &err), 0);
	assert_int_equal(rk_crl_build(&theirs, NULL, NULL, 0, other, other_key, 7, &err), 0);
	assert_int_equal(rk_crl_build(&ours, theirs, NULL, 0, p->ca, p->ca_key, 7, &err),
	    RK_E_USAGE);
	assert_non_null(strstr(err.msg, "was not signed by this CA"));
	assert_null(ours);
	rk_crl_free(theirs);
	rk_cert_free(other);
	rk_key_free(other_key);
}

static void
test_keys_round_trip_encrypted_and_wrong_passphrase_is_named(void **state)
{
	struct pki *p = *state;
	struct rk_secret pass = { 0 }, wrong = { 0 }, pem = { 0 };
	struct rk_key *key = NULL, *back = NULL;
	struct rk_err err = { 0 };
	struct stat st;
	char file[128], out[4096];
	char *argv[] = { "openssl", "pkey", "-in", file, "-passin", "pass:correct horse",
	    "-noout", NULL };

	assert_int_equal(rk_secret_set(&pass, "correct horse", 13, &err), 0);
	assert_int_equal(rk_secret_set(&wrong, "battery", 7, &err), 0);
	assert_int_equal(rk_key_generate(&key, RK_KEY_EC_P256, &err), 0);
	path(file, sizeof(file), p, "enc.key");
	assert_int_equal(rk_key_write_file(file, key, &pass, &err), 0);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	/* O_EXCL: never overwrite a key in place. */
	assert_int_equal(rk_key_write_file(file, key, &pass, &err), RK_E_SYS);
	rk_err_clear(&err);
	assert_int_equal(rk_test_run(out, sizeof(out), argv), 0);

	assert_int_equal(rk_key_load_file(&back, file, &wrong, &err), RK_E_USAGE);
	assert_non_null(strstr(err.msg, "wrong passphrase"));
	rk_err_clear(&err);
	assert_int_equal(rk_key_load_file(&back, file, NULL, &err), RK_E_USAGE);
	assert_non_null(strstr(err.msg, "the key is encrypted"));
	rk_err_clear(&err);
	assert_int_equal(rk_key_load_file(&back, file, &pass, &err), 0);
	rk_key_free(back);
	back = NULL;

	/* Unencrypted PKCS#8 PEM: no "ENCRYPTED" marker, loads without a passphrase. */
	assert_int_equal(rk_key_to_pem(&pem, key, NULL, &err), 0);
	assert_non_null(strstr((char *)pem.ptr, "-----BEGIN " "PRIVATE KEY-----"));
	assert_int_equal(rk_key_load(&back, (struct rk_bytes){ pem.ptr, pem.len }, NULL, "k",
	    &err), 0);
	rk_key_free(back);
	back = NULL;

	/* Truncated PEM. */
	assert_int_equal(rk_key_load(&back, (struct rk_bytes){ pem.ptr, pem.len / 2 }, NULL,
	    "half.key", &err), RK_E_USAGE);
	assert_string_equal(err.msg, "half.key: not a private key (PEM or DER), or it is damaged");
	rk_secret_clear(&pem);
	rk_secret_clear(&pass);
	rk_secret_clear(&wrong);
	rk_key_free(key);
}

static void
test_mismatched_key_truncated_and_oversize_certificates(void **state)
{
	struct pki *p = *state;
	struct rk_key *other = NULL;
	struct rk_cert *cert = NULL;
	struct rk_buf pem;
	struct rk_err err = { 0 };
	char file[128];
	int fd;

	assert_int_equal(rk_key_generate(&other, RK_KEY_EC_P384, &err), 0);
	assert_int_equal(rk_cert_check_key(p->ca, other, &err), RK_E_USAGE);
	assert_string_equal(err.msg, "the private key does not match the certificate "
	    "/O=rekey test/CN=rekey unit CA");
	rk_err_clear(&err);

	rk_buf_init(&pem, RK_PEM_MAX);
	assert_int_equal(rk_cert_to_pem(&pem, p->ca, &err), 0);
	assert_int_equal(rk_cert_load(&cert, (struct rk_bytes){ pem.ptr, pem.len - 80 }, "t.crt",
	    &err), RK_E_USAGE);
	assert_non_null(strstr(err.msg, "not a certificate (PEM or DER), or it is truncated"));
	rk_err_clear(&err);
	rk_buf_clear(&pem);

	path(file, sizeof(file), p, "huge.crt");
	assert_true((fd = open(file, O_WRONLY | O_CREAT, 0644)) >= 0);
	assert_int_equal(ftruncate(fd, RK_PEM_MAX + 1), 0);
	close(fd);
	assert_int_equal(rk_cert_load_file(&cert, file, &err), RK_E_LIMIT);
	assert_non_null(strstr(err.msg, "over the limit"));
	rk_key_free(other);
}

static void
test_expired_ca_and_ca_without_keycertsign_fail_verification(void **state)
{
	struct pki *p = *state;
	struct rk_cert_spec leaf = { RK_PROFILE_SERVER, &p->leaf_dn, server_sans, 1, 10, false };
	struct rk_cert *cert = NULL, *fake_ca = NULL, *under_fake = NULL;
	struct rk_key *key = NULL;
	struct rk_err err = { 0 };

	assert_true(rk_cert_can_sign_certificates(p->ca));
	assert_true(rk_cert_is_ca(p->ca));
	assert_int_equal(rk_key_generate(&key, RK_KEY_EC_P256, &err), 0);
	assert_int_equal(rk_cert_issue(&cert, &leaf, key, p->ca, p->ca_key, &err), 0);
	assert_int_equal(rk_cert_verify(cert, &p->ca, 1, NULL, 0, &err), 0);
	/* Forty days on, the 30-day CA has expired (the leaf too; the CA is checked). */
	assert_int_equal(rk_cert_verify(cert, &p->ca, 1, NULL, time(NULL) + 40 * 86400, &err),
	    RK_E_CRYPTO);
	assert_non_null(strstr(err.msg, "has expired"));
	rk_err_clear(&err);

	/* A server certificate used as an issuer: no keyCertSign, not a CA. */
	assert_int_equal(rk_cert_issue(&fake_ca, &leaf, key, p->ca, p->ca_key, &err), 0);
	assert_false(rk_cert_can_sign_certificates(fake_ca));
	assert_false(rk_cert_is_ca(fake_ca));
	assert_int_equal(rk_cert_issue(&under_fake, &leaf, key, fake_ca, key, &err), 0);
	assert_int_equal(rk_cert_verify(under_fake, &fake_ca, 1, NULL, 0, &err), RK_E_CRYPTO);
	assert_non_null(strstr(err.msg, "verification failed"));
	rk_cert_free(under_fake);
	rk_cert_free(fake_ca);
	rk_cert_free(cert);
	rk_key_free(key);
}

/*
 * issuing_only gives an intermediate pathlen:0, so openssl accepts the leaves it signs and
 * refuses a CA it signs; without it a CA has no limit, and a leaf ignores it.
 */
static void
test_issuing_only_ca_has_pathlen_0_and_signs_no_ca(void **state)
{
	static struct rk_dn_attr inter_attrs[] = { { "O", "rekey test" },
	    { "CN", "rekey unit issuing CA" } };
	static struct rk_dn_attr sub_attrs[] = { { "O", "rekey test" },
	    { "CN", "rekey unit sub CA" } };
	struct pki *p = *state;
	struct rk_dn inter_dn = { inter_attrs, 2 }, sub_dn = { sub_attrs, 2 };
	struct rk_cert_spec inter_spec = { RK_PROFILE_CA, &inter_dn, NULL, 0, 30, true };
	struct rk_cert_spec sub_spec = { RK_PROFILE_CA, &sub_dn, NULL, 0, 30, false };
	struct rk_cert_spec leaf_spec = { RK_PROFILE_SERVER, &p->leaf_dn, server_sans, 1, 10,
	    true };
	struct rk_cert *inter = NULL, *sub = NULL, *leaf = NULL, *deep = NULL;
	struct rk_key *inter_key = NULL, *sub_key = NULL, *leaf_key = NULL;
	struct rk_fileset *set = NULL;
	struct rk_err err = { 0 };
	char root_f[128], inter_f[128], chain_f[128], leaf_f[128], deep_f[128], out[4096];
	char *ext_argv[] = { "openssl", "x509", "-in", inter_f, "-noout", "-ext",
	    "basicConstraints", NULL };
	char *verify_leaf[] = { "openssl", "verify", "-CAfile", root_f, "-untrusted", inter_f,
	    leaf_f, NULL };
	char *verify_deep[] = { "openssl", "verify", "-CAfile", root_f, "-untrusted", chain_f,
	    deep_f, NULL };
	const struct rk_cert *chain[2];

	assert_int_equal(rk_key_generate(&inter_key, RK_KEY_EC_P384, &err), 0);
	assert_int_equal(rk_key_generate(&sub_key, RK_KEY_EC_P256, &err), 0);
	assert_int_equal(rk_key_generate(&leaf_key, RK_KEY_EC_P256, &err), 0);
	assert_int_equal(rk_cert_issue(&inter, &inter_spec, inter_key, p->ca, p->ca_key, &err), 0);
	assert_int_equal(rk_cert_issue(&leaf, &leaf_spec, leaf_key, inter, inter_key, &err), 0);
	assert_int_equal(rk_cert_issue(&sub, &sub_spec, sub_key, inter, inter_key, &err), 0);
	assert_int_equal(rk_cert_issue(&deep, &leaf_spec, leaf_key, sub, sub_key, &err), 0);
	assert_int_equal(rk_cert_path_len(p->ca), -1);
	assert_int_equal(rk_cert_path_len(inter), 0);
	assert_int_equal(rk_cert_path_len(sub), -1);
	assert_int_equal(rk_cert_path_len(leaf), -1);	/* issuing_only means nothing to a leaf */
	assert_false(rk_cert_is_ca(leaf));
	assert_true(rk_cert_is_self_signed(p->ca));
	assert_false(rk_cert_is_self_signed(inter));
	assert_true(rk_cert_is_issued_by(inter, p->ca));
	assert_true(rk_cert_is_issued_by(leaf, inter));
	assert_false(rk_cert_is_issued_by(leaf, p->ca));

	path(root_f, sizeof(root_f), p, "root.crt");
	path(inter_f, sizeof(inter_f), p, "issuing.crt");
	path(chain_f, sizeof(chain_f), p, "issuing-and-sub.crt");
	path(leaf_f, sizeof(leaf_f), p, "under-issuing.crt");
	path(deep_f, sizeof(deep_f), p, "under-sub.crt");
	chain[0] = inter;
	chain[1] = sub;
	assert_int_equal(rk_fileset_new(&set, &err), 0);
	assert_int_equal(rk_cert_stage_file(set, root_f, p->ca, &err), 0);
	assert_int_equal(rk_cert_stage_file(set, inter_f, inter, &err), 0);
	assert_int_equal(rk_cert_stage_bundle_file(set, chain_f, chain, 2, &err), 0);
	assert_int_equal(rk_cert_stage_file(set, leaf_f, leaf, &err), 0);
	assert_int_equal(rk_cert_stage_file(set, deep_f, deep, &err), 0);
	assert_int_equal(rk_fileset_commit(set, &err), 0);
	rk_fileset_free(set);

	assert_int_equal(rk_test_run(out, sizeof(out), ext_argv), 0);
	if (strstr(out, "critical") == NULL || strstr(out, "CA:TRUE, pathlen:0") == NULL)
		fail_msg("the issuing CA's basicConstraints: %s", out);
	if (rk_test_run(out, sizeof(out), verify_leaf) != 0 || strstr(out, ": OK") == NULL)
		fail_msg("a leaf of the issuing CA: %s", out);
	/* The bundle holds both CAs in order; openssl refuses the CA under pathlen:0. */
	assert_int_not_equal(rk_test_run(out, sizeof(out), verify_deep), 0);
	if (strstr(out, "path length constraint exceeded") == NULL)
		fail_msg("a leaf under a CA the issuing CA signed: %s", out);
	rk_cert_free(deep);
	rk_cert_free(leaf);
	rk_cert_free(sub);
	rk_cert_free(inter);
	rk_key_free(leaf_key);
	rk_key_free(sub_key);
	rk_key_free(inter_key);
}

/*
 * A CA that rekey itself would never issue, made with OpenSSL directly: validity from
 * start to end (seconds from now), keyUsage as given. Writes NAME.crt and NAME.key.
 */
static void
craft_ca(struct pki *p, const char *name, long start, long end, const char *key_usage)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	X509 *x = X509_new();
	X509_NAME *n = X509_get_subject_name(x);
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	char file[128];
	FILE *f;

	assert_non_null(pkey);
	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), start);
	X509_gmtime_adj(X509_getm_notAfter(x), end);
	X509_set_pubkey(x, pkey);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, key_usage);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);
	snprintf(file, sizeof(file), "%s/%s.crt", p->dir, name);
	assert_non_null(f = fopen(file, "w"));
	PEM_write_X509(f, x);
	fclose(f);
	snprintf(file, sizeof(file), "%s/%s.key", p->dir, name);
	assert_non_null(f = fopen(file, "w"));
	PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL);
	fclose(f);
	assert_int_equal(chmod(file, 0600), 0);	/* as a CA key must be */
	X509_free(x);
	EVP_PKEY_free(pkey);
}

static void
test_signing_ca_open_names_what_is_wrong(void **state)
{
	static const struct {
		const char *name;
		long start, end;
		const char *usage, *error;
	} cases[] = {
		{ "good", -3600, 86400, "critical,keyCertSign,cRLSign", NULL },
		{ "expired", -10 * 86400, -3 * 86400, "critical,keyCertSign,cRLSign",
		    "expired 3 days ago" },
		{ "future", 86400, 2 * 86400, "critical,keyCertSign,cRLSign", "is not valid yet" },
		{ "nosign", -3600, 86400, "critical,cRLSign,digitalSignature",
		    "may not sign certificates (its keyUsage lacks keyCertSign)" },
		/* Made 0644 below: a CA key others can read is not used to sign. */
		{ "openkey", -3600, 86400, "critical,keyCertSign,cRLSign",
		    "openkey.key is readable by group or others (mode 0644): chmod 600 it" },
	};
	struct pki *p = *state;
	char cert[128], key[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rk_signing_ca ca;
		struct rk_err err = { 0 };
		int r;

		craft_ca(p, cases[i].name, cases[i].start, cases[i].end, cases[i].usage);
		snprintf(cert, sizeof(cert), "%s/%s.crt", p->dir, cases[i].name);
		snprintf(key, sizeof(key), "%s/%s.key", p->dir, cases[i].name);
		if (strcmp(cases[i].name, "openkey") == 0)
			assert_int_equal(chmod(key, 0644), 0);
		r = rk_signing_ca_open(&ca, cert, key, NULL, &err);
		if (cases[i].error == NULL) {
			assert_int_equal(r, 0);
			rk_signing_ca_close(&ca);
			continue;
		}
		assert_int_equal(r, RK_E_USAGE);
		if (strstr(err.msg, cases[i].error) == NULL)
			fail_msg("%s: want '%s', got '%s'", cases[i].name, cases[i].error, err.msg);
		assert_non_null(strstr(err.msg, strcmp(cases[i].name, "openkey") == 0 ? key :
		    cert));
	}
	/* The CA certificate with another CA's key. */
	{
		struct rk_signing_ca ca;
		struct rk_err err = { 0 };

		snprintf(cert, sizeof(cert), "%s/good.crt", p->dir);
		snprintf(key, sizeof(key), "%s/expired.key", p->dir);
		assert_int_equal(rk_signing_ca_open(&ca, cert, key, NULL, &err), RK_E_USAGE);
		assert_non_null(strstr(err.msg, "does not match"));
	}
}

static void
test_der_certificates_keys_and_crls_load(void **state)
{
	struct pki *p = *state;
	char crt_pem[128], crt_der[128], key_der[128], crl_pem[128], crl_der[128], out[4096];
	struct rk_cert *cert = NULL;
	struct rk_key *key = NULL;
	struct rk_crl *crl = NULL;
	struct rk_err err = { 0 };
	char *to_der_crt[] = { "openssl", "x509", "-in", crt_pem, "-outform", "DER", "-out",
	    crt_der, NULL };
	char *to_der_key[] = { "openssl", "pkey", "-in", crt_pem, "-outform", "DER", "-out",
	    key_der, NULL };
	char *to_der_crl[] = { "openssl", "crl", "-in", crl_pem, "-outform", "DER", "-out",
	    crl_der, NULL };
	char fp1[RK_FINGERPRINT_LEN], fp2[RK_FINGERPRINT_LEN];

	write_ca_and_crl(p, NULL, 0);
	path(crt_pem, sizeof(crt_pem), p, "ca.crt");
	path(crt_der, sizeof(crt_der), p, "ca.der");
	path(crl_pem, sizeof(crl_pem), p, "ca.crl");
	path(crl_der, sizeof(crl_der), p, "crl.der");
	path(key_der, sizeof(key_der), p, "key.der");
	assert_int_equal(rk_test_run(out, sizeof(out), to_der_crt), 0);
	assert_int_equal(rk_test_run(out, sizeof(out), to_der_crl), 0);
	assert_int_equal(rk_cert_load_file(&cert, crt_der, &err), 0);
	rk_cert_fingerprint(fp1, cert);
	rk_cert_fingerprint(fp2, p->ca);
	assert_string_equal(fp1, fp2);
	assert_int_equal(rk_crl_load_file(&crl, crl_der, &err), 0);
	assert_true(rk_crl_is_signed_by(crl, p->ca));
	/* A DER private key (PKCS#8) from the PEM one rekey wrote. */
	path(crt_pem, sizeof(crt_pem), p, "der-src.key");
	assert_int_equal(rk_key_write_file(crt_pem, p->ca_key, NULL, &err), 0);
	assert_int_equal(rk_test_run(out, sizeof(out), to_der_key), 0);
	assert_int_equal(rk_key_load_file(&key, key_der, NULL, &err), 0);
	assert_int_equal(rk_cert_check_key(p->ca, key, &err), 0);
	rk_key_free(key);
	rk_crl_free(crl);
	rk_cert_free(cert);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_key_type_issues_a_certificate_openssl_verifies),
		cmocka_unit_test(test_serials_are_positive_128_bit_and_distinct),
		cmocka_unit_test(test_revoked_certificate_fails_openssl_verify_and_crl_keeps_entries),
		cmocka_unit_test(test_crl_of_another_ca_is_not_replaced),
		cmocka_unit_test(test_keys_round_trip_encrypted_and_wrong_passphrase_is_named),
		cmocka_unit_test(test_mismatched_key_truncated_and_oversize_certificates),
		cmocka_unit_test(test_expired_ca_and_ca_without_keycertsign_fail_verification),
		cmocka_unit_test(test_issuing_only_ca_has_pathlen_0_and_signs_no_ca),
		cmocka_unit_test(test_signing_ca_open_names_what_is_wrong),
		cmocka_unit_test(test_der_certificates_keys_and_crls_load),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
