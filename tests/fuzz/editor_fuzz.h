/*
 * Shared by the client-configuration editors' fuzz targets: the contract each editor keeps
 * for any input. On failure nothing is produced; on success, applying the same settings to
 * the output gives the output again byte for byte (a second run changes nothing), and the
 * masking helpers never fail on what the editor wrote.
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

/* One editor under test, as a function of the input bytes. */
typedef int (*editor_fn)(struct rk_buf *out, struct rk_bytes in, struct rk_err *err);

static void
contract_broken(const char *target, const char *what)
{
	fprintf(stderr, "%s: contract broken: %s\n", target, what);
	abort();		/* libFuzzer keeps the input */
}

static void
check_editor(const char *target, editor_fn edit, const uint8_t *data, size_t size)
{
	struct rk_buf out, again;
	struct rk_err err = { 0 };
	int r;

	r = edit(&out, (struct rk_bytes){ data, size }, &err);
	if (r != 0) {
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
	rk_buf_clear(&again);
	rk_buf_clear(&out);
}

#endif
