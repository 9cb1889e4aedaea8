/*
 * libFuzzer target for the loaders of src/pki/ that read what users give: certificates
 * (rk_cert_load, rk_cert_load_bundle), private keys (rk_key_load, without and with a
 * passphrase), CRLs (rk_crl_load, rk_crl_load_bundle), and the file loaders above them that
 * a playbook's ca: section names (rk_chain_load then rk_chain_check, rk_signing_ca_open),
 * each on the whole input. PKCS#12 is read by material.c only (fuzz_material).
 *
 * Beyond crashes, leaks and sanitizer reports, it aborts when a result breaks the headers'
 * contracts:
 *   - any loader: a failure with a result, without a message, or with a code other than
 *     usage, the cap or memory; a success without a result;
 *   - a certificate: a fingerprint that is not 32 upper-case hex pairs, a serial not in hex
 *     pairs, a SAN that is not "DNS:", "IP:" or "email:", a public-key hash that is not 64
 *     hex digits, or one whose PEM form (rk_cert_to_pem) loads as another certificate;
 *     a bundle whose first certificate is not the one rk_cert_load gives;
 *   - a key: no description, a hash that is not 64 hex digits, a key that cannot be written
 *     as PKCS#8 (plain and encrypted) or reads back as another key; a key that loads
 *     without the passphrase but not with it (an unasked passphrase must change nothing);
 *   - a CRL: an entry whose serial is not in hex pairs (after "-" when negative, before
 *     ":..." when longer than the entry holds) or, when neither, is not found by
 *     rk_crl_has_serial, a PEM form that loads with other entries, a bundle whose first CRL
 *     is not the one rk_crl_load gives;
 *   - the chain: rk_chain_load disagreeing with the two loaders it is made of, a failed
 *     check that names no link in the chain; the signing CA: a success whose key does not
 *     match its certificate.
 * The passphrase is material_seeds.sh's, so its encrypted keys open. The file loaders read
 * the input from a file (mode 0600) in a private folder made once under $TMPDIR (or /tmp).
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rekey/ca.h"
#include "rekey/cert.h"
#include "fuzz_file.h"
#include "rekey/chain.h"
#include "rekey/crl.h"
#include "rekey/key.h"
#include "rekey/secret.h"

/* material_seeds.sh's passphrase. */
#define SEED_PASS	"fuzz-seed-pass"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
contract_broken(const char *what)
{
	fprintf(stderr, "fuzz_pkiload: contract broken: %s\n", what);
	abort();		/* libFuzzer keeps the input */
}

/* The input as a private file, as a CA key must be. */
static void
write_input(const uint8_t *data, size_t size)
{
	(void)fuzz_file_path("fuzz_pkiload", "input");
	fuzz_file_write("fuzz_pkiload", data, size, NULL, 0);
}

/* The failure of a loader: a message, and a code the header allows. */
static void
check_failure(int r, const struct rk_err *err, const char *who)
{
	if (err->msg[0] == '\0' || memchr(err->msg, '\0', sizeof(err->msg)) == NULL) {
		fprintf(stderr, "fuzz_pkiload: %s\n", who);
		contract_broken("a failure with no message");
	}
	if (r != (int)err->code || (r != RK_E_USAGE && r != RK_E_LIMIT && r != RK_E_NOMEM)) {
		fprintf(stderr, "fuzz_pkiload: %s: %s: %s\n", who, rk_code_name(err->code),
		    err->msg);
		contract_broken("a failure other than bad input, the cap or memory");
	}
}

/* A CRL entry's serial: hex pairs, after a "-" when negative, before ":..." when cut. */
static bool
is_entry_serial(const char *s)
{
	char pairs[64];
	size_t n;

	if (*s == '-')
		s++;
	if ((n = strlen(s)) >= sizeof(pairs))
		return false;
	memcpy(pairs, s, n + 1);
	if (n >= 4 && strcmp(pairs + n - 4, ":...") == 0)
		pairs[n - 4] = '\0';
	return fuzz_is_hex_pairs(pairs, 0);
}

static bool
is_hash(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (s[i] == '\0' || strchr("0123456789abcdef", s[i]) == NULL)
			return false;
	return s[64] == '\0';
}

