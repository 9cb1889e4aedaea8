/* The fixed random source of fixed_rand.h: a provider with one RAND algorithm, "fixed". */
#include "fixed_rand.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rand.h>

/* The context is the state OpenSSL asks about: uninitialised or ready. */
static void *
fixed_newctx(void *provctx, void *parent, const OSSL_DISPATCH *parent_calls)
{
	int *state = malloc(sizeof(*state));

	(void)provctx;
	(void)parent;
	(void)parent_calls;
	if (state != NULL)
		*state = EVP_RAND_STATE_UNINITIALISED;
	return state;
}

static void
fixed_freectx(void *ctx)
{
	free(ctx);
}

static int
fixed_instantiate(void *ctx, unsigned int strength, int prediction_resistance,
    const unsigned char *pstr, size_t pstr_len, const OSSL_PARAM params[])
{
	(void)strength;
	(void)prediction_resistance;
	(void)pstr;
	(void)pstr_len;
	(void)params;
	*(int *)ctx = EVP_RAND_STATE_READY;
	return 1;
}

static int
fixed_uninstantiate(void *ctx)
{
	*(int *)ctx = EVP_RAND_STATE_UNINITIALISED;
	return 1;
}

/* The same bytes for every request, whatever came before: no state to drift. No zero byte
 * for the first 255, so a caller that draws until it gets a non-zero byte ends at once. */
static int
fixed_generate(void *ctx, unsigned char *out, size_t outlen, unsigned int strength,
    int prediction_resistance, const unsigned char *adin, size_t adinlen)
{
	size_t i;

	(void)ctx;
	(void)strength;
	(void)prediction_resistance;
	(void)adin;
	(void)adinlen;
	for (i = 0; i < outlen; i++)
		out[i] = (unsigned char)(i % 255 + 1);
	return 1;
}

static int
fixed_enable_locking(void *ctx)
{
	(void)ctx;
	return 1;
}

static int
fixed_get_ctx_params(void *ctx, OSSL_PARAM params[])
{
	OSSL_PARAM *p;

	if ((p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_STATE)) != NULL &&
	    !OSSL_PARAM_set_int(p, *(int *)ctx))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_STRENGTH)) != NULL &&
	    !OSSL_PARAM_set_uint(p, 256))
		return 0;
	if ((p = OSSL_PARAM_locate(params, OSSL_RAND_PARAM_MAX_REQUEST)) != NULL &&
	    !OSSL_PARAM_set_size_t(p, INT_MAX))
		return 0;
	return 1;
}

static const OSSL_PARAM *
fixed_gettable_ctx_params(void *ctx, void *provctx)
{
	static const OSSL_PARAM known[] = {
		OSSL_PARAM_int(OSSL_RAND_PARAM_STATE, NULL),
		OSSL_PARAM_uint(OSSL_RAND_PARAM_STRENGTH, NULL),
		OSSL_PARAM_size_t(OSSL_RAND_PARAM_MAX_REQUEST, NULL),
		OSSL_PARAM_END
	};

	(void)ctx;
	(void)provctx;
	return known;
}

static const OSSL_DISPATCH fixed_functions[] = {
	{ OSSL_FUNC_RAND_NEWCTX, (void (*)(void))fixed_newctx },
	{ OSSL_FUNC_RAND_FREECTX, (void (*)(void))fixed_freectx },
	{ OSSL_FUNC_RAND_INSTANTIATE, (void (*)(void))fixed_instantiate },
	{ OSSL_FUNC_RAND_UNINSTANTIATE, (void (*)(void))fixed_uninstantiate },
	{ OSSL_FUNC_RAND_GENERATE, (void (*)(void))fixed_generate },
	{ OSSL_FUNC_RAND_ENABLE_LOCKING, (void (*)(void))fixed_enable_locking },
	{ OSSL_FUNC_RAND_GETTABLE_CTX_PARAMS, (void (*)(void))fixed_gettable_ctx_params },
	{ OSSL_FUNC_RAND_GET_CTX_PARAMS, (void (*)(void))fixed_get_ctx_params },
	{ 0, NULL }
};

static const OSSL_ALGORITHM fixed_algorithms[] = {
	{ "fixed", "provider=rekey-fixed-rand", fixed_functions, NULL },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM *
fixed_query(void *provctx, int operation_id, int *no_cache)
{
	(void)provctx;
	*no_cache = 0;
	return operation_id == OSSL_OP_RAND ? fixed_algorithms : NULL;
}

static const OSSL_DISPATCH fixed_provider[] = {
	{ OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))fixed_query },
	{ 0, NULL }
};

static int
fixed_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
    const OSSL_DISPATCH **out, void **provctx)
{
	(void)handle;
	(void)in;
	*out = fixed_provider;
	*provctx = NULL;
	return 1;
}

/*
 * Held for the process's life, never unloaded: the DRBGs use it until OpenSSL's own exit
 * handler. OSSL_PROVIDER_load, not try_load with fallbacks retained: that one's provider is
 * never freed at exit (LeakSanitizer reports it, OpenSSL 3.0). A provider loaded by name
 * turns off the automatic loading of the default one, so that is loaded by name too.
 */
static OSSL_PROVIDER *loaded, *defaults;

void
rk_fuzz_fixed_rand_install(void)
{
	if (loaded != NULL)
		return;
	if (!OSSL_PROVIDER_add_builtin(NULL, "rekey-fixed-rand", fixed_provider_init) ||
	    !RAND_set_DRBG_type(NULL, "fixed", NULL, NULL, NULL) ||
	    (loaded = OSSL_PROVIDER_load(NULL, "rekey-fixed-rand")) == NULL ||
	    (defaults = OSSL_PROVIDER_load(NULL, "default")) == NULL) {
		fprintf(stderr, "fixed_rand: OpenSSL refused the fixed random source\n");
		exit(1);
	}
}
