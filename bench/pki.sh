#!/usr/bin/env bash
# Certificates per second, per key type: rekey's engine against the shell loop responders
# write today (openssl genpkey + openssl req + openssl x509 per certificate), in one run on
# this machine. Usage: bench/pki.sh [BUILD_DIR] [COUNT_SCALE]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(realpath "${1:-$repo/build}")
scale=${2:-1}
threads=$(nproc)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[ -x "$build/bin/bench_pki" ] || { echo "build first: cmake --build $build" >&2; exit 2; }
"$build/bin/rekey" pki init "$tmp/ca" >/dev/null

# The openssl loop: one process chain per certificate, as in the seeds' scripts. It runs
# with the same parallelism as rekey (xargs -P), so the ratio is per core, not per process.
openssl_loop() {
	local type=$1 count=$2 algo opts
	case "$type" in
	rsa-*) algo=RSA opts="-pkeyopt rsa_keygen_bits:${type#rsa-}" ;;
	ec-p256) algo=EC opts="-pkeyopt ec_paramgen_curve:P-256" ;;
	ec-p384) algo=EC opts="-pkeyopt ec_paramgen_curve:P-384" ;;
	ed25519) algo=ED25519 opts="" ;;
	esac
	cat >"$tmp/ext.cnf" <<CNF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:db.example.com,IP:10.0.0.5
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
CNF
	export tmp algo opts
	# shellcheck disable=SC2016	# expanded by the sh that xargs starts, from the exports
	seq "$count" | xargs -P "$threads" -I{} sh -c '
		d=$tmp/o{}; mkdir -p "$d"
		openssl genpkey -algorithm $algo $opts -out "$d/k.pem" 2>/dev/null &&
		openssl req -new -key "$d/k.pem" -subj "/O=rekey bench/CN=db.example.com" \
			-out "$d/r.csr" &&
		openssl x509 -req -in "$d/r.csr" -CA "$tmp/ca/ca.crt" -CAkey "$tmp/ca/ca.key" \
			-set_serial 0x$(openssl rand -hex 16) -days 90 -extfile "$tmp/ext.cnf" \
			-out "$d/c.pem" 2>/dev/null'
}

now() { date +%s.%N; }

printf "%-9s %7s %14s %14s %8s\n" "key" "certs" "rekey cert/s" "openssl cert/s" "ratio"
for type in rsa-2048 rsa-3072 rsa-4096 ec-p256 ec-p384 ed25519; do
	case "$type" in
	rsa-4096) n=$((8 * scale)) ;;
	rsa-3072) n=$((16 * scale)) ;;
	rsa-2048) n=$((40 * scale)) ;;
	*) n=$((600 * scale)) ;;
	esac
	read -r _ _ _ rk_rate < <("$build/bin/bench_pki" "$tmp/ca/ca.crt" "$tmp/ca/ca.key" \
		"$type" "$n" "$threads")
	t0=$(now)
	openssl_loop "$type" "$n"
	t1=$(now)
	ossl_rate=$(echo "$n $t0 $t1" | awk '{ printf "%.1f", $1 / ($3 - $2) }')
	ratio=$(echo "$rk_rate $ossl_rate" | awk '{ printf "%.1fx", $1 / $2 }')
	printf "%-9s %7d %14s %14s %8s\n" "$type" "$n" "$rk_rate" "$ossl_rate" "$ratio"
	rm -rf "$tmp"/o*
done
echo "($threads threads for rekey and $threads parallel openssl chains; $(nproc) cores)"
