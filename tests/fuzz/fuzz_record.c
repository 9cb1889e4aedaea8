/*
 * libFuzzer target for the record verifier (archive.h): any bytes as an archive. Beyond
 * crashes, leaks and sanitizer reports, it aborts when the verifier breaks its contract: a
 * verdict of not valid must name a problem, and only a valid verdict may have every check
 * hold. Each input is tried as it is and gzip'ed here: mutated gzip seldom inflates, and the
 * tar, manifest and chain checks behind it deserve the mutations too.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "rekey/archive.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static la_ssize_t
to_buf(struct archive *ar, void *payload, const void *data, size_t len)
{
	(void)ar;
	return rk_buf_append(payload, data, len, NULL) == 0 ? (la_ssize_t)len : -1;
}

/* data gzip'ed (libarchive's raw format); false when that fails. */
static bool
gzip_bytes(struct rk_buf *out, const uint8_t *data, size_t size)
{
	struct archive *ar = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	bool ok;

	rk_buf_init(out, 2 * size + 4096);
	ok = ar != NULL && e != NULL && archive_write_add_filter_gzip(ar) == ARCHIVE_OK &&
	    archive_write_set_format_raw(ar) == ARCHIVE_OK &&
	    archive_write_open2(ar, out, NULL, to_buf, NULL, NULL) == ARCHIVE_OK;
	if (ok) {
		archive_entry_set_pathname(e, "x");
		archive_entry_set_filetype(e, AE_IFREG);
		ok = archive_write_header(ar, e) == ARCHIVE_OK &&
		    (size == 0 || archive_write_data(ar, data, size) == (la_ssize_t)size) &&
		    archive_write_close(ar) == ARCHIVE_OK;
	}
	archive_entry_free(e);
	archive_write_free(ar);
	return ok;
}

static void
check(struct rk_bytes in)
{
	struct rk_archive_check c;
	struct rk_err err = { 0 };
	struct rk_buf m;

	if (rk_archive_verify(&c, in, NULL, &err) != 0)
		return;		/* out of memory only */
	if (c.ok != (c.manifest_ok && c.signature_ok && c.chain_ok) ||
	    (!c.ok && c.problem[0] == '\0') || (c.ok && c.problem[0] != '\0') ||
	    memchr(c.problem, '\0', sizeof(c.problem)) == NULL)
		abort();
	rk_err_clear(&err);
	if (rk_archive_read_member(&m, in, "report.md", &err) == 0 &&
	    m.len > RK_ARCHIVE_MEMBER_MAX)
		abort();
	rk_buf_clear(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rk_buf gz;

	check((struct rk_bytes){ data, size });
	if (gzip_bytes(&gz, data, size))
		check(rk_buf_bytes(&gz));
	rk_buf_clear(&gz);
	return 0;
}
