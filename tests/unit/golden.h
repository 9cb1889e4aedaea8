/* Golden cases for the client-configuration editors, shared by their unit tests. */
#ifndef REKEY_TEST_GOLDEN_H
#define REKEY_TEST_GOLDEN_H

#include "test_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/bytes.h"
#include "rekey/envfile.h"
#include "rekey/err.h"
#include "rekey/model.h"

/*
 * Golden cases under $RK_TEST_SRC/cases/clients/<dir>/ (see the README there): NNN-what.in
 * edited with NNN-what.set must give NNN-what.out byte for byte, and editing the .out again
 * must give the .out (idempotence); or, when there is an NNN-what.err instead, the edit must
 * fail with exactly the message it holds (its one line) and produce nothing. A first .set
 * line "[name]" names the ini section and "$NAME" the env variable holding a connection
 * string.
 */
typedef int (*apply_fn)(struct rk_buf *out, struct rk_bytes in, const char *target,
    const struct rk_setting *set, size_t nset, const char *label, struct rk_err *err);

static char *
slurp_maybe(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	if (fp == NULL)
		return NULL;
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static char *
slurp(const char *path, size_t *len)
{
	char *buf = slurp_maybe(path, len);

	if (buf == NULL)
		fail_msg("cannot open %s", path);
	return buf;
}

static int
case_filter(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return n > 3 && strcmp(e->d_name + n - 3, ".in") == 0;
}

static void
check_one(apply_fn apply, const char *target, struct rk_bytes in, const char *want,
    size_t wantlen, const struct rk_setting *set, size_t nset, const char *label)
{
	struct rk_buf out;
	struct rk_err err = { 0 };

	if (apply(&out, in, target, set, nset, label, &err) != 0)
		fail_msg("%s: %s", label, err.msg);
	if (out.len != wantlen || memcmp(out.ptr, want, wantlen) != 0)
		fail_msg("%s: got\n[%.*s]\nwant\n[%s]", label, (int)out.len, out.ptr, want);
	rk_buf_clear(&out);
}

/* A case the editor must refuse: exactly the message of the .err file, and no output. */
static void
check_refusal(apply_fn apply, const char *target, struct rk_bytes in, char *want,
    const struct rk_setting *set, size_t nset, const char *label)
{
	struct rk_buf out;
	struct rk_err err = { 0 };
	char *nl = strchr(want, '\n');

	if (nl != NULL)
		*nl = '\0';
	if (apply(&out, in, target, set, nset, label, &err) == 0)
		fail_msg("%s: accepted, want \"%s\"", label, want);
	if (strcmp(err.msg, want) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", label, err.msg, want);
	assert_null(out.ptr);
	assert_int_equal(out.len, 0);
}

static void
run_golden(const char *dir, apply_fn apply)
{
	const char *src = getenv("RK_TEST_SRC");
	struct rk_setting set[32];
	struct dirent **names = NULL;
	char path[4096], other[4200], *text, *setf, *want, *line, *next, *target;
	size_t len, setlen, wantlen, nset;
	struct rk_bytes in;
	int n, i, base;

	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/cases/clients/%s", src, dir);
	n = scandir(path, &names, case_filter, alphasort);
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/cases/clients/%s/%s", src, dir, names[i]->d_name);
		text = slurp(path, &len);
		base = (int)(strlen(path) - 3);
		snprintf(other, sizeof(other), "%.*s.set", base, path);
		setf = slurp(other, &setlen);
		snprintf(other, sizeof(other), "%.*s.err", base, path);
		want = slurp_maybe(other, &wantlen);
		target = NULL;
		nset = 0;
		for (line = setf; *line != '\0'; line = next) {
			next = strchr(line, '\n');
			*next++ = '\0';
			if (line[0] == '#' || line[0] == '\0')
				continue;
			if (line[0] == '[' && line[strlen(line) - 1] == ']') {
				line[strlen(line) - 1] = '\0';
				target = line + 1;
			} else if (line[0] == '$') {
				target = line + 1;
			} else {
				assert_true(nset < 32);
				set[nset].key = line;
				set[nset].value = strchr(line, '=');
				assert_non_null(set[nset].value);
				*set[nset].value++ = '\0';
				nset++;
			}
		}
		in.ptr = (const unsigned char *)text;
		in.len = len;
		if (want != NULL) {
			check_refusal(apply, target, in, want, set, nset, names[i]->d_name);
			goto next;
		}
		snprintf(other, sizeof(other), "%.*s.out", base, path);
		want = slurp(other, &wantlen);
		check_one(apply, target, in, want, wantlen, set, nset, names[i]->d_name);
		/* The second run: the output is a fixed point. */
		in.ptr = (const unsigned char *)want;
		in.len = wantlen;
		check_one(apply, target, in, want, wantlen, set, nset, names[i]->d_name);
 next:
		free(text);
		free(setf);
		free(want);
		free(names[i]);
	}
	free(names);
}

/* A malformed input: its exact error, and no output. */
struct bad_case {
	const char	*what;
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	const char	*target;
	int		 code;
	const char	*msg;
};

static void
run_bad(const struct bad_case *cases, size_t n, apply_fn apply)
{
	struct rk_setting set[] = { { (char *)"sslmode", (char *)"verify-full", { 0, 0 } } };
	struct rk_buf out;
	struct rk_err err;
	struct rk_bytes in;
	size_t i;

	for (i = 0; i < n; i++) {
		memset(&err, 0, sizeof(err));
		in.ptr = (const unsigned char *)cases[i].in;
		in.len = cases[i].len != 0 ? cases[i].len : strlen(cases[i].in);
		if (apply(&out, in, cases[i].target, set, 1, "f", &err) != cases[i].code)
			fail_msg("%s: code %d (%s)", cases[i].what, err.code, err.msg);
		if (strcmp(err.msg, cases[i].msg) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].what, err.msg,
			    cases[i].msg);
		assert_null(out.ptr);
		assert_int_equal(out.len, 0);
	}
}

/* Input over the 1 MiB cap and a line over 64 KiB, for any editor. */
static void
run_caps(apply_fn apply, const char *target)
{
	struct rk_setting set[] = { { (char *)"sslmode", (char *)"x", { 0, 0 } } };
	struct rk_buf out;
	struct rk_err err = { 0 };
	struct rk_bytes in;
	char *big = malloc(RK_CLIENT_FILE_MAX + 1);

	assert_non_null(big);
	memset(big, '\n', RK_CLIENT_FILE_MAX + 1);
	in.ptr = (const unsigned char *)big;
	in.len = RK_CLIENT_FILE_MAX + 1;
	assert_int_equal(apply(&out, in, target, set, 1, "f", &err), RK_E_LIMIT);
	assert_string_equal(err.msg, "f: file is 1048577 bytes, over the limit of 1048576");
	assert_null(out.ptr);
	memset(&err, 0, sizeof(err));
	memset(big + 3, 'a', RK_CLIENT_LINE_MAX + 1);
	in.len = RK_CLIENT_LINE_MAX + 10;
	assert_int_equal(apply(&out, in, target, set, 1, "f", &err), RK_E_LIMIT);
	assert_string_equal(err.msg, "f:4: line longer than 65536 bytes");
	assert_null(out.ptr);
	free(big);
}

#endif
