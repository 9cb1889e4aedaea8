/*
 * Key material found in a file's bytes (material.h), judged by the openssl CLI: every form of
 * one key, as openssl writes it (traditional, PKCS#8, DER, encrypted both ways, PKCS#12 with
 * and without a password, a certificate of it), gives the SHA-256 of the SubjectPublicKeyInfo
 * that `openssl pkey -pubout -outform DER | sha256sum` gives, and the certificate the
 * fingerprint `openssl x509 -fingerprint -sha256` prints. Keys made with rekey's own pki
 * agree too. Then bundles, blocks inside .env and YAML text with their lines, and every kind
 * of input that holds nothing, or nothing that can be opened.
 */
#include "test_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hierarchy.h"
#include "rekey/cert.h"
#include "rekey/fsutil.h"
#include "rekey/key.h"
#include "rekey/material.h"
#include "rekey/secret.h"

#define PASS	"s3cret-pass"

struct fx {
	char	dir[64];
	char	rsa_spki[RK_SHA256_HEX];	/* the judge's hash of the RSA key */
	char	ec_spki[RK_SHA256_HEX];		/* and of the unrelated EC key */
	char	rsa_fp[RK_FINGERPRINT_LEN];	/* openssl x509 -fingerprint -sha256 */
};

/* The label of a PKCS#8 private key block, for inputs made at run time. */
#define KEY_LABEL	"PRIVATE KEY"

static struct fx fx;

static void
path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", fx.dir, name);
}

/*
 * Runs a program: each argument starting with "@" names a file of the fixture's folder.
 * Returns its output in out; fails the test when it exits with another status than 0.
 */
static void
run(char *out, size_t size, const char *prog, ...)
{
	char paths[16][128], *argv[20];
	const char *a;
	va_list ap;
	int n = 0, np = 0;

	argv[n++] = (char *)prog;
	va_start(ap, prog);
	while ((a = va_arg(ap, const char *)) != NULL && n < 19) {
		if (a[0] == '@' && np < 16) {
			path_of(paths[np], sizeof(paths[np]), a + 1);
			argv[n++] = paths[np++];
		} else {
			argv[n++] = (char *)a;
		}
	}
	va_end(ap);
	argv[n] = NULL;
	if (rk_test_run(out, size, argv) != 0)
		fail_msg("%s failed: %s", prog, out);
}

/* sha256sum of a fixture file: the first 64 characters of its line. */
static void
sha256sum(char out[RK_SHA256_HEX], const char *name)
{
	char buf[512];

	run(buf, sizeof(buf), "sha256sum", name, NULL);
	assert_true(strlen(buf) >= 64);
	memcpy(out, buf, 64);
	out[64] = '\0';
}

static void
slurp(struct rk_buf *out, const char *name)
{
	struct rk_err err = { 0 };
	char p[128];

	path_of(p, sizeof(p), name);
	rk_buf_init(out, RK_PEM_MAX);
	if (rk_file_read(out, p, RK_PEM_MAX, &err) != 0)
		fail_msg("%s: %s", name, err.msg);
}

static void
read_bytes(struct rk_material *m, struct rk_bytes data, const struct rk_material_opts *opts)
{
	struct rk_err err = { 0 };

	if (rk_material_read(m, data, opts, &err) != 0)
		fail_msg("rk_material_read: %s", err.msg);
}

static void
read_name(struct rk_material *m, const char *name, const struct rk_material_opts *opts)
{
	struct rk_buf b;

	slurp(&b, name);
	assert_true(rk_material_sniff(rk_buf_bytes(&b)));
	read_bytes(m, rk_buf_bytes(&b), opts);
	rk_buf_clear(&b);
}

