/*
 * CA hierarchies for unit tests: roots, intermediates and leaves made with rekey's own pki,
 * written as PEM files into a private temporary folder, so that the code under test reads
 * them back from disk as it reads a playbook's files.
 */
#ifndef REKEY_TEST_HIERARCHY_H
#define REKEY_TEST_HIERARCHY_H

#include "test_util.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rekey/bytes.h"
#include "rekey/cert.h"
#include "rekey/key.h"

/* A certificate and its key. */
struct hca {
	struct rk_key	*key;
	struct rk_cert	*cert;
};

static inline void
hier_dir_make(char *dir, size_t size, const char *tag)
{
	snprintf(dir, size, "/tmp/rk-%s-XXXXXX", tag);
	assert_non_null(mkdtemp(dir));
}

static inline void
hier_dir_remove(const char *dir)
{
	char out[256];
	char *argv[] = { "rm", "-rf", (char *)dir, NULL };

	assert_int_equal(rk_test_run(out, sizeof(out), argv), 0);
}

/*
 * Issues "/CN=cn" with a fresh P-256 key, signed by issuer (NULL: self-signed, a root).
 * issuing_only gives a CA pathLenConstraint 0.
 */
static inline void
hca_issue(struct hca *out, const char *cn, enum rk_profile profile, bool issuing_only,
    int days, const struct hca *issuer)
{
	char value[64];
	struct rk_dn_attr attr = { "CN", value };
	struct rk_dn dn = { &attr, 1 };
	struct rk_cert_spec spec = { profile, &dn, NULL, 0, days, issuing_only };
	struct rk_err err = { 0 };

	snprintf(value, sizeof(value), "%s", cn);
	memset(out, 0, sizeof(*out));
	assert_int_equal(rk_key_generate(&out->key, RK_KEY_EC_P256, &err), 0);
	if (rk_cert_issue(&out->cert, &spec, out->key, issuer != NULL ? issuer->cert : NULL,
	    issuer != NULL ? issuer->key : out->key, &err) != 0)
		fail_msg("issue %s: %s", cn, err.msg);
}

static inline void
hca_clear(struct hca *c)
{
	rk_cert_free(c->cert);
	rk_key_free(c->key);
	memset(c, 0, sizeof(*c));
}

/* Appends bytes to the file at path (created when missing, and empty when len is 0). */
static inline void
hier_append(const char *path, const void *ptr, size_t len)
{
	FILE *f = fopen(path, "a");

	assert_non_null(f);
	/* An empty buffer has no ptr, and fwrite() wants one even for nothing. */
	if (len > 0)
		assert_int_equal(fwrite(ptr, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/*
 * Writes the n certificates, in order, as one PEM file dir/name (replacing any), and puts
 * its path in path.
 */
static inline void
hier_write_certs(char *path, size_t size, const char *dir, const char *name,
    const struct rk_cert *const *certs, size_t n)
{
	struct rk_err err = { 0 };
	struct rk_buf pem;
	size_t i;

	snprintf(path, size, "%s/%s", dir, name);
	(void)unlink(path);
	rk_buf_init(&pem, RK_PEM_MAX);
	for (i = 0; i < n; i++)
		assert_int_equal(rk_cert_to_pem(&pem, certs[i], &err), 0);
	hier_append(path, pem.ptr, pem.len);
	rk_buf_clear(&pem);
}

#endif
