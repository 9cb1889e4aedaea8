#!/usr/bin/env bash
# A whole rotation of HOSTS hosts, first by `rekey run`, then by an Ansible playbook doing the
# same job, in one run on this machine; prints both wall times, the ratio and rekey's peak
# memory. The estate: POSTGRESQL PostgreSQL 15 and MARIADB MariaDB servers (each behind its
# own sshd host, login rkadmin with sudo), the rest app hosts (sshd, login rkuser), each with
# a .env holding DB_SSL_* settings, a client certificate, key, CA and CRL, and a check that
# logs in to its database with them. All sshd listen on 127.0.0.2 ... on one port (LAB.md (b)).
#
# The job, for both tools: issue an EC P-256 key and certificate per database server and a
# client certificate per app host from the CA; revoke each server's old certificate in the
# CRL; push certificate, key, CA and CRL with owner, mode and a backup; reload each database
# without a restart (pg_reload_conf(), FLUSH SSL), canary first; check that each serves the
# new certificate (fingerprint, chain and name verified), takes a login with full verification,
# refuses TLS older than 1.2 and a login without TLS; edit each app's .env; run each app host's
# check. rekey gets a playbook, Ansible an inventory and a playbook (community.crypto,
# community.postgresql, community.mysql; copy and lineinfile with backup: true; forks =
# WORKERS = policy.max_parallel), both written from the same host list. Each tool has its own
# copy of the CA and of the app files; the database servers are rotated by both in turn. After
# each tool, the script checks the result from outside (openssl s_client, openssl verify
# -crl_check, stat, the app's check run again).
#
# Needs root (sshd, servers run as postgres and mysql, the test users); installs Debian's
# ansible package and the Python drivers of its database modules when missing. Never run by
# ctest. REKEY_BENCH_TOOLS="ansible" (or "rekey") runs one side only; REKEY_BENCH_KEEP=DIR
# keeps the playbooks, the inventory and what both tools printed (Ansible's with the time of
# each task) in DIR.
# Usage: bench/rotate.sh [BUILD_DIR] [HOSTS] [WORKERS] [POSTGRESQL] [MARIADB]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib.sh
. "$repo/bench/lib.sh"
pg_count=${4:-2}
my_count=${5:-2}
bench_tools=${REKEY_BENCH_TOOLS:-rekey ansible}
bench_need_debian_packages python3-psycopg2 python3-pymysql
bench_init rotate.sh rekey "${@:1:3}"
dir=$RK_H_DIR
user=$RK_H_SSH_USER
admin=$RK_H_SSH_ADMIN
db_count=$((pg_count + my_count))
((db_count >= 1 && db_count < count)) ||
	{ echo "rotate.sh: need 1 to HOSTS-1 database servers" >&2; exit 2; }
incident=BENCH-ROTATION
say() { printf 'rotate.sh: %s\n' "$*"; }
die() { printf 'rotate.sh: %s\n' "$*" >&2; keep_outputs; exit 1; }
keep_outputs() {
	local f
	[[ -n ${REKEY_BENCH_KEEP:-} ]] || return 0
	mkdir -p "$REKEY_BENCH_KEEP"
	for f in rekey.yml rekey-plan.out rekey.jsonl rekey.err rekey.time inventory rotate.yml \
		ansible.out; do
		[[ ! -f $dir/$f ]] || cp "$dir/$f" "$REKEY_BENCH_KEEP/"
	done
}
seconds() { echo "$2 - $1" | bc; }
fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'; }

# ---------------------------------------------------------------------------------------------
# The estate

# Host i (1-based) is db$i for i <= db_count, else app$((i - db_count)); sshd number i.
host_name() { if (($1 <= db_count)); then echo "db$1"; else echo "app$(($1 - db_count))"; fi; }

# db_kind I: postgresql for the first pg_count database hosts, mariadb for the rest.
db_kind() { if (($1 <= pg_count)); then echo postgresql; else echo mariadb; fi; }