static int
setup(void **state)
{
	char out[4096];

	(void)state;
	hier_dir_make(fx.dir, sizeof(fx.dir), "material");
	/* One RSA key in every form openssl writes it in. */
	run(out, sizeof(out), "openssl", "genrsa", "-traditional", "-out", "@rsa.trad.pem",
	    "2048", NULL);
	run(out, sizeof(out), "openssl", "pkey", "-in", "@rsa.trad.pem", "-out", "@rsa.p8.pem",
	    NULL);
	run(out, sizeof(out), "openssl", "pkcs8", "-topk8", "-nocrypt", "-in", "@rsa.trad.pem",
	    "-outform", "DER", "-out", "@rsa.p8.der", NULL);
	/* OpenSSL 3.0's pkey writes an RSA key's DER in the traditional form, later ones PKCS#8:
	 * the case below asks asn1parse which. */
	run(out, sizeof(out), "openssl", "pkey", "-in", "@rsa.trad.pem", "-outform", "DER",
	    "-out", "@rsa.pkey.der", NULL);
	run(out, sizeof(out), "openssl", "rsa", "-in", "@rsa.trad.pem", "-traditional",
	    "-outform", "DER", "-out", "@rsa.trad.der", NULL);
	run(out, sizeof(out), "openssl", "pkey", "-in", "@rsa.trad.pem", "-pubout", "-out",
	    "@rsa.pub.pem", NULL);
	run(out, sizeof(out), "openssl", "pkey", "-in", "@rsa.trad.pem", "-pubout", "-outform",
	    "DER", "-out", "@rsa.pub.der", NULL);
	run(out, sizeof(out), "openssl", "rsa", "-in", "@rsa.trad.pem", "-RSAPublicKey_out",
	    "-out", "@rsa.pkcs1pub.pem", NULL);
	run(out, sizeof(out), "openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in",
	    "@rsa.trad.pem", "-passout", "pass:" PASS, "-out", "@rsa.enc.p8.pem", NULL);
	run(out, sizeof(out), "openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in",
	    "@rsa.trad.pem", "-passout", "pass:" PASS, "-outform", "DER", "-out",
	    "@rsa.enc.p8.der", NULL);
	run(out, sizeof(out), "openssl", "rsa", "-aes256", "-traditional", "-in",
	    "@rsa.trad.pem", "-passout", "pass:" PASS, "-out", "@rsa.proc.pem", NULL);
	run(out, sizeof(out), "openssl", "req", "-x509", "-new", "-key", "@rsa.trad.pem",
	    "-subj", "/O=rekey test/CN=material-rsa", "-days", "2", "-out", "@rsa.crt", NULL);
	run(out, sizeof(out), "openssl", "x509", "-in", "@rsa.crt", "-outform", "DER", "-out",
	    "@rsa.crt.der", NULL);
	run(out, sizeof(out), "openssl", "pkcs12", "-export", "-in", "@rsa.crt", "-inkey",
	    "@rsa.trad.pem", "-passout", "pass:", "-out", "@rsa.nopass.p12", NULL);
	run(out, sizeof(out), "openssl", "pkcs12", "-export", "-in", "@rsa.crt", "-inkey",
	    "@rsa.trad.pem", "-passout", "pass:" PASS, "-out", "@rsa.pass.p12", NULL);
	/* Just over RK_MATERIAL_ITER_MAX iterations: never tried, whatever passphrases are given. */
	run(out, sizeof(out), "openssl", "pkcs8", "-topk8", "-v2", "aes-256-cbc", "-iter",
	    "1000001", "-in", "@rsa.trad.pem", "-passout", "pass:" PASS, "-out",
	    "@rsa.costly.p8.pem", NULL);
	run(out, sizeof(out), "openssl", "pkcs12", "-export", "-in", "@rsa.crt", "-inkey",
	    "@rsa.trad.pem", "-iter", "1000001", "-passout", "pass:", "-out", "@rsa.costly.p12",
	    NULL);
	/* The judge: the SPKI as openssl writes it from the key and from the certificate. */
	sha256sum(fx.rsa_spki, "@rsa.pub.der");
	run(out, sizeof(out), "openssl", "x509", "-in", "@rsa.crt", "-noout", "-pubkey", "-out",
	    "@rsa.crt.pub.pem", NULL);
	run(out, sizeof(out), "openssl", "pkey", "-pubin", "-in", "@rsa.crt.pub.pem", "-outform",
	    "DER", "-out", "@rsa.crt.pub.der", NULL);
	{
		char crt_spki[RK_SHA256_HEX];

		sha256sum(crt_spki, "@rsa.crt.pub.der");
		assert_string_equal(crt_spki, fx.rsa_spki);
	}
	run(out, sizeof(out), "openssl", "x509", "-in", "@rsa.crt", "-noout", "-fingerprint",
	    "-sha256", NULL);
	/* "sha256 Fingerprint=AB:CD:...\n" */
	assert_non_null(strchr(out, '='));
	snprintf(fx.rsa_fp, sizeof(fx.rsa_fp), "%.95s", strchr(out, '=') + 1);
	/* An unrelated key: traditional EC. */
	run(out, sizeof(out), "openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
	    "-out", "@ec.trad.pem", NULL);
	run(out, sizeof(out), "openssl", "pkey", "-in", "@ec.trad.pem", "-pubout", "-outform",
	    "DER", "-out", "@ec.pub.der", NULL);
	sha256sum(fx.ec_spki, "@ec.pub.der");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hier_dir_remove(fx.dir);
	return 0;
}

/* Every item of a result holds a hash of 64 lower-case hex digits, or none and a reason. */
static void
assert_items_consistent(const struct rk_material *m)
{
	size_t i, k;

	for (i = 0; i < m->n; i++) {
		const struct rk_material_item *it = &m->items[i];
		size_t len = strlen(it->spki_sha256);

		if (len == 0) {
			assert_non_null(it->reason);
			continue;
		}
		assert_int_equal(len, 64);
		assert_null(it->reason);
		for (k = 0; k < 64; k++)
			assert_non_null(strchr("0123456789abcdef", it->spki_sha256[k]));
	}
}

/* name holds one item of kind, with no hash, for reason. */
static void
assert_one_locked(const char *name, const struct rk_material_opts *opts,
    enum rk_material_kind kind, const char *reason)
{
	struct rk_material m;

	read_name(&m, name, opts);
	if (m.n != 1)
		fail_msg("%s: %zu items", name, m.n);
	assert_int_equal(m.items[0].kind, kind);
	assert_string_equal(m.items[0].spki_sha256, "");
	assert_string_equal(m.items[0].reason, reason);
	rk_material_clear(&m);
}

