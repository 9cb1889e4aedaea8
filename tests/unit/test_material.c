/*
 * Key material found in a file's bytes (material.h), judged by the openssl CLI: every form of
 * one key, as openssl writes it (traditional, PKCS#8, DER, encrypted both ways, PKCS#12 with
 * and without a password, a certificate of it), gives the SHA-256 of the SubjectPublicKeyInfo
 * that `openssl pkey -pubout -outform DER | sha256sum` gives, and the certificate the
 * fingerprint `openssl x509 -fingerprint -sha256` prints. Keys made with rekey's own pki
 * agree too. Certificates carry the serial `openssl x509 -serial` and the issuer `-issuer
 * -nameopt compat` print, and name the CA that `openssl verify` takes them to. PKCS#12 files
 * give every certificate and key: a chain from `openssl pkcs12 -export -certfile`, and, made
 * with the OpenSSL API since the CLI writes one key only, two keys (`openssl pkcs12 -nodes`
 * counts them), a key under a password of its own, and a shrouded key inside an encrypted safe
 * over the cost cap. Then bundles, blocks inside .env and YAML text with their lines, and
 * every kind of input that holds nothing, or nothing that can be opened.
 */
#include "test_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/pkcs12.h>

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
	char	rsa_serial[RK_MATERIAL_SERIAL_LEN];	/* openssl x509 -serial, in pairs */
	char	rsa_issuer[256];		/* openssl x509 -issuer -nameopt compat */
	char	leaf_fp[RK_FINGERPRINT_LEN];	/* the leaf ca.crt signed, of the EC key */
	char	ca_fp[RK_FINGERPRINT_LEN];
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

/* What follows "=" on the one line a program printed, "serial=5D3A91\n" or "issuer=/CN=x". */
static void
value_of(char *buf, size_t size, const char *out)
{
	const char *eq = strchr(out, '=');
	size_t n;

	assert_non_null(eq);
	n = strcspn(eq + 1, "\n");
	assert_true(n < size);
	memcpy(buf, eq + 1, n);
	buf[n] = '\0';
}

/* `openssl x509 -noout -fingerprint -sha256` of a fixture file. */
static void
fingerprint_of(char out[RK_FINGERPRINT_LEN], const char *name)
{
	char buf[512];

	run(buf, sizeof(buf), "openssl", "x509", "-in", name, "-noout", "-fingerprint", "-sha256",
	    NULL);
	value_of(out, RK_FINGERPRINT_LEN, buf);
	assert_int_equal(strlen(out), 95);
}

/*
 * `openssl x509 -noout -serial` of a fixture file, "5D3A91", as rk_cert_serial writes it:
 * "5D:3A:91". Its digits alone go to digits when it is not NULL.
 */
