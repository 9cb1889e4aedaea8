# shellcheck shell=bash
# The variables set here are read by the scripts that source this file:
# shellcheck disable=SC2034
#
# e2e_lib.sh: the estate of the end-to-end tests of `rekey run`, `resume` and `rollback`, and
# the checks they make from outside rekey (openssl, psql, mariadb, stat, the journal's and the
# ledger's JSON read by python3).
#
# Source it from a script run under tests/harness/with-servers.sh --ssh 3 --pg --mariadb, then
# call `e2e_build_estate REKEY`. The estate is the lab's (scripts/lab), on the harness's servers:
#   db1   sshd 1, login rkadmin with sudo; holds PostgreSQL's TLS files ($RK_H_PG_DIR)
#   db2   sshd 2, login rkadmin with sudo; holds MariaDB's TLS files ($RK_H_MY_DIR)
#   app1  sshd 3, login rkuser; an application's .env (with a DATABASE_URL and its password),
#         pg_service.conf, my.cnf and certs/ (CA, client certificate and key), owned by rkuser
# Everything else lives in E2E=$RK_H_DIR/e2e:
#   pki/           the CA (ca.crt, ca.key, ca.crl, ledger.json); pki/issued/ holds the
#                  certificates in service (db1-server, db2-server, app-client), issued here.
#                  With E2E_HIERARCHY=intermediate set before e2e_build_estate, pki/ is made
#                  by `rekey pki init --intermediate`: ca.* is the issuing intermediate,
#                  root.* its root, chain.crt the root; servers and app1 trust the root
#                  (E2E_TRUST), certificate files hold the leaf then the intermediate, and CRL
#                  files hold the intermediate's CRL then the root's
#   app1/srv/app/  app1's files
#   incidents/     incident.records of every playbook written by e2e_write_playbook
#   work/          the tests' own files (rekey's output, logs)
#   snap/          the estate as built; e2e_reset puts it back between scenarios, since every
#                  run changes the CRL, the ledger and the files on the hosts
#
# Checks count instead of exiting: e2e_ok/e2e_bad, and e2e_finish prints the totals and exits
# 1 when one failed, so one report shows every failure of a scenario.

e2e_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=../harness/harness.sh
. "$e2e_here/../harness/harness.sh"
# shellcheck source-path=SCRIPTDIR source=../harness/testlib.sh
. "$e2e_here/../harness/testlib.sh"

e2e_passed=0
e2e_failed=0
e2e_started=${EPOCHREALTIME/./}

# ---------------------------------------------------------------------------------------------
# Reporting

e2e_ok() {
	e2e_passed=$((e2e_passed + 1))
	rk_t_ok "$*"
}

e2e_bad() {
	e2e_failed=$((e2e_failed + 1))
	printf '%s: FAIL: %s\n' "$rk_t_name" "$*" >&2
}

# e2e_check WHAT COMMAND...: COMMAND must succeed.
e2e_check() {
	local what=$1 out status=0
	shift
	out=$("$@" 2>&1) || status=$?
	if ((status == 0)); then
		e2e_ok "$what"
	else
		e2e_bad "$what: exit status $status$(rk_t_show "$out")"
	fi
}

# e2e_check_not WHAT REGEX COMMAND...: COMMAND must fail, saying something that matches REGEX.
e2e_check_not() {
	local what=$1 pattern=$2 out status=0
	shift 2
	out=$("$@" 2>&1) || status=$?
	if ((status == 0)); then
		e2e_bad "$what: succeeded, expected a refusal$(rk_t_show "$out")"
	elif [[ ! $out =~ $pattern ]]; then
		e2e_bad "$what: failed (status $status) but not with /$pattern/$(rk_t_show "$out")"
	else
		e2e_ok "$what"
	fi
}

# e2e_equal WHAT EXPECTED ACTUAL
e2e_equal() {
	if [[ $2 == "$3" ]]; then
		e2e_ok "$1"
	else
		e2e_bad "$1: expected '$2', got '$3'"
	fi
}

# e2e_same WHAT EXPECTED ACTUAL: as e2e_equal, for multi-line values, with a diff on failure.
e2e_same() {
	if [[ $2 == "$3" ]]; then
		e2e_ok "$1"
	else
		e2e_bad "$1:$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | sed 's/^/    | /' |
			head -n 40 | sed '1s/^/\n/')"
	fi
}

# e2e_matches WHAT REGEX TEXT
e2e_matches() {
	if [[ $3 =~ $2 ]]; then
		e2e_ok "$1"
	else
		e2e_bad "$1: no match for /$2/$(rk_t_show "$3")"
	fi
}

e2e_elapsed() {
	local tenths=$(((${EPOCHREALTIME/./} - ${1:-$e2e_started}) / 100000))
	printf '%d.%d s' $((tenths / 10)) $((tenths % 10))
}

e2e_finish() {
	rk_t_note "$e2e_passed passed, $e2e_failed failed in $(e2e_elapsed "$e2e_started")"
	((e2e_failed == 0))
}

# ---------------------------------------------------------------------------------------------
# The estate