struct form_case {
	const char			*file;
	enum rk_material_kind		 kind;
	enum rk_material_encoding	 encoding;
	enum rk_material_form		 form;
	bool				 with_pass;
	bool				 ask_asn1parse;	/* form: what openssl asn1parse sees */
};

/*
 * PKCS#8 or traditional, as `openssl asn1parse` shows a DER private key: PKCS#8's second
 * element is the algorithm's SEQUENCE, a traditional key's an INTEGER.
 */
static enum rk_material_form
asn1parse_key_form(const char *name)
{
	char out[16384], *l, *e;

	run(out, sizeof(out), "openssl", "asn1parse", "-inform", "DER", "-in", name, NULL);
	/* Line 1 is the outer SEQUENCE, line 2 the version; line 3 says it. */
	assert_non_null(l = strchr(out, '\n'));
	assert_non_null(l = strchr(l + 1, '\n'));
	if ((e = strchr(l + 1, '\n')) != NULL)
		*e = '\0';
	return strstr(l + 1, "cons: SEQUENCE") != NULL ? RK_MATERIAL_PKCS8 :
	    RK_MATERIAL_TRADITIONAL;
}

static void
test_every_form_of_one_key_gives_openssls_spki_hash(void **state)
{
	static const struct form_case cases[] = {
		{ "rsa.trad.pem", RK_MATERIAL_PRIVATE_KEY, RK_MATERIAL_PEM,
		    RK_MATERIAL_TRADITIONAL, false, false },
		{ "rsa.p8.pem", RK_MATERIAL_PRIVATE_KEY, RK_MATERIAL_PEM, RK_MATERIAL_PKCS8,
		    false, false },
		{ "rsa.p8.der", RK_MATERIAL_PRIVATE_KEY, RK_MATERIAL_DER, RK_MATERIAL_PKCS8,
		    false, false },
		{ "rsa.trad.der", RK_MATERIAL_PRIVATE_KEY, RK_MATERIAL_DER,
		    RK_MATERIAL_TRADITIONAL, false, false },
		{ "rsa.pkey.der", RK_MATERIAL_PRIVATE_KEY, RK_MATERIAL_DER,
		    RK_MATERIAL_TRADITIONAL, false, true },
		{ "rsa.pub.pem", RK_MATERIAL_PUBLIC_KEY, RK_MATERIAL_PEM, RK_MATERIAL_SPKI,
		    false, false },
		{ "rsa.pub.der", RK_MATERIAL_PUBLIC_KEY, RK_MATERIAL_DER, RK_MATERIAL_SPKI,
		    false, false },
		{ "rsa.pkcs1pub.pem", RK_MATERIAL_PUBLIC_KEY, RK_MATERIAL_PEM,
		    RK_MATERIAL_PKCS1_PUBLIC, false, false },
		{ "rsa.crt", RK_MATERIAL_CERTIFICATE, RK_MATERIAL_PEM, RK_MATERIAL_X509, false,
		    false },
		{ "rsa.crt.der", RK_MATERIAL_CERTIFICATE, RK_MATERIAL_DER, RK_MATERIAL_X509,
		    false, false },
		{ "rsa.enc.p8.pem", RK_MATERIAL_ENCRYPTED_KEY, RK_MATERIAL_PEM,
		    RK_MATERIAL_PKCS8_ENCRYPTED, true, false },
		{ "rsa.enc.p8.der", RK_MATERIAL_ENCRYPTED_KEY, RK_MATERIAL_DER,
		    RK_MATERIAL_PKCS8_ENCRYPTED, true, false },
		{ "rsa.proc.pem", RK_MATERIAL_ENCRYPTED_KEY, RK_MATERIAL_PEM,
		    RK_MATERIAL_TRADITIONAL_ENCRYPTED, true, false },
	};
	struct rk_secret pass[2] = { { NULL, 0 }, { NULL, 0 } };
	struct rk_material_opts opts = { pass, 2, NULL, 0 };
	struct rk_err err = { 0 };
	struct rk_material m;
	size_t i;

	(void)state;
	/* A wrong passphrase first: each is tried in turn. */
	assert_int_equal(rk_secret_set(&pass[0], "wrong", 5, &err), 0);
	assert_int_equal(rk_secret_set(&pass[1], PASS, strlen(PASS), &err), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct form_case *c = &cases[i];

		char path[128];

		snprintf(path, sizeof(path), "@%s", c->file);
		read_name(&m, c->file, c->with_pass ? &opts : NULL);
		if (m.n != 1)
			fail_msg("%s: %zu items", c->file, m.n);
		assert_items_consistent(&m);
		if (strcmp(m.items[0].spki_sha256, fx.rsa_spki) != 0)
			fail_msg("%s: %s, openssl says %s", c->file, m.items[0].spki_sha256,
			    fx.rsa_spki);
		assert_int_equal(m.items[0].kind, c->kind);
		assert_int_equal(m.items[0].encoding, c->encoding);
		if (m.items[0].form != (c->ask_asn1parse ? asn1parse_key_form(path) : c->form))
			fail_msg("%s: form %s", c->file, rk_material_form_name(m.items[0].form));
		assert_int_equal(m.items[0].line, c->encoding == RK_MATERIAL_DER ? 0 : 1);
		if (c->kind == RK_MATERIAL_CERTIFICATE) {
			assert_string_equal(m.items[0].fingerprint, fx.rsa_fp);
			assert_string_equal(m.items[0].subject, "/O=rekey test/CN=material-rsa");
		} else {
			assert_string_equal(m.items[0].fingerprint, "");
			assert_string_equal(m.items[0].subject, "");
		}
		rk_material_clear(&m);
	}
	rk_secret_clear(&pass[0]);
	rk_secret_clear(&pass[1]);
}

