#!/usr/bin/env bash
# harness/lab [REKEY_BINARY]: `scripts/lab up` brings up the estate in a folder of this test's
# own (so a developer's running lab is left alone): the hosts answer over ssh, the databases over
# verified TLS, the playbook is written with absolute paths and no secret; a second `up` is a
# no-op; `rekey plan` accepts the playbook and plans every phase; `lab adapt` puts every
# playbook of playbooks/ on the lab (each plans and reaches 127.0.0.1 only, the server-key
# compromise rehearses go and changes no file); `lab down` leaves no process and no folder;
# `lab up --intermediate` serves leaves of an issuing CA, with it, verified from the root
# alone, and intermediate-compromise.yml rehearses go on it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
lab_script=$repo/scripts/lab
rekey=${1:?usage: smoke_lab.sh REKEY}
run_lab() {
	bash "$lab_script" "$@"
}
RK_T_NAME=harness/lab
# shellcheck source-path=SCRIPTDIR source=testlib.sh
. "$here/testlib.sh"
# shellcheck source-path=SCRIPTDIR source=harness.sh
. "$here/harness.sh"

if ! reason=$(harness_why_not_able ssh pg mariadb); then
	printf '%s: SKIP: %s\n' "$RK_T_NAME" "$reason" >&2
	exit 77
fi

# The lab folder goes into a searchable folder of our own (postgres and mysql must reach it).
work=$(mktemp -d)
chmod 0755 -- "$work"
export REKEY_LAB_DIR=$work/lab
lab=$REKEY_LAB_DIR
finish() {
	# Whatever failed, do not leave a lab running.
	[[ ! -e $lab ]] || run_lab down >/dev/null 2>&1 || true
	rm -rf -- "$work"
}
trap finish EXIT

rk_t_succeeds "scripts/lab up" run_lab up
rk_t_matches "up prints the playbook path and how to tear down" "$lab/lab.yml.*lab down" \
	"$(tr '\n' ' ' <<<"$rk_t_out")"
rk_t_succeeds "scripts/lab status says up" run_lab status
rk_t_succeeds "scripts/lab env prints exports" run_lab env
eval "$rk_t_out"
rk_t_equals "env names this lab" "$lab" "$REKEY_LAB_DIR"
# A copy of the servers for the checks after `down` (the harness's state file format).
mkdir -p -- "$work/state"
rk_t_record_servers "$work/state"
rk_t_equals "five servers run (three sshd, PostgreSQL, MariaDB)" 5 \
	"$(wc -l <"$work/state/servers")"

rk_t_succeeds "a second scripts/lab up is a no-op" run_lab up
rk_t_matches "it says the lab is already up" 'already up' "$rk_t_out"
rk_t_equals "and changed no port" "$REKEY_LAB_PG_PORT" "$(run_lab env |
	sed -n 's/^export REKEY_LAB_PG_PORT=//p')"

ssh_to() {
	local port=$1 user=$2
	shift 2
	ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes \
		-o UserKnownHostsFile="$RK_H_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null \
		-o IdentitiesOnly=yes -i "$RK_H_SSH_KEY" -o ConnectTimeout=10 -p "$port" \
		"$user@127.0.0.1" "$@"
}

# The estate answers the way the playbook says.
rk_t_succeeds "db1: rkadmin reads the PostgreSQL key through sudo" \
	ssh_to "$REKEY_LAB_DB1_SSH_PORT" rkadmin sudo -n head -n 1 "$lab/hosts/db1/pg/server.key"
rk_t_equals "db1: it is a private key" "-----BEGIN ""PRIVATE KEY-----" "$rk_t_out"
rk_t_succeeds "db2: rkadmin has sudo" ssh_to "$REKEY_LAB_DB2_SSH_PORT" rkadmin sudo -n id -u
rk_t_equals "db2: sudo -n id -u prints 0" 0 "$rk_t_out"
rk_t_succeeds "app1: rkuser reads the app's .env" \
	ssh_to "$REKEY_LAB_APP1_SSH_PORT" rkuser grep -c '^DB_SSL_MODE=require$' \
	"$lab/hosts/app1/srv/app/.env"
rk_t_refused "app1: rkuser has no sudo" 'a password is required' \
	ssh_to "$REKEY_LAB_APP1_SSH_PORT" rkuser sudo -n true

rk_t_succeeds "PostgreSQL serves its certificate from hosts/db1/pg" \
	openssl s_client -starttls postgres -connect "127.0.0.1:$REKEY_LAB_PG_PORT" \
	-CAfile "$lab/pki/ca.crt" -verify_ip 127.0.0.1 -verify_return_error </dev/null
rk_t_equals "the served fingerprint is hosts/db1/pg/server.crt's" \
	"$(rk_t_fingerprint_of_file "$lab/hosts/db1/pg/server.crt")" \
	"$(rk_t_fingerprint_of_output "$rk_t_out")"
