/*
 * Shared by the client-configuration editors' fuzz targets: the contract each editor keeps
 * for any input. On failure nothing is produced; on success, applying the same settings to
 * the output gives the output again byte for byte (a second run changes nothing), and the
 * masking helpers never fail on what the editor wrote and keep every line a line (a diff of
 * masked copies lines up with the diff of the files).
 */
#ifndef REKEY_EDITOR_FUZZ_H
#define REKEY_EDITOR_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/bytes.h"
#include "rekey/err.h"
#include "rekey/model.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One editor (or masking helper) under test, as a function of the input bytes. */
typedef int (*editor_fn)(struct rk_buf *out, struct rk_bytes in, struct rk_err *err);

static void
contract_broken(const char *target, const char *what)
{
	fprintf(stderr, "%s: contract broken: %s\n", target, what);
	abort();		/* libFuzzer keeps the input */
}

static size_t
count_newlines(const unsigned char *p, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		n += p[i] == '\n';
	return n;
}

/* A mask may refuse what its editor refuses; what it writes has the input's lines. */
static void
check_mask(const char *target, editor_fn mask, struct rk_bytes in, int must_succeed)
{
	struct rk_buf out;
	struct rk_err err = { 0 };

	if (mask(&out, in, &err) != 0) {
		if (must_succeed)
			contract_broken(target, "the mask refuses the editor's output");
		if (out.ptr != NULL || out.len != 0)
			contract_broken(target, "mask failure with output");
		return;
	}
	if (count_newlines(out.ptr, out.len) != count_newlines(in.ptr, in.len))
		contract_broken(target, "the mask changed the number of lines");
	rk_buf_clear(&out);
}

static void
check_editor(const char *target, editor_fn edit, editor_fn mask, const uint8_t *data,
    size_t size)
{
	struct rk_buf out, again;
	struct rk_err err = { 0 };
	int r;

	r = edit(&out, (struct rk_bytes){ data, size }, &err);
	if (r != 0) {
		if (mask != NULL)
			check_mask(target, mask, (struct rk_bytes){ data, size }, 0);
		if (out.ptr != NULL || out.len != 0)
			contract_broken(target, "failure with output");
		if (err.code == RK_OK || err.msg[0] == '\0')
			contract_broken(target, "failure without a message");
		return;
	}
	rk_err_clear(&err);
	if (edit(&again, rk_buf_bytes(&out), &err) != 0)
		contract_broken(target, "its own output is refused");
	if (again.len != out.len || memcmp(again.ptr, out.ptr, out.len) != 0)
		contract_broken(target, "a second run changed the file");
	if (mask != NULL) {
		check_mask(target, mask, (struct rk_bytes){ data, size }, 1);
		check_mask(target, mask, rk_buf_bytes(&out), 1);
	}
	rk_buf_clear(&again);
	rk_buf_clear(&out);
}

#endif
