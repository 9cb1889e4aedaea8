/* libFuzzer target for the connection-string editor, alone in a file or in an env variable. */
#include "editor_fuzz.h"

#include "rekey/conninfo.h"
#include "rekey/envfile.h"

static const struct rk_setting settings[] = {
	{ "sslmode", "verify-full", { 0, 0 } },
	{ "sslrootcert", "/etc/ssl/db certs/ca 100%.crt", { 0, 0 } },
};

static int
edit_file(struct rk_buf *out, struct rk_bytes in, struct rk_err *err)
{
	return rk_conninfo_set(out, in, NULL, settings, 2, "fuzz.url", err);
}

static int
edit_variable(struct rk_buf *out, struct rk_bytes in, struct rk_err *err)
{
	return rk_conninfo_set(out, in, "DATABASE_URL", settings, 2, "fuzz.env", err);
}

static int
mask_file(struct rk_buf *out, struct rk_bytes in, struct rk_err *err)
{
	return rk_conninfo_mask(out, in, err);
}

static int
mask_variable(struct rk_buf *out, struct rk_bytes in, struct rk_err *err)
{
	return rk_envfile_mask(out, in, "fuzz.env", err);
}

static int
mask_text(struct rk_buf *out, struct rk_bytes in, struct rk_err *err)
{
	return rk_conninfo_mask_text(out, in, err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_editor("fuzz_conninfo (file)", edit_file, mask_file, data, size);
	check_editor("fuzz_conninfo (variable)", edit_variable, mask_variable, data, size);
	/* Free text (a command's message): never fails on text, keeps the lines. */
	check_mask("fuzz_conninfo (text)", mask_text, (struct rk_bytes){ data, size }, 1);
	return 0;
}