pg_rekey="host=127.0.0.1 port=$REKEY_LAB_PG_PORT dbname=postgres user=rekey"
pg_rekey+=" sslmode=verify-full sslrootcert=$lab/pki/ca.crt"
rk_t_succeeds "rekey logs in to PostgreSQL with verify-full and its password file" \
	env PGPASSWORD="$(<"$lab/secrets/pg_password")" psql -X -A -t "$pg_rekey" \
	-c 'select pg_reload_conf()'
rk_t_equals "and may reload" t "$rk_t_out"
app_url=$(sed -n 's/^DATABASE_URL=//p' "$lab/hosts/app1/srv/app/.env")
rk_t_succeeds "the app's DATABASE_URL from .env logs in" \
	psql -X -A -t "$app_url" -c 'select ssl from pg_stat_ssl where pid = pg_backend_pid()'
rk_t_equals "over TLS" t "$rk_t_out"
rk_t_succeeds "MariaDB serves its certificate from hosts/db2/mariadb" \
	openssl s_client -starttls mysql -connect "127.0.0.1:$REKEY_LAB_MARIADB_PORT" \
	-CAfile "$lab/pki/ca.crt" -verify_ip 127.0.0.1 -verify_return_error </dev/null
rk_t_equals "the served fingerprint is hosts/db2/mariadb/server.crt's" \
	"$(rk_t_fingerprint_of_file "$lab/hosts/db2/mariadb/server.crt")" \
	"$(rk_t_fingerprint_of_output "$rk_t_out")"
rk_t_succeeds "rekey logs in to MariaDB with a verified certificate and runs FLUSH SSL" \
	mariadb --defaults-file="$lab/secrets/mariadb-client.cnf" -h 127.0.0.1 \
	-P "$REKEY_LAB_MARIADB_PORT" --protocol=TCP --ssl-verify-server-cert \
	--ssl-ca="$lab/pki/ca.crt" -e 'FLUSH SSL'

# The playbook.
playbook=$lab/lab.yml
rk_t_succeeds "the playbook exists" test -s "$playbook"
rk_t_equals "the CA key is mode 600" 600 "$(stat -c %a "$lab/pki/ca.key")"
rk_t_equals "db1's server key is postgres 600" "postgres 600" \
	"$(stat -c '%U %a' "$lab/hosts/db1/pg/server.key")"
