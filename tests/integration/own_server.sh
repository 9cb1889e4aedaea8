#!/usr/bin/env bash
# End to end, under with-servers.sh --ssh 2: README.md's "Rotating your own server", followed
# word for word. Every block that section marks `<!-- own-server: NAME -->` is taken out of
# README.md when the test runs and applied to a PostgreSQL 15 and a MariaDB set up as Debian
# sets them up; the section's commands then rotate both servers' certificates, and every result
# is judged from outside rekey (openssl s_client -starttls, psql and mariadb with full
# verification and without TLS, stat, openssl verify -crl_check, the servers' own settings).
# A block the test needs that is gone, one it does not know, or one that no longer holds a
# name the mapping below replaces fails the test, before any server starts where it can.
#
# The two "hosts" are this machine, reached over the harness's two sshd (db1, db2):
#   PostgreSQL  `pg_createcluster 15 rekey-own-PID -p PORT`: Debian's own layout, its
#               configuration in /etc/postgresql/15/rekey-own-PID/ (postgresql.conf ending in
#               include_dir 'conf.d', pg_hba.conf with Debian's host lines), its log in
#               /var/log/postgresql/, started, restarted and reloaded with pg_ctlcluster, psql
#               through pg_wrapper (--cluster), dropped with pg_dropcluster --stop at the end
#               (and the files it leaves in the folder removed). Only the data directory is
#               elsewhere (-d, in this run's folder), so that the harness's registry and
#               watchdog stop the server should this script be killed; no README block names
#               it. A cluster left by a killed run (its data directory gone with the harness
#               folder, its pid gone) is dropped by the next run.
#   MariaDB     a private copy of Debian's /etc/mysql (my.cnf, mariadb.cnf, conf.d/,
#               mariadb.conf.d/50-server.cnf ...), every path in it moved into this run's
#               folder; mariadbd and the mariadb client read it with --defaults-file. The data
#               directory, port and error log are given on mariadbd's command line. Debian's
#               package and its unit run one instance per machine, on 3306, which a test must
#               not take: this is the same server reading the same option files, so the
#               README's 99-tls.cnf is judged by the real mariadbd (@@ variables afterwards).
#   ssh         the harness's rkadmin (key login, `rkadmin ALL=(ALL:ALL) NOPASSWD: ALL`)
#               stands for the README's `rekey` login: a machine-wide user with sudo rights is
#               not a test's to make. The key made by the README's ssh-keygen is authorized
#               for rkadmin on both sshd (what host-login's authorized_keys line does), and
#               host-login's sudoers line is checked with visudo -cf.
#   control     root with HOME=$RK_H_DIR/own/home, so ~/rekey and ~/.ssh are this run's.
#
# Mapping of the README's names (each block must hold the ones given for it):
#   db1.example.com, db2.example.com     127.0.0.1; DNS:db1.example.com in a SAN: IP:127.0.0.1
#   port 22 of each host                 the port of its sshd (ssh-keyscan -p, hosts.*.port)
#   5432, 3306                           the free ports the two servers listen on
#   192.0.2.10 (the control machine)     127.0.0.1, in pg_hba.conf and the MariaDB account
#   listen_addresses '*', bind_address 0.0.0.0   127.0.0.1: nothing listens beyond loopback
#   15/main, 15 main, 15-main            the cluster rekey-own-PID
#   /etc/mysql/                          the private copy
#   mariadb <<EOF                        mariadb --defaults-file=the private my.cnf
#   systemctl restart mariadb            stop the private mariadbd, start it again
#   user: rekey (hosts)                  user: rkadmin
#   build/bin/rekey, /usr/local/bin/     the build's rekey, a bin/ folder put first on PATH
#   -verify_hostname db1.example.com     -verify_ip 127.0.0.1 (the name is an address here)
#   /etc/ssh/ssh_host_ed25519_key.pub    the host key of the sshd standing for that host
#   /root/ (in the walls' quotes)        the control machine's HOME
#   "copy ... to db1"                    cp into a folder the host block then runs in
#
# The walls come first, as a new user meets them: the blocks applied but for one line each
# (pg_hba.conf without its hostnossl lines, both GRANTs left out, db2's ssh-keyscan not run),
# files made 0644, a login without sudo rights, a CRL whose nextUpdate is past. `rekey plan`,
# `rekey rehearse` and `rekey verify` must print the words the README's wall-* blocks quote,
# and the README's own lines (and its crl-fix and pg-reload blocks) must be what fixes each.
# Then the rotation: plan, rehearse (GO), run, verify, the afterwards block (the record
# verified and shown, openssl s_client), and the checks from outside: each server serves its
# new certificate and never restarted, psql and mariadb log in with verify-full and are refused
# without TLS, keys 0600 and certificates 0644 with the servers' owners, db1's old certificate
# revoked (keyCompromise) in every CRL and db2's not, the run's CRL newer than crl-fix's, the
# old key in the backup rekey left beside the new one.
#
# OWN_README=FILE follows another copy of the README (to see the test refuse a broken one).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RK_T_NAME=e2e/own-server
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$here/e2e_lib.sh"

# Debian's tools for its clusters and MariaDB's: without them, skip (ctest's 77), as
# with-servers.sh does for the servers it starts.
if ! why=$(harness_why_not_able pg mariadb); then
	printf '%s: SKIP: %s\n' "$rk_t_name" "$why" >&2
	exit 77