declare -a db_dir db_port db_password db_owner
start_databases() {
	local i kind
	for ((i = 1; i <= db_count; i++)); do
		harness_ca_issue "$dir/pki" "old-db$i" server "/O=rekey bench/CN=localhost" \
			"DNS:localhost,IP:127.0.0.1"
		kind=$(db_kind "$i")
		db_dir[i]=$dir/db/$kind$i
		db_password[i]=$dir/secrets/db$i-password
		if [[ $kind == postgresql ]]; then
			harness_start_postgresql "${db_dir[i]}" "$dir/pki/old-db$i.crt" \
				"$dir/pki/old-db$i.key" "${db_password[i]}"
			db_port[i]=$RK_H_PG_PORT
			db_owner[i]=postgres
		else
			harness_start_mariadb "${db_dir[i]}" "$dir/pki/old-db$i.crt" \
				"$dir/pki/old-db$i.key" "${db_password[i]}"
			db_port[i]=$RK_H_MY_PORT
			db_owner[i]=mysql
		fi
	done
}

# app_db J: the database host app J uses (they take turns).
app_db() { echo $((($1 - 1) % db_count + 1)); }

app_env() {	# app_env J: the .env app J has before the rotation
	local db folder=$2
	db=$(app_db "$1")
	cat <<ENV
# billing app, host app$1
APP_NAME=billing
DB_KIND=$(db_kind "$db")
DB_HOST=127.0.0.1
DB_PORT=${db_port[db]}
DB_USER=rkclient
DB_PASSWORD=not-a-real-password-$1
DB_SSL_MODE=require
DB_SSL_CA_CERT=/etc/ssl/certs/old-db-ca.crt
DB_SSL_CLIENT_CERT=$folder/certs/app.crt
DB_SSL_CLIENT_KEY=$folder/certs/app.key
LOG_LEVEL=info
ENV
}

# The app's own check, as its health check would run: read the .env as the app does, log in
# to its database with those TLS settings (the client certificate is the login).
check_script() {
	cat <<'SH'
#!/bin/sh
set -eu
set -a
. "$(dirname "$0")/app.env"
set +a
case $DB_KIND in
postgresql)
	exec psql -X -Atc 'select ssl from pg_stat_ssl where pid = pg_backend_pid()' \
		"host=$DB_HOST port=$DB_PORT dbname=postgres user=$DB_USER sslmode=$DB_SSL_MODE sslrootcert=$DB_SSL_CA_CERT sslcrl=$DB_SSL_CRL sslcert=$DB_SSL_CLIENT_CERT sslkey=$DB_SSL_CLIENT_KEY" ;;
mariadb)
	exec mariadb --no-defaults -h "$DB_HOST" -P "$DB_PORT" -u "$DB_USER" -N \
		--ssl-verify-server-cert --ssl-ca="$DB_SSL_CA_CERT" --ssl-crl="$DB_SSL_CRL" \
		--ssl-cert="$DB_SSL_CLIENT_CERT" --ssl-key="$DB_SSL_CLIENT_KEY" -e 'select 1' ;;
esac
exit 2
SH
}

make_app_folder() {	# make_app_folder J FOLDER: the app's files as they are before the rotation
	local j=$1 folder=$2
	install -d -o "$user" -g "$user" -m 0755 "$folder" "$folder/certs"
	install -o "$user" -g "$user" -m 0644 "$RK_H_CA" "$folder/certs/db-ca.crt"
	install -o "$user" -g "$user" -m 0644 "$RK_H_CA_CRL" "$folder/certs/db-ca.crl"
	install -o "$user" -g "$user" -m 0644 "$RK_H_CLIENT_CERT" "$folder/certs/app.crt"
	install -o "$user" -g "$user" -m 0600 "$RK_H_CLIENT_KEY" "$folder/certs/app.key"
	app_env "$j" "$folder" | install -o "$user" -g "$user" -m 0640 /dev/stdin "$folder/app.env"
	check_script | install -o "$user" -g "$user" -m 0755 /dev/stdin "$folder/check-db"
}

start_hosts() {
	local i j
	for ((i = 1; i <= count; i++)); do
		if ((i <= db_count)); then
			bench_start_sshd "$i" "$admin"
		else
			bench_start_sshd "$i"
			j=$((i - db_count))
			make_app_folder "$j" "$dir/targets/app$j/rekey"
			make_app_folder "$j" "$dir/targets/app$j/ansible"
		fi
	done
	bench_wait_for_sshd "$count"
}

# Each tool signs with its own copy of the CA (same key and certificate, its own CRL and
# ledger), so neither sees what the other revoked.
copy_ca() {
	local to=$1
	install -d -m 0755 "$to"
	cp -p "$RK_H_CA" "$RK_H_CA_KEY" "$RK_H_CA_CRL" "$RK_H_CA_DIR/ledger.json" "$to/"
}