static void
serial_of(char *buf, size_t size, const char *name, char *digits, size_t dsize)
{
	char out[512], hex[256];
	size_t i, used = 0;

	run(out, sizeof(out), "openssl", "x509", "-in", name, "-noout", "-serial", NULL);
	value_of(hex, sizeof(hex), out);
	assert_int_equal(strlen(hex) % 2, 0);
	if (digits != NULL)
		snprintf(digits, dsize, "%s", hex);
	buf[0] = '\0';
	for (i = 0; hex[i] != '\0' && used + 3 < size; i += 2)
		used += (size_t)snprintf(buf + used, size - used, "%s%c%c", i > 0 ? ":" : "",
		    hex[i], hex[i + 1]);
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
	fingerprint_of(fx.rsa_fp, "@rsa.crt");
	/* An unrelated key: traditional EC. */
	run(out, sizeof(out), "openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
	    "-out", "@ec.trad.pem", NULL);
	run(out, sizeof(out), "openssl", "pkey", "-in", "@ec.trad.pem", "-pubout", "-outform",
	    "DER", "-out", "@ec.pub.der", NULL);
	sha256sum(fx.ec_spki, "@ec.pub.der");
	run(out, sizeof(out), "openssl", "req", "-x509", "-new", "-key", "@ec.trad.pem", "-subj",
	    "/O=rekey test/CN=material-ec", "-days", "2", "-out", "@ec.crt", NULL);
	serial_of(fx.rsa_serial, sizeof(fx.rsa_serial), "@rsa.crt", NULL, 0);
	run(out, sizeof(out), "openssl", "x509", "-in", "@rsa.crt", "-noout", "-issuer",
	    "-nameopt", "compat", NULL);
	value_of(fx.rsa_issuer, sizeof(fx.rsa_issuer), out);
	/*
	 * A CA of openssl's, a leaf of the EC key it signs with a serial of 20 octets (the most
	 * RFC 5280 allows, its high bit set), another CA of the same name and its own key, and a
	 * certificate whose serial is one octet too long.
	 */
	run(out, sizeof(out), "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
	    "ec_paramgen_curve:P-256", "-nodes", "-keyout", "@ca.key", "-subj",
	    "/O=rekey test/CN=material CA", "-days", "2", "-out", "@ca.crt", NULL);
	run(out, sizeof(out), "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
	    "ec_paramgen_curve:P-256", "-nodes", "-keyout", "@impostor.key", "-subj",
	    "/O=rekey test/CN=material CA", "-days", "2", "-out", "@impostor.crt", NULL);
	run(out, sizeof(out), "openssl", "req", "-new", "-key", "@ec.trad.pem", "-subj",
	    "/CN=leaf.material", "-out", "@leaf.csr", NULL);
	run(out, sizeof(out), "openssl", "x509", "-req", "-in", "@leaf.csr", "-CA", "@ca.crt",
	    "-CAkey", "@ca.key", "-set_serial", "0x8F0102030405060708090A0B0C0D0E0F10111213",
	    "-days", "2", "-out", "@leaf.crt", NULL);
	run(out, sizeof(out), "openssl", "x509", "-req", "-in", "@leaf.csr", "-CA", "@ca.crt",
	    "-CAkey", "@ca.key", "-set_serial", "0x0102030405060708090A0B0C0D0E0F101112131415",
	    "-days", "2", "-out", "@long-serial.crt", NULL);
	fingerprint_of(fx.leaf_fp, "@leaf.crt");
	fingerprint_of(fx.ca_fp, "@ca.crt");
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
			assert_string_equal(m.items[0].issuer, fx.rsa_issuer);
			assert_string_equal(m.items[0].serial, fx.rsa_serial);
		} else {
			assert_string_equal(m.items[0].fingerprint, "");
			assert_string_equal(m.items[0].subject, "");
			assert_string_equal(m.items[0].issuer, "");
			assert_string_equal(m.items[0].serial, "");
		}
		/* No issuers given: nobody issued anything. */
		assert_int_equal(m.items[0].issued_by, -1);
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

/* Loads a fixture certificate with rekey's loader (the issuers a caller would hand over). */
static struct rk_cert *
load_cert(const char *name)
{
	struct rk_err err = { 0 };
	struct rk_cert *c = NULL;
	char p[128];

	path_of(p, sizeof(p), name);
	if (rk_cert_load_file(&c, p, &err) != 0)
		fail_msg("%s: %s", name, err.msg);
	return c;
}

/* The text of fixture files one after the other, as a bundle. */
static void
concat(struct rk_buf *out, const char *const *names, size_t n)
{
	struct rk_err err = { 0 };
	struct rk_buf b;
	size_t i;

	rk_buf_init(out, RK_PEM_MAX);
	for (i = 0; i < n; i++) {
		slurp(&b, names[i]);
		assert_int_equal(rk_buf_append(out, b.ptr, b.len, &err), 0);
		rk_buf_clear(&b);
	}
}

/* Whether `openssl verify -CAfile ca name` accepts it. */
static bool
openssl_verifies(const char *ca, const char *name)
{
	char out[1024], cap[128], p[128];
	char *argv[] = { "openssl", "verify", "-CAfile", cap, p, NULL };

	path_of(cap, sizeof(cap), ca);
	path_of(p, sizeof(p), name);
	return rk_test_run(out, sizeof(out), argv) == 0;
}

