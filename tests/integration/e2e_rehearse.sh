#!/usr/bin/env bash
# End to end, under with-servers.sh --ssh 3 --pg --mariadb: `rekey rehearse` on the estate of
# e2e_lib.sh, every result judged from outside rekey (find, stat, sha256sum, openssl s_client,
# psql, mariadb, ssh-keygen, the --json summary read by python3). Each rehearsal is watched the
# same way: every file and link of db1's, db2's and app1's folders (the servers' data, sockets
# and logs aside), of the CA folder, the incident records, the ssh client folder and the
# secrets has the same mode, owner, group, mtime, size and SHA-256 after it as before; both
# servers serve the same certificate all along (openssl s_client every ~0.2 s while it runs);
# no .rekey-tmp-* file is left anywhere, nor a new backup or upload; the records hold no
# scratch folder and no new incident folder; every --json line is an event marked
# "rehearsal": true, the summary last.
#   go          the estate as built: exit 0, go true, no no-go; the text form ends GO:; the
#               probe rows show what openssl sees served; each folder a replace goes to was
#               tried (its mtime moved though none of its files did)
#   no-go       one fault at a time on a freshly reset estate, each made real and checked from
#               outside first, then found at its step with its detail and fix while the other
#               units are still checked:
#     unwritable  app1's certs/ folder 0555 (rkuser, no sudo): push-file; the text form's
#                 fix: line under each NO-GO
#     sudo        app1 with sudo: true (rkuser has no sudoers line): connect, fix sudoers
#     reload      PostgreSQL and MariaDB logins that may not reload: reload, fix the GRANT
#     hostkey     db2's known_hosts without its key: connect, naming known_hosts
#     client      app1's .env with an unterminated quote, pg_service.conf with a line without
#                 '=': check-client-config, naming the file and line
#     passphrase  the CA key encrypted, the passphrase wrong, then its variable unset:
#                 check-ca, fix naming ca.key_passphrase_env
#     crl         ca.crl replaced by one of the same CA whose nextUpdate is past: check-ca
#   after-run   `rekey run` completes, then rehearse says so (earlier_run "completed"), exits
#               0 and its probe rows show the new certificates served
#   commands    a client verify command that leaves a mark runs only under safe_in_rehearsal;
#               one whose program does not exist is a no-go naming it
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RK_T_NAME=e2e/rehearse
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$here/e2e_lib.sh"
e2e_build_estate "${1:?usage: e2e_rehearse.sh REKEY}"
work=$E2E_WORK
ssh_dir=$(dirname -- "$RK_H_KNOWN_HOSTS")
secrets_dir=$(dirname -- "$RK_H_PG_PASSWORD_FILE")
# The summary's cells are joined by this byte, which no cell holds (empty cells stay cells).
sep=$'\x1f'

# ---------------------------------------------------------------------------------------------
# What a rehearsal must leave as it is

# Every file and link that the rehearsal reads, could replace or could leave behind: "path mode
# owner group mtime size sha256" (a link: its target), sorted.
rh_state() {
	local path
	{
		find "$E2E_PG" "$E2E_MY" \( -path "$E2E_PG/data" -o -path "$E2E_PG/run" \
			-o -path "$E2E_MY/data" -o -path "$E2E_MY/run" \) -prune -o \
			\( -type f -o -type l \) ! -name postgresql.log ! -name mariadb.err -print0
		# The rehearsal's own record is written anew each time (checked in rh_rehearse).
		find "$E2E/app1" "$E2E_PKI" "$E2E_RECORDS" "$ssh_dir" "$secrets_dir" \
			\( -type f -o -type l \) ! -name '*.rehearsal.tar.gz' -print0
	} | sort -z | while IFS= read -r -d '' path; do
		if [[ -L $path ]]; then
			printf '%s -> %s\n' "$(stat -c '%n %a %U %G %.9Y %s' -- "$path")" \
				"$(readlink -- "$path")"
		else
			printf '%s %s\n' "$(stat -c '%n %a %U %G %.9Y %s' -- "$path")" \
				"$(sha256sum <"$path" | cut -d' ' -f1)"
		fi
	done
}

# What the records folder holds, folders too (a scratch or incident folder, even empty).
rh_records_listing() {
	find "$E2E_RECORDS" -mindepth 1 ! -name '*.rehearsal.tar.gz' -printf '%P %y\n' | sort
}

# What the transport leaves beside a target or uploads (a live run's backups stay).
rh_leftovers() {
	find "$RK_H_DIR" \( -name '*.rekey-*' -o -name 'rekey-upload-*' \) -print | sort
}