# ---------------------------------------------------------------------------------------------
# rekey's playbook

write_rekey_playbook() {
	local i j kind d f app u sudo role name mode
	cat <<EOF
# Written by bench/rotate.sh: every database server's key is taken as leaked.
version: 1
incident: {id: $incident, reason: keyCompromise, summary: "bench: rotate $count hosts", records: "$dir/incidents"}
ca: {cert: "$dir/pki-rekey/ca.crt", key: "$dir/pki-rekey/ca.key", crl: "$dir/pki-rekey/ca.crl", crl_days: 7}
revoke:
EOF
	for ((i = 1; i <= db_count; i++)); do
		printf '  - cert: "%s"\n' "$dir/pki/old-db$i.crt"
	done
	printf 'certificates:\n'
	for ((i = 1; i <= db_count; i++)); do
		printf '  db%s-server: {profile: server, subject: "/O=rekey bench/CN=localhost", san: ["DNS:localhost", "IP:127.0.0.1"], key: ec-p256, days: 30}\n' "$i"
	done
	for ((j = 1; j <= count - db_count; j++)); do
		printf '  app%s-client: {profile: client, subject: "/O=rekey bench/CN=rkclient", key: ec-p256, days: 30}\n' "$j"
	done
	printf 'hosts:\n'
	for ((i = 1; i <= count; i++)); do
		u=$user sudo=false
		((i > db_count)) || u=$admin sudo=true
		printf '  %s: {transport: ssh, address: %s, port: %s, user: %s, identity: "%s", known_hosts: "%s", sudo: %s}\n' \
			"$(host_name "$i")" "$(bench_addr "$i")" "$bench_port" "$u" "$RK_H_SSH_KEY" \
			"$RK_H_KNOWN_HOSTS" "$sudo"
	done
	printf 'services:\n'
	for ((i = 1; i <= db_count; i++)); do
		kind=$(db_kind "$i") d=${db_dir[i]}
		printf '  - name: %s%s\n    host: db%s\n    kind: %s\n    certificate: db%s-server\n    files:\n' \
			"$kind" "$i" "$i" "$kind" "$i"
		for f in cert:server.crt:0644 key:server.key:0600 ca:ca.crt:0644 crl:ca.crl:0644; do
			IFS=: read -r role name mode <<<"$f"
			printf '      %s: {path: "%s/%s", owner: %s, group: %s, mode: "%s"}\n' "$role" "$d" \
				"$name" "${db_owner[i]}" "${db_owner[i]}" "$mode"
		done
		printf '    reload: sql\n'
		printf '    connect: {address: 127.0.0.1, port: %s, user: rekey, password_file: "%s"}\n' \
			"${db_port[i]}" "${db_password[i]}"
		printf '    verify: {sslmode: verify-full, min_tls: TLSv1.2}\n'
	done
	printf 'clients:\n'
	for ((j = 1; j <= count - db_count; j++)); do
		app=$dir/targets/app$j/rekey
		cat <<EOF
  - name: app$j
    host: app$j
    file: {path: "$app/app.env", format: env}
    set: {DB_SSL_MODE: verify-full, DB_SSL_CA_CERT: "$app/certs/db-ca.crt", DB_SSL_CRL: "$app/certs/db-ca.crl", DB_SSL_CLIENT_CERT: "$app/certs/app.crt", DB_SSL_CLIENT_KEY: "$app/certs/app.key"}
    files:
      ca: {path: "$app/certs/db-ca.crt", mode: "0644"}
      crl: {path: "$app/certs/db-ca.crl", mode: "0644"}
      cert: {path: "$app/certs/app.crt", certificate: app$j-client, mode: "0644"}
      key: {path: "$app/certs/app.key", certificate: app$j-client, mode: "0600"}
    verify: {command: "$app/check-db"}
EOF
	done
	printf 'policy: {max_parallel: %s, canary: 1, on_failure: rollback}\n' "$workers"
}

# ---------------------------------------------------------------------------------------------
# Ansible's inventory and playbook