static void
test_serials_are_openssls_and_over_twenty_octets_empty(void **state)
{
	char want[RK_MATERIAL_SERIAL_LEN], digits[128], longer[256], fp[RK_FINGERPRINT_LEN];
	struct rk_material m;

	(void)state;
	/* 20 octets with the high bit set: DER writes 21 bytes, the serial is 20 pairs. */
	serial_of(want, sizeof(want), "@leaf.crt", digits, sizeof(digits));
	assert_int_equal(strlen(digits), 40);
	assert_int_equal(strlen(want), RK_MATERIAL_SERIAL_LEN - 1);
	read_name(&m, "leaf.crt", NULL);
	assert_int_equal(m.n, 1);
	assert_string_equal(m.items[0].serial, want);
	assert_string_equal(m.items[0].serial,
	    "8F:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13");
	assert_string_equal(m.items[0].issuer, "/O=rekey test/CN=material CA");
	assert_string_equal(m.items[0].subject, "/CN=leaf.material");
	rk_material_clear(&m);
	/* 21 octets, which openssl prints in full: no room, so none rather than a cut one. */
	serial_of(longer, sizeof(longer), "@long-serial.crt", digits, sizeof(digits));
	assert_int_equal(strlen(digits), 42);
	read_name(&m, "long-serial.crt", NULL);
	assert_int_equal(m.n, 1);
	assert_string_equal(m.items[0].serial, "");
	fingerprint_of(fp, "@long-serial.crt");
	assert_string_equal(m.items[0].fingerprint, fp);	/* still named by its hash */
	rk_material_clear(&m);
}

static void
test_issued_by_names_the_ca_whose_key_signed_it(void **state)
{
	static const char *const files[] = { "leaf.crt", "ca.crt", "ec.crt", "ec.trad.pem",
	    "impostor.crt" };
	const struct rk_cert *issuers[3];
	struct rk_cert *ca, *impostor, *rsa;
	struct rk_material_opts opts = { NULL, 0, issuers, 3 };
	struct rk_material m;
	struct rk_buf text;
	size_t i;

	(void)state;
	/* The judge: openssl takes the leaf up to ca.crt, and not up to the other of its name. */
	assert_true(openssl_verifies("ca.crt", "leaf.crt"));
	assert_false(openssl_verifies("impostor.crt", "leaf.crt"));
	ca = load_cert("ca.crt");
	impostor = load_cert("impostor.crt");
	rsa = load_cert("rsa.crt");
	/* The same name first: only the key that verifies counts. */
	issuers[0] = impostor;
	issuers[1] = rsa;
	issuers[2] = ca;
	concat(&text, files, sizeof(files) / sizeof(files[0]));
	read_bytes(&m, rk_buf_bytes(&text), &opts);
	assert_int_equal(m.n, 5);
	assert_string_equal(m.items[0].fingerprint, fx.leaf_fp);
	assert_int_equal(m.items[0].issued_by, 2);
	/* Self-signed CAs given as issuers are their own. */
	assert_string_equal(m.items[1].fingerprint, fx.ca_fp);
	assert_int_equal(m.items[1].issued_by, 2);
	assert_int_equal(m.items[2].kind, RK_MATERIAL_CERTIFICATE);
	assert_int_equal(m.items[2].issued_by, -1);	/* self-signed, not given */
	assert_int_equal(m.items[3].kind, RK_MATERIAL_PRIVATE_KEY);
	assert_int_equal(m.items[3].issued_by, -1);
	assert_int_equal(m.items[4].issued_by, 0);
	rk_material_clear(&m);
	/* Only the impostor: the name matches, the signature does not. */
	opts.nissuers = 1;
	read_bytes(&m, rk_buf_bytes(&text), &opts);
	assert_int_equal(m.items[0].issued_by, -1);
	assert_int_equal(m.items[1].issued_by, -1);
	assert_int_equal(m.items[4].issued_by, 0);
	rk_material_clear(&m);
	/* No issuers, or no opts: -1 everywhere. */
	opts.nissuers = 0;
	read_bytes(&m, rk_buf_bytes(&text), &opts);
	for (i = 0; i < m.n; i++)
		assert_int_equal(m.items[i].issued_by, -1);
	rk_material_clear(&m);
	read_bytes(&m, rk_buf_bytes(&text), NULL);
	assert_int_equal(m.n, 5);
	for (i = 0; i < m.n; i++)
		assert_int_equal(m.items[i].issued_by, -1);
	rk_material_clear(&m);
	rk_buf_clear(&text);
	rk_cert_free(rsa);
	rk_cert_free(impostor);
	rk_cert_free(ca);
}

