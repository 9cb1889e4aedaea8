#!/usr/bin/env bash
# Run under tests/harness/with-servers.sh --pg --mariadb. For every key type, a server
# certificate issued by `rekey pki issue` is installed into the real PostgreSQL 15 and MariaDB,
# reloaded without a restart, and must be what `openssl s_client -starttls` sees and what
# psql and mariadb accept with full verification. A client certificate issued by rekey must
# log in by certificate, and a revoked one must be refused.
set -euo pipefail

rekey=$(realpath "${1:?usage: pki_servers.sh REKEY}")
: "${RK_H_PG_PORT:?run under with-servers.sh --pg --mariadb}" "${RK_H_MY_PORT:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }

served_fingerprint() {	# served_fingerprint postgres|mysql PORT
	openssl s_client -starttls "$1" -connect "127.0.0.1:$2" -CAfile "$RK_H_CA" \
		-verify_return_error </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 | cut -d= -f2
}
file_fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2; }

install_pg() {	# the key first, so a reload never pairs a new certificate with the old key
	install -o postgres -g postgres -m 0600 "$2" "$RK_H_PG_SERVER_KEY"
	install -o postgres -g postgres -m 0644 "$1" "$RK_H_PG_SERVER_CERT"
	psql -X -q -h "$RK_H_PG_SOCKET_DIR" -p "$RK_H_PG_PORT" -U postgres -tAc \
		"SELECT pg_reload_conf()" >/dev/null
}
install_my() {
	install -o mysql -g mysql -m 0600 "$2" "$RK_H_MY_SERVER_KEY"
	install -o mysql -g mysql -m 0644 "$1" "$RK_H_MY_SERVER_CERT"
	mariadb --no-defaults --socket="$RK_H_MY_SOCKET" -uroot -e "FLUSH SSL"
}

# Polls until the server presents want (a reload is asynchronous), for at most 10 s.
wait_served() {
	local kind=$1 port=$2 want=$3
	for _ in $(seq 100); do
		[ "$(served_fingerprint "$kind" "$port")" = "$want" ] && return 0
		sleep 0.1
	done
	return 1
}

for key in rsa-2048 rsa-3072 rsa-4096 ec-p256 ec-p384 ed25519; do
	"$rekey" pki issue --ca-cert "$RK_H_CA" --ca-key "$RK_H_CA_KEY" --ledger "$tmp/ledger.json" \
		--profile server --subject "/O=rekey test/CN=localhost" --san DNS:localhost \
		--san IP:127.0.0.1 --key "$key" --days 2 --cert-out "$tmp/$key.crt" \
		--key-out "$tmp/$key.key" >/dev/null
	want=$(file_fingerprint "$tmp/$key.crt")

	pg_pid=$(head -1 "$RK_H_PG_DATA/postmaster.pid")
	install_pg "$tmp/$key.crt" "$tmp/$key.key"
	if wait_served postgres "$RK_H_PG_PORT" "$want"; then ok; else bad "$key: PostgreSQL serves another certificate"; fi
	[ "$(head -1 "$RK_H_PG_DATA/postmaster.pid")" = "$pg_pid" ] && ok || bad "$key: PostgreSQL restarted"
	if out=$(PGPASSFILE=$RK_H_PG_PGPASS psql -X -tA "host=127.0.0.1 port=$RK_H_PG_PORT dbname=postgres user=$RK_H_PG_USER sslmode=verify-full sslrootcert=$RK_H_CA" \
		-c "select ssl from pg_stat_ssl where pid = pg_backend_pid()" 2>&1) && [ "$out" = t ]; then ok
	else bad "$key: psql verify-full: $out"; fi

	install_my "$tmp/$key.crt" "$tmp/$key.key"
	if wait_served mysql "$RK_H_MY_PORT" "$want"; then ok; else bad "$key: MariaDB serves another certificate"; fi
	if out=$(mariadb --defaults-file="$RK_H_MY_DEFAULTS_FILE" -h 127.0.0.1 -P "$RK_H_MY_PORT" \
		--ssl-verify-server-cert --ssl-ca="$RK_H_CA" -N -e "SHOW STATUS LIKE 'Ssl_version'" 2>&1) &&
		[[ "$out" == *TLSv1.[23]* ]]; then ok
	else bad "$key: mariadb verify: $out"; fi