static void
test_encrypted_keys_without_their_passphrase_have_no_hash(void **state)
{
	static const char *files[] = { "rsa.enc.p8.pem", "rsa.enc.p8.der", "rsa.proc.pem" };
	struct rk_secret wrong = { NULL, 0 };
	struct rk_material_opts opts = { &wrong, 1, NULL, 0 };
	struct rk_err err = { 0 };
	size_t i;

	(void)state;
	assert_int_equal(rk_secret_set(&wrong, "wrong", 5, &err), 0);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		/* stdin is /dev/null under ctest: a prompt would fail, not hang; none is made. */
		assert_one_locked(files[i], NULL, RK_MATERIAL_ENCRYPTED_KEY,
		    "encrypted: no passphrase");
		assert_one_locked(files[i], &opts, RK_MATERIAL_ENCRYPTED_KEY,
		    "encrypted: no passphrase given opens it");
	}
	rk_secret_clear(&wrong);
}

/* A hostile file sets the cost of trying a passphrase: over the cap, none is tried. */
static void
test_passphrases_are_not_tried_over_the_cost_cap(void **state)
{
	struct rk_secret pass = { NULL, 0 };
	struct rk_material_opts opts = { &pass, 1, NULL, 0 };
	struct rk_err err = { 0 };

	(void)state;
	assert_int_equal(rk_secret_set(&pass, PASS, strlen(PASS), &err), 0);
	assert_one_locked("rsa.costly.p8.pem", &opts, RK_MATERIAL_ENCRYPTED_KEY,
	    "encrypted: key derivation cost over the cap");
	/* Its MAC is cheap (2048), its bags are not: even the empty password is not tried. */
	assert_one_locked("rsa.costly.p12", &opts, RK_MATERIAL_PKCS12,
	    "pkcs12, locked: key derivation cost over the cap");
	rk_secret_clear(&pass);
}

static void
test_pkcs12_opens_with_none_or_its_password_else_is_locked(void **state)
{
	struct rk_secret pass = { NULL, 0 }, wrong = { NULL, 0 };
	struct rk_material_opts with = { &pass, 1, NULL, 0 }, without = { &wrong, 1, NULL, 0 };
	struct rk_err err = { 0 };
	struct rk_material m;
	const char *files[] = { "rsa.nopass.p12", "rsa.pass.p12" };
	size_t i, k;

	(void)state;
	assert_int_equal(rk_secret_set(&pass, PASS, strlen(PASS), &err), 0);
	assert_int_equal(rk_secret_set(&wrong, "wrong", 5, &err), 0);
	for (i = 0; i < 2; i++) {
		read_name(&m, files[i], i == 0 ? NULL : &with);
		assert_int_equal(m.n, 2);	/* the certificate and its key */
		assert_items_consistent(&m);
		for (k = 0; k < 2; k++) {
			assert_string_equal(m.items[k].spki_sha256, fx.rsa_spki);
			assert_int_equal(m.items[k].encoding, RK_MATERIAL_IN_PKCS12);
			assert_int_equal(m.items[k].line, 0);
		}
		assert_int_equal(m.items[0].kind, RK_MATERIAL_CERTIFICATE);
		assert_string_equal(m.items[0].fingerprint, fx.rsa_fp);
		assert_int_equal(m.items[1].kind, RK_MATERIAL_PRIVATE_KEY);
		rk_material_clear(&m);
	}
	/* An unknown password, and none at all. */
	assert_one_locked("rsa.pass.p12", &without, RK_MATERIAL_PKCS12,
	    "pkcs12, locked: no password given opens it");
	assert_one_locked("rsa.pass.p12", NULL, RK_MATERIAL_PKCS12,
	    "pkcs12, locked: no password given opens it");
	rk_secret_clear(&pass);
	rk_secret_clear(&wrong);
}