/* A leaf, its key and its CA, as `openssl pkcs12 -export -certfile` puts them together. */
static void
test_pkcs12_with_a_chain_gives_every_certificate(void **state)
{
	char out[8192];
	struct rk_secret pass = { NULL, 0 };
	struct rk_cert *ca;
	const struct rk_cert *issuers[1];
	struct rk_material_opts opts = { &pass, 1, issuers, 1 };
	struct rk_err err = { 0 };
	struct rk_material m;
	size_t i, certs = 0, keys = 0;

	(void)state;
	run(out, sizeof(out), "openssl", "pkcs12", "-export", "-in", "@leaf.crt", "-inkey",
	    "@ec.trad.pem", "-certfile", "@ca.crt", "-passout", "pass:" PASS, "-out",
	    "@chain.p12", NULL);
	assert_int_equal(rk_secret_set(&pass, PASS, strlen(PASS), &err), 0);
	issuers[0] = ca = load_cert("ca.crt");
	read_name(&m, "chain.p12", &opts);
	assert_int_equal(m.n, 3);
	assert_items_consistent(&m);
	for (i = 0; i < m.n; i++) {
		assert_int_equal(m.items[i].encoding, RK_MATERIAL_IN_PKCS12);
		if (m.items[i].kind == RK_MATERIAL_CERTIFICATE) {
			/* In the file's order: the leaf, then its CA. */
			assert_string_equal(m.items[i].fingerprint, certs == 0 ? fx.leaf_fp :
			    fx.ca_fp);
			assert_int_equal(m.items[i].issued_by, 0);
			certs++;
		} else {
			assert_int_equal(m.items[i].kind, RK_MATERIAL_PRIVATE_KEY);
			assert_string_equal(m.items[i].spki_sha256, fx.ec_spki);
			assert_int_equal(m.items[i].issued_by, -1);
			keys++;
		}
	}
	assert_int_equal(certs, 2);
	assert_int_equal(keys, 1);
	rk_material_clear(&m);
	rk_cert_free(ca);
	rk_secret_clear(&pass);
}

/* A bag of a PKCS#12 file to be: a certificate, a key in a key bag, or a shrouded one. */
struct p12_bag {
	const char	*file;		/* a fixture: a certificate, or a key */
	int		 iter;		/* shrouded under PBES2 with this count; 0: a key bag */
	const char	*pass;		/* the key's own password; NULL: the file's */
};

/*
 * Writes name, a PKCS#12 file (MAC and safes under PASS, 2048 iterations) made with the
 * OpenSSL API, as `openssl pkcs12 -export` cannot: more than one key, or a shrouded key
 * inside an encrypted safe. Each safe holds the bags given for it; encrypted says which
 * are encrypted.
 */
static void
write_p12(const char *name, const struct p12_bag *const *safes, const size_t *nbags,
    const bool *encrypted, size_t nsafes)
{
	STACK_OF(PKCS12_SAFEBAG) *bags;
	STACK_OF(PKCS7) *p7s = NULL;
	PKCS12 *p12;
	FILE *f;
	char p[128];
	size_t s, b;

	for (s = 0; s < nsafes; s++) {
		bags = NULL;
		for (b = 0; b < nbags[s]; b++) {
			const struct p12_bag *bag = &safes[s][b];
			X509 *x;
			EVP_PKEY *k;

			path_of(p, sizeof(p), bag->file);
			assert_non_null(f = fopen(p, "r"));
			if (strstr(bag->file, ".crt") != NULL) {
				assert_non_null(x = PEM_read_X509(f, NULL, NULL, NULL));
				assert_non_null(PKCS12_add_cert(&bags, x));
				X509_free(x);
			} else {
				assert_non_null(k = PEM_read_PrivateKey(f, NULL, NULL, NULL));
				assert_non_null(PKCS12_add_key(&bags, k, 0, bag->iter,
				    bag->iter == 0 ? -1 : NID_aes_256_cbc,
				    bag->pass != NULL ? bag->pass : PASS));
				EVP_PKEY_free(k);
			}
			fclose(f);
		}
		assert_non_null(PKCS12_add_safe(&p7s, bags, encrypted[s] ? NID_aes_256_cbc : -1,
		    2048, PASS));
		sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	}
	assert_non_null(p12 = PKCS12_add_safes(p7s, 0));
	sk_PKCS7_pop_free(p7s, PKCS7_free);
	assert_int_equal(PKCS12_set_mac(p12, PASS, -1, NULL, 0, 2048, NULL), 1);
	path_of(p, sizeof(p), name);
	assert_non_null(f = fopen(p, "w"));
	assert_int_equal(i2d_PKCS12_fp(f, p12), 1);
	fclose(f);
	PKCS12_free(p12);
}