# e2e_build_estate REKEY: the CA, the certificates in service, the servers loading them, app1's
# files, and the snapshot e2e_reset restores.
e2e_build_estate() {
	E2E_REKEY=$(realpath -- "$1")
	export RK_H_REKEY=$E2E_REKEY
	: "${RK_H_PG_PORT:?run under with-servers.sh --ssh 3 --pg --mariadb}" "${RK_H_MY_PORT:?}"
	read -r -a E2E_SSH_PORTS <<<"${RK_H_SSH_PORTS:?run under with-servers.sh --ssh 3}"
	((${#E2E_SSH_PORTS[@]} >= 3)) || { echo "e2e: needs --ssh 3" >&2; return 1; }
	# A PGSSLMODE or PGPASSWORD of the caller would change what the checks test.
	unset "${!PG@}"
	E2E=$RK_H_DIR/e2e
	E2E_PKI=$E2E/pki
	E2E_APP=$E2E/app1/srv/app
	E2E_RECORDS=$E2E/incidents
	E2E_WORK=$E2E/work
	E2E_PG=$RK_H_PG_DIR
	E2E_MY=$RK_H_MY_DIR
	mkdir -p -- "$E2E" "$E2E_RECORDS" "$E2E_WORK"
	chmod 0755 -- "$E2E"
	E2E_TRUST=$E2E_PKI/ca.crt
	if [[ ${E2E_HIERARCHY:-} == intermediate ]]; then
		harness_run_or_show "rekey pki init --intermediate" "$E2E_REKEY" pki init \
			--intermediate --root-cn "rekey e2e root CA" --ca-cn "rekey e2e issuing CA" \
			--client-cn rkclient --name DNS:localhost --name IP:127.0.0.1 "$E2E_PKI"
		chmod 0755 -- "$E2E_PKI"
		E2E_TRUST=$E2E_PKI/root.crt
	else
		cp -a -- "$RK_H_CA_DIR" "$E2E_PKI"
	fi
	mkdir -p -- "$E2E_PKI/issued"
	e2e_issue db1-server server "/O=rekey e2e/CN=localhost" "DNS:localhost,IP:127.0.0.1"
	e2e_issue db2-server server "/O=rekey e2e/CN=localhost" "DNS:localhost,IP:127.0.0.1"
	e2e_issue app-client client "/O=rekey e2e/CN=rkclient"
	e2e_install_server_files "$E2E_PG" postgres db1-server
	e2e_install_server_files "$E2E_MY" mysql db2-server
	e2e_make_app1
	e2e_snapshot
	e2e_reload_servers
	e2e_wait_served postgres "$RK_H_PG_PORT" "$E2E_PKI/issued/db1-server.crt" &&
		e2e_wait_served mysql "$RK_H_MY_PORT" "$E2E_PKI/issued/db2-server.crt" || {
		echo "e2e: the servers do not serve the estate's certificates" >&2
		return 1
	}
	rk_t_note "estate built in $(e2e_elapsed "$e2e_started")"
}

# e2e_issue NAME server|client SUBJECT [SANS]: pki/issued/NAME.crt and .key, in the ledger,
# valid E2E_ISSUE_DAYS (default 30) days.
e2e_issue() {
	local name=$1 profile=$2 subject=$3 sans=${4:-} san
	local -a args=() list=()
	if [[ -n $sans ]]; then
		IFS=, read -r -a list <<<"$sans"
		for san in "${list[@]}"; do
			args+=(--san "$san")
		done
	fi
	harness_run_or_show "rekey pki issue ($name)" "$E2E_REKEY" pki issue \
		--ca-cert "$E2E_PKI/ca.crt" --ca-key "$E2E_PKI/ca.key" --ledger "$E2E_PKI/ledger.json" \
		--profile "$profile" --subject "$subject" "${args[@]}" --key ec-p256 \
		--days "${E2E_ISSUE_DAYS:-30}" \
		--cert-out "$E2E_PKI/issued/$name.crt" --key-out "$E2E_PKI/issued/$name.key"
}

# The TLS files a server loads, as the harness lays them out (DIR/server.crt ...), from the
# estate's CA and the certificate NAME.
e2e_install_server_files() {
	local dir=$1 owner=$2 name=$3
	e2e_cert_file "$name" | install -o "$owner" -g "$owner" -m 0644 -- /dev/stdin "$dir/server.crt"
	install -o "$owner" -g "$owner" -m 0600 -- "$E2E_PKI/issued/$name.key" "$dir/server.key"
	install -o "$owner" -g "$owner" -m 0644 -- "$E2E_TRUST" "$dir/ca.crt"
	e2e_crl_file | install -o "$owner" -g "$owner" -m 0644 -- /dev/stdin "$dir/ca.crl"
}

# e2e_cert_file NAME: what a certificate file holds: the leaf, then the intermediate if any.
e2e_cert_file() {
	cat -- "$E2E_PKI/issued/$1.crt"
	[[ ${E2E_HIERARCHY:-} != intermediate ]] || cat -- "$E2E_PKI/ca.crt"
}

# e2e_crl_file: what a CRL file holds: the CA's CRL, then the root's if any.
e2e_crl_file() {
	cat -- "$E2E_PKI/ca.crl"
	[[ ${E2E_HIERARCHY:-} != intermediate ]] || cat -- "$E2E_PKI/root.crl"
}

# app1, as scripts/lab's make_app1 makes it: the app's password lives in .env only.
e2e_make_app1() {
	local password
	mkdir -p -- "$E2E_APP/certs"
	chmod 0755 -- "$E2E/app1" "$E2E/app1/srv" "$E2E_APP" "$E2E_APP/certs"
	password=$(harness_random_password)
	harness_run_or_show "psql (role app)" harness_pg_superuser_sql "$E2E_PG" "$RK_H_PG_PORT" \
		<<<"CREATE ROLE app LOGIN PASSWORD '$password';"
	harness_pg_allow_password_role app
	E2E_APP_PASSWORD=$password
	install -m 0644 -- "$E2E_TRUST" "$E2E_APP/certs/db-ca.crt"
	e2e_cert_file app-client | install -m 0644 -- /dev/stdin "$E2E_APP/certs/app.crt"
	install -m 0600 -- "$E2E_PKI/issued/app-client.key" "$E2E_APP/certs/app.key"
	(
		umask 077
		cat >"$E2E_APP/.env" <<EOF
# Environment of the e2e app (read by systemd's EnvironmentFile= and by docker compose).
APP_NAME="rekey e2e app"
APP_ENV=e2e

# Database: PostgreSQL on db1
DB_HOST=127.0.0.1
DB_PORT=$RK_H_PG_PORT
DB_NAME=postgres
DB_USER=app
DB_SSL_MODE=require
DB_SSL_CA_CERT=$E2E_APP/certs/db-ca.crt
DB_SSL_CLIENT_CERT=$E2E_APP/certs/app.crt
DB_SSL_CLIENT_KEY=$E2E_APP/certs/app.key
DATABASE_URL=postgresql://app:$password@127.0.0.1:$RK_H_PG_PORT/postgres?sslmode=require

LOG_LEVEL=info
EOF
	)
	cat >"$E2E_APP/pg_service.conf" <<EOF
# PostgreSQL connection services of the e2e app.

[e2e-pg]
host=127.0.0.1
port=$RK_H_PG_PORT
dbname=postgres
user=app
sslmode=require

# Same server, client certificate login.
[e2e-pg-cert]
host=127.0.0.1
port=$RK_H_PG_PORT
dbname=postgres
user=rkclient
sslmode=require
sslcert=$E2E_APP/certs/app.crt
sslkey=$E2E_APP/certs/app.key
EOF
	chmod 0644 -- "$E2E_APP/pg_service.conf"
	cat >"$E2E_APP/my.cnf" <<EOF
# MariaDB client options of the e2e app's reporting job.
[client]
host = 127.0.0.1
port = $RK_H_MY_PORT
user = rkclient
ssl-ca = $E2E_APP/certs/db-ca.crt
ssl-cert = $E2E_APP/certs/app.crt
ssl-key = $E2E_APP/certs/app.key
$([[ ${E2E_HIERARCHY:-} != intermediate ]] || echo "ssl-verify-server-cert = 1")
[mysqldump]
single-transaction
EOF
	chmod 0640 -- "$E2E_APP/my.cnf"
	chown -R -- "$RK_H_SSH_USER:$RK_H_SSH_USER" "$E2E_APP"
}

# The files a run may change on the hosts, one per line.
e2e_host_files() {
	local f
	for f in server.crt server.key ca.crt ca.crl; do
		printf '%s\n' "$E2E_PG/$f" "$E2E_MY/$f"
	done
	printf '%s\n' "$E2E_APP/.env" "$E2E_APP/pg_service.conf" "$E2E_APP/my.cnf" \
		"$E2E_APP/certs/db-ca.crt" "$E2E_APP/certs/app.crt" "$E2E_APP/certs/app.key"
}

# "path mode owner group sha256" of every host file (e2e_host_files), sorted.
e2e_host_digest() {
	local f
	while read -r f; do
		if [[ -e $f ]]; then
			printf '%s %s %s\n' "$f" "$(stat -c '%a %U %G' -- "$f")" \
				"$(sha256sum <"$f" | cut -d' ' -f1)"
		else
			printf '%s missing\n' "$f"
		fi
	done < <(e2e_host_files) | sort
}

# The host files and the CA's CRL and ledger: all that a run changes outside its records.
e2e_estate_digest() {
	e2e_host_digest
	sha256sum -- "$E2E_PKI/ca.crl" "$E2E_PKI/ledger.json"
	[[ ! -e $E2E_PKI/root.crl ]] || sha256sum -- "$E2E_PKI/root.crl"
}

# Files the transport leaves beside a target: backups and (after a kill) temporary files.
e2e_transport_leftovers() {
	find "$E2E_PG" "$E2E_MY" "$E2E_APP" -maxdepth 2 -name '*.rekey-*' -print 2>/dev/null | sort
}

e2e_snapshot() {
	local snap=$E2E/snap
	rm -rf -- "$snap"
	mkdir -p -- "$snap/pg" "$snap/my"
	cp -a -- "$E2E_PKI" "$snap/pki"
	cp -a -- "$E2E_APP" "$snap/app"
	cp -a -- "$E2E_PG"/{server.crt,server.key,ca.crt,ca.crl} "$snap/pg/"
	cp -a -- "$E2E_MY"/{server.crt,server.key,ca.crt,ca.crl} "$snap/my/"
	E2E_SNAP_DIGEST=$(e2e_estate_digest)
	E2E_SNAP_HOST_DIGEST=$(e2e_host_digest)
}

# e2e_reset: the estate as e2e_build_estate left it: CA, ledger, CRL, host files (bytes, modes,
# owners), no incident records, no backups; both servers reloaded and serving the old
# certificates again.
e2e_reset() {
	local snap=$E2E/snap f
	rm -rf -- "$E2E_RECORDS" "$E2E_PKI" "$E2E_APP"
	mkdir -p -- "$E2E_RECORDS"
	cp -a -- "$snap/pki" "$E2E_PKI"
	cp -a -- "$snap/app" "$E2E_APP"
	while read -r f; do
		rm -f -- "$f"
	done < <(e2e_transport_leftovers)
	for f in server.crt server.key ca.crt ca.crl; do
		rm -f -- "$E2E_PG/$f" "$E2E_MY/$f"
		cp -a -- "$snap/pg/$f" "$E2E_PG/$f"
		cp -a -- "$snap/my/$f" "$E2E_MY/$f"
	done
	e2e_reload_servers
	e2e_wait_served postgres "$RK_H_PG_PORT" "$E2E_PKI/issued/db1-server.crt" &&
		e2e_wait_served mysql "$RK_H_MY_PORT" "$E2E_PKI/issued/db2-server.crt" || {
		e2e_bad "reset: the servers do not serve the estate's certificates again"
		return 1
	}
	[[ $(e2e_estate_digest) == "$E2E_SNAP_DIGEST" ]] || {
		e2e_bad "reset: the estate differs from its snapshot"
		return 1
	}
}

e2e_reload_servers() {
	harness_run_or_show "pg_reload_conf" harness_pg_superuser_sql "$E2E_PG" "$RK_H_PG_PORT" \
		<<<"SELECT pg_reload_conf();" &&
		harness_run_or_show "FLUSH SSL" harness_mariadb_root_sql "$E2E_MY" <<<"FLUSH SSL;"
}

# ---------------------------------------------------------------------------------------------
# What the servers serve, as a client sees it

# e2e_served_fingerprint postgres|mysql PORT: "sha256 Fingerprint=..." of the served leaf, or
# nothing when no handshake completes.
e2e_served_fingerprint() {
	openssl s_client -starttls "$1" -connect "127.0.0.1:$2" </dev/null 2>/dev/null |
		openssl x509 -noout -fingerprint -sha256 2>/dev/null || true
}

# The served leaf, PEM.
e2e_served_cert() {
	openssl s_client -starttls "$1" -connect "127.0.0.1:$2" </dev/null 2>/dev/null |
		openssl x509 2>/dev/null || true
}

e2e_fingerprint() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null
}

e2e_serves() {
	[[ $(e2e_served_fingerprint "$1" "$2") == "$(e2e_fingerprint "$3")" ]]
}

# e2e_wait_served PROTO PORT CERT: up to 15 s (a reload is asynchronous).
e2e_wait_served() {
	local deadline=$((${EPOCHREALTIME/./} + 15000000))
	until e2e_serves "$@"; do
		((${EPOCHREALTIME/./} < deadline)) || return 1
		sleep 0.1
	done
}

# e2e_check_served WHAT PROTO PORT CERT: the server presents CERT now.
e2e_check_served() {
	local what=$1 got want
	got=$(e2e_served_fingerprint "$2" "$3")
	want=$(e2e_fingerprint "$4" 2>/dev/null) || want="(no certificate at $4)"
	e2e_equal "$what" "$want" "$got"
}

# Logins, from outside, with full verification. ARGS are extra conninfo words.
e2e_psql() {	# e2e_psql ROOTCERT USER [CONNINFO WORDS...] -- psql as that user, select 1
	local root=$1 user=$2
	shift 2
	PGPASSFILE=$RK_H_PG_PGPASS psql -X -A -t -v ON_ERROR_STOP=1 \
		"host=127.0.0.1 port=$RK_H_PG_PORT dbname=postgres user=$user sslmode=verify-full sslrootcert=$root connect_timeout=10 $*" \
		-c 'select current_user'
}

# e2e_psql_cert ROOTCERT CERT KEY: a client-certificate login as rkclient.
e2e_psql_cert() {
	e2e_psql "$1" "$RK_H_PG_CERT_USER" "sslcert=$2 sslkey=$3"
}

# e2e_mariadb ROOTCERT: the rekey password login; e2e_mariadb_cert ROOTCERT CERT KEY: rkclient.
e2e_mariadb() {
	mariadb --defaults-file="$RK_H_MY_DEFAULTS_FILE" -h 127.0.0.1 -P "$RK_H_MY_PORT" \
		--protocol=TCP --connect-timeout=10 --ssl-verify-server-cert --ssl-ca="$1" -N \
		-e 'select current_user()'
}

# How MariaDB's client words a refused client certificate: an alert, or the connection reset
# in the handshake ("Lost connection ... system error: 104"), depending on timing.
E2E_MY_REFUSED='revoked|certificate|SSL|Access denied|Lost connection'

e2e_mariadb_cert() {
	mariadb --no-defaults -h 127.0.0.1 -P "$RK_H_MY_PORT" --protocol=TCP --connect-timeout=10 \
		-u "$RK_H_MY_CERT_USER" --ssl-verify-server-cert --ssl-ca="$1" --ssl-cert="$2" \
		--ssl-key="$3" -N -e 'select current_user()'
}

# A client key file must be private to its reader: copies owned by root, mode 0600.
e2e_private_copy() {
	local dst=$E2E/keys-copied/$2
	mkdir -p -- "$E2E/keys-copied"
	chmod 0700 -- "$E2E/keys-copied"
	install -m 0600 -- "$1" "$dst" 2>/dev/null || install -m 0600 /dev/null "$dst"
	printf '%s\n' "$dst"
}

# e2e_as_app COMMAND: COMMAND as app1's login would run it (the playbook's verify commands).
e2e_as_app() {
	runuser -u "$RK_H_SSH_USER" -- env -C / sh -c "$1"
}

# ---------------------------------------------------------------------------------------------
# The playbook

# e2e_write_playbook FILE [KEY=VALUE...]: the estate's playbook, in the lab's schema. Keys:
#   id=ID                incident id (default E2E)
#   scenario=server      revoke db1-server (keyCompromise), reissue both servers and app-client
#   scenario=client      revoke app-client (keyCompromise), reissue it; servers get the CRL only
#   scenario=ca          ca.rotate with a new CA, revoke all of pki/issued (cACompromise)
#   scenario=rotate      reissue both servers and app-client, revoke nothing (superseded): a
#                        failed service can be rolled back to a certificate that still verifies
#   overlap=true|false   policy.trust_overlap (default true)
#   on_failure=POLICY    policy.on_failure (default rollback)
#   timeout=SECONDS      every host's timeout (default 10)
#   db2_port=PORT        ssh port of db2 (a dead one makes it unreachable)
#   db2_login=rkuser     db2 logs in as rkuser without sudo (MariaDB's folder is not writable)
#   pg_reload=YAML       reload of the PostgreSQL service (default sql)
#   pg_key_owner=root    PostgreSQL's key written root:root 0640, which postgres cannot read
#   db2_name=cn          db2-server without SANs, its CN 127.0.0.1: plan only warns, but no
#                        client that checks an IP address against the SANs accepts it
e2e_write_playbook() {
	local file=$1 kv
	local -A o=([id]=E2E [scenario]=server [overlap]=true [on_failure]=rollback [timeout]=10
		[db2_port]=${E2E_SSH_PORTS[1]} [db2_login]=rkadmin [pg_reload]=sql [pg_key_owner]=postgres
		[db2_name]=san)
	shift
	for kv in "$@"; do
		[[ -v o[${kv%%=*}] ]] || { echo "e2e_write_playbook: unknown key ${kv%%=*}" >&2; return 1; }
		o[${kv%%=*}]=${kv#*=}
	done
	local pg=$E2E_PG my=$E2E_MY app=$E2E_APP pki=$E2E_PKI
	local rotate=false reason=keyCompromise revoke="" certs pg_files my_files
	local db2_user=$RK_H_SSH_ADMIN db2_sudo=true pg_key
	local db2_names="subject: \"/O=rekey e2e/CN=localhost\", san: [\"DNS:localhost\", \"IP:127.0.0.1\"]"
	[[ ${o[db2_name]} != cn ]] || db2_names="subject: \"/O=rekey e2e/CN=127.0.0.1\""
	local server_certs="  db1-server: {profile: server, subject: \"/O=rekey e2e/CN=localhost\", san: [\"DNS:localhost\", \"IP:127.0.0.1\"], key: ec-p256, days: 30}
  db2-server: {profile: server, $db2_names, key: ec-p256, days: 30}"
	local client_cert="  app-client: {profile: client, subject: \"/O=rekey e2e/CN=rkclient\", key: ec-p256, days: 30}"
	case ${o[scenario]} in
	server)
		revoke="  - cert: \"$pki/issued/db1-server.crt\""
		certs="$server_certs"$'\n'"$client_cert" ;;
	client)
		revoke="  - cert: \"$pki/issued/app-client.crt\""
		certs=$client_cert ;;
	rotate)
		reason=superseded
		certs="$server_certs"$'\n'"$client_cert" ;;
	ca)
		rotate=true reason=cACompromise
		revoke="  - folder: \"$pki/issued\""
		certs="$server_certs"$'\n'"$client_cert" ;;
	*) echo "e2e_write_playbook: unknown scenario ${o[scenario]}" >&2; return 1 ;;
	esac
	if [[ ${o[db2_login]} == rkuser ]]; then
		db2_user=$RK_H_SSH_USER db2_sudo=false
	fi
	if [[ ${o[pg_key_owner]} == root ]]; then
		pg_key="{path: \"$pg/server.key\", owner: root, group: root, mode: \"0640\"}"
	else
		pg_key="{path: \"$pg/server.key\", owner: postgres, group: postgres, mode: \"0600\"}"
	fi
	pg_files="      ca:   {path: \"$pg/ca.crt\", owner: postgres, group: postgres, mode: \"0644\"}
      crl:  {path: \"$pg/ca.crl\", owner: postgres, group: postgres, mode: \"0644\"}"
	my_files="      ca:   {path: \"$my/ca.crt\", owner: mysql, group: mysql, mode: \"0644\"}
      crl:  {path: \"$my/ca.crl\", owner: mysql, group: mysql, mode: \"0644\"}"
	local pg_cert="" my_cert=""
	if [[ ${o[scenario]} != client ]]; then
		pg_cert=db1-server
		my_cert=db2-server
		pg_files="      cert: {path: \"$pg/server.crt\", owner: postgres, group: postgres, mode: \"0644\"}
      key:  $pg_key
$pg_files"
		my_files="      cert: {path: \"$my/server.crt\", owner: mysql, group: mysql, mode: \"0644\"}
      key:  {path: \"$my/server.key\", owner: mysql, group: mysql, mode: \"0600\"}
$my_files"
	fi
	local ident=$RK_H_SSH_KEY kh=$RK_H_KNOWN_HOSTS
	{
		cat <<EOF
# Playbook of rekey's end-to-end tests (tests/integration/e2e_lib.sh), scenario ${o[scenario]}.
version: 1

incident:
  id: ${o[id]}
  reason: $reason
  summary: "e2e: ${o[scenario]} compromise"
  records: "$E2E_RECORDS"

ca:
  cert: "$pki/ca.crt"
  key: "$pki/ca.key"
  crl: "$pki/ca.crl"
  crl_days: 7
  rotate: $rotate
EOF
		if [[ $rotate == true ]]; then
			printf '  new: {subject: "/O=rekey e2e/CN=rekey e2e CA 2", key: ec-p384, days: 365}\n'
		fi
		[[ -z $revoke ]] || printf '\nrevoke:\n%s\n' "$revoke"
		cat <<EOF

certificates:
$certs

hosts:
  db1: {transport: ssh, address: 127.0.0.1, port: ${E2E_SSH_PORTS[0]}, user: $RK_H_SSH_ADMIN, identity: "$ident", known_hosts: "$kh", sudo: true, timeout: ${o[timeout]}}
  db2: {transport: ssh, address: 127.0.0.1, port: ${o[db2_port]}, user: $db2_user, identity: "$ident", known_hosts: "$kh", sudo: $db2_sudo, timeout: ${o[timeout]}}
  app1: {transport: ssh, address: 127.0.0.1, port: ${E2E_SSH_PORTS[2]}, user: $RK_H_SSH_USER, identity: "$ident", known_hosts: "$kh", sudo: false, timeout: ${o[timeout]}}

services:
$(e2e_service pg-e2e db1 postgresql "$pg_cert" "$pg_files" "${o[pg_reload]}" "$RK_H_PG_LOG" \
	"connect: {address: 127.0.0.1, port: $RK_H_PG_PORT, dbname: postgres, user: $RK_H_PG_USER, password_file: \"$RK_H_PG_PASSWORD_FILE\"}")
$(e2e_service mariadb-e2e db2 mariadb "$my_cert" "$my_files" sql "$RK_H_MY_LOG" \
	"connect: {address: 127.0.0.1, port: $RK_H_MY_PORT, user: $RK_H_MY_USER, password_file: \"$RK_H_MY_PASSWORD_FILE\"}")

clients:
  - name: app1-env
    host: app1
    file: {path: "$app/.env", format: env}
    set:
      DB_SSL_MODE: verify-full
      DB_SSL_CA_CERT: "$app/certs/db-ca.crt"
      DB_SSL_CLIENT_CERT: "$app/certs/app.crt"
      DB_SSL_CLIENT_KEY: "$app/certs/app.key"
    files:
      ca:   {path: "$app/certs/db-ca.crt", mode: "0644"}
      cert: {path: "$app/certs/app.crt", certificate: app-client, mode: "0644"}
      key:  {path: "$app/certs/app.key", certificate: app-client, mode: "0600"}
    verify: {command: "$(e2e_yaml_escape "$(e2e_verify_env_command)")"}
  - name: app1-url
    host: app1
    file: {path: "$app/.env", format: conninfo, variable: DATABASE_URL}
    set: {sslmode: verify-full, sslrootcert: "$app/certs/db-ca.crt"}
    verify: {command: "$(e2e_yaml_escape "$(e2e_verify_url_command)")"}
  - name: app1-pgservice
    host: app1
    file: {path: "$app/pg_service.conf", format: pg_service, section: e2e-pg-cert}
    set: {sslmode: verify-full, sslrootcert: "$app/certs/db-ca.crt"}
    verify: {command: "$(e2e_yaml_escape "$(e2e_verify_pgservice_command)")"}
  - name: app1-mycnf
    host: app1
    file: {path: "$app/my.cnf", format: ini, section: client}
    set: {ssl-ca: "$app/certs/db-ca.crt", ssl-verify-server-cert: "1"}
    verify: {command: "$(e2e_yaml_escape "$(e2e_verify_mycnf_command)")"}

policy: {max_parallel: 8, canary: 1, on_failure: ${o[on_failure]}, trust_overlap: ${o[overlap]}}
EOF
	} >"$file"
}

# e2e_service NAME HOST KIND CERTIFICATE FILES RELOAD LOG CONNECT: one entry of services.
e2e_service() {
	printf '  - name: %s\n    host: %s\n    kind: %s\n' "$1" "$2" "$3"
	[[ -z $4 ]] || printf '    certificate: %s\n' "$4"
	printf '    files:\n%s\n    reload: %s\n    log: "%s"\n    %s\n' "$5" "$6" "$7" "$8"
	printf '    verify: {sslmode: verify-full, min_tls: TLSv1.2}\n'
}

# The clients' verify commands, as app1's login runs them; e2e_as_app runs the same from outside.
e2e_verify_env_command() {
	printf "set -a; . '%s/.env'; psql -X \"host=\$DB_HOST port=\$DB_PORT dbname=postgres user=rkclient sslmode=\$DB_SSL_MODE sslrootcert=\$DB_SSL_CA_CERT sslcert=\$DB_SSL_CLIENT_CERT sslkey=\$DB_SSL_CLIENT_KEY\" -Atc 'select ssl from pg_stat_ssl where pid = pg_backend_pid()'" "$E2E_APP"
}

e2e_verify_url_command() {
	printf "set -a; . '%s/.env'; psql -X \"\$DATABASE_URL\" -Atc 'select ssl from pg_stat_ssl where pid = pg_backend_pid()'" "$E2E_APP"
}

e2e_verify_pgservice_command() {
	printf "PGSERVICEFILE='%s/pg_service.conf' psql -X service=e2e-pg-cert -Atc 'select current_user'" "$E2E_APP"
}

e2e_verify_mycnf_command() {
	printf "mariadb --defaults-file='%s/my.cnf' -N -e 'select current_user()'" "$E2E_APP"
}

# A value for a YAML double-quoted scalar.
e2e_yaml_escape() {
	local s=${1//\\/\\\\}
	printf '%s' "${s//\"/\\\"}"
}

# ---------------------------------------------------------------------------------------------
# The playbooks users copy

# e2e_adapt_to NAME OUT [ID]: playbooks/NAME rewritten onto this estate into OUT, incident.id
# ID, by the tool that rewrites it onto the lab (`scripts/lab adapt`): the estate is the lab's
# layout, so only its folders differ. The tool says on stderr what it changed, or why not.
e2e_adapt_to() {
	local -a id_opt=()
	[[ -z ${3:-} ]] || id_opt=(--id "$3")
	python3 "$e2e_here/../../scripts/lab-adapt.py" --pki "$E2E_PKI" --issued "$E2E_PKI/issued" \
		--app "$E2E_APP" --records "$E2E_RECORDS" --org "rekey e2e" \
		--pg-service-section e2e-pg-cert "${id_opt[@]}" "$e2e_here/../../playbooks/$1" "$2"
}

# e2e_adapt WHAT NAME OUT [ID]: e2e_adapt_to, checked; what the tool said goes to OUT.notes.
e2e_adapt() {
	local what=$1 out=$3 status=0
	e2e_adapt_to "$2" "$out" "${4:-}" 2>"$out.notes" || status=$?
	if ((status == 0)); then
		e2e_ok "$what: playbooks/$2 adapted to the estate"
	else
		e2e_bad "$what: playbooks/$2 could not be adapted$(rk_t_show "$(<"$out.notes")")"
	fi
	return "$status"
}

# e2e_rehearse_changes_nothing WHAT PLAYBOOK ID: `rekey rehearse` says go (exit 0, "GO:"),
# and leaves every host file (bytes, mode, owner), the CA's CRL and ledger as they were
# (sha256sum, stat), no backup or temporary file beside them, no incident folder; both servers
# serve what they served before (openssl s_client); its record verifies.
e2e_rehearse_changes_nothing() {
	local what=$1 pb=$2 id=$3 out=$E2E_WORK/rehearse-$3.out before pg my
	before=$(e2e_estate_digest; e2e_transport_leftovers)
	pg=$(e2e_served_fingerprint postgres "$RK_H_PG_PORT")
	my=$(e2e_served_fingerprint mysql "$RK_H_MY_PORT")
	e2e_rekey "$out" rehearse "$pb"
	e2e_equal "$what: rekey rehearse says go (exit 0)" 0 "$e2e_status"
	if ((e2e_status == 0)); then
		e2e_matches "$what: the rehearsal ends GO:" $'(^|\n)GO: ' "$(<"$out")"
	else
		rk_t_note "$what: the rehearsal said$(rk_t_show "$(grep -E 'NO-GO|rekey:' "$out")")"
	fi
	e2e_same "$what: the rehearsal changed no host file, CRL or ledger (sha256sum, stat)" \
		"$before" "$(e2e_estate_digest; e2e_transport_leftovers)"
	e2e_equal "$what: PostgreSQL serves what it served before the rehearsal" "$pg" \
		"$(e2e_served_fingerprint postgres "$RK_H_PG_PORT")"
	e2e_equal "$what: MariaDB serves what it served before the rehearsal" "$my" \
		"$(e2e_served_fingerprint mysql "$RK_H_MY_PORT")"
	e2e_check "$what: the rehearsal made no incident folder" \
		test ! -e "$(e2e_incident_dir "$id")"
	e2e_check "$what: the rehearsal's record verifies" \
		"$E2E_REKEY" record verify "$E2E_RECORDS/$id.rehearsal.tar.gz"
}

# ---------------------------------------------------------------------------------------------
# Running rekey and reading what it left

# e2e_rekey OUT COMMAND [ARGS...]: runs rekey, its combined output into OUT (with --json,
# standard error into OUT.err, so that OUT holds what tools read); sets e2e_status.
e2e_rekey() {
	local out=$1
	shift
	e2e_status=0
	# One open file for both streams: with two (">OUT 2>>OUT"), standard output's buffer,
	# written at exit from offset 0, overwrote whatever standard error had said first.
	if [[ " $* " == *" --json "* ]]; then
		"$E2E_REKEY" "$@" >"$out" 2>>"$out.err" || e2e_status=$?
	else
		"$E2E_REKEY" "$@" >"$out" 2>&1 || e2e_status=$?
	fi
}

# e2e_json_problems OUT: what is wrong with a --json output: a line that is not one JSON
# object with an "event", or a last line that is not the summary.
e2e_json_problems() {
	python3 - "$1" <<'PY'
import json, sys
lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines()
for n, line in enumerate(lines, 1):
    try:
        ev = json.loads(line)
    except ValueError:
        print(f"line {n} is not JSON: {line[:80]}")
        continue
    if not isinstance(ev, dict) or "event" not in ev:
        print(f"line {n} has no event")
if not lines or '"summary"' not in lines[-1]:
    print("the last line is not the summary")
PY
}

# e2e_run_ok WHAT OUT ARGS...: `rekey ARGS` must exit 0; says how long it took.
e2e_run_ok() {
	local what=$1 out=$2 started=${EPOCHREALTIME/./}
	shift 2
	e2e_rekey "$out" "$@"
	rk_t_note "$what: rekey $1 took $(e2e_elapsed "$started")"
	if ((e2e_status != 0)); then
		e2e_bad "$what: rekey $1 exits $e2e_status, want 0$(rk_t_show "$(<"$out")")"
	else
		e2e_ok "$what: rekey $1 exits 0"
	fi
}

# e2e_incident_dir ID
e2e_incident_dir() {
	printf '%s/%s\n' "$E2E_RECORDS" "$1"
}

# e2e_result OUT NAME: the summary's RESULT for service or client NAME, from rekey's output
# (the --json summary event when there is one, else the text table's row), or "absent".
e2e_result() {
	if grep -q '"event": *"summary"' "$1" 2>/dev/null; then
		python3 - "$1" "$2" <<'PY'
import json, sys
for line in reversed(open(sys.argv[1], encoding="utf-8", errors="replace").read().splitlines()):
    try:
        ev = json.loads(line)
    except ValueError:
        continue
    if isinstance(ev, dict) and ev.get("event") == "summary":
        rows = (ev.get("services") or []) + (ev.get("clients") or [])
        print(next((r.get("result") for r in rows if r.get("name") == sys.argv[2]), "absent"))
        break
PY
		return
	fi
	# The table: "[service|client] NAME HOST RESULT [SERVED NOW]".
	awk -v name="$2" '
		{ i = ($1 == "service" || $1 == "client") ? 2 : 1 }
		$i == name && NF > i + 1 {
			r = $(i + 2)
			if (r == "rolled" || r == "not" || r == "undo") r = r " " $(i + 3)
			if (r ~ /^(verified|rolled back|undo FAILED|failed|incomplete|skipped|not started)$/)
				found = r
		}
		END { print (found == "" ? "absent" : found) }' "$1" 2>/dev/null || echo absent
}

E2E_SERVICES=(pg-e2e mariadb-e2e)
E2E_CLIENTS=(app1-env app1-url app1-pgservice app1-mycnf)

# e2e_summary_all_verified WHAT OUT: the summary says "verified" for every service and client.
e2e_summary_all_verified() {
	e2e_summary_verified "$1" "$2" "${E2E_SERVICES[@]}" "${E2E_CLIENTS[@]}"
}

# e2e_summary_verified WHAT OUT NAME...: the summary says "verified" for each service or client
# NAME (a playbook's own names).
e2e_summary_verified() {
	local what=$1 out=$2 name got=""
	shift 2
	for name in "$@"; do
		got+="$name $(e2e_result "$out" "$name")"$'\n'
	done
	e2e_same "$what: the summary says every service and client verified" \
		"$(printf '%s verified\n' "$@")" "${got%$'\n'}"
}

# e2e_results_are WHAT REGEX LINES: LINES ("name result" each) are not empty and every result
# matches ^(REGEX)$.
e2e_results_are() {
	local what=$1 pattern="^($2)\$" line wrong=""
	[[ -n $3 ]] || { e2e_bad "$what: no summary rows"; return; }
	while IFS= read -r line; do
		[[ ${line#* } =~ $pattern ]] || wrong+=" [$line]"
	done <<<"$3"
	if [[ -z $wrong ]]; then
		e2e_ok "$what"
	else
		e2e_bad "$what: not so for$wrong"
	fi
}

# e2e_journal_problems ID: prints problems with the incident's journal (nothing when it is sound):
# a header first, every line one JSON object with the contract's keys, seq increasing, no
# secret (the harness's passwords, the app's, a PEM private key).
e2e_journal_problems() {
	local journal
	journal=$(e2e_incident_dir "$1")/journal.jsonl
	python3 - "$journal" "$(<"$RK_H_PG_PASSWORD_FILE")" "$(<"$RK_H_MY_PASSWORD_FILE")" \
		"${E2E_APP_PASSWORD:-}" <<'PY'
import json, sys
path, secrets = sys.argv[1], [s for s in sys.argv[2:] if s]
try:
    raw = open(path, encoding="utf-8").read()
except OSError as e:
    print(f"cannot read the journal: {e.strerror}")
    sys.exit(0)
for s in secrets:
    if s in raw:
        print("the journal holds a password")
if "PRIVATE KEY" in raw:
    print("the journal holds a PEM private key")
lines = raw.splitlines()
if not lines:
    print("the journal is empty")
    sys.exit(0)
last_seq = None
for n, line in enumerate(lines, 1):
    try:
        rec = json.loads(line)
    except ValueError:
        print(f"line {n} is not JSON")
        continue
    if n == 1:
        if rec.get("kind") != "header" or "plan_digest" not in rec or "incident" not in rec:
            print("line 1 is not the header")
        continue
    missing = [k for k in ("seq", "step", "action", "phase", "state", "at") if k not in rec]
    if missing:
        print(f"line {n} lacks {', '.join(missing)}")
    if rec.get("state") not in ("start", "done", "failed", "undone"):
        print(f"line {n}: state {rec.get('state')!r}")
    seq = rec.get("seq")
    if isinstance(seq, int) and last_seq is not None and seq <= last_seq:
        print(f"line {n}: seq {seq} after {last_seq}")
    last_seq = seq if isinstance(seq, int) else last_seq
PY
}

# e2e_journal_lines FILE: "LINE STEP ACTION STATE" for every record of a journal (the header
# is "1 - header -"; a line that does not parse is "N - torn -"), or one line saying why not.
e2e_journal_lines() {
	python3 - "$1" <<'PY'
import json, sys
try:
    lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
except OSError as e:
    print(f"cannot read the journal: {e.strerror}")
    sys.exit(0)
for n, line in enumerate(lines, 1):
    try:
        rec = json.loads(line)
    except ValueError:
        print(n, "-", "torn", "-")
        continue
    if rec.get("kind") == "header":
        print(n, "-", "header", "-")
    else:
        print(n, rec.get("step"), rec.get("action"), rec.get("state"))
PY
}

# e2e_journal_unfinished ID: the steps whose last record is not "done" (after a complete run:
# none).
e2e_journal_unfinished() {
	e2e_journal_lines "$(e2e_incident_dir "$1")/journal.jsonl" | awk '
		/^cannot/ { print; next }
		$3 != "header" && $3 != "torn" { if (!($2 in last)) order[n++] = $2; last[$2] = $4; act[$2] = $3 }
		END { for (i = 0; i < n; i++) if (last[order[i]] != "done")
			print "step " order[i] " (" act[order[i]] "): " last[order[i]] }'
}

# e2e_ledger_problems ID CERTNAME...: each certificate of the incident folder appears once in
# the ledger (beside ca.cert, and beside the new CA under ca.rotate) with this incident, and
# the ledger holds no other certificate of it (a new CA aside).
e2e_ledger_problems() {
	local id=$1 dir name
	local -a fps=()
	shift
	dir=$(e2e_incident_dir "$id")
	for name in "$@"; do
		fps+=("$name=$(e2e_fingerprint "$dir/certs/$name.crt" 2>/dev/null | cut -d= -f2)")
	done
	python3 - "$id" "$E2E_PKI/ledger.json" "$dir/ca/ledger.json" "${fps[@]}" <<'PY'
import json, os, sys
incident, ledgers, wanted = sys.argv[1], sys.argv[2:4], sys.argv[4:]
entries = []
for path in ledgers:
    if os.path.exists(path):
        entries += json.load(open(path)).get("certificates", [])
ours = [e for e in entries if e.get("incident") == incident and e.get("profile") != "ca"]
for w in wanted:
    name, fp = w.split("=", 1)
    if not fp:
        print(f"{name}: no certificate in the incident folder")
        continue
    n = sum(1 for e in entries if e.get("sha256", "").upper() == fp.upper())
    if n != 1:
        print(f"{name}: in the ledger {n} times")
if len(ours) != len(wanted):
    print(f"the ledger holds {len(ours)} certificates of {incident}, want {len(wanted)}")
PY
}

# e2e_bundle_fingerprints FILE: the fingerprint of every certificate in a PEM bundle.
e2e_bundle_fingerprints() {
	local tmp pem
	tmp=$(mktemp -d "$E2E/bundle.XXXXXX")
	awk -v dir="$tmp" '/-----BEGIN CERTIFICATE-----/ { n++ } n { print > (dir "/" n ".pem") }' \
		"$1"
	for pem in "$tmp"/*.pem; do
		if [[ -e $pem ]]; then
			e2e_fingerprint "$pem"
		fi
	done
	rm -rf -- "$tmp"
}

# e2e_crl_reason CRL SERIAL: the reason the CRL gives for SERIAL (openssl's words), or nothing.
e2e_crl_reason() {
	local serial=${2//:/}
	openssl crl -in "$1" -noout -text | awk -v s="$serial" '
		/Serial Number:/ { hit = (toupper($3) == toupper(s)) }
		hit && /Reason Code/ { getline; gsub(/^ +/, ""); print; exit }'
}

e2e_serial() {
	openssl x509 -in "$1" -noout -serial | cut -d= -f2
}

# e2e_check_revoked WHAT CERT CAFILE CRLFILE REASON: openssl verify -crl_check fails with
# "certificate revoked", and the CRL gives REASON.
e2e_check_revoked() {
	local what=$1 cert=$2 ca=$3 crl=$4 reason=$5
	e2e_check_not "$what: openssl verify -crl_check refuses it" 'certificate revoked' \
		openssl verify -crl_check -CAfile "$ca" -CRLfile "$crl" "$cert"
	e2e_equal "$what: the CRL's reason" "$reason" "$(e2e_crl_reason "$crl" "$(e2e_serial "$cert")")"
}

# e2e_modes: "path mode owner group" of FILES.
e2e_modes() {
	stat -c '%n %a %U %G' -- "$@"
}

# e2e_check_pushed_modes: the files a complete run pushed have the modes and owners the
# playbook names (keys 0600, the rest 0644; app1's files keep rkuser, config files keep theirs).
e2e_check_pushed_modes() {
	local u=$RK_H_SSH_USER want got
	want="$E2E_PG/server.crt 644 postgres postgres
$E2E_PG/server.key 600 postgres postgres
$E2E_PG/ca.crt 644 postgres postgres
$E2E_PG/ca.crl 644 postgres postgres
$E2E_MY/server.crt 644 mysql mysql
$E2E_MY/server.key 600 mysql mysql
$E2E_MY/ca.crt 644 mysql mysql
$E2E_MY/ca.crl 644 mysql mysql
$E2E_APP/.env 600 $u $u
$E2E_APP/pg_service.conf 644 $u $u
$E2E_APP/my.cnf 640 $u $u
$E2E_APP/certs/db-ca.crt 644 $u $u
$E2E_APP/certs/app.crt 644 $u $u
$E2E_APP/certs/app.key 600 $u $u"
	got=$(e2e_modes "$E2E_PG"/{server.crt,server.key,ca.crt,ca.crl} \
		"$E2E_MY"/{server.crt,server.key,ca.crt,ca.crl} "$E2E_APP"/{.env,pg_service.conf,my.cnf} \
		"$E2E_APP"/certs/{db-ca.crt,app.crt,app.key} 2>&1) || true
	e2e_same "modes and owners of every pushed file (stat)" "$want" "$got"
}

# e2e_same_bytes A B: equal SHA-256.
e2e_same_bytes() {
	[[ -f $1 && -f $2 && $(sha256sum <"$1") == "$(sha256sum <"$2")" ]]
}

# e2e_digest_lines DIGEST PATH...: the lines of DIGEST (from e2e_host_digest) for PATHs.
e2e_digest_lines() {
	local digest=$1 path
	shift
	for path in "$@"; do
		awk -v p="$path" '$1 == p { print; found = 1 } END { if (!found) print p, "absent" }' \
			<<<"$digest"
	done
}

# e2e_key_matches_cert KEY CERT: the private key is the certificate's.
e2e_key_matches_cert() {
	[[ $(openssl pkey -in "$1" -pubout 2>/dev/null) == "$(openssl x509 -in "$2" -noout -pubkey)" ]]
}

# e2e_check_service_state WHAT OUT ID SERVICE: the service is in the state the summary in OUT
# gives it, as seen from outside: "verified" serves the incident's certificate and has its
# key; "rolled back" serves the old one again from its old files (bytes, modes, owners);
# "not started"/"skipped" serves the old one from untouched key and certificate files; "failed"
# (or "incomplete": its host changed, the rest not reached) serves one of the two, and the key
# on disk is the certificate's (nothing half-way); "undo FAILED" names the step whose undo
# failed under its row, and its key on disk is the certificate's.
e2e_check_service_state() {
	local what=$1 out=$2 id=$3 service=$4 cert dir proto port result inc old
	local -a files
	case $service in
	pg-e2e) cert=db1-server dir=$E2E_PG proto=postgres port=$RK_H_PG_PORT ;;
	mariadb-e2e) cert=db2-server dir=$E2E_MY proto=mysql port=$RK_H_MY_PORT ;;
	*) e2e_bad "e2e_check_service_state: unknown service $service"; return ;;
	esac
	inc=$(e2e_incident_dir "$id")
	old=$E2E/snap/pki/issued/$cert.crt
	files=("$dir/server.crt" "$dir/server.key")
	result=$(e2e_result "$out" "$service")
	case $result in
	verified)
		e2e_check_served "$what: $service (verified) serves the new $cert" "$proto" "$port" \
			"$inc/certs/$cert.crt"
		e2e_check "$what: $service (verified) has the new key" \
			e2e_same_bytes "$dir/server.key" "$inc/keys/$cert.key" ;;
	"rolled back")
		e2e_check_served "$what: $service (rolled back) serves its old certificate" \
			"$proto" "$port" "$old"
		files+=("$dir/ca.crt" "$dir/ca.crl")
		e2e_same "$what: $service (rolled back) has its old files: bytes, modes, owners" \
			"$(e2e_digest_lines "$E2E_SNAP_HOST_DIGEST" "${files[@]}")" \
			"$(e2e_digest_lines "$(e2e_host_digest)" "${files[@]}")" ;;
	"not started" | skipped)
		e2e_check_served "$what: $service ($result) serves its old certificate" \
			"$proto" "$port" "$old"
		e2e_same "$what: $service ($result) has its old key and certificate" \
			"$(e2e_digest_lines "$E2E_SNAP_HOST_DIGEST" "${files[@]}")" \
			"$(e2e_digest_lines "$(e2e_host_digest)" "${files[@]}")" ;;
	failed | incomplete)
		if e2e_serves "$proto" "$port" "$old" || e2e_serves "$proto" "$port" "$inc/certs/$cert.crt"
		then
			e2e_ok "$what: $service ($result) serves its old or its new certificate"
		else
			e2e_bad "$what: $service ($result) serves neither its old nor its new certificate"
		fi
		e2e_check "$what: $service ($result): its key on disk is its certificate's" \
			e2e_key_matches_cert "$dir/server.key" "$dir/server.crt" ;;
	"undo FAILED")
		local nl=$'\n'
		e2e_matches "$what: $service (undo FAILED): its row names the step and why" \
			"(^|$nl)service +$service [^$nl]*undo FAILED[^$nl]*$nl( +[^$nl]+$nl)? +undo FAILED: [^$nl]+ \\(step [0-9]+, [a-z-]+\\)" \
			"$(<"$out")"
		e2e_check "$what: $service (undo FAILED): its key on disk is its certificate's" \
			e2e_key_matches_cert "$dir/server.key" "$dir/server.crt" ;;
	*)
		e2e_bad "$what: the summary has no row for $service$(rk_t_show "$(<"$out")")" ;;
	esac
}

# e2e_check_clients_state WHAT OUT ID: app1's clients as the summary gives them: all verified
# (their own commands log in, the new certificate in place), or none started or all rolled
# back (app1's files and certificate as before); a mixture is only reported.
e2e_check_clients_state() {
	local what=$1 out=$2 id=$3 name results="" inc
	local -a files=("$E2E_APP/.env" "$E2E_APP/pg_service.conf" "$E2E_APP/my.cnf"
		"$E2E_APP/certs/app.crt" "$E2E_APP/certs/app.key")
	for name in "${E2E_CLIENTS[@]}"; do
		results+="$(e2e_result "$out" "$name")"$'\n'
	done
	inc=$(e2e_incident_dir "$id")
	case $(sort -u <<<"${results%$'\n'}" | tr '\n' ,) in
	verified,)
		e2e_check "$what: the clients (verified) have the new certificate" \
			e2e_same_bytes "$E2E_APP/certs/app.crt" "$inc/certs/app-client.crt"
		e2e_check "$what: the clients (verified): the .env login works" \
			e2e_as_app "$(e2e_verify_env_command)"
		e2e_check "$what: the clients (verified): the my.cnf login works" \
			e2e_as_app "$(e2e_verify_mycnf_command)" ;;
	"not started," | "skipped," | "not started,skipped," | "rolled back,")
		e2e_same "$what: the clients (${results%%$'\n'*}) have their old files" \
			"$(e2e_digest_lines "$E2E_SNAP_HOST_DIGEST" "${files[@]}")" \
			"$(e2e_digest_lines "$(e2e_host_digest)" "${files[@]}")" ;;
	*absent*)
		e2e_bad "$what: the summary lacks a client: $(tr '\n' ' ' <<<"$results")" ;;
	*)
		rk_t_note "$what: the clients ended as: $(tr '\n' ' ' <<<"$results")" ;;
	esac
}

# ---------------------------------------------------------------------------------------------
# Killing a run at a journal line

# e2e_run_until_line OUT WHEN SIGNAL ARGS...: starts `rekey ARGS` (output into OUT) and sends
# it SIGNAL (KILL, STOP, or INT as Ctrl-C does) as soon as WHEN holds: a number N, the
# incident's journal (named by E2E_JOURNAL) has N complete lines; a path, that file's content
# changed (the moment a replace lands on a host, before rekey can journal it). Prints the
# journal's line count then and the pid; "ended STATUS" when rekey ended first. After KILL
# rekey is reaped; after STOP it is left stopped (the caller kills it); after INT the watcher
# waits for rekey to finish and prints its exit status in place of the pid. The watcher starts
# rekey itself, so it watches from rekey's first moment.
e2e_run_until_line() {
	python3 - "$E2E_JOURNAL" "$@" "$E2E_REKEY" <<'PY'
import os, signal, subprocess, sys, time
journal, out, when, sig = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
argv = [sys.argv[-1]] + sys.argv[5:-1]
def lines():
    try:
        with open(journal, "rb") as f:
            return f.read().count(b"\n")
    except OSError:
        return 0
def content(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None
if when.startswith("/"):
    before = content(when)
    ready = lambda: content(when) != before
else:
    ready = lambda: lines() >= int(when)
with open(out, "wb") as f:
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
while True:
    if ready():
        child.send_signal(getattr(signal, "SIG" + sig))
        if sig == "INT":
            at = lines()
            print(at, child.wait())
            break
        if sig == "KILL":
            child.wait()
        print(lines(), child.pid)
        break
    status = child.poll()
    if status is not None:
        print("ended", status)
        break
    time.sleep(0.0002)
PY
}

# ---------------------------------------------------------------------------------------------
# A fault at a chosen moment of a run (issue 20)

# e2e_pause_at OUT WHEN ARGS...: starts `rekey ARGS` in the background (output into OUT) and
# stops it (SIGSTOP) as soon as WHEN holds: "journal:REGEX", a complete line of the incident's
# journal (named by E2E_JOURNAL) matches the Python regular expression REGEX; "file:GLOB", a
# file matches GLOB (a temporary sibling appears: a replace is under way on the host). Then
# `e2e_pause_wait OUT` returns, printing the journal's line count at that moment, or "ended
# STATUS" when rekey ended first. The caller makes its fault, and `e2e_pause_release OUT` lets
# rekey go on (SIGCONT) and waits for it: e2e_status is then its exit status. One at a time.
e2e_pause_at() {
	local out=$1 when=$2
	shift 2
	rm -f -- "$out.paused" "$out.go" "$out.status"
	python3 - "$E2E_JOURNAL" "$out" "$when" "$E2E_REKEY" "$@" <<'PY' &
import glob, os, re, signal, subprocess, sys, time
journal, out, when, argv = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
kind, _, what = when.partition(":")
seen = b""
def lines():
    try:
        with open(journal, "rb") as f:
            return f.read().count(b"\n")
    except OSError:
        return 0
def journal_matches():
    global seen
    try:
        with open(journal, "rb") as f:
            f.seek(len(seen))
            seen += f.read()
    except OSError:
        return False
    whole = seen[:seen.rfind(b"\n") + 1].decode("utf-8", "replace")
    return any(re.search(what, l) for l in whole.splitlines())
ready = journal_matches if kind == "journal" else lambda: bool(glob.glob(what))
def say(name, text):
    with open(f"{out}.{name}.tmp", "w") as f:
        f.write(text + "\n")
    os.rename(f"{out}.{name}.tmp", f"{out}.{name}")
with open(out, "wb") as f:
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
while True:
    if ready():
        child.send_signal(signal.SIGSTOP)
        say("paused", str(lines()))
        while not os.path.exists(f"{out}.go"):
            time.sleep(0.01)
        child.send_signal(signal.SIGCONT)
        say("status", str(child.wait()))
        break
    status = child.poll()
    if status is not None:
        say("paused", f"ended {status}")
        say("status", str(status))
        break
    time.sleep(0.0005)
PY
	e2e_pause_pid=$!
}

e2e_pause_wait() {
	local deadline=$((${EPOCHREALTIME/./} + 120000000))
	until [[ -e $1.paused ]]; do
		((${EPOCHREALTIME/./} < deadline)) || { echo "never paused"; return 1; }
		sleep 0.005
	done
	cat -- "$1.paused"
}

e2e_pause_release() {
	: >"$1.go"
	wait "$e2e_pause_pid" || true
	e2e_status=$(<"$1.status")
}

# e2e_journal_vs_hosts ID PLAYBOOK: prints every host file whose content the incident's journal
# misstates (nothing when the journal tells the truth): replaying the journal in order, a file
# step journaled "done" put its out.sha256 at undo.path, one journaled "undone" put back its
# undo.old_sha256 (or removed the file), one journaled "failed" changed nothing; each path then
# holds what the replay says. A step whose last record is "start" (a run cut off) may have done
# either: its path (read from `rekey plan --json`) is left out. A torn last line is not a record.
# BEFORE (lines "PATH MODE OWNER GROUP SHA256", as e2e_host_digest prints) is what each file
# held when the run began: with it every file the plan touches is checked, those the journal
# says nothing done of against BEFORE.
e2e_journal_vs_hosts() {
	local journal
	journal=$(e2e_incident_dir "$1")/journal.jsonl
	python3 - "$journal" <("$E2E_REKEY" plan --json "$2") <(printf '%s\n' "${3:-}") <<'PY'
import hashlib, json, re, sys
try:
    raw = open(sys.argv[1], encoding="utf-8").read()
except OSError as e:
    print(f"cannot read the journal: {e.strerror}")
    sys.exit(0)
plan = json.load(open(sys.argv[2]))
paths = {}
for s in (s for ph in plan.get("phases") or [] for s in ph.get("steps") or []):
    m = re.search(r"\b(?:replace|edit) (/\S+)", s.get("description", ""))
    if m:
        paths[s["id"]] = m.group(1)
records = []
for line in raw.split("\n"):
    try:
        rec = json.loads(line)
    except ValueError:
        continue                        # the torn last line, or the end
    if rec.get("kind") != "header":
        records.append(rec)
expect, done, last = {}, {}, {}
for line in open(sys.argv[3]):
    f = line.split()
    if len(f) == 5 and f[0] in paths.values():
        expect[f[0]] = f[4]
    elif len(f) == 2 and f[1] == "missing" and f[0] in paths.values():
        expect[f[0]] = None
for rec in records:
    step, state = rec.get("step"), rec.get("state")
    last[step] = state
    undo, out = rec.get("undo") or {}, rec.get("out") or {}
    if state == "done" and undo.get("path"):
        done[step] = undo
        if out.get("sha256"):
            expect[undo["path"]] = out["sha256"]
    elif state == "undone" and step in done:
        u = done[step]
        expect[u["path"]] = u.get("old_sha256") if u.get("existed") != "no" else None
for step, state in last.items():
    if state == "start" and step in paths:
        expect.pop(paths[step], None)
for path, want in sorted(expect.items()):
    try:
        got = hashlib.sha256(open(path, "rb").read()).hexdigest()
    except OSError:
        got = None
    if got != want:
        print(f"{path}: the journal says {want or 'absent'}, the host holds {got or 'nothing'}")
PY
}
