#!/usr/bin/env bash
# harness/mariadb: the private MariaDB from with-servers.sh serves the test CA's server certificate
# (STARTTLS handshake verified, same SHA-256 fingerprint as the file), lets rkclient in with its
# client certificate over a verified TLS 1.2/1.3 connection and rekey with its password (both
# may FLUSH SSL); requires secure transport; refuses plain TCP, a missing or revoked client
# certificate; and leaves no process or folder behind.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RK_T_NAME=harness/mariadb
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$here/testlib.sh"

inside() {
	local state=$1
	local -a tcp verified as_rkclient
	rk_t_record_servers "$state"
	# TCP to our port only; no option file of the machine or the caller (--no-defaults, or
	# --defaults-file which must come first).
	tcp=(-h 127.0.0.1 -P "$RK_H_MY_PORT" --protocol=TCP --connect-timeout=10 -N -B)
	verified=(--ssl-verify-server-cert --ssl-ca="$RK_H_CA")
	as_rkclient=(mariadb --no-defaults "${tcp[@]}" "${verified[@]}" -u "$RK_H_MY_CERT_USER")

	rk_t_check_starttls mysql "$RK_H_MY_PORT" "$RK_H_MY_SERVER_CERT"

	rk_t_succeeds "rkclient (REQUIRE X509) logs in with its client certificate, server verified" \
		"${as_rkclient[@]}" --ssl-cert="$RK_H_CLIENT_CERT" --ssl-key="$RK_H_CLIENT_KEY" \
		-e "SHOW STATUS LIKE 'Ssl_version'; SELECT current_user(), @@require_secure_transport"
	rk_t_matches "the session is TLS 1.2 or 1.3, as rkclient, secure transport required" \
		$'^Ssl_version\tTLSv1\\.[23]\nrkclient@%\t1$' "$rk_t_out"
	rk_t_succeeds "rkclient has RELOAD (FLUSH SSL)" \
		"${as_rkclient[@]}" --ssl-cert="$RK_H_CLIENT_CERT" --ssl-key="$RK_H_CLIENT_KEY" \
		-e 'FLUSH SSL'

	rk_t_succeeds "rekey logs in with the password from its defaults file and runs FLUSH SSL" \
		mariadb --defaults-file="$RK_H_MY_DEFAULTS_FILE" "${tcp[@]}" "${verified[@]}" \
		-e "FLUSH SSL; SHOW STATUS LIKE 'Ssl_cipher'"
	rk_t_matches "rekey's session is encrypted" $'^Ssl_cipher\t.+' "$rk_t_out"
	rk_t_equals "the password file is mode 600" 600 "$(stat -c %a "$RK_H_MY_PASSWORD_FILE")"
	rk_t_equals "the defaults file holds the password file's password" \
		"password=$(<"$RK_H_MY_PASSWORD_FILE")" "$(grep '^password=' "$RK_H_MY_DEFAULTS_FILE")"

	rk_t_refused "a connection without TLS is refused" 'ERROR 1045|Access denied' \
		mariadb --defaults-file="$RK_H_MY_DEFAULTS_FILE" "${tcp[@]}" --skip-ssl -e 'SELECT 1'
	rk_t_refused "rkclient without a client certificate is refused" 'Access denied' \
		"${as_rkclient[@]}" -e 'SELECT 1'
	rk_t_refused "the revoked client certificate is refused (ssl-crl is loaded)" \
		'revoked|ERROR 20(13|26)' \
		"${as_rkclient[@]}" --ssl-cert="$RK_H_REVOKED_CERT" --ssl-key="$RK_H_REVOKED_KEY" \
		-e 'SELECT 1'
}

rk_t_run_under_servers 40 --mariadb