# The CA's name for x509_crl, in its order: [{O: "rekey"}, {CN: "rekey test CA"}].
ca_issuer_ordered() {
	local rdn issuer=""
	local -a rdns
	IFS=/ read -r -a rdns <<<"$(openssl x509 -in "$RK_H_CA" -noout -subject -nameopt compat |
		sed 's/^subject=\///')"
	for rdn in "${rdns[@]}"; do
		issuer+="${issuer:+, }{${rdn%%=*}: \"${rdn#*=}\"}"
	done
	printf '[%s]\n' "$issuer"
}

write_inventory_body() {
	local i j kind
	for ((i = 1; i <= count; i++)); do
		if ((i <= db_count)); then
			kind=$(db_kind "$i")
			printf 'db%s ansible_host=%s ansible_user=%s cert=db%s-server kind=%s dir=%s owner=%s db_port=%s password_file=%s\n' \
				"$i" "$(bench_addr "$i")" "$admin" "$i" "$kind" "${db_dir[i]}" "${db_owner[i]}" \
				"${db_port[i]}" "${db_password[i]}"
		else
			j=$((i - db_count))
			printf 'app%s ansible_host=%s cert=app%s-client folder=%s\n' "$j" "$(bench_addr "$i")" \
				"$j" "$dir/targets/app$j/ansible"
		fi
	done
	printf '\n[db]\n'
	for ((i = 1; i <= db_count; i++)); do
		printf 'db%s\n' "$i"
	done
	printf '\n[app]\n'
	for ((j = 1; j <= count - db_count; j++)); do
		printf 'app%s\n' "$j"
	done
	printf '\n[db:vars]\nprofile=server\n\n[app:vars]\nprofile=client\n\n'
}