static void
check_cert(const struct rk_cert *c)
{
	struct rk_cert *again = NULL;
	struct rk_err err = { 0 };
	struct rk_buf pem;
	char fp[RK_FINGERPRINT_LEN], fp2[RK_FINGERPRINT_LEN], hash[RK_SHA256_HEX], buf[512];
	char **sans = NULL;
	size_t nsans = 0, i;
	bool client_auth;

	rk_cert_fingerprint(fp, c);
	if (!fuzz_is_hex_pairs(fp, 32))
		contract_broken("a certificate's fingerprint that is not 32 hex pairs");
	if (rk_cert_serial(buf, sizeof(buf), c) >= 0 && !fuzz_is_hex_pairs(buf, 0))
		contract_broken("a serial that is not hex pairs");
	if (rk_cert_subject(buf, sizeof(buf), c) < 0 || memchr(buf, '\0', sizeof(buf)) == NULL ||
	    rk_cert_issuer(buf, sizeof(buf), c) < 0 || memchr(buf, '\0', sizeof(buf)) == NULL)
		contract_broken("a name without its NUL");
	(void)rk_cert_common_name(buf, sizeof(buf), c);
	if (memchr(buf, '\0', sizeof(buf)) == NULL)
		contract_broken("a common name without its NUL");
	if (rk_cert_sans(&sans, &nsans, c, &err) != 0)
		check_failure(err.code, &err, "rk_cert_sans");
	for (i = 0; i < nsans; i++)
		if (sans[i] == NULL || (strncmp(sans[i], "DNS:", 4) != 0 &&
		    strncmp(sans[i], "IP:", 3) != 0 && strncmp(sans[i], "email:", 6) != 0))
			contract_broken("a SAN that is not DNS:, IP: or email:");
	rk_cert_sans_free(sans, nsans);
	rk_err_clear(&err);
	if (rk_cert_spki_sha256(hash, c, &err) == 0 ? !is_hash(hash) : err.msg[0] == '\0')
		contract_broken("a public-key hash that is not 64 hex digits, or no reason");
	rk_err_clear(&err);
	(void)rk_cert_describe_key(buf, sizeof(buf), c);
	(void)rk_cert_key_type(buf, sizeof(buf), c);
	if (rk_cert_key_size(c) < 0)
		contract_broken("a negative key size");
	(void)rk_cert_profile(c, &client_auth);
	(void)rk_cert_is_self_signed(c);
	(void)rk_cert_can_sign_certificates(c);
	(void)rk_cert_path_len(c);
	(void)rk_cert_days_left(c, time(NULL));
	/* What rekey writes of a certificate it read is that certificate. */
	rk_buf_init(&pem, RK_PEM_MAX);
	if (rk_cert_to_pem(&pem, c, &err) == 0) {
		if (rk_cert_load(&again, rk_buf_bytes(&pem), "again", &err) != 0) {
			fprintf(stderr, "fuzz_pkiload: %s\n", err.msg);
			contract_broken("a certificate's PEM form does not load");
		}
		rk_cert_fingerprint(fp2, again);
		if (!rk_cert_same(c, again) || strcmp(fp, fp2) != 0)
			contract_broken("a certificate's PEM form loads as another");
		rk_cert_free(again);
	}
	rk_buf_clear(&pem);
}

static void
try_certs(struct rk_bytes in)
{
	struct rk_cert *c = NULL, **certs = NULL;
	struct rk_err err = { 0 };
	size_t n = 0, i;
	int r;

	if ((r = rk_cert_load(&c, in, "fuzz", &err)) != 0) {
		if (c != NULL)
			contract_broken("a failed certificate load with a certificate");
		check_failure(r, &err, "rk_cert_load");
	} else if (c == NULL)
		contract_broken("a certificate load without a certificate");
	else
		check_cert(c);
	rk_err_clear(&err);
	if ((r = rk_cert_load_bundle(&certs, &n, in, "fuzz", &err)) != 0) {
		if (certs != NULL || n != 0)
			contract_broken("a failed bundle load with certificates");
		check_failure(r, &err, "rk_cert_load_bundle");
	} else {
		if (certs == NULL || n == 0)
			contract_broken("a bundle load with no certificate");
		for (i = 0; i < n; i++)
			check_cert(certs[i]);
		if (c == NULL || !rk_cert_same(c, certs[0]))
			contract_broken("a bundle whose first certificate rk_cert_load does not give");
	}
	rk_cert_bundle_free(certs, n);
	rk_cert_free(c);
}

