#!/usr/bin/env bash
# Records the seeds of fuzz_probe: what real servers send to the probe, each reply behind the
# mode byte fuzz_probe.c reads. A loopback proxy (Python) stands between probe_capture (the
# probe with fuzz_probe's request and fixed random source) and each server, and writes what
# the server sent. The servers: the harness's PostgreSQL and MariaDB, and `openssl s_server`
# with TLS 1.3 and 1.2, EC and RSA keys made here at run time (never kept). Loopback only.
# Run under the harness, which gives RK_H_PG_PORT and RK_H_MY_PORT:
#   bash tests/harness/with-servers.sh --pg --mariadb -- \
#       tests/fuzz/probe_capture.sh BUILD/bin/probe_capture OUTDIR
set -euo pipefail
capture=${1:?usage: probe_capture.sh PROBE_CAPTURE OUTDIR}
out=${2:?usage: probe_capture.sh PROBE_CAPTURE OUTDIR}
: "${RK_H_PG_PORT:?run under tests/harness/with-servers.sh --pg --mariadb}"
: "${RK_H_MY_PORT:?run under tests/harness/with-servers.sh --pg --mariadb}"
work=$(mktemp -d "${TMPDIR:-/tmp}/probe-capture.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

# proxy.py PORT_FILE TARGET_PORT OUT: one connection on 127.0.0.1, relayed to the target;
# the server's bytes go to OUT when either side closes.
cat >"$work/proxy.py" <<'PY'
import select, socket, sys
port_file, target, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(1)
with open(port_file + ".tmp", "w") as f:
    f.write(str(ls.getsockname()[1]))
import os
os.rename(port_file + ".tmp", port_file)
client, _ = ls.accept()
server = socket.create_connection(("127.0.0.1", target))
got = bytearray()
going = True
while going:
    ready, _, _ = select.select([client, server], [], [], 10)
    if not ready:
        break
    for s in ready:
        data = s.recv(65536)
        if not data:
            going = False
            break
        if s is server:
            got += data
            client.sendall(data)
        else:
            server.sendall(data)
with open(out, "wb") as f:
    f.write(bytes(got))
PY

# record NAME PROTOCOL MODE PORT: the reply of the server on PORT as seed NAME.
record() {
	local name=$1 protocol=$2 mode=$3 port=$4 pid
	rm -f "$work/port" "$work/reply"
	python3 "$work/proxy.py" "$work/port" "$port" "$work/reply" &
	pid=$!
	for _ in $(seq 100); do
		[[ -s $work/port ]] && break
		sleep 0.05
	done
	"$capture" "$protocol" "$(cat "$work/port")" || echo "probe_capture.sh: $name: the probe failed" >&2
	wait "$pid"
	{ printf '%b' "\\x$(printf %02x "$mode")"; cat "$work/reply"; } >"$out/$name"
	echo "probe_capture.sh: $name: $(wc -c <"$out/$name") bytes"
}

# s_server NAME MODE ARGS...: a one-connection openssl s_server on a free loopback port.
s_server() {
	local name=$1 mode=$2 pid port=""
	shift 2
	openssl s_server -accept 127.0.0.1:0 -naccept 1 -quiet "$@" >"$work/s_server.out" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		port=$(ss -ltnpH 2>/dev/null | grep "pid=$pid," | grep -o '127\.0\.0\.1:[0-9]*' |
			cut -d: -f2 | head -1) || true
		[[ -n $port ]] && break
		sleep 0.05
	done
	[[ -n $port ]] || { echo "probe_capture.sh: s_server did not start" >&2; exit 1; }
	record "$name" tls "$mode" "$port"
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

record pg15-tls13 postgresql 0 "$RK_H_PG_PORT"
record mariadb-tls13 mysql 1 "$RK_H_MY_PORT"
(
	cd "$work"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.key \
		-subj "/O=rekey fuzz/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-days 3650 -out ec.crt 2>/dev/null
	openssl req -x509 -newkey rsa:2048 -nodes -keyout rsa.key -subj "/CN=localhost" \
		-days 3650 -out rsa.crt 2>/dev/null
)
s_server tls13-ec 2 -cert "$work/ec.crt" -key "$work/ec.key"
s_server tls12-ec 2 -cert "$work/ec.crt" -key "$work/ec.key" -tls1_2
s_server tls12-rsa-chain 2 -cert "$work/rsa.crt" -key "$work/rsa.key" -cert_chain "$work/ec.crt" \
	-tls1_2
s_server tls13-rsa 2 -cert "$work/rsa.crt" -key "$work/rsa.key"