/* rekey's own keys and certificates: its helpers and the reader agree with openssl. */
static void
test_rekeys_own_keys_hash_as_openssl_says(void **state)
{
	static const enum rk_key_type types[] = { RK_KEY_EC_P384, RK_KEY_ED25519 };
	char key_hash[RK_SHA256_HEX], cert_hash[RK_SHA256_HEX], judge[RK_SHA256_HEX], p[128];
	char out[1024];
	struct rk_err err = { 0 };
	struct rk_secret pem = { NULL, 0 };
	struct rk_material m;
	struct hca ca, leaf;
	struct rk_key *k;
	struct rk_buf cpem;
	size_t i;

	(void)state;
	hca_issue(&ca, "material CA", RK_PROFILE_CA, false, 2, NULL);
	hca_issue(&leaf, "db1.example.com", RK_PROFILE_SERVER, false, 2, &ca);
	assert_int_equal(rk_key_spki_sha256(key_hash, leaf.key, &err), 0);
	assert_int_equal(rk_cert_spki_sha256(cert_hash, leaf.cert, &err), 0);
	assert_string_equal(key_hash, cert_hash);
	assert_int_equal(rk_cert_spki_sha256(cert_hash, ca.cert, &err), 0);
	assert_string_not_equal(key_hash, cert_hash);
	/* The leaf's certificate, read back: the same hash, the fingerprint rekey prints. */
	rk_buf_init(&cpem, RK_PEM_MAX);
	assert_int_equal(rk_cert_to_pem(&cpem, leaf.cert, &err), 0);
	read_bytes(&m, rk_buf_bytes(&cpem), NULL);
	assert_int_equal(m.n, 1);
	assert_string_equal(m.items[0].spki_sha256, key_hash);
	rk_cert_fingerprint(out, leaf.cert);
	assert_string_equal(m.items[0].fingerprint, out);
	assert_string_equal(m.items[0].subject, "/CN=db1.example.com");
	rk_material_clear(&m);
	rk_buf_clear(&cpem);
	/* The leaf's key as rekey writes it, judged by openssl. */
	for (i = 0; i < 3; i++) {
		if (i == 0)
			k = leaf.key;
		else
			assert_int_equal(rk_key_generate(&k, types[i - 1], &err), 0);
		assert_int_equal(rk_key_to_pem(&pem, k, NULL, &err), 0);
		path_of(p, sizeof(p), "own.key");
		(void)unlink(p);
		hier_append(p, pem.ptr, pem.len);
		run(out, sizeof(out), "openssl", "pkey", "-in", "@own.key", "-pubout",
		    "-outform", "DER", "-out", "@own.pub.der", NULL);
		sha256sum(judge, "@own.pub.der");
		assert_int_equal(rk_key_spki_sha256(key_hash, k, &err), 0);
		assert_string_equal(key_hash, judge);
		read_bytes(&m, (struct rk_bytes){ pem.ptr, pem.len }, NULL);
		assert_int_equal(m.n, 1);
		assert_string_equal(m.items[0].spki_sha256, judge);
		assert_int_equal(m.items[0].form, RK_MATERIAL_PKCS8);
		rk_material_clear(&m);
		rk_secret_clear(&pem);
		if (i > 0)
			rk_key_free(k);
	}
	(void)unlink(p);
	hca_clear(&leaf);
	hca_clear(&ca);
}

/* The number of the line at which needle starts in text (1-based). */
static size_t
line_of(const char *text, const char *needle)
{
	const char *at = strstr(text, needle), *c;
	size_t line = 1;

	assert_non_null(at);
	for (c = text; c < at; c++)
		if (*c == '\n')
			line++;
	return line;
}

static void
test_a_bundle_of_three_gives_three_items_with_their_lines(void **state)
{
	struct rk_err err = { 0 };
	struct rk_material m;
	struct hca root, mid, leaf;
	struct rk_buf text;
	const struct rk_cert *certs[3];
	const char *cns[3] = { "/CN=db1.example.com", "/CN=material issuing", "/CN=material root" };
	char fp[RK_FINGERPRINT_LEN], hash[RK_SHA256_HEX];
	size_t i, line = 1, k;

	(void)state;
	hca_issue(&root, "material root", RK_PROFILE_CA, false, 2, NULL);
	hca_issue(&mid, "material issuing", RK_PROFILE_CA, true, 2, &root);
	hca_issue(&leaf, "db1.example.com", RK_PROFILE_SERVER, false, 2, &mid);
	certs[0] = leaf.cert;
	certs[1] = mid.cert;
	certs[2] = root.cert;
	/* As `openssl s_client -showcerts` or a hand-made bundle writes it: text between. */
	rk_buf_init(&text, RK_PEM_MAX);
	assert_int_equal(rk_buf_append_str(&text, "# chain of db1\n", &err), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(rk_buf_printf(&text, &err, "subject=%s\n\n", cns[i]), 0);
		assert_int_equal(rk_cert_to_pem(&text, certs[i], &err), 0);
	}
	read_bytes(&m, rk_buf_bytes(&text), NULL);
	assert_int_equal(m.n, 3);
	assert_int_equal(m.unreadable, 0);
	assert_items_consistent(&m);
	for (i = 0; i < 3; i++) {
		/* The line of the i-th "-----BEGIN" of the text. */
		const char *s = (const char *)text.ptr, *c;

		for (k = 0; k <= i; k++)
			s = strstr(k == 0 ? s : s + 1, "-----BEGIN");
		for (line = 1, c = (const char *)text.ptr; c < s; c++)
			line += *c == '\n';
		assert_int_equal(m.items[i].line, line);
		assert_int_equal(m.items[i].kind, RK_MATERIAL_CERTIFICATE);
		assert_int_equal(m.items[i].encoding, RK_MATERIAL_PEM);
		rk_cert_fingerprint(fp, certs[i]);
		assert_string_equal(m.items[i].fingerprint, fp);
		assert_string_equal(m.items[i].subject, cns[i]);
		assert_int_equal(rk_cert_spki_sha256(hash, certs[i], &err), 0);
		assert_string_equal(m.items[i].spki_sha256, hash);
	}
	/* The lines themselves, counted by hand: 1 comment, subject, blank, then the block. */
	assert_int_equal(m.items[0].line, 4);
	rk_material_clear(&m);
	rk_buf_clear(&text);
	hca_clear(&leaf);
	hca_clear(&mid);
	hca_clear(&root);
}

