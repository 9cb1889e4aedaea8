/* libFuzzer target for the dotenv editor (rk_envfile_set) and its masking helper. */
#include "editor_fuzz.h"

#include "rekey/envfile.h"

/* Values that need each kind of quoting, and a key that is new to most inputs. */
static const struct rk_setting settings[] = {
	{ "DB_SSL_MODE", "verify-full", { 0, 0 } },
	{ "DB_SSL_CA_CERT", "/etc/ssl/db certs/ca #1.crt", { 0, 0 } },
	{ "REKEY_FUZZ_NEW", "a'b\"c$d`e=f", { 0, 0 } },
};

static int
edit(struct rk_buf *out, struct rk_bytes in, struct rk_err *err)
{
	return rk_envfile_set(out, in, settings, sizeof(settings) / sizeof(settings[0]),
	    "fuzz.env", err);
}

static int
mask(struct rk_buf *out, struct rk_bytes in, struct rk_err *err)
{
	return rk_envfile_mask(out, in, "fuzz.env", err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_editor("fuzz_envfile", edit, mask, data, size);
	return 0;
}
