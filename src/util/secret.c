#include "rekey/secret.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "rekey/fsutil.h"

int
rk_secret_set(struct rk_secret *s, const void *data, size_t len, struct rk_err *err)
{
	rk_secret_clear(s);
	if (len > RK_SECRET_MAX)
		return rk_fail(err, RK_E_LIMIT, "secret longer than %d bytes", RK_SECRET_MAX);
	if ((s->ptr = OPENSSL_malloc(len + 1)) == NULL)
		return rk_fail_nomem(err);
	memcpy(s->ptr, data, len);
	s->ptr[len] = '\0';
	s->len = len;
	return 0;
}

int
rk_secret_from_env(struct rk_secret *s, const char *name, struct rk_err *err)
{
	const char *v = getenv(name);

	if (v == NULL)
		return rk_fail(err, RK_E_USAGE, "environment variable %s is not set", name);
	if (*v == '\0')
		return rk_fail(err, RK_E_USAGE, "environment variable %s is set but empty", name);
	return rk_secret_set(s, v, strlen(v), err);
}

int
rk_secret_from_file(struct rk_secret *s, const char *path, struct rk_err *err)
{
	struct rk_buf buf;
	size_t len;
	int r;

	rk_buf_init(&buf, RK_SECRET_MAX);
	if ((r = rk_file_read_private(&buf, path, RK_SECRET_MAX, err)) != 0)
		goto out;
	len = buf.len;
	if (len > 0 && buf.ptr[len - 1] == '\n')
		len--;
	if (len > 0 && buf.ptr[len - 1] == '\r')
		len--;
	if (len == 0) {
		r = rk_fail(err, RK_E_USAGE, "%s: secret file is empty", path);
		goto out;
	}
	r = rk_secret_set(s, buf.ptr, len, err);
 out:
	rk_buf_clear(&buf);
	return r;
}

int
rk_secret_from_source(struct rk_secret *s, const char *env, const char *file,
    struct rk_err *err)
{
	if (env != NULL)
		return rk_secret_from_env(s, env, err);
	if (file != NULL)
		return rk_secret_from_file(s, file, err);
	rk_secret_clear(s);
	return 0;
}

void
rk_secret_clear(struct rk_secret *s)
{
	if (s == NULL)
		return;
	OPENSSL_clear_free(s->ptr, s->len + (s->ptr != NULL ? 1 : 0));
	s->ptr = NULL;
	s->len = 0;
}