/* How many times needle is in text. */
static size_t
count_of(const char *text, const char *needle)
{
	size_t n = 0;

	for (; (text = strstr(text, needle)) != NULL; text++)
		n++;
	return n;
}

static void
test_pkcs12_gives_every_key_and_certificate_of_every_bag(void **state)
{
	static const struct p12_bag certs_and_ec[] = { { "rsa.crt", 0, NULL },
	    { "ec.crt", 0, NULL }, { "ec.trad.pem", 0, NULL } };
	static const struct p12_bag rsa_shrouded[] = { { "rsa.trad.pem", 2048, NULL } };
	const struct p12_bag *safes[] = { certs_and_ec, rsa_shrouded };
	const size_t nbags[] = { 3, 1 };
	const bool encrypted[] = { true, false };
	char out[16384];
	struct rk_secret pass = { NULL, 0 };
	struct rk_material_opts opts = { &pass, 1, NULL, 0 };
	struct rk_err err = { 0 };
	struct rk_material m;

	(void)state;
	write_p12("two-keys.p12", safes, nbags, encrypted, 2);
	/* The judge: openssl finds two keys and two certificates in it. */
	run(out, sizeof(out), "openssl", "pkcs12", "-in", "@two-keys.p12", "-passin",
	    "pass:" PASS, "-nodes", NULL);
	assert_int_equal(count_of(out, "-----BEGIN " KEY_LABEL "-----"), 2);
	assert_int_equal(count_of(out, "-----BEGIN CERTIFICATE-----"), 2);
	assert_int_equal(rk_secret_set(&pass, PASS, strlen(PASS), &err), 0);
	read_name(&m, "two-keys.p12", &opts);
	assert_int_equal(m.n, 4);
	assert_int_equal(m.unreadable, 0);
	assert_items_consistent(&m);
	/* Bag by bag, in the file's order. */
	assert_int_equal(m.items[0].kind, RK_MATERIAL_CERTIFICATE);
	assert_string_equal(m.items[0].fingerprint, fx.rsa_fp);
	assert_string_equal(m.items[0].spki_sha256, fx.rsa_spki);
	assert_int_equal(m.items[1].kind, RK_MATERIAL_CERTIFICATE);
	assert_string_equal(m.items[1].subject, "/O=rekey test/CN=material-ec");
	assert_string_equal(m.items[1].spki_sha256, fx.ec_spki);
	assert_int_equal(m.items[2].kind, RK_MATERIAL_PRIVATE_KEY);
	assert_string_equal(m.items[2].spki_sha256, fx.ec_spki);
	assert_int_equal(m.items[3].kind, RK_MATERIAL_PRIVATE_KEY);
	assert_string_equal(m.items[3].spki_sha256, fx.rsa_spki);
	assert_int_equal(m.items[3].form, RK_MATERIAL_PKCS8);
	rk_material_clear(&m);
	/* Without its password it is one locked file, as before. */
	assert_one_locked("two-keys.p12", NULL, RK_MATERIAL_PKCS12,
	    "pkcs12, locked: no password given opens it");
	rk_secret_clear(&pass);
}

/* A key under a password of its own: the file's opens the file, the key wants the other. */
static void
test_pkcs12_key_under_another_password_is_locked_without_it(void **state)
{
	static const struct p12_bag bags[] = { { "rsa.crt", 0, NULL },
	    { "rsa.trad.pem", 2048, "other-pass" } };
	const struct p12_bag *safes[] = { bags };
	const size_t nbags[] = { 2 };
	const bool encrypted[] = { false };
	struct rk_secret pass[2] = { { NULL, 0 }, { NULL, 0 } };
	struct rk_material_opts opts = { pass, 1, NULL, 0 };
	struct rk_err err = { 0 };
	struct rk_material m;

	(void)state;
	write_p12("other-pass.p12", safes, nbags, encrypted, 1);
	assert_int_equal(rk_secret_set(&pass[0], PASS, strlen(PASS), &err), 0);
	assert_int_equal(rk_secret_set(&pass[1], "other-pass", 10, &err), 0);
	read_name(&m, "other-pass.p12", &opts);
	assert_int_equal(m.n, 2);
	assert_items_consistent(&m);
	assert_string_equal(m.items[0].fingerprint, fx.rsa_fp);
	assert_int_equal(m.items[1].kind, RK_MATERIAL_ENCRYPTED_KEY);
	assert_int_equal(m.items[1].form, RK_MATERIAL_PKCS8_ENCRYPTED);
	assert_int_equal(m.items[1].encoding, RK_MATERIAL_IN_PKCS12);
	assert_string_equal(m.items[1].reason, "encrypted: no passphrase given opens it");
	rk_material_clear(&m);
	opts.npassphrases = 2;
	read_name(&m, "other-pass.p12", &opts);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.items[1].kind, RK_MATERIAL_PRIVATE_KEY);
	assert_string_equal(m.items[1].spki_sha256, fx.rsa_spki);
	rk_material_clear(&m);
	rk_secret_clear(&pass[0]);
	rk_secret_clear(&pass[1]);
}

