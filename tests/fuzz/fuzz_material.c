/*
 * libFuzzer target for the key-material reader (material.h): any bytes go to
 * rk_material_sniff() and rk_material_read(). Beyond crashes, leaks and sanitizer reports, it
 * aborts when a result breaks the header's contract: a failure other than the cap or memory,
 * an item with a hash that is not 64 lower-case hex digits, one with no hash and no reason
 * (or both), a certificate without its fingerprint, a key with one, a line outside the text,
 * or a line on a binary item, an issuer or serial on what is not a certificate, a serial
 * that is not colon-joined upper-case hex pairs, or an issued_by outside the issuers given.
 * And sniff must say yes to any input of at most RK_MATERIAL_SNIFF_LEN bytes in which something
 * was found: a false negative there would hide a key from a sweep.
 *
 * Each input is read three times: with no options; with the first certificate of the input
 * itself (rk_cert_load) as the one issuer, which must change nothing but issued_by (a
 * self-signed one is its own issuer); and with the seeds' passphrase, which opens the
 * encrypted keys and PKCS#12 files material_seeds.sh writes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/cert.h"
#include "rekey/material.h"
#include "rekey/secret.h"

/* material_seeds.sh's passphrase. */
#define SEED_PASS	"fuzz-seed-pass"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
contract_broken(const char *what)
{
	fprintf(stderr, "fuzz_material: contract broken: %s\n", what);
	abort();		/* libFuzzer keeps the input */
}

static bool
is_hash(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (strchr("0123456789abcdef", s[i]) == NULL || s[i] == '\0')
			return false;
	return s[64] == '\0';
}

/* "" or "5D:3A:91": upper-case hex pairs joined by ':'. */
static bool
is_serial(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0)
		return true;
	if (n % 3 != 2)
		return false;
	for (i = 0; i < n; i++)
		if (i % 3 == 2 ? s[i] != ':' : strchr("0123456789ABCDEF", s[i]) == NULL)
			return false;
	return true;
}

static void
check_item(const struct rk_material_item *it, size_t lines, size_t nissuers)
{
	if (memchr(it->subject, '\0', sizeof(it->subject)) == NULL ||
	    memchr(it->fingerprint, '\0', sizeof(it->fingerprint)) == NULL)
		contract_broken("a field without its NUL");
	if (it->spki_sha256[0] == '\0' ? it->reason == NULL :
	    !is_hash(it->spki_sha256) || it->reason != NULL)
		contract_broken("a hash that is not 64 hex digits, or no hash and no reason");
	if ((it->kind == RK_MATERIAL_CERTIFICATE) != (strlen(it->fingerprint) == 95))
		contract_broken("a fingerprint on what is not a certificate, or none on one");
	if (it->kind == RK_MATERIAL_PKCS12 && it->spki_sha256[0] != '\0')
		contract_broken("a locked PKCS#12 file with a hash");
	if (memchr(it->issuer, '\0', sizeof(it->issuer)) == NULL ||
	    memchr(it->serial, '\0', sizeof(it->serial)) == NULL || !is_serial(it->serial))
		contract_broken("an issuer or serial without its NUL, or a serial not in pairs");
	if (it->kind != RK_MATERIAL_CERTIFICATE && (it->issuer[0] != '\0' ||
	    it->serial[0] != '\0' || it->issued_by != -1))
		contract_broken("an issuer, serial or issued_by on what is not a certificate");
	if (it->issued_by < -1 || (it->issued_by >= 0 && (size_t)it->issued_by >= nissuers))
		contract_broken("issued_by outside the issuers given");
	switch (it->encoding) {
	case RK_MATERIAL_PEM:
	case RK_MATERIAL_PEM_IN_TEXT:
	case RK_MATERIAL_PEM_ESCAPED:
		if (it->line < 1 || it->line > lines)
			contract_broken("a PEM block's line outside the text");
		break;
	case RK_MATERIAL_DER:
	case RK_MATERIAL_IN_PKCS12:
		if (it->line != 0)
			contract_broken("a line on a binary item");
		break;
	}
}

/* Field by field: a struct copy need not keep padding, so memcmp would not do. */
static bool
same_but_issued_by(const struct rk_material_item *a, const struct rk_material_item *b)
{
	return a->kind == b->kind && a->encoding == b->encoding && a->form == b->form &&
	    a->line == b->line && a->reason == b->reason &&
	    strcmp(a->spki_sha256, b->spki_sha256) == 0 &&
	    strcmp(a->fingerprint, b->fingerprint) == 0 && strcmp(a->subject, b->subject) == 0 &&
	    strcmp(a->issuer, b->issuer) == 0 && strcmp(a->serial, b->serial) == 0;
}

/* One read under opts, checked against the contract; *m is the caller's to clear. */
static void
read_checked(struct rk_material *m, struct rk_bytes in, const struct rk_material_opts *opts,
    size_t lines, bool sniffed)
{
	struct rk_err err = { 0 };
	size_t i;
	int r;

	r = rk_material_read(m, in, opts, &err);
	if (r != 0 && r != RK_E_NOMEM && r != RK_E_LIMIT) {
		fprintf(stderr, "fuzz_material: %s: %s\n", rk_code_name(err.code), err.msg);
		contract_broken("a failure other than memory or the cap");
	}
	if (r != 0 && err.msg[0] == '\0')
		contract_broken("a failure with no message");
	if (m->n > RK_MATERIAL_ITEMS_MAX)
		contract_broken("more items than the cap");
	for (i = 0; i < m->n; i++)
		check_item(&m->items[i], lines, opts != NULL ? opts->nissuers : 0);
	if (in.len <= RK_MATERIAL_SNIFF_LEN && (m->n > 0 || m->unreadable > 0) && !sniffed)
		contract_broken("sniff said no to an input that holds key material");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rk_bytes in = { data, size };
	struct rk_err err = { 0 };
	struct rk_secret pass = { (unsigned char *)SEED_PASS, sizeof(SEED_PASS) - 1 };
	struct rk_material m, with;
	struct rk_cert *ca = NULL;
	const struct rk_cert *issuers[1];
	struct rk_material_opts by_ca = { NULL, 0, issuers, 1 }, by_pass = { &pass, 1, NULL, 0 };
	size_t i, lines = 1;
	bool sniffed;

	sniffed = rk_material_sniff(in);
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	read_checked(&m, in, NULL, lines, sniffed);
	if (rk_cert_load(&ca, in, "fuzz", &err) == 0) {
		issuers[0] = ca;
		read_checked(&with, in, &by_ca, lines, sniffed);
		if (with.n != m.n || with.unreadable != m.unreadable)
			contract_broken("an issuer changed what was found");
		for (i = 0; i < m.n; i++)
			if (!same_but_issued_by(&m.items[i], &with.items[i]))
				contract_broken("an issuer changed an item beyond issued_by");
		rk_material_clear(&with);
		rk_cert_free(ca);
	}
	rk_material_clear(&m);
	/* The passphrase is a constant: borrowed, never freed or wiped. */
	read_checked(&m, in, &by_pass, lines, sniffed);
	rk_material_clear(&m);
	return 0;
}