# The playbook as an Ansible user writes it for this job: keys and certificates made on the
# control machine (delegate_to: localhost, so forks run them side by side), the CRL once, then
# the database servers canary first (serial: [1, 100%]), then the apps.
write_ansible_playbook() {
	local i
	cat <<EOF
# Written by bench/rotate.sh: the rotation rekey's playbook describes, as an Ansible playbook.
- name: issue a key and a certificate per host
  hosts: bench
  gather_facts: false
  vars:
    out: "$dir/pki-ansible/issued"
  tasks:
    - name: private key (EC P-256)
      community.crypto.openssl_privatekey:
        path: "{{ out }}/{{ cert }}.key"
        type: ECC
        curve: secp256r1
        mode: "0600"
      delegate_to: localhost
    - name: certificate signing request
      community.crypto.openssl_csr_pipe:
        privatekey_path: "{{ out }}/{{ cert }}.key"
        subject:
          O: rekey bench
          CN: "{{ 'localhost' if profile == 'server' else 'rkclient' }}"
        subject_alt_name: "{{ ['DNS:localhost', 'IP:127.0.0.1'] if profile == 'server' else omit }}"
        extended_key_usage: "{{ ['serverAuth'] if profile == 'server' else ['clientAuth'] }}"
        basic_constraints: ["CA:FALSE"]
        basic_constraints_critical: true
      delegate_to: localhost
      register: csr
    - name: certificate signed by the CA
      community.crypto.x509_certificate:
        path: "{{ out }}/{{ cert }}.crt"
        csr_content: "{{ csr.csr }}"
        provider: ownca
        ownca_path: "$dir/pki-ansible/ca.crt"
        ownca_privatekey_path: "$dir/pki-ansible/ca.key"
        ownca_not_after: "+30d"
        mode: "0644"
      delegate_to: localhost

- name: revoke the old server certificates
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: CRL with every earlier entry kept
      community.crypto.x509_crl:
        path: "$dir/pki-ansible/ca.crl"
        crl_mode: update
        privatekey_path: "$dir/pki-ansible/ca.key"
        issuer_ordered: $(ca_issuer_ordered)
        next_update: "+7d"
        revoked_certificates:
EOF
	for ((i = 1; i <= db_count; i++)); do
		printf '          - {path: "%s", reason: key_compromise}\n' "$dir/pki/old-db$i.crt"
	done
	cat <<EOF

- name: swap the database servers' certificates, canary first
  hosts: db
  gather_facts: false
  become: true
  serial: [1, "100%"]
  vars:
    out: "$dir/pki-ansible/issued"
  module_defaults:
    community.postgresql.postgresql_query:
      login_host: 127.0.0.1
      port: "{{ db_port }}"
      login_user: rekey
      login_password: "{{ lookup('file', password_file) }}"
      db: postgres
      ssl_mode: verify-full
    community.mysql.mysql_query:
      login_host: 127.0.0.1
      login_port: "{{ db_port }}"
      login_user: rekey
      login_password: "{{ lookup('file', password_file) }}"
  tasks:
EOF
	bench_ansible_copy_task "CA and CRL first, then certificate and key" \
		"{{ dir }}/{{ item.name }}" "\"{{ owner }}\""
	cat <<EOF
        - {src: "$dir/pki-ansible/ca.crt", name: ca.crt, mode: "0644"}
        - {src: "$dir/pki-ansible/ca.crl", name: ca.crl, mode: "0644"}
        - {src: "{{ out }}/{{ cert }}.crt", name: server.crt, mode: "0644"}
        - {src: "{{ out }}/{{ cert }}.key", name: server.key, mode: "0600"}
    - name: reload PostgreSQL (no restart)
      community.postgresql.postgresql_query:
        ca_cert: "{{ dir }}/ca.crt"
        query: SELECT pg_reload_conf()
      no_log: true
      when: kind == 'postgresql'
    - name: reload MariaDB (no restart)
      community.mysql.mysql_query:
        ca_cert: "{{ dir }}/ca.crt"
        check_hostname: true
        query: FLUSH SSL
      no_log: true
      when: kind == 'mariadb'
    - name: the issued certificate's fingerprint
      community.crypto.x509_certificate_info:
        path: "{{ out }}/{{ cert }}.crt"
      delegate_to: localhost
      become: false
      register: issued
    - name: the served certificate is the new one (chain and name verified)
      ansible.builtin.shell: >-
        set -o pipefail;
        openssl s_client -starttls {{ 'postgres' if kind == 'postgresql' else 'mysql' }}
        -connect 127.0.0.1:{{ db_port }} -CAfile $dir/pki-ansible/ca.crt
        -verify_ip 127.0.0.1 -verify_return_error </dev/null 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256
      args:
        executable: /bin/bash
      delegate_to: localhost
      become: false
      register: served
      until: served.rc == 0 and (served.stdout.split('=') | last | lower) == issued.fingerprints.sha256
      retries: 30
      delay: 1
      changed_when: false
    - name: a login with full verification (PostgreSQL)
      community.postgresql.postgresql_query:
        ca_cert: "$dir/pki-ansible/ca.crt"
        query: SELECT 1
      no_log: true
      delegate_to: localhost
      become: false
      when: kind == 'postgresql'
    - name: a login with full verification (MariaDB)
      community.mysql.mysql_query:
        ca_cert: "$dir/pki-ansible/ca.crt"
        check_hostname: true
        query: SELECT 1
      no_log: true
      delegate_to: localhost
      become: false
      when: kind == 'mariadb'
    - name: TLS older than 1.2 is refused
      ansible.builtin.shell: >-
        ! openssl s_client -starttls {{ 'postgres' if kind == 'postgresql' else 'mysql' }}
        -connect 127.0.0.1:{{ db_port }} -tls1_1 -cipher DEFAULT@SECLEVEL=0 </dev/null >/dev/null 2>&1
      delegate_to: localhost
      become: false
      changed_when: false
    - name: a login without TLS is refused (PostgreSQL)
      community.postgresql.postgresql_query:
        ssl_mode: disable
        query: SELECT 1
      no_log: true
      delegate_to: localhost
      become: false
      register: plain
      failed_when: plain is succeeded
      when: kind == 'postgresql'
    - name: a login without TLS is refused (MariaDB)
      community.mysql.mysql_query:
        query: SELECT 1
      no_log: true
      delegate_to: localhost
      become: false
      register: plain
      failed_when: plain is succeeded
      when: kind == 'mariadb'

- name: point the apps at the new certificates and check them
  hosts: app
  gather_facts: false
  vars:
    out: "$dir/pki-ansible/issued"
  tasks:
EOF
	bench_ansible_copy_task "CA, CRL, client certificate and key" \
		"{{ folder }}/certs/{{ item.name }}"
	cat <<EOF
        - {src: "$dir/pki-ansible/ca.crt", name: db-ca.crt, mode: "0644"}
        - {src: "$dir/pki-ansible/ca.crl", name: db-ca.crl, mode: "0644"}
        - {src: "{{ out }}/{{ cert }}.crt", name: app.crt, mode: "0644"}
        - {src: "{{ out }}/{{ cert }}.key", name: app.key, mode: "0600"}
EOF
	bench_ansible_lineinfile_task "TLS settings of the app's .env" "{{ folder }}/app.env"
	cat <<EOF
        - {key: DB_SSL_MODE, value: verify-full}
        - {key: DB_SSL_CA_CERT, value: "{{ folder }}/certs/db-ca.crt"}
        - {key: DB_SSL_CRL, value: "{{ folder }}/certs/db-ca.crl"}
        - {key: DB_SSL_CLIENT_CERT, value: "{{ folder }}/certs/app.crt"}
        - {key: DB_SSL_CLIENT_KEY, value: "{{ folder }}/certs/app.key"}
    - name: the app's check
      ansible.builtin.command: "{{ folder }}/check-db"
      changed_when: false
EOF
}