/* The key reads back from its PEM form, plain or encrypted, as the same key. */
static void
check_key_round_trip(const struct rk_key *k, const char *hash, const struct rk_secret *pass)
{
	struct rk_secret pem = { NULL, 0 };
	struct rk_key *again = NULL;
	struct rk_err err = { 0 };
	char hash2[RK_SHA256_HEX];

	if (rk_key_to_pem(&pem, k, pass, &err) != 0) {
		fprintf(stderr, "fuzz_pkiload: %s\n", err.msg);
		contract_broken("a loaded key that cannot be written as PKCS#8");
	}
	if (rk_key_load(&again, (struct rk_bytes){ pem.ptr, pem.len }, pass, "again", &err) !=
	    0) {
		fprintf(stderr, "fuzz_pkiload: %s\n", err.msg);
		contract_broken("a key's PKCS#8 form does not load");
	}
	if (rk_key_spki_sha256(hash2, again, &err) != 0 || strcmp(hash, hash2) != 0)
		contract_broken("a key's PKCS#8 form loads as another key");
	rk_key_free(again);
	rk_secret_clear(&pem);
}

static void
check_key(const struct rk_key *k, bool round_trip)
{
	struct rk_secret pass = { (unsigned char *)SEED_PASS, sizeof(SEED_PASS) - 1 };
	struct rk_err err = { 0 };
	char buf[128], hash[RK_SHA256_HEX];

	if (rk_key_describe(buf, sizeof(buf), k) <= 0)
		contract_broken("a key without a description");
	(void)rk_key_bits(k);
	if (rk_key_spki_sha256(hash, k, &err) != 0 || !is_hash(hash))
		contract_broken("a key's hash that is not 64 hex digits");
	if (round_trip) {
		check_key_round_trip(k, hash, NULL);
		/* The passphrase is a constant: borrowed, never wiped. */
		check_key_round_trip(k, hash, &pass);
	}
}

static void
try_keys(struct rk_bytes in)
{
	struct rk_secret pass = { (unsigned char *)SEED_PASS, sizeof(SEED_PASS) - 1 };
	struct rk_key *k = NULL, *kp = NULL;
	struct rk_err err = { 0 };
	char h[RK_SHA256_HEX], hp[RK_SHA256_HEX];
	int r;

	if ((r = rk_key_load(&k, in, NULL, "fuzz", &err)) != 0) {
		if (k != NULL)
			contract_broken("a failed key load with a key");
		check_failure(r, &err, "rk_key_load");
	} else if (k == NULL)
		contract_broken("a key load without a key");
	else
		check_key(k, true);
	rk_err_clear(&err);
	if ((r = rk_key_load(&kp, in, &pass, "fuzz", &err)) != 0) {
		if (kp != NULL)
			contract_broken("a failed key load with a key");
		check_failure(r, &err, "rk_key_load with a passphrase");
		if (k != NULL)
			contract_broken("a key that loads without a passphrase but not with one");
	} else if (kp == NULL)
		contract_broken("a key load without a key");
	else {
		check_key(kp, k == NULL);
		if (k != NULL && (rk_key_spki_sha256(h, k, &err) != 0 ||
		    rk_key_spki_sha256(hp, kp, &err) != 0 || strcmp(h, hp) != 0))
			contract_broken("an unasked passphrase changed the key");
	}
	rk_key_free(kp);
	rk_key_free(k);
}

static void
check_crl(const struct rk_crl *crl)
{
	struct rk_crl_entry e;
	struct rk_crl *again = NULL;
	struct rk_err err = { 0 };
	struct rk_buf pem;
	char buf[512];
	size_t i, n = rk_crl_count(crl);

	for (i = 0; i < n; i++) {
		rk_crl_entry_at(&e, crl, i);
		if (memchr(e.serial, '\0', sizeof(e.serial)) == NULL || !is_entry_serial(e.serial))
			contract_broken("a CRL entry's serial that is not hex pairs");
		/* One RFC 5280 allows is found; a negative or cut one is never taken for another. */
		if (e.serial[0] != '\0' && e.serial[0] != '-' && strstr(e.serial, "...") == NULL &&
		    !rk_crl_has_serial(crl, e.serial))
			contract_broken("a CRL entry's serial that rk_crl_has_serial does not find");
	}
	if (rk_crl_number(crl) < -1)
		contract_broken("a CRL number below -1");
	(void)rk_crl_last_update(crl);
	(void)rk_crl_next_update(crl);
	if (rk_crl_issuer(buf, sizeof(buf), crl) < 0 || memchr(buf, '\0', sizeof(buf)) == NULL)
		contract_broken("a CRL issuer without its NUL");
	rk_buf_init(&pem, RK_PEM_MAX);
	if (rk_crl_to_pem(&pem, crl, &err) == 0) {
		if (rk_crl_load(&again, rk_buf_bytes(&pem), "again", &err) != 0) {
			fprintf(stderr, "fuzz_pkiload: %s\n", err.msg);
			contract_broken("a CRL's PEM form does not load");
		}
		if (rk_crl_count(again) != n)
			contract_broken("a CRL's PEM form loads with other entries");
		rk_crl_free(again);
	}
	rk_buf_clear(&pem);
}