# The folders a replace goes to: "path mtime".
rh_folder_times() {
	stat -c '%n %.9Y' -- "$E2E_PG" "$E2E_MY" "$E2E_APP" "$E2E_APP/certs"
}

# rh_sample_served FILE STOP: "postgres FP" and "mysql FP" about every 0.2 s until STOP
# exists, then once more.
rh_sample_served() {
	local file=$1 stop=$2 last=0
	until ((last)); do
		[[ ! -e $stop ]] || last=1
		printf 'postgres %s\n' "$(e2e_served_fingerprint postgres "$RK_H_PG_PORT")" >>"$file"
		printf 'mysql %s\n' "$(e2e_served_fingerprint mysql "$RK_H_MY_PORT")" >>"$file"
		((last)) || sleep 0.2
	done
}

# rh_check_served_throughout WHAT SAMPLES PG MY: every sample is the fingerprint served before.
rh_check_served_throughout() {
	local what=$1 samples=$2 pg=$3 my=$4 n wrong
	if [[ -z $pg || -z $my ]]; then
		e2e_bad "$what: a server served no certificate before the rehearsal"
		return
	fi
	n=$(grep -c '^postgres ' "$samples" || true)
	wrong=$(awk -v pg="postgres $pg" -v my="mysql $my" '$0 != pg && $0 != my' "$samples")
	if ((n < 2)); then
		e2e_bad "$what: only $n samples of the served certificates"
	elif [[ -n $wrong ]]; then
		e2e_bad "$what: a server served another certificate meanwhile$(rk_t_show "$wrong")"
	else
		e2e_ok "$what: PostgreSQL and MariaDB served their certificate throughout ($n samples each)"
	fi
}

# rh_rehearse WHAT OUT PLAYBOOK [text]: `rekey rehearse --json PLAYBOOK` (or the text form)
# into OUT, e2e_status set, and the checks every rehearsal must pass.
rh_rehearse() {
	local what=$1 out=$2 pb=$3 form=${4:-json} before listing leftovers pg my sampler
	local samples=$2.served stop=$2.stop
	local -a args=(rehearse --json "$pb")
	[[ $form == json ]] || args=(rehearse "$pb")
	before=$(rh_state)
	listing=$(rh_records_listing)
	leftovers=$(rh_leftovers)
	pg=$(e2e_served_fingerprint postgres "$RK_H_PG_PORT")
	my=$(e2e_served_fingerprint mysql "$RK_H_MY_PORT")
	rm -f -- "$samples" "$stop" "$out.err"
	rh_sample_served "$samples" "$stop" &
	sampler=$!
	e2e_rekey "$out" "${args[@]}"
	: >"$stop"
	wait "$sampler"

	e2e_same "$what: no file or link of the hosts, CA, records, ssh, secrets changed (stat, SHA-256)" \
		"$before" "$(rh_state)"
	e2e_same "$what: the records hold what they held (no scratch folder, no incident folder)" \
		"$listing" "$(rh_records_listing)"
	e2e_equal "$what: no .rehearsal-* folder is left in incident.records" "" \
		"$(find "$E2E_RECORDS" -maxdepth 1 -name '.rehearsal-*')"
	e2e_equal "$what: no .rekey-tmp-* file is left on any host or here" "" \
		"$(find "$RK_H_DIR" -name '*.rekey-tmp-*' -print)"
	e2e_same "$what: no other .rekey-* file (a backup) or upload was left" "$leftovers" \
		"$(rh_leftovers)"
	rh_check_served_throughout "$what" "$samples" "$pg" "$my"
	if [[ $form == json ]]; then
		e2e_equal "$what: each line is one JSON event marked as a rehearsal, the summary last" \
			"" "$(e2e_json_problems "$out"; rh_unmarked_events "$out")"
		rh_check_record "$what" "$(rh_summary "$out" record | tr -d '"')"
	fi
}

# rh_check_record WHAT ARCHIVE: the rehearsal's record is there, private, marked REHEARSAL
# in its name and its incident.json, and its manifest holds (tar and sha256sum judge).
rh_check_record() {
	local what=$1 archive=$2 dir
	if [[ $archive != *.rehearsal.tar.gz || ! -f $archive ]]; then
		e2e_bad "$what: no rehearsal record (summary says '$archive')"
		return
	fi
	e2e_equal "$what: the record is mode 600" 600 "$(stat -c %a -- "$archive")"
	dir=$(mktemp -d "$E2E_WORK/record.XXXXXX")
	tar -xzf "$archive" -C "$dir"
	e2e_matches "$what: the record's incident.json says rehearsal" '"mode": "rehearsal"' \
		"$(cat "$dir"/*/incident.json)"
	e2e_check "$what: sha256sum -c MANIFEST.sha256 passes in the record" \
		bash -c 'cd "$1"/* && sha256sum --quiet -c MANIFEST.sha256' _ "$dir"
	rm -rf -- "$dir"
}