# ---------------------------------------------------------------------------------------------
# Checks from outside, after each tool

# check_result TOOL CA CRL ISSUED BACKUP: every database serves TOOL's new certificate (verified
# against CA, name 127.0.0.1) and loads CRL, which revokes the old one; every app's .env,
# files and check are right, and each replaced file has a backup (FILE + BACKUP, a glob).
check_result() {
	local tool=$1 ca=$2 crl=$3 issued=$4 backup=$5 i j d app served starttls bak
	openssl crl -in "$crl" -noout 2>/dev/null || die "$tool: $crl is not a CRL"
	for ((i = 1; i <= db_count; i++)); do
		d=${db_dir[i]}
		starttls=postgres
		[[ $(db_kind "$i") == postgresql ]] || starttls=mysql
		served=$(openssl s_client -starttls "$starttls" -connect "127.0.0.1:${db_port[i]}" \
			-CAfile "$ca" -verify_ip 127.0.0.1 -verify_return_error </dev/null 2>/dev/null |
			openssl x509 -noout -fingerprint -sha256 | sed 's/^.*=//') ||
			die "$tool: db$i: no verified TLS handshake"
		[[ -n $served && $served == "$(fingerprint "$issued/db$i-server.crt")" ]] ||
			die "$tool: db$i does not serve the certificate it issued"
		cmp -s "$crl" "$d/ca.crl" || die "$tool: db$i has another CRL than $crl"
		openssl verify -crl_check -CAfile "$ca" -CRLfile "$crl" "$dir/pki/old-db$i.crt" \
			>/dev/null 2>&1 && die "$tool: db$i's old certificate is not revoked"
		[[ $(stat -c '%U %a' "$d/server.key") == "${db_owner[i]} 600" ]] ||
			die "$tool: db$i: server.key has $(stat -c '%U %a' "$d/server.key")"
		compgen -G "$d/server.key$backup" >/dev/null || die "$tool: db$i: no backup of server.key"
	done
	for ((j = 1; j <= count - db_count; j++)); do
		app=$dir/targets/app$j/$tool
		grep -qx 'DB_SSL_MODE=verify-full' "$app/app.env" || die "$tool: app$j: .env not edited"
		grep -qx "DB_SSL_CRL=$app/certs/db-ca.crl" "$app/app.env" ||
			die "$tool: app$j: .env has no DB_SSL_CRL"
		[[ $(stat -c '%U %a' "$app/certs/app.key") == "$user 600" ]] ||
			die "$tool: app$j: app.key has $(stat -c '%U %a' "$app/certs/app.key")"
		cmp -s "$issued/app$j-client.crt" "$app/certs/app.crt" ||
			die "$tool: app$j: not the client certificate it issued"
		cmp -s "$crl" "$app/certs/db-ca.crl" || die "$tool: app$j: another CRL"
		for bak in app.env certs/app.key; do
			compgen -G "$app/$bak$backup" >/dev/null || die "$tool: app$j: no backup of $bak"
		done
		runuser -u "$user" -- "$app/check-db" >/dev/null 2>&1 ||
			die "$tool: app$j: its check fails afterwards"
	done
}

# rekey_phases JSONL: from `rekey run --json`'s events, where the time went (bench/breakdown.py).
rekey_phases() {
	python3 "$repo/bench/breakdown.py" "$1"
}

# ---------------------------------------------------------------------------------------------
# Run

