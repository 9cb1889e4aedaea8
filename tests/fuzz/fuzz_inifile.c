/* libFuzzer target for the my.cnf / pg_service.conf editor (rk_inifile_set). */
#include "editor_fuzz.h"

#include "rekey/inifile.h"

static const struct rk_setting mycnf[] = {
	{ "ssl-ca", "/etc/ssl/db certs/ca #1.crt", { 0, 0 } },
	{ "ssl-verify-server-cert", "1", { 0, 0 } },
};
static const struct rk_setting service[] = {
	{ "sslmode", "verify-full", { 0, 0 } },
	{ "sslrootcert", "/etc/ssl/db-ca.crt", { 0, 0 } },
};

static int
edit_mycnf(struct rk_buf *out, struct rk_bytes in, struct rk_err *err)
{
	return rk_inifile_set(out, in, RK_FORMAT_INI, "client", mycnf, 2, "fuzz.cnf", err);
}

static int
edit_service(struct rk_buf *out, struct rk_bytes in, struct rk_err *err)
{
	return rk_inifile_set(out, in, RK_FORMAT_PG_SERVICE, "lab-pg", service, 2,
	    "fuzz.conf", err);
}

static int
mask_mycnf(struct rk_buf *out, struct rk_bytes in, struct rk_err *err)
{
	return rk_inifile_mask(out, in, RK_FORMAT_INI, "fuzz.cnf", err);
}

static int
mask_service(struct rk_buf *out, struct rk_bytes in, struct rk_err *err)
{
	return rk_inifile_mask(out, in, RK_FORMAT_PG_SERVICE, "fuzz.conf", err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_editor("fuzz_inifile (my.cnf)", edit_mycnf, mask_mycnf, data, size);
	check_editor("fuzz_inifile (pg_service)", edit_service, mask_service, data, size);
	return 0;
}