# ---------------------------------------------------------------------------------------------
# The --json summary and the text form

# Events other than the summary that lack "rehearsal": true.
rh_unmarked_events() {
	python3 - "$1" <<'PY'
import json, sys
for n, line in enumerate(open(sys.argv[1], encoding="utf-8", errors="replace"), 1):
    try:
        ev = json.loads(line)
    except ValueError:
        continue
    if isinstance(ev, dict) and ev.get("event") != "summary" and ev.get("rehearsal") is not True:
        print(f"line {n} ({ev.get('event')}) is not marked \"rehearsal\": true")
PY
}

# rh_summary OUT rows | KEY[.KEY]: with "rows", the summary's checks, a line each: STEP ACTION
# UNIT CHECK RESULT DETAIL FIX joined by $sep, each cell on one line; with a KEY, that value of
# the summary as JSON ("absent" when it has none).
rh_summary() {
	python3 - "$1" "$2" "$sep" <<'PY'
import json, sys
path, what, sep = sys.argv[1:]
summary = {}
for line in open(path, encoding="utf-8", errors="replace"):
    try:
        ev = json.loads(line)
    except ValueError:
        continue
    if isinstance(ev, dict) and ev.get("event") == "summary":
        summary = ev
if what == "rows":
    for c in summary.get("checks") or []:
        cells = [c.get(k) for k in ("step", "action", "unit", "check", "result", "detail", "fix")]
        print(sep.join(" ".join(str("" if v is None else v).split()) for v in cells))
    sys.exit(0)
value = summary
for key in what.split("."):
    value = value.get(key, "absent") if isinstance(value, dict) else "absent"
print("absent" if value == "absent" else json.dumps(value))
PY
}

rh_rows() {
	rh_summary "$1" rows
}

# rh_row ROWS UNIT CHECK: the row of UNIT whose check is CHECK.
rh_row() {
	awk -F "$sep" -v u="$2" -v c="$3" '$3 == u && $4 == c { print; exit }' <<<"$1"
}

# rh_expect_nogo WHAT ROWS UNIT CHECK DETAIL_RE FIX_RE: that row is a no-go saying so.
rh_expect_nogo() {
	local what=$1 row result detail fix
	row=$(rh_row "$2" "$3" "$4")
	if [[ -z $row ]]; then
		e2e_bad "$what: the summary has no row for $3 $4"
		return
	fi
	IFS=$sep read -r _ _ _ _ result detail fix <<<"$row"
	e2e_equal "$what: $3 $4 is no-go" no-go "$result"
	e2e_matches "$what: its detail" "$5" "$detail"
	e2e_matches "$what: its fix" "$6" "$fix"
}

# rh_expect_rows WHAT ROWS UNIT_RE ACTION_RE RESULT_RE: the rows whose unit and action match
# (whole EREs) are there and have a result that matches.
rh_expect_rows() {
	e2e_results_are "$1" "$5" "$(awk -F "$sep" -v u="^($3)\$" -v a="^($4)\$" '
		$3 ~ u && $2 ~ a { unit = $3; gsub(/ /, "=", unit); print $1 ":" $2 ":" unit, $5 }' \
		<<<"$2")"
}

# rh_cell ROWS UNIT CHECK FIELD: one cell of a row (FIELD 1 step ... 7 fix).
rh_cell() {
	awk -F "$sep" -v u="$2" -v c="$3" -v f="$4" '$3 == u && $4 == c { print $f; exit }' <<<"$1"
}