/* The PEM text of name with every newline written as the two characters "\n". */
static void
escaped_pem(struct rk_buf *out, const char *name)
{
	struct rk_err err = { 0 };
	struct rk_buf b;
	size_t i;

	slurp(&b, name);
	for (i = 0; i < b.len; i++)
		assert_int_equal(b.ptr[i] == '\n' ? rk_buf_append(out, "\\n", 2, &err) :
		    rk_buf_append(out, &b.ptr[i], 1, &err), 0);
	rk_buf_clear(&b);
}

static void
test_a_key_inline_in_a_crlf_env_file_is_found_on_its_line(void **state)
{
	struct rk_err err = { 0 };
	struct rk_material m;
	struct rk_buf env;

	(void)state;
	rk_buf_init(&env, RK_PEM_MAX);
	assert_int_equal(rk_buf_append_str(&env, "# app settings\r\nAPP_ENV=prod\r\n"
	    "TLS_KEY=\"", &err), 0);
	escaped_pem(&env, "rsa.p8.pem");
	assert_int_equal(rk_buf_append_str(&env, "\"\r\nTLS_CERT='", &err), 0);
	escaped_pem(&env, "rsa.crt");
	assert_int_equal(rk_buf_append_str(&env, "'\r\nexport EC=", &err), 0);
	escaped_pem(&env, "ec.trad.pem");
	assert_int_equal(rk_buf_append_str(&env, "\r\nDEBUG=0\r\n", &err), 0);
	assert_true(rk_material_sniff(rk_buf_bytes(&env)));
	read_bytes(&m, rk_buf_bytes(&env), NULL);
	assert_int_equal(m.n, 3);
	assert_items_consistent(&m);
	assert_int_equal(m.items[0].kind, RK_MATERIAL_PRIVATE_KEY);
	assert_int_equal(m.items[0].encoding, RK_MATERIAL_PEM_ESCAPED);
	assert_int_equal(m.items[0].line, 3);
	assert_string_equal(m.items[0].spki_sha256, fx.rsa_spki);
	assert_int_equal(m.items[1].kind, RK_MATERIAL_CERTIFICATE);
	assert_int_equal(m.items[1].line, 4);
	assert_string_equal(m.items[1].fingerprint, fx.rsa_fp);
	/* The unrelated key has a hash of its own, openssl's. */
	assert_int_equal(m.items[2].line, 5);
	assert_int_equal(m.items[2].form, RK_MATERIAL_TRADITIONAL);
	assert_string_equal(m.items[2].spki_sha256, fx.ec_spki);
	assert_string_not_equal(m.items[2].spki_sha256, fx.rsa_spki);
	rk_material_clear(&m);
	rk_buf_clear(&env);
}

static void
test_blocks_inside_yaml_and_crlf_text_are_found(void **state)
{
	struct rk_err err = { 0 };
	struct rk_material m;
	struct rk_buf y, b;
	size_t i;

	(void)state;
	/* A YAML literal block, indented, then a CRLF copy of a certificate. */
	rk_buf_init(&y, RK_PEM_MAX);
	assert_int_equal(rk_buf_append_str(&y, "tls:\n  enabled: true\n  key: |\n", &err), 0);
	slurp(&b, "ec.trad.pem");
	assert_int_equal(rk_buf_append_str(&y, "    ", &err), 0);
	for (i = 0; i < b.len; i++) {
		assert_int_equal(rk_buf_append(&y, &b.ptr[i], 1, &err), 0);
		if (b.ptr[i] == '\n' && i + 1 < b.len)
			assert_int_equal(rk_buf_append_str(&y, "    ", &err), 0);
	}
	rk_buf_clear(&b);
	assert_int_equal(rk_buf_append_str(&y, "  cert: \"", &err), 0);
	slurp(&b, "rsa.crt");
	for (i = 0; i < b.len; i++)
		assert_int_equal(b.ptr[i] == '\n' ? rk_buf_append(&y, "\r\n", 2, &err) :
		    rk_buf_append(&y, &b.ptr[i], 1, &err), 0);
	rk_buf_clear(&b);
	assert_int_equal(rk_buf_append_str(&y, "\"\n", &err), 0);
	read_bytes(&m, rk_buf_bytes(&y), NULL);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.items[0].line, 4);
	assert_int_equal(m.items[0].encoding, RK_MATERIAL_PEM_IN_TEXT);
	assert_string_equal(m.items[0].spki_sha256, fx.ec_spki);
	assert_int_equal(m.items[1].line, line_of((const char *)y.ptr, "-----BEGIN CERT"));
	assert_int_equal(m.items[1].encoding, RK_MATERIAL_PEM_IN_TEXT);
	assert_string_equal(m.items[1].spki_sha256, fx.rsa_spki);
	rk_material_clear(&m);
	rk_buf_clear(&y);
}

