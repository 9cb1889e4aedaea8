#!/usr/bin/env bash
# rekey verify for 2, 20 and 100 services (the harness's PostgreSQL and MariaDB endpoints
# repeated), in one run beside the loops people run today: `openssl s_client -starttls` per
# endpoint (a handshake with chain and name checked) and a psql / mariadb login per endpoint
# with full verification. rekey does all of that and more per service (see below).
# Usage: bench/verify.sh [BUILD_DIR]   (needs root: it starts the servers)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ ${1:-} != --inside ]]; then
	build=$(realpath "${1:-$repo/build}")
	RK_H_REKEY=$build/bin/rekey exec "$repo/tests/harness/with-servers.sh" --pg --mariadb -- \
		"${BASH_SOURCE[0]}" --inside "$build"
fi
build=$2
rekey=$build/bin/rekey
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$RK_H_CA" "$tmp/ca.crt"
cp "$RK_H_CA_KEY" "$tmp/ca.key"
chmod 600 "$tmp/ca.key"
install -m 0600 "$RK_H_PG_PASSWORD_FILE" "$tmp/pg.pass"
install -m 0600 "$RK_H_MY_PASSWORD_FILE" "$tmp/my.pass"

playbook() {	# playbook N: N services, PostgreSQL and MariaDB alternately
	local n=$1 i
	printf 'version: 1\nca: {cert: ca.crt, key: ca.key}\nhosts: {db: {transport: local}}\n'
	printf 'policy: {max_parallel: 16}\nservices:\n'
	for ((i = 0; i < n; i++)); do
		if ((i % 2 == 0)); then
			printf '  - {name: pg%d, host: db, kind: postgresql, reload: none, connect: {address: 127.0.0.1, port: %s, user: %s, password_file: pg.pass}}\n' "$i" "$RK_H_PG_PORT" "$RK_H_PG_USER"
		else
			printf '  - {name: my%d, host: db, kind: mariadb, reload: none, connect: {address: 127.0.0.1, port: %s, user: %s, password_file: my.pass}}\n' "$i" "$RK_H_MY_PORT" "$RK_H_MY_USER"
		fi
	done
}

s_client_loop() {
	local n=$1 i
	for ((i = 0; i < n; i++)); do
		if ((i % 2 == 0)); then
			openssl s_client -starttls postgres -connect "127.0.0.1:$RK_H_PG_PORT" \
				-CAfile "$RK_H_CA" -verify_ip 127.0.0.1 -verify_return_error </dev/null
		else
			openssl s_client -starttls mysql -connect "127.0.0.1:$RK_H_MY_PORT" \
				-CAfile "$RK_H_CA" -verify_ip 127.0.0.1 -verify_return_error </dev/null
		fi
	done >/dev/null 2>&1
}

login_loop() {
	local n=$1 i
	for ((i = 0; i < n; i++)); do
		if ((i % 2 == 0)); then
			PGPASSFILE=$RK_H_PG_PGPASS psql -X -q -tA "host=127.0.0.1 port=$RK_H_PG_PORT dbname=postgres user=$RK_H_PG_USER sslmode=verify-full sslrootcert=$RK_H_CA" -c 'select 1'
		else
			mariadb --defaults-file="$RK_H_MY_DEFAULTS_FILE" -h 127.0.0.1 -P "$RK_H_MY_PORT" \
				--ssl-verify-server-cert --ssl-ca="$RK_H_CA" -N -e 'select 1'
		fi
	done >/dev/null
}

seconds() {	# seconds CMD...: wall time of CMD
	local t0 t1
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>&1
	t1=$(date +%s.%N)
	echo "$t0 $t1" | awk '{ printf "%.3f", $2 - $1 }'
}

printf "%-9s %12s %14s %14s %12s %12s\n" services "rekey verify" "s_client loop" "psql/mariadb" \
	"vs s_client" "vs logins"
for n in 2 20 100; do
	playbook "$n" >"$tmp/p$n.yml"
	"$rekey" verify "$tmp/p$n.yml" >/dev/null	# warm up, and it must pass
	rk=$(seconds "$rekey" verify "$tmp/p$n.yml")
	sc=$(seconds s_client_loop "$n")
	lg=$(seconds login_loop "$n")
	printf "%-9s %11ss %13ss %13ss %11sx %11sx\n" "$n" "$rk" "$sc" "$lg" \
		"$(echo "$sc $rk" | awk '{ printf "%.1f", $1 / $2 }')" \
		"$(echo "$lg $rk" | awk '{ printf "%.1f", $1 / $2 }')"
done
# Per service at 100: wall time over 100. rekey runs 16 at once and makes four connections
# per service (the probe, the proof that older TLS is refused, a verified login, the proof
# that a plaintext login is refused); the loops make one each, one after another.
echo "per service at 100: rekey $(echo "$rk" | awk '{ printf "%.1f", $1 * 10 }') ms," \
	"s_client $(echo "$sc" | awk '{ printf "%.1f", $1 * 10 }') ms," \
	"login $(echo "$lg" | awk '{ printf "%.1f", $1 * 10 }') ms"