/*
 * A shrouded key bag inside an encrypted safe is seen only once the password opened the file:
 * over the cap it is an encrypted key with its reason, beside the certificate the file gives.
 * The same file at 2048 iterations gives the key.
 */
static void
test_pkcs12_key_inside_an_encrypted_safe_is_held_to_the_cost_cap(void **state)
{
	static const struct p12_bag costly[] = { { "rsa.crt", 0, NULL },
	    { "rsa.trad.pem", RK_MATERIAL_ITER_MAX + 1, NULL } };
	static const struct p12_bag cheap[] = { { "rsa.crt", 0, NULL },
	    { "rsa.trad.pem", 2048, NULL } };
	const struct p12_bag *safes[1];
	const size_t nbags[] = { 2 };
	const bool encrypted[] = { true };
	char out[16384], count[32];
	struct rk_secret pass = { NULL, 0 };
	struct rk_material_opts opts = { &pass, 1, NULL, 0 };
	struct rk_err err = { 0 };
	struct rk_material m;

	(void)state;
	safes[0] = costly;
	write_p12("costly-inside.p12", safes, nbags, encrypted, 1);
	safes[0] = cheap;
	write_p12("cheap-inside.p12", safes, nbags, encrypted, 1);
	/* The judge: the shrouded bag is inside the encrypted data, at that count. */
	run(out, sizeof(out), "openssl", "pkcs12", "-in", "@costly-inside.p12", "-passin",
	    "pass:" PASS, "-info", "-nodes", NULL);
	snprintf(count, sizeof(count), "Iteration %d", RK_MATERIAL_ITER_MAX + 1);
	assert_non_null(strstr(out, "PKCS7 Encrypted data"));
	assert_non_null(strstr(out, "Shrouded Keybag"));
	assert_true(strstr(out, "PKCS7 Encrypted data") < strstr(out, "Shrouded Keybag"));
	assert_non_null(strstr(out, count));
	assert_null(strstr(out, "PKCS7 Data\n"));
	assert_int_equal(rk_secret_set(&pass, PASS, strlen(PASS), &err), 0);
	read_name(&m, "costly-inside.p12", &opts);
	assert_int_equal(m.n, 2);
	assert_items_consistent(&m);
	assert_int_equal(m.items[0].kind, RK_MATERIAL_CERTIFICATE);
	assert_string_equal(m.items[0].spki_sha256, fx.rsa_spki);
	assert_int_equal(m.items[1].kind, RK_MATERIAL_ENCRYPTED_KEY);
	assert_int_equal(m.items[1].encoding, RK_MATERIAL_IN_PKCS12);
	assert_int_equal(m.items[1].form, RK_MATERIAL_PKCS8_ENCRYPTED);
	assert_string_equal(m.items[1].spki_sha256, "");
	assert_string_equal(m.items[1].reason, "encrypted: key derivation cost over the cap");
	rk_material_clear(&m);
	read_name(&m, "cheap-inside.p12", &opts);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.items[1].kind, RK_MATERIAL_PRIVATE_KEY);
	assert_string_equal(m.items[1].spki_sha256, fx.rsa_spki);
	rk_material_clear(&m);
	rk_secret_clear(&pass);
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
		cmocka_unit_test(test_serials_are_openssls_and_over_twenty_octets_empty),
		cmocka_unit_test(test_issued_by_names_the_ca_whose_key_signed_it),
		cmocka_unit_test(test_pkcs12_with_a_chain_gives_every_certificate),
		cmocka_unit_test(test_pkcs12_gives_every_key_and_certificate_of_every_bag),
		cmocka_unit_test(test_pkcs12_key_under_another_password_is_locked_without_it),
		cmocka_unit_test(test_pkcs12_key_inside_an_encrypted_safe_is_held_to_the_cost_cap),
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