static void
test_junk_empty_truncated_and_bad_base64_hold_nothing(void **state)
{
	static const unsigned char junk[] = { 0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x00, 0xff,
	    'x', 'y', 0, 0, 0x30, 0x03 };
	struct rk_material m;
	struct rk_buf b, t;
	struct rk_err err = { 0 };
	char crl[128];
	size_t i;
	unsigned char *body;

	(void)state;
	/* Armour lines are put together here: the repository holds no private-key PEM, not
	 * even a bodiless one. */
	snprintf(crl, sizeof(crl), "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"
	    "-----BEGIN %s", KEY_LABEL);
	read_bytes(&m, (struct rk_bytes){ junk, sizeof(junk) }, NULL);
	assert_int_equal(m.n, 0);
	assert_int_equal(m.unreadable, 0);
	rk_material_clear(&m);
	read_bytes(&m, (struct rk_bytes){ NULL, 0 }, NULL);
	assert_int_equal(m.n, 0);
	rk_material_clear(&m);
	read_bytes(&m, (struct rk_bytes){ (const unsigned char *)"hello\n", 6 }, NULL);
	assert_int_equal(m.n, 0);
	rk_material_clear(&m);
	/* Truncated: cut through the body; then a good block after the cut one. */
	slurp(&b, "rsa.p8.pem");
	read_bytes(&m, (struct rk_bytes){ b.ptr, b.len / 2 }, NULL);
	assert_int_equal(m.n, 0);
	assert_int_equal(m.unreadable, 1);
	rk_material_clear(&m);
	rk_buf_init(&t, RK_PEM_MAX);
	assert_int_equal(rk_buf_append(&t, b.ptr, b.len / 2, &err), 0);
	assert_int_equal(rk_buf_append(&t, b.ptr, b.len, &err), 0);
	read_bytes(&m, rk_buf_bytes(&t), NULL);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.unreadable, 1);
	assert_string_equal(m.items[0].spki_sha256, fx.rsa_spki);
	rk_material_clear(&m);
	rk_buf_clear(&t);
	/* A body of bad base64 ('!' is not in its alphabet). */
	body = (unsigned char *)strstr((char *)b.ptr, "\n") + 1;
	for (i = 0; i < 20; i++)
		body[i] = '!';
	read_bytes(&m, rk_buf_bytes(&b), NULL);
	assert_int_equal(m.n, 0);
	assert_int_equal(m.unreadable, 1);
	rk_material_clear(&m);
	rk_buf_clear(&b);
	/* A BEGIN with no label we read, or no dashes after its label. */
	read_bytes(&m, (struct rk_bytes){ (const unsigned char *)crl, strlen(crl) }, NULL);
	assert_int_equal(m.n, 0);
	assert_int_equal(m.unreadable, 0);
	rk_material_clear(&m);
}

/*
 * Proc-Type headers on a certificate make OpenSSL's PEM reader want a passphrase; with no
 * callback it would read one from the terminal, or from stdin when there is none. Here stdin
 * is a pipe holding a line: it must still hold it afterwards, and the block is unreadable.
 */
static void
test_no_passphrase_is_ever_read_from_the_terminal(void **state)
{
	static const char dek[] = "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,"
	    "00112233445566778899AABBCCDDEEFF\n\n";
	struct rk_err err = { 0 };
	struct rk_material m;
	struct rk_buf b, t;
	const char *nl;
	char left[8] = "";
	int fds[2], saved;

	(void)state;
	slurp(&b, "rsa.crt");
	nl = memchr(b.ptr, '\n', b.len);
	assert_non_null(nl);
	rk_buf_init(&t, RK_PEM_MAX);
	assert_int_equal(rk_buf_append(&t, b.ptr, (size_t)(nl + 1 - (char *)b.ptr), &err), 0);
	assert_int_equal(rk_buf_append_str(&t, dek, &err), 0);
	assert_int_equal(rk_buf_append(&t, nl + 1, b.len - (size_t)(nl + 1 - (char *)b.ptr),
	    &err), 0);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "pw\n", 3), 3);
	close(fds[1]);
	saved = dup(0);
	assert_int_equal(dup2(fds[0], 0), 0);
	read_bytes(&m, rk_buf_bytes(&t), NULL);
	assert_int_equal(m.n, 0);
	assert_int_equal(m.unreadable, 1);
	rk_material_clear(&m);
	assert_int_equal(read(0, left, sizeof(left) - 1), 3);
	assert_string_equal(left, "pw\n");
	assert_int_equal(dup2(saved, 0), 0);
	close(saved);
	close(fds[0]);
	rk_buf_clear(&t);
	rk_buf_clear(&b);
}

static void
test_input_over_the_cap_fails_with_limit(void **state)
{
	struct rk_err err = { 0 };
	struct rk_material m;
	unsigned char *big = calloc(1, RK_PEM_MAX + 1);

	(void)state;
	assert_non_null(big);
	assert_int_equal(rk_material_read(&m, (struct rk_bytes){ big, RK_PEM_MAX + 1 }, NULL,
	    &err), RK_E_LIMIT);
	assert_int_equal(err.code, RK_E_LIMIT);
	assert_int_equal(m.n, 0);
	rk_material_clear(&m);
	free(big);
}