/* The PEM forms of a and b are the same bytes. */
static bool
same_crl(const struct rk_crl *a, const struct rk_crl *b)
{
	struct rk_buf x, y;
	struct rk_err err = { 0 };
	bool same;

	rk_buf_init(&x, RK_PEM_MAX);
	rk_buf_init(&y, RK_PEM_MAX);
	same = rk_crl_to_pem(&x, a, &err) == 0 && rk_crl_to_pem(&y, b, &err) == 0 &&
	    x.len == y.len && memcmp(x.ptr, y.ptr, x.len) == 0;
	rk_buf_clear(&x);
	rk_buf_clear(&y);
	return same;
}

static void
try_crls(struct rk_bytes in)
{
	struct rk_crl *crl = NULL, **crls = NULL;
	struct rk_err err = { 0 };
	size_t n = 0, i;
	int r;

	if ((r = rk_crl_load(&crl, in, "fuzz", &err)) != 0) {
		if (crl != NULL)
			contract_broken("a failed CRL load with a CRL");
		check_failure(r, &err, "rk_crl_load");
	} else if (crl == NULL)
		contract_broken("a CRL load without a CRL");
	else
		check_crl(crl);
	rk_err_clear(&err);
	if ((r = rk_crl_load_bundle(&crls, &n, in, "fuzz", &err)) != 0) {
		if (crls != NULL || n != 0)
			contract_broken("a failed CRL bundle load with CRLs");
		check_failure(r, &err, "rk_crl_load_bundle");
	} else {
		if (crls == NULL || n == 0)
			contract_broken("a CRL bundle load with no CRL");
		for (i = 0; i < n; i++)
			check_crl(crls[i]);
		if (crl == NULL || !same_crl(crl, crls[0]))
			contract_broken("a CRL bundle whose first CRL rk_crl_load does not give");
	}
	rk_crl_bundle_free(crls, n);
	rk_crl_free(crl);
}

/* ca.cert and ca.chain both the input: what the two loaders make of it, then the check. */
static void
try_files(struct rk_bytes in)
{
	struct rk_secret pass = { (unsigned char *)SEED_PASS, sizeof(SEED_PASS) - 1 };
	struct rk_cert *c = NULL, **certs = NULL;
	struct rk_signing_ca ca;
	struct rk_chain chain;
	struct rk_err err = { 0 };
	size_t n = 0, bad = 0;
	bool want;
	int r;

	write_input(in.ptr, in.len);
	want = rk_cert_load(&c, in, "fuzz", &err) == 0 &&
	    rk_cert_load_bundle(&certs, &n, in, "fuzz", &err) == 0;
	rk_cert_free(c);
	rk_cert_bundle_free(certs, n);
	rk_err_clear(&err);
	if ((r = rk_chain_load(&chain, fuzz_path, fuzz_path, &err)) != 0) {
		if (want)
			contract_broken("rk_chain_load failed where its loaders did not");
		if (chain.certs != NULL || chain.n != 0)
			contract_broken("a failed chain load with certificates");
		check_failure(r, &err, "rk_chain_load");
	} else {
		if (!want || chain.n != n + 1)
			contract_broken("rk_chain_load gave what its loaders did not");
		rk_err_clear(&err);
		if ((r = rk_chain_check(&chain, time(NULL), &bad, &err)) != 0) {
			check_failure(r, &err, "rk_chain_check");
			if (bad > chain.n)
				contract_broken("a failed chain check that names no link of it");
		}
		rk_chain_clear(&chain);
	}
	rk_err_clear(&err);
	if ((r = rk_signing_ca_open(&ca, fuzz_path, fuzz_path, &pass, &err)) != 0) {
		if (err.msg[0] == '\0')
			contract_broken("a signing CA refused without a message");
		if (r != RK_E_USAGE && r != RK_E_NOMEM && r != RK_E_LIMIT && r != RK_E_CRYPTO) {
			fprintf(stderr, "fuzz_pkiload: %s: %s\n", rk_code_name(err.code), err.msg);
			contract_broken("a signing CA refused for another reason than its files");
		}
	} else {
		rk_err_clear(&err);
		if (ca.cert == NULL || ca.key == NULL ||
		    rk_cert_check_key(ca.cert, ca.key, &err) != 0 || !rk_cert_is_ca(ca.cert))
			contract_broken("a signing CA whose key does not match or that is no CA");
		rk_signing_ca_close(&ca);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rk_bytes in = { data, size };

	try_certs(in);
	try_keys(in);
	try_crls(in);
	try_files(in);
	return 0;
}
