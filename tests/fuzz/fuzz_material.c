/*
 * libFuzzer target for the key-material reader (material.h): any bytes go to
 * rk_material_sniff() and rk_material_read(). Beyond crashes, leaks and sanitizer reports, it
 * aborts when a result breaks the header's contract: a failure other than the cap or memory,
 * an item with a hash that is not 64 lower-case hex digits, one with no hash and no reason
 * (or both), a certificate without its fingerprint, a key with one, a line outside the text,
 * or a line on a binary item. And sniff must say yes to any input of at most
 * RK_MATERIAL_SNIFF_LEN bytes in which something was found: a false negative there would hide
 * a key from a sweep.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/material.h"

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

static void
check_item(const struct rk_material_item *it, size_t lines)
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rk_bytes in = { data, size };
	struct rk_err err = { 0 };
	struct rk_material m;
	size_t i, lines = 1;
	bool sniffed;
	int r;

	sniffed = rk_material_sniff(in);
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	r = rk_material_read(&m, in, NULL, &err);
	if (r != 0 && r != RK_E_NOMEM && r != RK_E_LIMIT) {
		fprintf(stderr, "fuzz_material: %s: %s\n", rk_code_name(err.code), err.msg);
		contract_broken("a failure other than memory or the cap");
	}
	if (r != 0 && err.msg[0] == '\0')
		contract_broken("a failure with no message");
	if (m.n > RK_MATERIAL_ITEMS_MAX)
		contract_broken("more items than the cap");
	for (i = 0; i < m.n; i++)
		check_item(&m.items[i], lines);
	if (size <= RK_MATERIAL_SNIFF_LEN && (m.n > 0 || m.unreadable > 0) && !sniffed)
		contract_broken("sniff said no to an input that holds key material");
	rk_material_clear(&m);
	return 0;
}
