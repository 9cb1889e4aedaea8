/* The one list of secret-looking names: what masks hide and what a playbook may not set. */
#include "test_util.h"

#include <stdio.h>
#include <string.h>

#include "rekey/secretname.h"

static void
test_secretname_flags_every_spelling_of_a_secret(void **state)
{
	static const char *const secret[] = {
		"PGPASSWORD", "password", "sslpassword", "DB_PASSWD", "key_passphrase",
		"CLIENT_SECRET", "api_token", "authToken", "AWS_CREDENTIALS", "PRIVATE_DATA",
		/* issue #12: these were shown in clear, and accepted in a playbook's set. */
		"MYSQL_PWD", "PWD", "dbPwd", "AUTH", "REDIS_AUTH", "redisAuth", "OAUTH",
		"HTTP_AUTHORIZATION", "PGPASS", "DBPASS", "pass", "PASSCODE", "DB_PW", "WIFI_PSK",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		if (!rk_secretname_is_secret(secret[i]) ||
		    !rk_secretname_holds_secret(secret[i], "/a/path"))
			fail_msg("%s is not flagged", secret[i]);
}

static void
test_secretname_spares_settings_and_references(void **state)
{
	static const char *const harmless[] = {
		"sslmode", "PGSSLMODE", "sslrootcert", "ssl-ca", "ssl_verify_server_cert", "host",
		"AUTHOR", "AUTHORITY", "CERT_AUTHORITY", "author_email", "PGHOST", "DATABASE_URL",
		"application_name", "tls-version", "SSLMODE", "password_env", "password_file",
		"PASSWORD_FILE", "DB_TOKEN_ENV", "passfile", "PGPASSFILE", "SECRET_PATH",
		"identity_passphrase_file", "",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(harmless) / sizeof(harmless[0]); i++)
		if (rk_secretname_is_secret(harmless[i]) ||
		    rk_secretname_holds_secret(harmless[i], "x"))
			fail_msg("%s is flagged", harmless[i]);
	assert_false(rk_secretname_is_secret(NULL));
	assert_false(rk_secretname_holds_secret(NULL, "x"));
}

static void
test_secretname_key_is_secret_unless_its_value_is_a_path(void **state)
{
	(void)state;
	/* The name alone does not make KEY a secret: "key" is a playbook key for a path. */
	assert_false(rk_secretname_is_secret("API_KEY"));
	assert_true(rk_secretname_holds_secret("API_KEY", "abc123"));
	assert_true(rk_secretname_holds_secret("apiKey", NULL));
	assert_true(rk_secretname_holds_secret("sslkey", "app.key"));
	assert_false(rk_secretname_holds_secret("PGSSLKEY", "/etc/ssl/app.key"));
	assert_false(rk_secretname_holds_secret("ssl-key", "./app.key"));
	assert_false(rk_secretname_holds_secret("DB_SSL_CLIENT_KEY", "../k.pem"));
	assert_false(rk_secretname_holds_secret("SSH_KEY", "~/.ssh/id"));
	assert_false(rk_secretname_holds_secret("SSL_KEY_FILE", "anything"));
	/* A secret name stays secret whatever its value looks like. */
	assert_true(rk_secretname_holds_secret("PGPASSWORD", "/not/a/path"));
}

static void
test_secretname_long_words_are_still_read(void **state)
{
	char name[300];

	(void)state;
	memset(name, 'A', sizeof(name));
	memcpy(name + 200, "_PWD", 5);
	assert_true(rk_secretname_is_secret(name));
	memset(name, 'X', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memcpy(name, "SECRET", 6);
	assert_true(rk_secretname_is_secret(name));
	assert_false(rk_secretname_is_secret(name + 6));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secretname_flags_every_spelling_of_a_secret),
		cmocka_unit_test(test_secretname_spares_settings_and_references),
		cmocka_unit_test(test_secretname_key_is_secret_unless_its_value_is_a_path),
		cmocka_unit_test(test_secretname_long_words_are_still_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
