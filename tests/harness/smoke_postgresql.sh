#!/usr/bin/env bash
# harness/postgresql: the private PostgreSQL 15 from with-servers.sh serves the test CA's server
# certificate (STARTTLS handshake verified, same SHA-256 fingerprint as the file), lets rkclient in
# with its client certificate and rekey with the password from its file, over verify-full TLS
# only; refuses plain TCP, a missing or revoked client certificate and a wrong password; and
# leaves no process or folder behind.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RK_T_NAME=harness/postgresql
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$here/testlib.sh"

# psql with nothing from the caller's environment or ~/.psqlrc; one value per line, unaligned.
query() {
	local conninfo=$1 sql=$2
	psql -X -A -t -v ON_ERROR_STOP=1 "$conninfo" -c "$sql"
}

inside() {
	local state=$1 base tls cert_role password_role
	# A PGSSLMODE or PGPASSWORD from the caller would change what we test.
	unset "${!PG@}"
	rk_t_record_servers "$state"
	base="host=127.0.0.1 port=$RK_H_PG_PORT dbname=postgres connect_timeout=10"
	tls="sslmode=verify-full sslrootcert=$RK_H_CA"
	cert_role="$base user=$RK_H_PG_CERT_USER $tls sslcert=$RK_H_CLIENT_CERT sslkey=$RK_H_CLIENT_KEY"
	password_role="$base user=$RK_H_PG_USER $tls"

	rk_t_check_starttls postgres "$RK_H_PG_PORT" "$RK_H_PG_SERVER_CERT"

	rk_t_succeeds "rkclient logs in with its client certificate (verify-full)" \
		query "$cert_role" 'SHOW ssl'
	rk_t_equals "SHOW ssl is on" on "$rk_t_out"
	rk_t_succeeds "rkclient's session is TLS" \
		query "$cert_role" 'select ssl, current_user from pg_stat_ssl where pid = pg_backend_pid()'
	rk_t_equals "pg_stat_ssl says t for rkclient" "t|rkclient" "$rk_t_out"

	rk_t_succeeds "rekey logs in with the password from PGPASSFILE and reloads the config" \
		env PGPASSFILE="$RK_H_PG_PGPASS" \
		psql -X -A -t -v ON_ERROR_STOP=1 "$password_role" -c 'select pg_reload_conf()'
	rk_t_equals "pg_reload_conf() returns t for rekey" t "$rk_t_out"
	rk_t_succeeds "rekey logs in with PGPASSWORD read from its password file" \
		env PGPASSWORD="$(<"$RK_H_PG_PASSWORD_FILE")" \
		psql -X -A -t -v ON_ERROR_STOP=1 "$password_role" \
		-c 'select ssl from pg_stat_ssl where pid = pg_backend_pid()'
	rk_t_equals "pg_stat_ssl says t for rekey" t "$rk_t_out"
	rk_t_equals "the password file is mode 600" 600 "$(stat -c %a "$RK_H_PG_PASSWORD_FILE")"

	rk_t_refused "a connection without TLS is refused" 'no encryption' \
		env PGPASSFILE="$RK_H_PG_PGPASS" \
		psql -X -A -t "$base user=$RK_H_PG_USER sslmode=disable" -c 'select 1'
	rk_t_refused "rkclient without a client certificate is refused" \
		'requires a valid client certificate' \
		query "$base user=$RK_H_PG_CERT_USER $tls sslcert=$state/none.crt" 'select 1'
	rk_t_refused "the revoked client certificate is refused (ssl_crl_file is loaded)" \
		'certificate revoked' \
		query "$base user=$RK_H_PG_CERT_USER $tls sslcert=$RK_H_REVOKED_CERT sslkey=$RK_H_REVOKED_KEY" \
		'select 1'
	rk_t_refused "a wrong password is refused" 'password authentication failed' \
		env PGPASSWORD=not-the-password psql -X -A -t "$password_role" -c 'select 1'
}

rk_t_run_under_servers 15 --pg