t0=$(date +%s.%N)
install -d -m 0755 "$dir/db" "$dir/targets" "$dir/incidents"
harness_make_private_folder "$dir/secrets"
start_databases
start_hosts
copy_ca "$dir/pki-rekey"
copy_ca "$dir/pki-ansible"
install -d -m 0700 "$dir/pki-ansible/issued"
write_rekey_playbook >"$dir/rekey.yml"
write_inventory_body >"$dir/inventory.body"
bench_ansible_inventory "$dir/inventory.body" >"$dir/inventory"
write_ansible_playbook >"$dir/rotate.yml"
"$build/bin/rekey" plan "$dir/rekey.yml" >"$dir/rekey-plan.out" 2>&1 ||
	{ tail -20 "$dir/rekey-plan.out" >&2; die "rekey plan refused the playbook"; }
t1=$(date +%s.%N)
say "$count hosts ($pg_count PostgreSQL, $my_count MariaDB, $((count - db_count)) apps;" \
	"sshd on 127.0.0.2-$(bench_addr "$count"):$bench_port) ready in $(seconds "$t0" "$t1") s"

rekey_s=- rekey_rss=- rekey_cpu=- ansible_s=-
if [[ " $bench_tools " == *" rekey "* ]]; then
	t0=$(date +%s.%N)
	rc=0
	/usr/bin/time -v -o "$dir/rekey.time" "$build/bin/rekey" run --json "$dir/rekey.yml" \
		>"$dir/rekey.jsonl" 2>"$dir/rekey.err" || rc=$?
	t1=$(date +%s.%N)
	rekey_s=$(seconds "$t0" "$t1")
	((rc == 0)) || { tail -5 "$dir/rekey.jsonl" "$dir/rekey.err" >&2; die "rekey run: exit $rc"; }
	rekey_rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/rekey.time")
	rekey_cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' \
		"$dir/rekey.time")
	check_result rekey "$dir/pki-rekey/ca.crt" "$dir/incidents/$incident/crl.pem" \
		"$dir/incidents/$incident/certs" '.rekey-bak-*'
	say "rekey: every database serves its new certificate, every app checked"
fi
if [[ " $bench_tools " == *" ansible "* ]]; then
	t0=$(date +%s.%N)
	ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_LOCAL_TEMP=$dir/ansible-tmp \
		ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks \
		ansible-playbook -i "$dir/inventory" -f "$workers" "$dir/rotate.yml" \
		>"$dir/ansible.out" 2>&1 || { tail -30 "$dir/ansible.out" >&2; die "ansible-playbook failed"; }
	t1=$(date +%s.%N)
	ansible_s=$(seconds "$t0" "$t1")
	check_result ansible "$dir/pki-ansible/ca.crt" "$dir/pki-ansible/ca.crl" \
		"$dir/pki-ansible/issued" '.*~'
	say "ansible: every database serves its new certificate, every app checked"
fi

keep_outputs
printf '%-8s %6s %10s %14s\n' tool hosts seconds "peak RSS"
[[ $rekey_s == - ]] || printf '%-8s %6s %10.2f %10s KiB\n' rekey "$count" "$rekey_s" "$rekey_rss"
[[ $ansible_s == - ]] || printf '%-8s %6s %10.2f %14s\n' ansible "$count" "$ansible_s" "-"
[[ $rekey_s == - ]] || printf 'rekey CPU: %s s (%.1f ms per host)\n' "$rekey_cpu" \
	"$(echo "$rekey_cpu * 1000 / $count" | bc -l)"
[[ $rekey_s == - ]] || rekey_phases "$dir/rekey.jsonl"
if [[ $rekey_s != - && $ansible_s != - ]]; then
	printf 'ratio (ansible / rekey): %.1fx\n' "$(echo "$ansible_s / $rekey_s" | bc -l)"
fi
printf 'databases: %s PostgreSQL %s, %s MariaDB %s   workers/forks: %s   ansible-core %s   libssh2 %s   cores: %s\n' \
	"$pg_count" "$("$RK_H_PG_BIN/postgres" --version | awk '{print $3}')" "$my_count" \
	"$(mariadbd --version | awk '{print $3}' | cut -d- -f1)" "$workers" \
	"$(ansible --version | sed -n '1s/.*core \([0-9.]*\).*/\1/p')" \
	"$(pkg-config --modversion libssh2 2>/dev/null || echo '?')" "$(nproc)"