# rh_check_probe_shows WHAT ROWS SERVICE PROTO PORT: the probe row shows the start of the
# fingerprint openssl s_client sees served now.
rh_check_probe_shows() {
	local fp
	fp=$(e2e_served_fingerprint "$4" "$5")
	fp=${fp#*=}
	if [[ -z $fp ]]; then
		e2e_bad "$1: $3 serves no certificate (openssl s_client)"
		return
	fi
	e2e_matches "$1: the probe row of $3 shows the certificate served (openssl s_client)" \
		"^serves ${fp:0:23}\.\.\." "$(rh_cell "$2" "service $3" probe 6)"
}

# What the text form lacks: the table's header, a fix: line under each NO-GO row, the
# estimate, the verdict (GO: or NO-GO:) last.
rh_text_problems() {
	awk '
		/^STEP +RESULT +UNIT +CHECK: WHAT WAS SEEN$/ { table = 1; next }
		table && want { if ($1 != "fix:") print "no fix: line under step " step; want = 0 }
		table && $1 ~ /^[0-9]+$/ && $2 == "NO-GO" { want = 1; step = $1 }
		/^estimate: / { estimate = 1 }
		{ last = $0 }
		END {
			if (!table) print "no table header"
			if (want) print "no fix: line under step " step
			if (!estimate) print "no estimate: line"
			if (last !~ /^(GO|NO-GO): /) print "the last line is not the verdict: " last
		}' "$1"
}

# rh_expect_exit WHAT WANT OUT
rh_expect_exit() {
	if ((e2e_status == $2)); then
		e2e_ok "$1: rekey rehearse exits $2"
	else
		e2e_bad "$1: rekey rehearse exits $e2e_status, want $2$(rk_t_show "$(cat -- "$3" \
			"$3.err" 2>/dev/null)")"
	fi
}

# ---------------------------------------------------------------------------------------------
# Playbooks

# rh_edit_playbook FILE FROM TO [FROM TO...]: each FROM, found exactly once, becomes its TO.
rh_edit_playbook() {
	python3 - "$@" <<'PY'
import sys
path, pairs = sys.argv[1], sys.argv[2:]
text = open(path, encoding="utf-8").read()
for old, new in zip(pairs[0::2], pairs[1::2]):
    if text.count(old) != 1:
        sys.exit(f"rh_edit_playbook: {old!r} is {text.count(old)} times in {path}")
    text = text.replace(old, new)
open(path, "w", encoding="utf-8").write(text)
PY
}

# A string as a literal part of an ERE.
rh_re() {
	sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$1"
}

# rh_results_differ WHAT ROWS PG MY: the probe rows show neither of these fingerprints.
rh_results_differ() {
	local pg=${3#*=} my=${4#*=} shown
	shown="$(rh_cell "$2" "service pg-e2e" probe 6) / $(rh_cell "$2" "service mariadb-e2e" probe 6)"
	if [[ -z $pg || -z $my ]]; then
		e2e_bad "$1: a server served nothing before the run"
	elif [[ $shown == *"${pg:0:23}"* || $shown == *"${my:0:23}"* ]]; then
		e2e_bad "$1: $shown"
	else
		e2e_ok "$1"
	fi
}

pb=$E2E/rehearse.yml
id="E2E-REHEARSE"
e2e_write_playbook "$pb" id="$id"
all_units='here|host .*|service .*|client .*'

# ---------------------------------------------------------------------------------------------
# Scenarios

go_with_zero_change() {
	local what=go out=$work/go.json rows times
	times=$(rh_folder_times)
	rh_rehearse "$what" "$out" "$pb"
	rh_expect_exit "$what" 0 "$out"
	rows=$(rh_rows "$out")
	e2e_equal "$what: the summary says go" true "$(rh_summary "$out" go)"
	e2e_equal "$what: the summary knows no earlier run" null "$(rh_summary "$out" earlier_run)"
	rh_expect_rows "$what: every check is go or live only" "$rows" "$all_units" '.*' \
		'go|live-only'
	rh_expect_rows "$what: every push-file was tried" "$rows" "$all_units" push-file go
	e2e_equal "$what: it compared the 14 host files and the 3 hosts e2e_host_files lists" \
		"$(e2e_host_files | wc -l) 3" \
		"$(rh_summary "$out" unchanged.files) $(rh_summary "$out" unchanged.hosts)"
	rh_check_probe_shows "$what" "$rows" pg-e2e postgres "$RK_H_PG_PORT"
	rh_check_probe_shows "$what" "$rows" mariadb-e2e mysql "$RK_H_MY_PORT"
	e2e_equal "$what: no incident folder was made" "" \
		"$(ls -d -- "$(e2e_incident_dir "$id")" 2>/dev/null)"
	# A replace tried up to its rename makes and removes a file there: the folder's mtime moves.
	e2e_results_are "$what: each folder a replace goes to saw a file made and removed" moved \
		"$(paste -d ' ' <(printf '%s\n' "$times") <(rh_folder_times) |
			awk '{ print $1, ($2 == $4 ? "unmoved" : "moved") }')"

	out=$work/go.txt
	rh_rehearse "$what (text)" "$out" "$pb" text
	rh_expect_exit "$what (text)" 0 "$out"
	e2e_equal "$what (text): table, fix lines, estimate, verdict" "" "$(rh_text_problems "$out")"
	e2e_matches "$what (text): the verdict is GO" $'(^|\n)GO: [^\n]*$' "$(<"$out")"
}

unwritable_folder() {
	local what=unwritable out=$work/unwritable rows
	e2e_reset
	chmod 0555 -- "$E2E_APP/certs"
	e2e_check_not "$what: rkuser cannot create a file in app1's certs/ (runuser touch)" \
		'Permission denied' runuser -u "$RK_H_SSH_USER" -- touch "$E2E_APP/certs/probe"
	rh_rehearse "$what" "$out.json" "$pb"
	rh_expect_exit "$what" 1 "$out.json"
	rows=$(rh_rows "$out.json")
	rh_expect_nogo "$what" "$rows" "client app1-env" "push-file $E2E_APP/certs/db-ca.crt" \
		"rkuser cannot create a file in $(rh_re "$E2E_APP/certs"): Permission denied" \
		"make the folder of $(rh_re "$E2E_APP/certs/db-ca.crt") writable by rkuser, or set sudo: true on host app1"
	rh_expect_rows "$what: no push-file into certs/ is go" \
		"$(grep -F "push-file $E2E_APP/certs/" <<<"$rows" || true)" 'client app1-env' push-file \
		'no-go|skipped'
	rh_expect_rows "$what: the other units are still checked and go" "$rows" \
		'here|host .*|service .*|client app1-(url|pgservice|mycnf)' '.*' 'go|live-only'
	e2e_equal "$what: the summary says no go" false "$(rh_summary "$out.json" go)"

	rh_rehearse "$what (text)" "$out.txt" "$pb" text
	rh_expect_exit "$what (text)" 1 "$out.txt"
	e2e_equal "$what (text): table, a fix: line under each NO-GO, estimate, verdict" "" \
		"$(rh_text_problems "$out.txt")"
	e2e_matches "$what (text): the verdict is NO-GO" $'(^|\n)NO-GO: [^\n]*$' "$(<"$out.txt")"
}

sudo_refused() {
	local what=sudo out=$work/sudo.json rows p=$E2E/rehearse-sudo.yml
	e2e_reset
	e2e_write_playbook "$p" id=$id
	rh_edit_playbook "$p" "sudo: false, timeout" "sudo: true, timeout"
	e2e_check_not "$what: rkuser may not sudo -n (runuser)" 'password is required' \
		runuser -u "$RK_H_SSH_USER" -- sudo -n true
	rh_rehearse "$what" "$out" "$p"
	rh_expect_exit "$what" 1 "$out"
	rows=$(rh_rows "$out")
	rh_expect_nogo "$what" "$rows" "host app1" connect 'sudo -n.*password' \
		"sudoers.*rkuser ALL=.*NOPASSWD|rkuser.*sudoers"
	rh_expect_rows "$what: the other hosts and the services are still checked and go" "$rows" \
		'here|host db[12]|service .*' '.*' 'go|live-only'
}

# rh_psql_as USER PASSWORD SQL: psql with verify-full against the estate's CA.
rh_psql_as() {
	PGPASSWORD=$2 psql -X -A -t -v ON_ERROR_STOP=1 -c "$3" \
		"host=127.0.0.1 port=$RK_H_PG_PORT dbname=postgres user=$1 sslmode=verify-full sslrootcert=$E2E_PKI/ca.crt"
}

no_reload_privilege() {
	local what=reload out=$work/reload.json rows p=$E2E/rehearse-reload.yml password
	local pw_file=$secrets_dir/rknoreload_password
	e2e_reset
	if [[ ! -e $pw_file ]]; then
		password=$(harness_random_password)
		harness_write_secret_file "$pw_file" "$password"
		harness_run_or_show "psql (role rknoreload)" harness_pg_superuser_sql "$E2E_PG" \
			"$RK_H_PG_PORT" <<<"CREATE ROLE rknoreload LOGIN PASSWORD '$password';"
		harness_pg_allow_password_role rknoreload
		harness_run_or_show "mariadb (user rknoreload)" harness_mariadb_root_sql "$E2E_MY" \
			<<<"CREATE USER 'rknoreload'@'%' IDENTIFIED BY '$password' REQUIRE SSL;"
	fi
	password=$(<"$pw_file")
	e2e_check "$what: rknoreload logs in to PostgreSQL (psql verify-full)" \
		rh_psql_as rknoreload "$password" 'select current_user'
	e2e_check_not "$what: PostgreSQL refuses rknoreload pg_reload_conf() (psql)" \
		'permission denied' rh_psql_as rknoreload "$password" 'select pg_reload_conf()'
	e2e_check_not "$what: MariaDB refuses rknoreload FLUSH SSL (mariadb)" 'RELOAD' \
		env MYSQL_PWD="$password" mariadb --no-defaults -h 127.0.0.1 -P "$RK_H_MY_PORT" \
		--protocol=TCP -u rknoreload --ssl-verify-server-cert --ssl-ca="$E2E_PKI/ca.crt" -N \
		-e 'FLUSH SSL'
	e2e_write_playbook "$p" id=$id
	rh_edit_playbook "$p" \
		"user: $RK_H_PG_USER, password_file: \"$RK_H_PG_PASSWORD_FILE\"" \
		"user: rknoreload, password_file: \"$pw_file\"" \
		"user: $RK_H_MY_USER, password_file: \"$RK_H_MY_PASSWORD_FILE\"" \
		"user: rknoreload, password_file: \"$pw_file\""
	rh_rehearse "$what" "$out" "$p"
	rh_expect_exit "$what" 1 "$out"
	rows=$(rh_rows "$out")
	rh_expect_nogo "$what: PostgreSQL" "$rows" "service pg-e2e" reload \
		'rknoreload may not run' \
		'GRANT EXECUTE ON FUNCTION (pg_catalog\.)?pg_reload_conf\(\) TO "?rknoreload"?'
	rh_expect_nogo "$what: MariaDB" "$rows" "service mariadb-e2e" reload \
		'rknoreload may not run' "GRANT RELOAD ON \*\.\* TO '?rknoreload'?@'%'"
	rh_expect_rows "$what: the services' probes and pushes are still checked and go" "$rows" \
		'service .*' 'probe|push-file' go
	rh_expect_rows "$what: the hosts and clients are still checked and go" "$rows" \
		'here|host .*|client .*' '.*' 'go|live-only'
	# The run asks the same question at preflight and stops there, before any change.
	e2e_rekey "$work/reload-run.out" run "$p"
	e2e_equal "$what: rekey run with that login exits 1" 1 "$e2e_status"
	e2e_matches "$what: the run names the GRANT at preflight" \
		'rknoreload may not run .*nothing was changed.*GRANT' "$(<"$work/reload-run.out")"
	e2e_same "$what: the run changed no host file" "$E2E_SNAP_HOST_DIGEST" \
		"$(e2e_host_digest)"
}

unknown_host_key() {
	local what=hostkey out=$work/hostkey.json rows p=$E2E/rehearse-hostkey.yml
	local kh=$ssh_dir/known_hosts.without-db2 db2=${E2E_SSH_PORTS[1]} line
	e2e_reset
	grep -v -F "[127.0.0.1]:$db2 " "$RK_H_KNOWN_HOSTS" >"$kh"
	e2e_check_not "$what: db2's key is not in $kh (ssh-keygen -F)" '^$' \
		ssh-keygen -F "[127.0.0.1]:$db2" -f "$kh"
	e2e_write_playbook "$p" id=$id
	line="port: $db2, user: $RK_H_SSH_ADMIN, identity: \"$RK_H_SSH_KEY\", known_hosts:"
	rh_edit_playbook "$p" "$line \"$RK_H_KNOWN_HOSTS\"" "$line \"$kh\""
	rh_rehearse "$what" "$out" "$p"
	rh_expect_exit "$what" 1 "$out"
	rows=$(rh_rows "$out")
	rh_expect_nogo "$what" "$rows" "host db2" connect \
		"unknown host key.*$(rh_re "$kh")" "add the host's line to $(rh_re "$kh")"
	rh_expect_rows "$what: db1, app1, PostgreSQL and the clients are still checked and go" \
		"$rows" 'here|host (db1|app1)|service pg-e2e|client .*' '.*' 'go|live-only'
	rm -f -- "$kh"
}

client_file_unparsed() {
	local what=client out=$work/client.json rows env_line ini_line
	e2e_reset
	printf "BROKEN='no end\n" >>"$E2E_APP/.env"
	env_line=$(wc -l <"$E2E_APP/.env")
	sed -i '/^\[e2e-pg-cert\]$/a this line has no equals sign' "$E2E_APP/pg_service.conf"
	ini_line=$(grep -n '^this line has no equals sign$' "$E2E_APP/pg_service.conf" | cut -d: -f1)
	e2e_check_not "$what: bash cannot source the .env" 'unexpected EOF|matching' \
		bash -c ". '$E2E_APP/.env'"
	e2e_check_not "$what: libpq cannot read the service file" "syntax error.*line $ini_line" \
		env PGSERVICEFILE="$E2E_APP/pg_service.conf" psql -X service=e2e-pg-cert -c 'select 1'
	rh_rehearse "$what" "$out" "$pb"
	rh_expect_exit "$what" 1 "$out"
	rows=$(rh_rows "$out")
	rh_expect_nogo "$what: .env" "$rows" "client app1-env" check-client-config \
		"$(rh_re "$E2E_APP/.env"):$env_line: unterminated single quote" \
		"correct $(rh_re "$E2E_APP/.env") on app1"
	rh_expect_nogo "$what: DATABASE_URL's .env" "$rows" "client app1-url" check-client-config \
		"$(rh_re "$E2E_APP/.env"):$env_line: unterminated" "$(rh_re "$E2E_APP/.env")"
	rh_expect_nogo "$what: pg_service.conf" "$rows" "client app1-pgservice" \
		check-client-config "$(rh_re "$E2E_APP/pg_service.conf"):$ini_line: not a key=value" \
		"correct $(rh_re "$E2E_APP/pg_service.conf") on app1"
	rh_expect_rows "$what: my.cnf's client, the hosts and services are still checked and go" \
		"$rows" 'here|host .*|service .*|client app1-mycnf' '.*' 'go|live-only'
}

wrong_passphrase() {
	local what=passphrase out=$work/passphrase rows p=$E2E/rehearse-passphrase.yml
	e2e_reset
	harness_run_or_show "openssl pkey -aes256" openssl pkey -in "$E2E/snap/pki/ca.key" \
		-aes256 -passout pass:the-right-one -out "$E2E_PKI/ca.key"
	chmod 0600 -- "$E2E_PKI/ca.key"
	e2e_check_not "$what: openssl refuses the key with the wrong passphrase" 'bad decrypt|error' \
		openssl pkey -in "$E2E_PKI/ca.key" -passin pass:wrong -noout
	e2e_write_playbook "$p" id=$id
	rh_edit_playbook "$p" $'  crl_days: 7\n' \
		$'  crl_days: 7\n  key_passphrase_env: E2E_CA_PASSPHRASE\n'
	export E2E_CA_PASSPHRASE=wrong
	rh_rehearse "$what" "$out.json" "$p"
	rh_expect_exit "$what" 1 "$out.json"
	rows=$(rh_rows "$out.json")
	rh_expect_nogo "$what" "$rows" here check-ca 'passphrase' 'ca\.key_passphrase_env'
	rh_expect_rows "$what: the hosts, probes and client files are still checked and go" \
		"$rows" 'host .*|service .*|client .*' 'connect|probe|check-client-config' go
	unset E2E_CA_PASSPHRASE
	rh_rehearse "$what (unset)" "$out-unset.json" "$p"
	rh_expect_exit "$what (unset)" 1 "$out-unset.json"
	rh_expect_nogo "$what (unset)" "$(rh_rows "$out-unset.json")" here check-ca \
		'E2E_CA_PASSPHRASE is not set' 'ca\.key_passphrase_env'
}

expired_crl() {
	local what=crl out=$work/crl.json rows d=$work/old-crl
	e2e_reset
	rm -rf -- "$d"
	mkdir -p -- "$d"
	: >"$d/index.txt"
	echo 01 >"$d/crlnumber"
	printf '[ca]\ndefault_ca = old\n[old]\ndatabase = %s\ncrlnumber = %s\ndefault_md = sha384\n' \
		"$d/index.txt" "$d/crlnumber" >"$d/openssl.cnf"
	harness_run_or_show "openssl ca -gencrl" openssl ca -config "$d/openssl.cnf" -gencrl \
		-cert "$E2E_PKI/ca.crt" -keyfile "$E2E_PKI/ca.key" -crl_lastupdate 20200101000000Z \
		-crl_nextupdate 20200108000000Z -out "$d/ca.crl"
	install -m 0644 -- "$d/ca.crl" "$E2E_PKI/ca.crl"
	e2e_check "$what: the CA signed the CRL (openssl crl -CAfile)" \
		openssl crl -in "$E2E_PKI/ca.crl" -CAfile "$E2E_PKI/ca.crt" -noout
	e2e_check_not "$what: openssl verify -crl_check finds it expired" 'CRL has expired' \
		openssl verify -crl_check -CAfile "$E2E_PKI/ca.crt" -CRLfile "$E2E_PKI/ca.crl" \
		"$E2E_PKI/issued/db2-server.crt"
	rh_rehearse "$what" "$out" "$pb"
	rh_expect_exit "$what" 1 "$out"
	rows=$(rh_rows "$out")
	rh_expect_nogo "$what" "$rows" here check-ca "$(rh_re "$E2E_PKI/ca.crl") expired on 2020-01-08" \
		'sign a fresh CRL'
	rh_expect_rows "$what: the hosts, services and clients are still checked and go" "$rows" \
		'host .*|service .*|client .*' '.*' 'go|live-only'
}

after_a_run() {
	local what=after-run out=$work/after-run.json rows before_pg before_my dir
	e2e_reset
	dir=$(e2e_incident_dir "$id")
	before_pg=$(e2e_served_fingerprint postgres "$RK_H_PG_PORT")
	before_my=$(e2e_served_fingerprint mysql "$RK_H_MY_PORT")
	e2e_run_ok "$what" "$work/run.out" run "$pb"
	e2e_check_served "$what: PostgreSQL serves the incident's db1-server" postgres \
		"$RK_H_PG_PORT" "$dir/certs/db1-server.crt"
	e2e_check_served "$what: MariaDB serves the incident's db2-server" mysql \
		"$RK_H_MY_PORT" "$dir/certs/db2-server.crt"
	rh_rehearse "$what" "$out" "$pb"
	rh_expect_exit "$what" 0 "$out"
	rows=$(rh_rows "$out")
	e2e_equal "$what: earlier_run is completed" '"completed"' "$(rh_summary "$out" earlier_run)"
	e2e_matches "$what: it says so (stderr under --json)" \
		"incident $id was carried out completely.*checks the estate as that run left it" \
		"$(<"$out.err")"
	e2e_equal "$what: the summary says go" true "$(rh_summary "$out" go)"
	rh_expect_rows "$what: every check is go or live only" "$rows" "$all_units" '.*' \
		'go|live-only'
	rh_check_probe_shows "$what" "$rows" pg-e2e postgres "$RK_H_PG_PORT"
	rh_check_probe_shows "$what" "$rows" mariadb-e2e mysql "$RK_H_MY_PORT"
	rh_results_differ "$what: the probe rows no longer show the certificates served before" \
		"$rows" "$before_pg" "$before_my"
}

verify_commands() {
	local what=commands out=$work/commands.json rows p=$E2E/rehearse-commands.yml
	local marks=$E2E/marks
	e2e_reset
	rm -rf -- "$marks"
	install -d -o "$RK_H_SSH_USER" -g "$RK_H_SSH_USER" -m 0755 -- "$marks"
	e2e_write_playbook "$p" id=$id
	rh_edit_playbook "$p" \
		"verify: {command: \"$(e2e_yaml_escape "$(e2e_verify_env_command)")\"}" \
		"verify: {command: \"touch $marks/unsafe\"}" \
		"verify: {command: \"$(e2e_yaml_escape "$(e2e_verify_url_command)")\"}" \
		"verify: {command: \"touch $marks/safe\", safe_in_rehearsal: true}" \
		"verify: {command: \"$(e2e_yaml_escape "$(e2e_verify_pgservice_command)")\"}" \
		"verify: {command: \"no-such-program-xyz --check\"}"
	rh_rehearse "$what" "$out" "$p"
	rh_expect_exit "$what" 1 "$out"
	rows=$(rh_rows "$out")
	e2e_check_not "$what: without safe_in_rehearsal the command left no mark" '' \
		test -e "$marks/unsafe"
	e2e_matches "$what: without safe_in_rehearsal its row is go and says it was not run" \
		"^go${sep}.*not run" "$(rh_cell "$rows" "client app1-env" client-verify 5)$sep$(
			rh_cell "$rows" "client app1-env" client-verify 6)"
	e2e_equal "$what: with safe_in_rehearsal the command ran on app1, as rkuser" \
		"$RK_H_SSH_USER" "$(stat -c %U -- "$marks/safe" 2>&1)"
	e2e_equal "$what: with safe_in_rehearsal its row is go" go \
		"$(rh_cell "$rows" "client app1-url" client-verify 5)"
	rh_expect_nogo "$what: a program that does not exist" "$rows" "client app1-pgservice" \
		client-verify 'no-such-program-xyz not found on app1' 'install no-such-program-xyz'
	rh_expect_rows "$what: the rest is still checked and go" "$rows" \
		'here|host .*|service .*|client app1-(env|url|mycnf)' '.*' 'go|live-only'
}

go_with_zero_change
unwritable_folder
sudo_refused
no_reload_privilege
unknown_host_key
client_file_unparsed
wrong_passphrase
expired_crl
verify_commands
after_a_run
e2e_finish