for file in "$lab"/secrets/* "$lab/hosts/app1/srv/app/.env"; do
	rk_t_equals "${file#"$lab"/} is mode 600" 600 "$(stat -c %a "$file")"
done
for secret in "$(<"$lab/secrets/pg_password")" "$(<"$lab/secrets/mariadb_password")" \
	"$(sed -n 's|^DATABASE_URL=postgresql://app:\([^@]*\)@.*|\1|p' "$lab/hosts/app1/srv/app/.env")"; do
	[[ ${#secret} -ge 16 ]] || rk_t_fail "could not read back a lab password"
	! grep -qF -- "$secret" "$playbook" || rk_t_fail "a password is written into $playbook"
done
rk_t_ok "no password appears in the playbook"
# Every quoted value starting with a slash (subjects aside) is a path that exists: the lab
# creates every file the playbook names before the first rotation.
while read -r path; do
	[[ -e $path ]] || rk_t_fail "the playbook names $path, which does not exist"
done < <(grep -v 'subject:' "$playbook" | grep -o '"/[^"]*"' | tr -d '"' | sort -u)
rk_t_equals "no relative path in the playbook" "" \
	"$(grep -E '(^|[ {,])(path|cert|key|crl|identity|known_hosts|records|password_file): *"?[^"/ {]' \
		"$playbook" | grep -vE 'key: (ec-|rsa-|ed25519)' || true)"
rk_t_ok "every path in the playbook is absolute and exists"
rk_t_equals "the playbook points at the three ssh hosts' ports" \
	"$REKEY_LAB_DB1_SSH_PORT $REKEY_LAB_DB2_SSH_PORT $REKEY_LAB_APP1_SSH_PORT" \
	"$(sed -n 's/^    port: //p' "$playbook" | tr '\n' ' ' | sed 's/ $//')"

# rekey's own parser accepts the playbook, with no warning (every file it names exists), and
# plans every phase.
status=0
out=$("$rekey" plan "$playbook" 2>&1) || status=$?
if ((status != 0)); then
	rk_t_fail "rekey plan $playbook: exit status $status$(rk_t_show "$out")"
elif [[ $out == *"warning:"* ]]; then
	rk_t_fail "rekey plan warns about the lab playbook$(rk_t_show "$out")"
else
	rk_t_ok "rekey plan accepts the playbook without a warning"
fi
for phase in preflight issue revoke "distribute trust" swap reload verify "update clients" \
	"verify clients" "retire old trust" record; do
	[[ $out == *". $phase"* ]] || rk_t_fail "the lab plan lacks the phase '$phase'"
done

# plan --diff reads the app host's four client files through ssh: each edit is shown, the
# passwords in .env are not, and nothing is written.
before=$(sha256sum "$lab"/hosts/app1/srv/app/{.env,pg_service.conf,my.cnf})
rk_t_succeeds "rekey plan --diff reads the app host's files" "$rekey" plan --diff "$playbook"
diff_out=$rk_t_out
rk_t_matches "the .env edit is shown" '\+DB_SSL_MODE=verify-full' "$diff_out"
rk_t_matches "the DATABASE_URL edit is shown, its password masked" \
	"\\+DATABASE_URL='postgresql://app:\\*{8}@127.0.0.1:[0-9]+/postgres\\?sslmode=verify-full&sslrootcert=" \
	"$diff_out"
rk_t_matches "the my.cnf edit is shown" '\+ssl-verify-server-cert = 1' "$diff_out"
rk_t_matches "every client file was read" 'Client files read: 4 to change' "$diff_out"
app_password=$(sed -n 's|^DATABASE_URL=postgresql://app:\([^@]*\)@.*|\1|p' "$lab/hosts/app1/srv/app/.env")
[[ $diff_out != *"$app_password"* ]] || rk_t_fail "plan --diff prints the app's password"
rk_t_ok "plan --diff prints no password"
rk_t_equals "plan --diff wrote nothing" "$before" \
	"$(sha256sum "$lab"/hosts/app1/srv/app/{.env,pg_service.conf,my.cnf})"

# scripts/lab adapt: every playbook users copy, rewritten onto the lab.
for src in "$repo"/playbooks/*.yml; do
	name=${src##*/}
	if [[ $name == intermediate-compromise.yml ]]; then
		rk_t_refused "lab adapt $name needs a two-level PKI" 'two-level PKI' run_lab adapt "$src"
		continue
	fi
	rk_t_succeeds "scripts/lab adapt $name" run_lab adapt --id LAB-ADAPT "$src"
	rk_t_succeeds "rekey plan accepts the adapted $name" "$rekey" plan "$lab/$name"
	rk_t_equals "the adapted $name reaches 127.0.0.1 only" "" \
		"$(grep -E '^ *(address|jump):' "$lab/$name" | grep -v 'address: 127.0.0.1$' || true)"
done
host_files() {
	find "$lab/hosts" \( -name data -o -name run \) -prune -o -type f \( -name '*.crt' -o \
		-name '*.key' -o -name '*.crl' -o -name .env -o -name '*.conf' -o -name my.cnf \) \
		-print0 | sort -z | xargs -0 stat -c '%n %a %U %G %s %.9Y'
}
before=$(host_files)
rk_t_succeeds "the adapted db-server-key-compromise.yml rehearses go on the lab" \
	"$rekey" rehearse "$lab/db-server-key-compromise.yml"
rk_t_equals "and leaves every file of the hosts as it was (stat)" "$before" "$(host_files)"

rk_t_succeeds "scripts/lab down" run_lab down
rk_t_servers_are_gone "$work/state" 40
rk_t_exits_with "scripts/lab status says not up (exit 3)" 3 run_lab status

# The two-level lab, for intermediate-compromise.yml.
rk_t_succeeds "scripts/lab up --intermediate" run_lab up --intermediate
rk_t_refused "a second up without --intermediate says what is up" 'two-level PKI' run_lab up
rk_t_succeeds "scripts/lab env (two-level)" run_lab env
eval "$rk_t_out"
rk_t_record_servers "$work/state"
rk_t_succeeds "PostgreSQL's chain verifies from the root alone" \
	openssl s_client -starttls postgres -connect "127.0.0.1:$REKEY_LAB_PG_PORT" \
	-CAfile "$lab/pki/root.crt" -verify_ip 127.0.0.1 -verify_return_error -showcerts </dev/null
rk_t_equals "it sends its leaf, then the issuing CA" 2 \
	"$(grep -c 'BEGIN CERTIFICATE' <<<"$rk_t_out")"
rk_t_succeeds "rekey plan accepts the two-level lab's own playbook" "$rekey" plan "$lab/lab.yml"
rk_t_succeeds "scripts/lab adapt intermediate-compromise.yml" \
	run_lab adapt --id LAB-INTERMEDIATE "$repo/playbooks/intermediate-compromise.yml"
rk_t_succeeds "it rehearses go on the two-level lab" \
	"$rekey" rehearse "$lab/intermediate-compromise.yml"
rk_t_succeeds "scripts/lab down (two-level)" run_lab down
rk_t_servers_are_gone "$work/state" 40