done

# Client-certificate authentication with a certificate rekey issued (CN = the database user).
for key in ec-p256 rsa-2048 ed25519; do
	"$rekey" pki issue --ca-cert "$RK_H_CA" --ca-key "$RK_H_CA_KEY" --ledger "$tmp/ledger.json" \
		--profile client --subject "/CN=$RK_H_PG_CERT_USER" --key "$key" --days 2 \
		--cert-out "$tmp/client-$key.crt" --key-out "$tmp/client-$key.key" >/dev/null
	if out=$(psql -X -tA "host=127.0.0.1 port=$RK_H_PG_PORT dbname=postgres user=$RK_H_PG_CERT_USER sslmode=verify-full sslrootcert=$RK_H_CA sslcert=$tmp/client-$key.crt sslkey=$tmp/client-$key.key" \
		-c "select current_user" 2>&1) && [ "$out" = "$RK_H_PG_CERT_USER" ]; then ok
	else bad "$key client cert refused by PostgreSQL: $out"; fi
	if out=$(mariadb --no-defaults -h 127.0.0.1 -P "$RK_H_MY_PORT" -u "$RK_H_MY_CERT_USER" \
		--ssl-verify-server-cert --ssl-ca="$RK_H_CA" --ssl-cert="$tmp/client-$key.crt" \
		--ssl-key="$tmp/client-$key.key" -N -e "select current_user()" 2>&1) &&
		[[ "$out" == "$RK_H_MY_CERT_USER@"* ]]; then ok
	else bad "$key client cert refused by MariaDB: $out"; fi
done

# Revoke one with rekey into the servers' CRL, reload: refused by both, the other still works.
cp "$RK_H_CA_CRL" "$tmp/ca.crl"
"$rekey" pki revoke --ca-cert "$RK_H_CA" --ca-key "$RK_H_CA_KEY" --crl "$tmp/ca.crl" \
	--ledger "$tmp/ledger.json" --reason keyCompromise --cert "$tmp/client-ec-p256.crt" >/dev/null
install -o postgres -g postgres -m 0644 "$tmp/ca.crl" "$RK_H_PG_CRL"
install -o mysql -g mysql -m 0644 "$tmp/ca.crl" "$RK_H_MY_CRL"
psql -X -q -h "$RK_H_PG_SOCKET_DIR" -p "$RK_H_PG_PORT" -U postgres -tAc "SELECT pg_reload_conf()" >/dev/null
mariadb --no-defaults --socket="$RK_H_MY_SOCKET" -uroot -e "FLUSH SSL"
refused=0
for _ in $(seq 50); do	# the reload is asynchronous: poll for the refusal, bounded
	if ! psql -X -tA "host=127.0.0.1 port=$RK_H_PG_PORT dbname=postgres user=$RK_H_PG_CERT_USER sslmode=verify-full sslrootcert=$RK_H_CA sslcert=$tmp/client-ec-p256.crt sslkey=$tmp/client-ec-p256.key" \
		-c "select 1" >"$tmp/pg.out" 2>&1; then refused=1; break; fi
	sleep 0.1
done
[ "$refused" = 1 ] && grep -q "certificate revoked" "$tmp/pg.out" && ok ||
	bad "PostgreSQL accepted a revoked client certificate: $(cat "$tmp/pg.out")"
if mariadb --no-defaults -h 127.0.0.1 -P "$RK_H_MY_PORT" -u "$RK_H_MY_CERT_USER" --ssl-verify-server-cert \
	--ssl-ca="$RK_H_CA" --ssl-cert="$tmp/client-ec-p256.crt" --ssl-key="$tmp/client-ec-p256.key" \
	-e "select 1" >"$tmp/my.out" 2>&1; then bad "MariaDB accepted a revoked client certificate"
else ok; fi
psql -X -tA "host=127.0.0.1 port=$RK_H_PG_PORT dbname=postgres user=$RK_H_PG_CERT_USER sslmode=verify-full sslrootcert=$RK_H_CA sslcert=$tmp/client-rsa-2048.crt sslkey=$tmp/client-rsa-2048.key" \
	-c "select 1" >/dev/null 2>&1 && ok || bad "PostgreSQL refused a client certificate that was not revoked"

echo "pki on servers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