static void
test_sniff_says_yes_to_every_sample_and_no_to_text_elf_and_zeros(void **state)
{
	static const char *files[] = { "rsa.trad.pem", "rsa.p8.pem", "rsa.p8.der",
	    "rsa.trad.der", "rsa.pub.pem", "rsa.pub.der", "rsa.pkcs1pub.pem", "rsa.enc.p8.pem",
	    "rsa.enc.p8.der", "rsa.proc.pem", "rsa.crt", "rsa.crt.der", "rsa.nopass.p12",
	    "rsa.pass.p12", "ec.trad.pem", "ec.pub.der" };
	static const unsigned char elf[] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 3, 0, 0x3e, 0 };
	static const unsigned char zeros[4096];
	static const char text[] = "Dear admin,\nthe certificate of db1 expires soon.\n"
	    "-----\nBEGIN of the next paragraph\n";
	char env[64];
	struct rk_material m;
	struct rk_buf b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		slurp(&b, files[i]);
		if (!rk_material_sniff((struct rk_bytes){ b.ptr, b.len < 4096 ? b.len : 4096 }))
			fail_msg("sniff says no to %s", files[i]);
		read_bytes(&m, rk_buf_bytes(&b), NULL);
		assert_true(m.n >= 1);
		rk_material_clear(&m);
		rk_buf_clear(&b);
	}
	snprintf(env, sizeof(env), "K=\"-----BEGIN %s-----\\nMIIE\\n\"", KEY_LABEL);
	assert_true(rk_material_sniff((struct rk_bytes){ (const unsigned char *)env,
	    strlen(env) }));
	/* BER openssl reads: the certificate with 4 length bytes, and with an indefinite one. */
	slurp(&b, "rsa.crt.der");
	assert_true(b.len > 4 && b.ptr[1] == 0x82);
	{
		struct rk_err err = { 0 };
		struct rk_buf ber;
		int form;

		for (form = 0; form < 2; form++) {
			static const unsigned char eoc[2];
			unsigned char h[6] = { 0x30, 0x84, 0, 0, b.ptr[2], b.ptr[3] };

			if (form == 1)
				h[1] = 0x80;
			rk_buf_init(&ber, RK_PEM_MAX);
			assert_int_equal(rk_buf_append(&ber, h, form == 0 ? 6 : 2, &err), 0);
			assert_int_equal(rk_buf_append(&ber, b.ptr + 4, b.len - 4, &err), 0);
			if (form == 1)
				assert_int_equal(rk_buf_append(&ber, eoc, 2, &err), 0);
			assert_true(rk_material_sniff(rk_buf_bytes(&ber)));
			read_bytes(&m, rk_buf_bytes(&ber), NULL);
			assert_int_equal(m.n, 1);
			assert_string_equal(m.items[0].fingerprint, fx.rsa_fp);
			rk_material_clear(&m);
			rk_buf_clear(&ber);
		}
	}
	rk_buf_clear(&b);
	assert_false(rk_material_sniff((struct rk_bytes){ elf, sizeof(elf) }));
	assert_false(rk_material_sniff((struct rk_bytes){ zeros, sizeof(zeros) }));
	assert_false(rk_material_sniff((struct rk_bytes){ (const unsigned char *)text,
	    sizeof(text) - 1 }));
	assert_false(rk_material_sniff((struct rk_bytes){ NULL, 0 }));
	/* The test program itself, as an ELF file on disk. */
	{
		struct rk_err err = { 0 };

		rk_buf_init(&b, 64 * 1024 * 1024);
		assert_int_equal(rk_file_read(&b, "/proc/self/exe", 64 * 1024 * 1024, &err), 0);
		assert_false(rk_material_sniff((struct rk_bytes){ b.ptr, 4096 }));
		rk_buf_clear(&b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_form_of_one_key_gives_openssls_spki_hash),
		cmocka_unit_test(test_encrypted_keys_without_their_passphrase_have_no_hash),
		cmocka_unit_test(test_pkcs12_opens_with_none_or_its_password_else_is_locked),
		cmocka_unit_test(test_passphrases_are_not_tried_over_the_cost_cap),
		cmocka_unit_test(test_rekeys_own_keys_hash_as_openssl_says),
		cmocka_unit_test(test_a_bundle_of_three_gives_three_items_with_their_lines),
		cmocka_unit_test(test_a_key_inline_in_a_crlf_env_file_is_found_on_its_line),
		cmocka_unit_test(test_blocks_inside_yaml_and_crlf_text_are_found),
		cmocka_unit_test(test_junk_empty_truncated_and_bad_base64_hold_nothing),
		cmocka_unit_test(test_no_passphrase_is_ever_read_from_the_terminal),
		cmocka_unit_test(test_input_over_the_cap_fails_with_limit),
		cmocka_unit_test(test_sniff_says_yes_to_every_sample_and_no_to_text_elf_and_zeros),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