fi
for tool in pg_createcluster pg_ctlcluster pg_dropcluster pg_conftool mariadbd; do
	if ! command -v "$tool" >/dev/null; then
		printf '%s: SKIP: %s not installed (scripts/install-deps.sh installs it)\n' \
			"$rk_t_name" "$tool" >&2
		exit 77
	fi
done

REKEY=$(realpath -- "${1:?usage: own_server.sh REKEY}")
README=$(realpath -- "${OWN_README:-$here/../../README.md}")

# Stops the test, from the script itself or from a command substitution within it: a block
# that is missing must not run as an empty script.
own_main=$BASHPID
trap 'exit 1' USR1
own_die() {
	printf '%s: FAIL: %s\n' "$rk_t_name" "$*" >&2
	[[ $BASHPID == "$own_main" ]] || kill -USR1 "$own_main"
	exit 1
}

# ---------------------------------------------------------------------------------------------
# The README's blocks

# own_snippet NAME: the body of the fenced block on the line after `<!-- own-server: NAME -->`.
own_snippet() {
	local body status=0
	body=$(awk -v marker="<!-- own-server: $1 -->" '
		$0 == marker { n++; state = 1; next }
		state == 1 { if ($0 ~ /^```/) { state = 2; next } bad = 1; state = 0 }
		state == 2 { if ($0 == "```") { state = 0; closed++; next } print }
		END { exit !(n == 1 && closed == 1 && !bad) }' "$README") || status=$?
	((status == 0)) && [[ -n $body ]] ||
		own_die "README.md has no block marked <!-- own-server: $1 --> (exactly one, a fenced" \
			"block on the next line)"
	printf '%s\n' "$body"
}

# own_subst TEXT FROM TO [FROM TO]...: TEXT with every FROM replaced by its TO, in order. A
# FROM that TEXT does not hold fails: the README changed, and the mapping must follow it.
own_subst() {
	local text=$1 from to
	shift
	while (($# >= 2)); do
		from=$1 to=$2
		shift 2
		[[ $text == *"$from"* ]] ||
			own_die "a README block no longer holds '$from':$(rk_t_show "$text")"
		text=${text//"$from"/"$to"}
	done
	printf '%s\n' "$text"
}

# The names of db1 and db2 in certificates and commands.
own_names=(DNS:db1.example.com IP:127.0.0.1 DNS:db2.example.com IP:127.0.0.1)

# own_block NAME [FROM TO]...: the block NAME, mapped.
own_block() {
	local text
	text=$(own_snippet "$1")
	shift
	own_subst "$text" "$@"
}

# own_target TEXT: the file a configuration block goes into, from its first line "# PATH" or
# "# PATH, where".
own_target() {
	local first=${1%%$'\n'*} path
	[[ $first =~ ^#\ (~?/[^ ,]+) ]] || own_die "the block's first line names no file: $first"
	path=${BASH_REMATCH[1]}
	printf '%s\n' "${path/#\~/$HOME}"
}

# own_sh WHAT DIR TEXT: runs TEXT with bash -e in DIR; its output into $OWN/log/WHAT.
own_sh() {
	local what=$1 dir=$2 text=$3 status=0
	mkdir -p -- "$OWN/log"
	(cd -- "$dir" && bash -euo pipefail -c "$text") >"$OWN/log/$what" 2>&1 || status=$?
	((status == 0)) || own_die "$what: exit status $status$(rk_t_show "$(<"$OWN/log/$what")")"
	rk_t_ok "$what"
}

# own_commands TEXT: the commands of a block one per line, continuation lines joined.
own_commands() {
	local line joined=""
	while IFS= read -r line; do
		if [[ $line == *\\ ]]; then
			joined+="${line%\\} "
			continue
		fi
		joined+=$line
		[[ -z $joined ]] || printf '%s\n' "$joined"
		joined=""
	done <<<"$1"
}

# own_wall NAME OUTPUT [FROM TO]...: every line of the README's block wall-NAME is in OUTPUT
# (rekey's words), "..." standing for anything; FROM TO pairs map the README's names first,
# then those of every block (db1.example.com, 192.0.2.10, /root/ for the control machine's
# home).
own_wall() {
	local name=$1 output=$2 want line re missing=""
	shift 2
	want=$(own_snippet "wall-$name")
	want=$(own_subst "$want" "$@")
	while IFS= read -r line; do
		[[ -n $line ]] || continue
		line=${line//db1.example.com/127.0.0.1}
		line=${line//db2.example.com/127.0.0.1}
		line=${line//192.0.2.10/127.0.0.1}
		line=${line//\/root\//$HOME/}
		re=$(sed -e 's/[][\\.*^$(){}+?|/]/\\&/g' -e 's/\\\.\\\.\\\./.*/g' <<<"$line")
		grep -qE -- "$re" <<<"$output" || missing+=$'\n'"    | $line"
	done <<<"$want"
	if [[ -z $missing ]]; then
		e2e_ok "wall $name: rekey says what the README quotes"
	else
		e2e_bad "wall $name: rekey no longer says:$missing$(rk_t_show "$output")"
	fi
}

# Every block this test applies, and no other: a block added to the section that the test
# does not apply, or one the test needs that is gone, fails before any server starts.
own_blocks=(path ca ssh-key host-login known-hosts host-fingerprint pg-files postgresql.conf
	pg_hba.conf pg-restart pg-sql mariadb-files mariadb.cnf mariadb-restart mariadb-sql playbook
	rotate afterwards wall-key-mode wall-host-key wall-sudo wall-reload wall-plaintext pg-reload
	wall-crl crl-fix)
for name in "${own_blocks[@]}"; do
	own_snippet "$name" >/dev/null
done
e2e_equal "README.md marks exactly the blocks this test applies" \
	"$(printf '%s\n' "${own_blocks[@]}" | sort)" \
	"$(sed -n 's/^<!-- own-server: \(.*\) -->$/\1/p' "$README" | sort)"
((e2e_failed == 0)) || own_die "the README's marked blocks and this test disagree"

read -r -a ssh_ports <<<"${RK_H_SSH_PORTS:?run under with-servers.sh --ssh 2}"
read -r -a ssh_dirs <<<"$RK_H_SSH_DIRS"
((${#ssh_ports[@]} >= 2)) || { echo "own-server: needs --ssh 2" >&2; exit 1; }
OWN=$RK_H_DIR/own
mkdir -p -- "$OWN"
chmod 0755 -- "$OWN"
unset "${!PG@}" "${!MYSQL@}"

# ---------------------------------------------------------------------------------------------
# db1: a Debian PostgreSQL cluster

pg_cluster=rekey-own-$$
pg_etc=/etc/postgresql/15/$pg_cluster
pg_log=/var/log/postgresql/postgresql-15-$pg_cluster.log
pg_dir=$OWN/pg			# its data directory is pg_dir/data, as the harness's registry wants
PG_PORT=

# Clusters of killed runs: named rekey-own-*, their data directory gone with their folder.
own_pg_sweep() {
	local conf name data
	for conf in /etc/postgresql/15/rekey-own-*/postgresql.conf; do
		[[ -f $conf ]] || continue
		name=$(basename -- "$(dirname -- "$conf")")
		data=$(sed -n "s/^data_directory = '\([^']*\)'.*/\1/p" "$conf")
		[[ -n $data && ! -d $data ]] || continue
		# Its run's pid, gone too: a run that is making its cluster has no data folder yet.
		! harness_pid_is_alive "${name#rekey-own-}" || continue
		rk_t_note "dropping $name, left by a killed run"
		pg_dropcluster --stop 15 "$name" >/dev/null 2>&1 || true
		rm -rf -- "/etc/postgresql/15/$name"
		rm -f -- "/var/log/postgresql/postgresql-15-$name.log"
	done
}

# pg_dropcluster leaves the files it did not make (the TLS files, rekey's backups, conf.d/tls.conf)
# and so the folder: those go too.
own_pg_drop() {
	[[ -d $pg_etc ]] || return 0
	pg_dropcluster --stop 15 "$pg_cluster" >/dev/null 2>&1 || true
	rm -rf -- "$pg_etc"
	rm -f -- "$pg_log"
}

# The cluster as Debian's package makes it, running: pg_createcluster, pg_ctlcluster start.
own_pg_create() {
	harness_register_server postgresql own-pg "$pg_dir"
	mkdir -p -- "$pg_dir"
	chown postgres:postgres -- "$pg_dir"
	PG_PORT=$(harness_pick_free_port)
	harness_run_or_show "pg_createcluster" pg_createcluster 15 "$pg_cluster" -p "$PG_PORT" \
		-d "$pg_dir/data" || own_die "pg_createcluster failed"
	own_pg_start
}

# pg_ctlcluster start, on another free port when the port was taken meanwhile.
own_pg_start() {
	local attempt
	for attempt in 1 2 3; do
		if harness_run_or_show "pg_ctlcluster start" pg_ctlcluster 15 "$pg_cluster" start; then
			return 0
		fi
		grep -q 'could not bind' "$pg_log" 2>/dev/null && ((attempt < 3)) ||
			own_die "pg_ctlcluster start failed$(rk_t_show "$(tail -n 20 "$pg_log" 2>&1)")"
		PG_PORT=$(harness_pick_free_port)
		pg_conftool 15 "$pg_cluster" set port "$PG_PORT"
	done
}

# SQL from stdin as the postgres superuser, over Debian's socket. From /: postgres may not
# enter the folder the test runs in (a private build tree), and psql says so on stderr.
own_pg_superuser() {
	(cd / && sudo -u postgres psql --cluster "15/$pg_cluster" -X -q -A -t -v ON_ERROR_STOP=1 \
		-d postgres -f -)
}

own_pg_pid() {
	head -n 1 -- "$pg_dir/data/postmaster.pid"
}

# ---------------------------------------------------------------------------------------------
# db2: MariaDB reading a copy of Debian's /etc/mysql

my_dir=$OWN/db2			# data/ and mariadb.launch.pid, as the harness's registry wants
my_etc=$my_dir/etc/mysql
my_run=$my_dir/run/mysqld
MY_PORT=
# Small buffers, as the harness's instances: a test need not take 128 MB.
my_small=(--innodb-buffer-pool-size=16M --innodb-log-file-size=16M --innodb-use-native-aio=0)

# Debian's option files, every path in them moved below my_dir.
own_my_layout() {
	local f
	mkdir -p -- "$my_etc" "$my_run" "$my_dir/data"
	cp -a -- /etc/mysql/conf.d /etc/mysql/mariadb.conf.d "$my_etc/"
	cp -- /etc/mysql/mariadb.cnf "$my_etc/mariadb.cnf"
	cp -L -- /etc/mysql/my.cnf "$my_etc/my.cnf"
	for f in "$my_etc"/*.cnf "$my_etc"/*/*.cnf; do
		sed -i -e "s#/etc/mysql/#$my_etc/#g" -e "s#/run/mysqld/#$my_run/#g" -- "$f"
	done
	grep -q "^!includedir $my_etc/mariadb.conf.d/" "$my_etc/my.cnf" ||
		own_die "Debian's /etc/mysql/my.cnf no longer includes mariadb.conf.d/"
	chown mysql:mysql -- "$my_run" "$my_dir/data"
	chmod 0755 -- "$my_dir" "$my_dir/run" "$my_dir/etc"
	harness_register_server mariadb own-mariadb "$my_dir"
	harness_run_or_show "mariadb-install-db" env -C / mariadb-install-db \
		--defaults-file="$my_etc/my.cnf" --user=mysql --datadir="$my_dir/data" \
		--auth-root-authentication-method=socket --skip-test-db "${my_small[@]}" ||
		own_die "mariadb-install-db failed"
}

own_my_pid() {
	harness_read_pid_file "$my_run/mysqld.pid" || harness_read_pid_file "$my_dir/mariadb.launch.pid"
}

own_my_answers_or_died() {
	harness_pid_is_alive "$1" || return 0
	mariadb-admin --defaults-file="$my_etc/my.cnf" --connect-timeout=2 ping >/dev/null 2>&1
}

# Starts mariadbd on the private option files, on another free port when the port was taken.
own_my_start() {
	local attempt pid
	for attempt in 1 2 3; do
		[[ -n $MY_PORT && $attempt == 1 ]] || MY_PORT=$(harness_pick_free_port)
		: >"$my_dir/error.log"
		chown mysql:mysql -- "$my_dir/error.log"
		pid=$(
			harness_close_fds_above_stderr
			setsid mariadbd --defaults-file="$my_etc/my.cnf" --user=mysql \
				--datadir="$my_dir/data" --port="$MY_PORT" --log-error="$my_dir/error.log" \
				"${my_small[@]}" \
				</dev/null >/dev/null 2>&1 &
			printf '%s\n' "$!" | tee "$my_dir/mariadb.launch.pid"
		)
		if RK_H_QUIET=1 harness_wait_until 30 "MariaDB answers" own_my_answers_or_died "$pid" &&
			harness_pid_is_alive "$pid" &&
			harness_wait_until 10 "mariadbd listens on $MY_PORT" \
				harness_pid_listens_on "$pid" "$MY_PORT"; then
			return 0
		fi
		harness_stop_pid "$pid" "$my_dir/data"
		grep -q 'Bind on TCP/IP port' "$my_dir/error.log" && ((attempt < 3)) ||
			own_die "mariadbd did not start$(rk_t_show "$(<"$my_dir/error.log")")"
	done
}

own_my_stop() {
	local pid
	pid=$(own_my_pid) || return 0
	harness_stop_pid "$pid" "$my_dir/data"
	rm -f -- "$my_dir/mariadb.launch.pid"
}

# SQL from stdin as MariaDB's root over the socket (unix_socket, as Debian installs it).
own_my_root() {
	mariadb --defaults-file="$my_etc/my.cnf" -N
}

own_cleanup() {
	own_pg_drop
	own_my_stop
}

# ---------------------------------------------------------------------------------------------
# The stock servers, before the README

trap 'own_cleanup' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
own_pg_sweep
own_pg_create
own_my_layout
own_my_start
rk_t_note "stock PostgreSQL 15/$pg_cluster on $PG_PORT and MariaDB on $MY_PORT" \
	"in $(e2e_elapsed)"

export HOME=$OWN/home
mkdir -p -- "$HOME"
chmod 0700 -- "$HOME"
db1_ssh=${ssh_ports[0]} db2_ssh=${ssh_ports[1]}
db1_dir=${ssh_dirs[0]} db2_dir=${ssh_dirs[1]}

# ---------------------------------------------------------------------------------------------
# 1. rekey on the control machine

# /usr/local/bin is on a root's PATH already, as Debian sets it.
mkdir -p -- "$OWN/usr/local/bin"
export PATH=$OWN/usr/local/bin:$PATH
own_sh path "$HOME" "$(own_block path build/bin/rekey "$REKEY" \
	/usr/local/bin/rekey "$OWN/usr/local/bin/rekey")"
e2e_equal "rekey is on PATH" "$OWN/usr/local/bin/rekey" "$(command -v rekey)"
own_sh ca "$HOME" "$(own_block ca "${own_names[@]}" db1.example.com 127.0.0.1 \
	db2.example.com 127.0.0.1)"
work=$HOME/rekey
e2e_equal "the control folder, the CA key and the passwords are private" \
	"700 700 600 600 600" \
	"$(stat -c %a -- "$work" "$work/secrets" "$work/pki/ca.key" "$work/secrets/pg-rekey" \
		"$work/secrets/mariadb-rekey" | tr '\n' ' ' | sed 's/ $//')"

# ---------------------------------------------------------------------------------------------
# 2. The ssh side

own_sh ssh-key "$HOME" "$(own_snippet ssh-key)"
# host-login: the harness's rkadmin is the login; the README's key is authorized for it.
host_login=$(own_snippet host-login)
for dir in "$db1_dir" "$db2_dir"; do
	cat -- "$HOME/.ssh/rekey_ed25519.pub" >>"$dir/ak/$RK_H_SSH_ADMIN"
done
sudoers_line=$(sed -n "s/^echo '\(.*\)' >\/etc\/sudoers.d\/rekey$/\1/p" <<<"$host_login")
[[ -n $sudoers_line ]] || own_die "host-login has no echo '...' >/etc/sudoers.d/rekey line"
printf '%s\n' "$(own_subst "$sudoers_line" "rekey ALL" "$RK_H_SSH_ADMIN ALL")" \
	>"$OWN/sudoers-rekey"
chmod 0440 -- "$OWN/sudoers-rekey"
e2e_check "the README's sudoers line parses (visudo -cf)" visudo -cf "$OWN/sudoers-rekey"

known_hosts=$(own_block known-hosts "-p 22 db1.example.com" "-p $db1_ssh 127.0.0.1" \
	"-p 22 db2.example.com" "-p $db2_ssh 127.0.0.1")
# db2's line is left out for now: the unknown host key is a wall below.
own_sh known-hosts-db1 "$HOME" "$(grep -v -- "-p $db2_ssh " <<<"$known_hosts")"

# ---------------------------------------------------------------------------------------------
# 3. PostgreSQL on db1, 4. MariaDB on db2 (the walls' lines left out, see below)

own_copy_to_host() {	# own_copy_to_host DIR FILE...: what "copy ... to db1" does here
	local dir=$1
	shift
	mkdir -p -- "$dir"
	cp -- "$@" "$dir/"
}

own_pg_paths=(/etc/postgresql/15/main/ "$pg_etc/")
own_copy_to_host "$OWN/copied/db1" "$work"/pki/{ca.crt,ca.crl} "$work"/pki/issued/db1.{crt,key}
own_sh pg-files "$OWN/copied/db1" "$(own_block pg-files "${own_pg_paths[@]}")"

pg_conf=$(own_block postgresql.conf "${own_pg_paths[@]}" \
	"listen_addresses = '*'" "listen_addresses = '127.0.0.1'")
target=$(own_target "$pg_conf")
install -o postgres -g postgres -m 0644 /dev/null "$target"
printf '%s\n' "$pg_conf" >"$target"

pg_hba=$(own_block pg_hba.conf "${own_pg_paths[@]}" 192.0.2.10/32 127.0.0.1/32)
pg_hba_file=$(own_target "$pg_hba")
[[ $pg_hba_file == "$pg_etc/pg_hba.conf" ]] || own_die "pg_hba.conf block names $pg_hba_file"
cp -p -- "$pg_hba_file" "$OWN/pg_hba.conf.debian"
grep -q '^host' "$pg_hba_file" || own_die "Debian's pg_hba.conf has no host line"

# own_hba_insert LINES: LINES above the first host line of Debian's pg_hba.conf.
own_hba_insert() {
	LINES=$1 awk '!done && /^host/ { print ENVIRON["LINES"]; done = 1 } { print }' \
		"$OWN/pg_hba.conf.debian" >"$pg_hba_file"
}
own_hba_insert "$(grep -v '^hostnossl' <<<"$pg_hba")"
own_sh pg-restart / "$(own_block pg-restart "15 main" "15 $pg_cluster")"
e2e_equal "PostgreSQL takes conf.d/tls.conf over Debian's postgresql.conf (current_setting)" \
	"on 127.0.0.1 $pg_etc/server.crt $pg_etc/server.key $pg_etc/ca.crl" \
	"$(own_pg_superuser <<<"SELECT concat_ws(' ', current_setting('ssl'),
		current_setting('listen_addresses'), current_setting('ssl_cert_file'),
		current_setting('ssl_key_file'), current_setting('ssl_crl_file'))" 2>&1)"

pg_sql=$(own_block pg-sql "15/main" "15/$pg_cluster")
PW=$(<"$work/secrets/pg-rekey") own_sh pg-sql-without-grant / "$(grep -v '^GRANT' <<<"$pg_sql")"

own_my_paths=(/etc/mysql/ "$my_etc/")
own_copy_to_host "$OWN/copied/db2" "$work"/pki/{ca.crt,ca.crl} "$work"/pki/issued/db2.{crt,key}
own_sh mariadb-files "$OWN/copied/db2" "$(own_block mariadb-files "${own_my_paths[@]}")"
my_conf=$(own_block mariadb.cnf "${own_my_paths[@]}" "bind_address = 0.0.0.0" \
	"bind_address = 127.0.0.1")
target=$(own_target "$my_conf")
printf '%s\n' "$my_conf" >"$target"
chmod 0644 -- "$target"
[[ $(own_snippet mariadb-restart) == "systemctl restart mariadb" ]] ||
	own_die "mariadb-restart is no longer 'systemctl restart mariadb'"
own_my_stop
own_my_start
rk_t_ok "mariadb-restart"
e2e_equal "MariaDB takes 99-tls.cnf over Debian's 50-server.cnf (@@ variables)" \
	"127.0.0.1 ON $my_etc/ssl/server.crt $my_etc/ssl/ca.crl TLSv1.2,TLSv1.3" \
	"$(own_my_root <<<"SELECT CONCAT_WS(' ', @@bind_address, @@require_secure_transport,
		@@ssl_cert, @@ssl_crl, @@tls_version)" 2>&1)"
my_sql=$(own_block mariadb-sql "mariadb <<EOF" "mariadb --defaults-file=$my_etc/my.cnf <<EOF" \
	192.0.2.10 127.0.0.1)
PW=$(<"$work/secrets/mariadb-rekey") own_sh mariadb-sql-without-grant / \
	"$(grep -v '^GRANT' <<<"$my_sql")"

# ---------------------------------------------------------------------------------------------
# 5. The playbook

playbook=$(own_block playbook \
	"db1.example.com, port: 22, user: rekey," "127.0.0.1, port: $db1_ssh, user: $RK_H_SSH_ADMIN," \
	"db2.example.com, port: 22, user: rekey," "127.0.0.1, port: $db2_ssh, user: $RK_H_SSH_ADMIN," \
	"${own_names[@]}" db1.example.com 127.0.0.1 db2.example.com 127.0.0.1 \
	"${own_pg_paths[@]}" postgresql-15-main.log "postgresql-15-$pg_cluster.log" \
	"${own_my_paths[@]}" "port: 5432" "port: $PG_PORT" "port: 3306" "port: $MY_PORT")
target=$(own_target "$playbook")
printf '%s\n' "$playbook" >"$target"
rk_t_note "playbook written to $target"

# ---------------------------------------------------------------------------------------------
# The walls, each made real, then fixed by the README's own lines

# own_rekey NAME COMMAND...: rekey COMMAND in ~/rekey, its output into $OWN/log/NAME; sets
# own_status and own_out.
own_rekey() {
	local name=$1
	shift
	own_status=0
	(cd -- "$work" && rekey "$@") >"$OWN/log/$name" 2>&1 || own_status=$?
	own_out=$(<"$OWN/log/$name")
}

# own_expect_status WHAT WANT: the last own_rekey exited WANT.
own_expect_status() {
	if [[ $own_status == "$2" ]]; then
		e2e_ok "$1: exit status $2"
	else
		e2e_bad "$1: exit status $own_status, want $2$(rk_t_show "$own_out")"
	fi
}

# Private files others may read, and a key mode that lets them: plan refuses each on its line.
cp -p -- "$work/estate.yml" "$OWN/estate.yml.good"
sed -i 's#^\(      key:  {path: /etc/postgresql/.*\)mode: "0600"}$#\1mode: "0644"}#' \
	"$work/estate.yml"
chmod 0644 -- "$HOME/.ssh/rekey_ed25519" "$work/pki/ca.key" "$work/secrets/pg-rekey"
own_rekey plan-key-mode plan estate.yml
own_expect_status "wall key-mode: rekey plan" 2
own_wall key-mode "$own_out"
chmod 0600 -- "$HOME/.ssh/rekey_ed25519" "$work/pki/ca.key" "$work/secrets/pg-rekey"
cp -p -- "$OWN/estate.yml.good" "$work/estate.yml"

# A login without sudo rights: db1 through rkuser, whom the harness gives no sudoers line.
cat -- "$HOME/.ssh/rekey_ed25519.pub" >>"$db1_dir/ak/$RK_H_SSH_USER"
sed "s/port: $db1_ssh, user: $RK_H_SSH_ADMIN,/port: $db1_ssh, user: $RK_H_SSH_USER,/" \
	"$work/estate.yml" >"$work/no-sudo.yml"
own_rekey rehearse-no-sudo rehearse no-sudo.yml
own_expect_status "wall sudo: rekey rehearse" 1
own_wall sudo "$own_out"
rm -f -- "$work/no-sudo.yml"

# db2's host key unknown, no GRANT on either server, no hostnossl line: the first rehearsal
# stops at db2's host key and PostgreSQL's reload privilege.
own_rekey rehearse-1 rehearse estate.yml
own_expect_status "walls: the first rehearsal" 1
rehearse1=$own_out
own_wall host-key "$rehearse1" "db2.example.com offered" "[127.0.0.1]:$db2_ssh offered" \
	"-p 22 db2.example.com" "-p $db2_ssh 127.0.0.1"

# Fixes: db2's ssh-keyscan line, its fingerprint checked as the host shows it; the GRANT.
own_sh known-hosts-db2 "$HOME" "$(grep -- "-p $db2_ssh " <<<"$known_hosts")"
own_sh known-hosts-list "$HOME" "$(grep '^ssh-keygen ' <<<"$known_hosts")"
for i in 0 1; do
	shown=$(own_block host-fingerprint /etc/ssh/ssh_host_ed25519_key.pub \
		"${ssh_dirs[i]}/hk_ed25519.pub")
	own_sh "host-fingerprint-db$((i + 1))" / "$shown"
	e2e_equal "db$((i + 1)): the fingerprint ssh-keyscan took is the one the host shows" \
		"$(awk '{ print $2 }' "$OWN/log/host-fingerprint-db$((i + 1))")" \
		"$(awk -v h="[127.0.0.1]:${ssh_ports[i]}" '$3 == h { print $2 }' \
			"$OWN/log/known-hosts-list")"
done
PW=$(<"$work/secrets/pg-rekey") own_sh pg-sql-grant / "$(grep -v '^CREATE' <<<"$pg_sql")"

# The second rehearsal gets further: MariaDB's reload privilege, PostgreSQL's plaintext login.
own_rekey rehearse-2 rehearse estate.yml
own_expect_status "walls: the second rehearsal" 1
rehearse2=$own_out
own_wall reload "$rehearse1$rehearse2"
own_rekey verify-plaintext verify estate.yml
own_expect_status "wall plaintext: rekey verify" 1
own_wall plaintext "$rehearse2$own_out"
e2e_check "wall plaintext: psql without TLS gets in before the fix (by Debian's host line)" \
	env PGPASSWORD="$(<"$work/secrets/pg-rekey")" psql -X -A -t \
	"host=127.0.0.1 port=$PG_PORT dbname=postgres user=rekey sslmode=disable" -c 'select 1' \
	-o /dev/null

# Fixes: MariaDB's GRANT; pg_hba.conf as the README gives it, and a reload.
PW=$(<"$work/secrets/mariadb-rekey") own_sh mariadb-sql-grant / \
	"$(grep -v '^CREATE' <<<"$my_sql")"
own_hba_insert "$pg_hba"
own_sh pg-reload / "$(own_block pg-reload "15 main" "15 $pg_cluster")"

# A week later: the CRL pki init signed has expired. Made so at once by the same CA signing a
# CRL, empty as pki init's, whose nextUpdate is past (openssl ca -gencrl, as e2e/rehearse).
crl_dir=$OWN/expired-crl
mkdir -p -- "$crl_dir"
: >"$crl_dir/index.txt"
echo 01 >"$crl_dir/crlnumber"
printf '[ca]\ndefault_ca = old\n[old]\ndatabase = %s\ncrlnumber = %s\ndefault_md = sha384\n' \
	"$crl_dir/index.txt" "$crl_dir/crlnumber" >"$crl_dir/openssl.cnf"
e2e_equal "pki init's CRL is empty" "" \
	"$(openssl crl -in "$work/pki/ca.crl" -noout -text | grep 'Serial Number' || true)"
harness_run_or_show "openssl ca -gencrl" openssl ca -config "$crl_dir/openssl.cnf" -gencrl \
	-cert "$work/pki/ca.crt" -keyfile "$work/pki/ca.key" -crl_lastupdate 20200101000000Z \
	-crl_nextupdate 20200108000000Z -out "$work/pki/ca.crl" || own_die "openssl ca -gencrl failed"
own_rekey rehearse-crl rehearse estate.yml
own_expect_status "wall crl: rekey rehearse" 1
rehearse_crl=$own_out
own_rekey verify-crl verify estate.yml
own_expect_status "wall crl: rekey verify" 1
own_wall crl "$rehearse_crl$own_out"
own_sh crl-fix "$HOME" "$(own_snippet crl-fix)"
crl_number_fixed=$(openssl crl -in "$work/pki/ca.crl" -noout -crlnumber | cut -d= -f2)

# ---------------------------------------------------------------------------------------------
# 6. Plan, rehearse, run, verify; 7. afterwards

inc=$work/incidents/DB1-KEY-LEAK
pg_pid_before=$(own_pg_pid)
my_pid_before=$(own_my_pid)
ran=()
wd=$HOME
while IFS= read -r cmd; do
	if [[ $cmd == "cd "* ]]; then
		wd=${cmd#cd }
		wd=${wd/#\~/$HOME}
		continue
	fi
	[[ $cmd =~ ^rekey\ ([a-z]+)\ estate.yml$ ]] ||
		own_die "the rotate block holds '$cmd', not 'rekey COMMAND estate.yml'"
	sub=${BASH_REMATCH[1]}
	ran+=("$sub")
	started=${EPOCHREALTIME/./}
	status=0
	(cd -- "$wd" && bash -c "$cmd") >"$OWN/log/rotate-$sub" 2>&1 || status=$?
	rk_t_note "rekey $sub took $(e2e_elapsed "$started")"
	if ((status == 0)); then
		e2e_ok "rekey $sub estate.yml exits 0"
	else
		e2e_bad "rekey $sub estate.yml exits $status$(rk_t_show "$(<"$OWN/log/rotate-$sub")")"
	fi
done < <(own_commands "$(own_snippet rotate)")
e2e_equal "the rotate block is plan, rehearse, run, verify" "plan rehearse run verify" "${ran[*]}"
e2e_matches "the rehearsal says GO" $'(^|\n)GO: ' "$(<"$OWN/log/rotate-rehearse")"
e2e_matches "the run says pg verified" $'\nservice pg +db1 +verified ' "$(<"$OWN/log/rotate-run")"
e2e_matches "the run says mariadb verified" $'\nservice mariadb +db2 +verified ' \
	"$(<"$OWN/log/rotate-run")"
e2e_matches "verify: pg ok" $'\npg +127\\.0\\.0\\.1:[0-9]+ +TLSv1\\.[23] .* ok\n' \
	"$(<"$OWN/log/rotate-verify")"
e2e_matches "verify: mariadb ok" $'\nmariadb +127\\.0\\.0\\.1:[0-9]+ +TLSv1\\.[23] .* ok\n' \
	"$(<"$OWN/log/rotate-verify")"

afterwards=$(own_block afterwards "db1.example.com:5432" "127.0.0.1:$PG_PORT" \
	"-verify_hostname db1.example.com" "-verify_ip 127.0.0.1")
n=0
while IFS= read -r cmd; do
	n=$((n + 1))
	status=0
	(cd -- "$work" && bash -c "$cmd") >"$OWN/log/afterwards-$n" 2>&1 || status=$?
	if ((status == 0)); then
		e2e_ok "afterwards: ${cmd:0:60}... exits 0"
	else
		e2e_bad "afterwards: $cmd: exit status $status$(rk_t_show "$(<"$OWN/log/afterwards-$n")")"
	fi
done < <(own_commands "$afterwards")

# From outside: what each server serves, who gets in, what lies on the hosts.
own_s_client() {
	openssl s_client -starttls "$1" -connect "127.0.0.1:$2" -CAfile "$work/pki/ca.crt" \
		-CRL "$work/pki/ca.crl" -crl_check -verify_ip 127.0.0.1 -verify_return_error \
		</dev/null
}
e2e_check_served "PostgreSQL serves the incident's db1-server" postgres "$PG_PORT" \
	"$inc/certs/db1-server.crt"
e2e_check_served "MariaDB serves the incident's db2-server" mysql "$MY_PORT" \
	"$inc/certs/db2-server.crt"
e2e_check "PostgreSQL: chain, CRL and IP verify (openssl s_client -starttls postgres)" \
	own_s_client postgres "$PG_PORT"
e2e_check "MariaDB: chain, CRL and IP verify (openssl s_client -starttls mysql)" \
	own_s_client mysql "$MY_PORT"
e2e_equal "PostgreSQL never restarted (the postmaster's pid)" "$pg_pid_before" "$(own_pg_pid)"
e2e_equal "MariaDB never restarted (mariadbd's pid)" "$my_pid_before" "$(own_my_pid)"

own_psql() {	# own_psql SSLMODE: select ssl of this session, as rekey with its password
	local conninfo="host=127.0.0.1 port=$PG_PORT dbname=postgres user=rekey sslmode=$1"
	PGPASSWORD=$(<"$work/secrets/pg-rekey") psql -X -A -t -v ON_ERROR_STOP=1 \
		"$conninfo sslrootcert=$work/pki/ca.crt connect_timeout=10" \
		-c 'select ssl from pg_stat_ssl where pid = pg_backend_pid()'
}
own_mariadb() {	# own_mariadb OPTIONS...: the current user, as rekey with its password
	MYSQL_PWD=$(<"$work/secrets/mariadb-rekey") mariadb --no-defaults -h 127.0.0.1 \
		-P "$MY_PORT" --protocol=TCP --connect-timeout=10 -u rekey -N "$@" \
		-e 'select current_user()'
}
e2e_equal "psql verify-full logs in as rekey, over TLS" t "$(own_psql verify-full 2>&1)"
e2e_check_not "psql without TLS is refused (hostnossl ... reject)" 'no encryption' \
	own_psql disable
e2e_equal "mariadb --ssl-verify-server-cert logs in as rekey" "rekey@127.0.0.1" \
	"$(own_mariadb --ssl-verify-server-cert --ssl-ca="$work/pki/ca.crt" 2>&1)"
e2e_check_not "mariadb without TLS is refused (require_secure_transport)" 'Access denied' \
	own_mariadb --skip-ssl

e2e_same "modes and owners of the files rekey replaced (stat)" \
	"$pg_etc/ca.crl 644 postgres postgres
$pg_etc/ca.crt 644 postgres postgres
$pg_etc/server.crt 644 postgres postgres
$pg_etc/server.key 600 postgres postgres
$my_etc/ssl/ca.crl 644 mysql mysql
$my_etc/ssl/ca.crt 644 mysql mysql
$my_etc/ssl/server.crt 644 mysql mysql
$my_etc/ssl/server.key 600 mysql mysql" \
	"$(stat -c '%n %a %U %G' -- "$pg_etc"/{ca.crl,ca.crt,server.crt,server.key} \
		"$my_etc"/ssl/{ca.crl,ca.crt,server.crt,server.key} 2>&1)"
e2e_check "PostgreSQL's key is the incident's" \
	e2e_same_bytes "$pg_etc/server.key" "$inc/keys/db1-server.key"
e2e_check "MariaDB's key is the incident's" \
	e2e_same_bytes "$my_etc/ssl/server.key" "$inc/keys/db2-server.key"
for crl in "$work/pki/ca.crl" "$pg_etc/ca.crl" "$my_etc/ssl/ca.crl"; do
	e2e_check_revoked "db1's old certificate ($crl)" "$work/pki/issued/db1.crt" \
		"$work/pki/ca.crt" "$crl" "Key Compromise"
done
crl_number_now=$(openssl crl -in "$work/pki/ca.crl" -noout -crlnumber | cut -d= -f2)
e2e_check "the run signed the next CRL after the one crl-fix made (CRL number)" \
	test "$((16#$crl_number_now))" -gt "$((16#$crl_number_fixed))"
e2e_check "db2's old certificate is not revoked (openssl verify -crl_check)" \
	openssl verify -crl_check -CAfile "$work/pki/ca.crt" -CRLfile "$work/pki/ca.crl" \
	"$work/pki/issued/db2.crt"
backups=("$pg_etc"/server.key.rekey-bak-*)
e2e_equal "one backup of PostgreSQL's key beside it" 1 "${#backups[@]}"
e2e_check "the backup is the old, leaked key, with its owner and mode" \
	eval "e2e_same_bytes '${backups[0]}' '$work/pki/issued/db1.key' &&
		[[ \$(stat -c '%a %U %G' -- '${backups[0]}') == '600 postgres postgres' ]]"

e2e_finish
