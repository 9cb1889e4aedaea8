#!/usr/bin/env bash
# End to end, under with-servers.sh --ssh 3 --pg --mariadb (issue 20): faults of the world
# around `rekey run`, made real on the estate of e2e_lib.sh (a scheduled rotation: nothing
# revoked, so an old certificate put back still verifies), each under every failure policy
# given by --on-failure where the policy has a say:
#   sshd-tree     db1's ssh session killed (SIGKILL of its sshd processes and of the command
#                 they run) while the replace of PostgreSQL's key and certificate writes its
#                 temporary files (db1's sshd feeds commands their input at 6 KB/s, through a
#                 ForceCommand, so the replace is caught in the middle); rekey must find and
#                 remove the temporary files the host could not
#   sshd-session  the same, only the sshd processes killed: the command runs on, still reading
#                 its input when rekey, connected again, asks the host what it did
#   sshd-orphan   the same, the command reading its input faster: it finishes on its own before
#                 rekey asks, so rekey finds the new files in place and puts the old ones back
#   silent        db2's port accepts TCP and never says a word: preflight gives up within the
#                 host's timeout (measured), nothing changed
#   disk-full     app1's certs/ is a tmpfs with two pages left: the CA file fits, the client's
#                 new key fits, its certificate does not (ENOSPC): the key must be put back at
#                 once all the same (a key and its certificate are one set), old files intact
#   hang          PostgreSQL's reload command never ends: stopped on db1 at the host's timeout
#                 (no process left), then the policy
#   db-down       PostgreSQL stopped the moment the journal says its reload is done: verify fails
#                 and says so; the server is started again afterwards
#   host-key      db2's sshd has a new host key: refused with its SHA256 fingerprint, never
#                 accepted (no login in db2's sshd log, known_hosts unchanged), nothing changed
#   passphrase    the CA key is encrypted and the passphrase file holds a wrong one: refused
#                 before any host is touched (no connection in any sshd log); the right one runs
#   journal-full  the incident folder is a tmpfs filled up as db1's swap starts: the journal
#                 cannot be written, rekey stops and says so (the summary true to the hosts, the
#                 record tried), the journal claims nothing it did
#                 not record, and `rekey resume` after space is freed completes
#   record-full   the same tmpfs filled once every step is journaled: the record cannot be
#                 written, which is said; `rekey resume` after space is freed writes it
# After each: exit 1 (0 where the fault is mended), the host and the cause named, no host file
# half-written, wrongly owned or of a wider mode than before (each is the old file or the new
# one, byte for byte, with the old mode and owner), no temporary file beside any target, the
# journal sound and true to every host file, the record written (`rekey record verify`) and
# saying failed, each service and client in the state its summary row gives; after halt and
# continue, `rekey rollback` puts every host file back byte for byte.
# Each key on the hosts is also checked against its certificate. E2E_CHAOS_ONLY="hang db-down"
# runs only those faults; E2E_CHAOS_KEEP=DIR keeps rekey's outputs and journals there.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RK_T_NAME=e2e/chaos
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$here/e2e_lib.sh"
e2e_build_estate "${1:?usage: e2e_chaos.sh REKEY}"
work=$E2E_WORK
policies=(rollback halt continue)
faults_run=0
runs=0
read -r -a host_dirs <<<"$RK_H_SSH_DIRS"

# Mounts made here are undone however the script ends (the harness removes RK_H_DIR after).
mounts=()
undo_mounts() {
	local m
	for m in "${mounts[@]}"; do
		umount -l -- "$m" 2>/dev/null || true
	done
	mounts=()
}
at_exit() {
	undo_mounts
	[[ -z ${E2E_CHAOS_KEEP:-} ]] || cp -a -- "$work/." "$E2E_CHAOS_KEEP/"
}
trap at_exit EXIT

wanted() {
	[[ -z ${E2E_CHAOS_ONLY:-} || " $E2E_CHAOS_ONLY " == *" $1 "* ]]
}

# ---------------------------------------------------------------------------------------------
# What every fault is checked for

# The content a complete run gives each client file (the same edits give the same bytes):
# learned from one uninterrupted run.
declare -A new_sha
reference() {
	local pb=$E2E/chaos-ref.yml f
	e2e_write_playbook "$pb" id=E2E-CHAOS-REF scenario=rotate timeout=5
	e2e_rekey "$work/ref.out" run "$pb"
	e2e_equal "the uninterrupted run exits 0" 0 "$e2e_status"
	for f in "$E2E_APP/.env" "$E2E_APP/pg_service.conf" "$E2E_APP/my.cnf"; do
		new_sha[$f]=$(sha256sum <"$f" | cut -d' ' -f1)
	done
	e2e_reset
}

sha_of() {
	[[ ! -f $1 ]] || sha256sum <"$1" | cut -d' ' -f1
}

# files_whole WHAT ID: every host file is whole: present, with the mode, owner and group it had
# before the run, and its bytes either the old file's or the new content of the incident.
files_whole() {
	local what=$1 inc f old got line bad="" journaled
	inc=$(e2e_incident_dir "$2")
	# What rekey wrote and checked (its SHA-256 journaled when done): under continue a file
	# two clients edit may hold one edit and not the other.
	journaled=" $(python3 -c 'import json, os, sys
path = sys.argv[1]
for line in open(path, encoding="utf-8", errors="replace") if os.path.exists(path) else []:
    try:
        rec = json.loads(line)
    except ValueError:
        continue
    if rec.get("state") == "done" and (rec.get("out") or {}).get("sha256"):
        print(rec["out"]["sha256"])' "$inc/journal.jsonl" | xargs) "
	while read -r f; do
		line=$(e2e_digest_lines "$E2E_SNAP_HOST_DIGEST" "$f")
		old=${line##* }
		if [[ ! -f $f ]]; then
			bad+=" [$f missing]"
			continue
		fi
		[[ $(stat -c '%a %U %G' -- "$f") == "$(cut -d' ' -f2-4 <<<"$line")" ]] ||
			bad+=" [$f is $(stat -c '%a %U %G' -- "$f"), was $(cut -d' ' -f2-4 <<<"$line")]"
		got=$(sha_of "$f")
		local -a news=()
		case $f in
		*/server.crt) news=("$(sha_of "$inc/certs/db$([[ $f == "$E2E_PG"/* ]] && echo 1 ||
			echo 2)-server.crt")") ;;
		*/server.key) news=("$(sha_of "$inc/keys/db$([[ $f == "$E2E_PG"/* ]] && echo 1 ||
			echo 2)-server.key")") ;;
		*/app.crt) news=("$(sha_of "$inc/certs/app-client.crt")") ;;
		*/app.key) news=("$(sha_of "$inc/keys/app-client.key")") ;;
		*/ca.crl) news=("$(sha_of "$inc/crl.pem")") ;;
		*/.env | */pg_service.conf | */my.cnf) news=("${new_sha[$f]:-}") ;;
		esac
		[[ $got == "$old" || (${#news[@]} -gt 0 && $got == "${news[0]}") ||
			$journaled == *" $got "* ]] ||
			bad+=" [$f is neither the old file nor one rekey wrote]"
	done < <(e2e_host_files)
	# A key and its certificate are one set, never a new key beside an old certificate.
	for f in "$E2E_PG/server" "$E2E_MY/server" "$E2E_APP/certs/app"; do
		e2e_key_matches_cert "$f.key" "$f.crt" || bad+=" [$f.key is not $f.crt's key]"
	done
	if [[ -z $bad ]]; then
		e2e_ok "$what: every host file is the old one or the new one, mode and owner as before, each key its certificate's"
	else
		e2e_bad "$what: host files not whole:$bad"
	fi
	e2e_equal "$what: no temporary file beside any target" "" \
		"$(e2e_transport_leftovers | grep 'rekey-tmp' || true)"
}

# journal_true WHAT ID PLAYBOOK: sound, no secret, and true to every host file.
journal_true() {
	local problems
	# A torn last line (a write cut short) is not a record: resume drops it.
	local last
	last=$(awk 'END { print NR }' "$(e2e_incident_dir "$2")/journal.jsonl" 2>/dev/null || true)
	problems=$(e2e_journal_problems "$2" | grep -v "^line $last is not JSON$" || true)
	e2e_equal "$1: the journal is sound and holds no secret" "" "$problems"
	e2e_equal "$1: the journal is true to every host file" "" \
		"$(e2e_journal_vs_hosts "$2" "$3" "$E2E_SNAP_HOST_DIGEST")"
}

# record_says WHAT ID REGEX: the record verifies and incident.json's outcome matches REGEX.
record_says() {
	local rec=$E2E_RECORDS/$2.tar.gz outcome
	e2e_check "$1: the record is written and verifies" "$E2E_REKEY" record verify "$rec"
	outcome=$(tar -xzOf "$rec" --wildcards '*/incident.json' 2>/dev/null |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["outcome"])' 2>&1) || true
	e2e_matches "$1: the record's outcome ($outcome)" "$3" "$outcome"
}

# nothing_changed WHAT ID: preflight said no: no host file, CRL or ledger changed, nothing issued.
nothing_changed() {
	e2e_same "$1: nothing changed (host files, CRL, ledger)" "$E2E_SNAP_DIGEST" \
		"$(e2e_estate_digest)"
	e2e_equal "$1: no certificate was issued" "" \
		"$(ls -A -- "$(e2e_incident_dir "$2")/certs" 2>/dev/null)"
}

# others_of FAILED OUT: "name result" of every service and client but FAILED.
others_of() {
	local name others=""
	for name in "${E2E_SERVICES[@]}" "${E2E_CLIENTS[@]}"; do
		[[ $name == "$1" ]] || others+="$name $(e2e_result "$2" "$name")"$'\n'
	done
	printf '%s' "${others%$'\n'}"
}

host_of() {
	case $1 in
	pg-e2e) echo db1 ;;
	mariadb-e2e) echo db2 ;;
	*) echo app1 ;;
	esac
}

# after_failed_run WHAT ID PLAYBOOK OUT POLICY FAILED CAUSE: the checks of a run a fault made fail
# after changes began: exit 1, the cause, the states, the files, the journal, the record, the
# policy; after halt and continue, `rekey rollback` puts every host file back.
after_failed_run() {
	local what=$1 id=$2 pb=$3 out=$4 policy=$5 failed=$6 cause=$7 name result others
	e2e_equal "$what: rekey run exits 1" 1 "$e2e_status"
	e2e_matches "$what: the output names the cause" "$cause" "$(<"$out")"
	e2e_matches "$what: the summary's row of $failed names its host" \
		"(^|"$'\n'")(service|client) +$failed +$(host_of "$failed") " "$(<"$out")"
	e2e_matches "$what: the output gives the command to resume or roll back" \
		"rekey (resume|rollback) [^ ]*$pb" "$(<"$out")"
	for name in "${E2E_SERVICES[@]}"; do
		e2e_check_service_state "$what" "$out" "$id" "$name"
	done
	e2e_check_clients_state "$what" "$out" "$id"
	files_whole "$what" "$id"
	journal_true "$what" "$id" "$pb"
	record_says "$what" "$id" 'failed'
	result=$(e2e_result "$out" "$failed")
	others=$(others_of "$failed" "$out")
	rk_t_note "$what: $failed $result; the others: $(tr '\n' ',' <<<"$others")"
	case $policy in
	rollback)
		e2e_equal "$what: $failed is ${rollback_result:-rolled back}" \
			"${rollback_result:-rolled back}" "$result"
		if [[ $failed == app1-env ]]; then
			local -a files=("$E2E_APP/.env" "$E2E_APP/certs/db-ca.crt" "$E2E_APP/certs/app.crt"
				"$E2E_APP/certs/app.key")
			e2e_same "$what: app1-env (rolled back) has its old files: bytes, modes, owners" \
				"$(e2e_digest_lines "$E2E_SNAP_HOST_DIGEST" "${files[@]}")" \
				"$(e2e_digest_lines "$(e2e_host_digest)" "${files[@]}")"
		fi ;;
	halt)
		e2e_results_are "$what: $failed failed" "${halt_result:-failed}" "$failed $result"
		if [[ $failed == pg-e2e ]]; then
			e2e_results_are "$what: nothing after the canary was started" \
				'not started|skipped' "$others"
		fi ;;
	continue)
		e2e_results_are "$what: $failed failed" "${halt_result:-failed}" "$failed $result"
		if [[ -n ${continue_verified:-} ]]; then
			e2e_results_are "$what: $continue_verified verified" verified \
				"$(grep -E "^($continue_verified) " <<<"$others")"
		elif [[ $failed == pg-e2e ]]; then
			e2e_results_are "$what: every other service and client verified" verified \
				"$others"
		fi ;;
	esac
	if [[ $policy != rollback ]]; then
		e2e_rekey "$out.rollback" rollback "$pb"
		if [[ -n ${rollback_fails:-} ]]; then
			# The fault is still there: the reload rollback runs again fails as well.
			e2e_equal "$what: rekey rollback exits 1" 1 "$e2e_status"
			e2e_matches "$what: rekey rollback says why" "$rollback_fails" \
				"$(<"$out.rollback")"
		else
			e2e_equal "$what: rekey rollback exits 0" 0 "$e2e_status"
		fi
		e2e_same "$what: after rekey rollback every host file is back (bytes, modes, owners)" \
			"$E2E_SNAP_HOST_DIGEST" "$(e2e_host_digest)"
		e2e_check_served "$what: after rekey rollback PostgreSQL serves its old certificate" \
			postgres "$RK_H_PG_PORT" "$E2E/snap/pki/issued/db1-server.crt"
		e2e_check_served "$what: after rekey rollback MariaDB serves its old certificate" \
			mysql "$RK_H_MY_PORT" "$E2E/snap/pki/issued/db2-server.crt"
		files_whole "$what: after rekey rollback" "$id"
	fi
}

# after_preflight_no WHAT ID OUT FAILED CAUSE: the checks of a run preflight stopped.
after_preflight_no() {
	local what=$1 id=$2 out=$3 failed=$4 cause=$5
	e2e_equal "$what: rekey run exits 1" 1 "$e2e_status"
	e2e_matches "$what: the output names the host and the cause" "$cause" "$(<"$out")"
	e2e_matches "$what: the summary's row of $failed names its host" \
		"(^|"$'\n'")(service|client) +$failed +$(host_of "$failed") " "$(<"$out")"
	rk_t_note "$what: rekey said: $(grep -m 1 -A 1 -E "^(service|client) +$failed " "$out" |
		tail -n 1 | sed 's/^ *//')"
	e2e_results_are "$what: $failed's row says failed" 'failed|not started' \
		"$failed $(e2e_result "$out" "$failed")"
	e2e_results_are "$what: nothing else was started" 'not started|skipped' \
		"$(others_of "$failed" "$out")"
	nothing_changed "$what" "$id"
	files_whole "$what" "$id"
	journal_true "$what" "$id" "$E2E/chaos-$id.yml"
	record_says "$what" "$id" 'failed'
}

reference

# The sshd of host N (1-based): its folder, listener pid, port.
sshd_dir() { printf '%s\n' "${host_dirs[$(($1 - 1))]}"; }
sshd_pid() { harness_read_pid_file "$(sshd_dir "$1")/sshd.pid"; }

# sshd_reload N: SIGHUP (sshd re-executes itself, reading its configuration and host keys
# again), then wait until it listens again.
sshd_reload() {
	local dir pid
	dir=$(sshd_dir "$1")
	pid=$(sshd_pid "$1")
	kill -HUP "$pid"
	sleep 0.3
	harness_wait_until 10 "sshd $1 listens again" harness_sshd_listens "$dir" \
		"$(<"$dir/port")"
}

# ---------------------------------------------------------------------------------------------
# 1. db1's ssh session killed while the replace of PostgreSQL's key writes its temporary file

fault_sshd() {
	local variant=$1 policy=$2 id=E2E-C-$1-$2 what="$1/$2" pb out at pid kill=() victims
	pb=$E2E/chaos-$id.yml out=$work/$id.out
	e2e_reset
	e2e_write_playbook "$pb" id="$id" scenario=rotate timeout=5
	E2E_JOURNAL=$(e2e_incident_dir "$id")/journal.jsonl
	e2e_pause_at "$out" "file:$E2E_PG/server.key.rekey-tmp-*" run --on-failure "$policy" "$pb"
	at=$(e2e_pause_wait "$out")
	if [[ $at == ended* ]]; then
		e2e_bad "$what: the replace on db1 was never caught ($at)"
		e2e_pause_release "$out"
		return
	fi
	# The session's processes below db1's listener: its sshd processes, and (sshd-tree) the
	# command they run with everything it started.
	for pid in $(harness_descendants_of "$(sshd_pid 1)"); do
		if [[ $variant == sshd-tree || $(ps -o comm= -p "$pid" 2>/dev/null) == sshd ]]
		then
			kill+=("$pid")
		fi
	done
	victims=$(ps -o pid=,user=,args= -p "$(IFS=,; echo "${kill[*]}")" 2>/dev/null |
		cut -c1-80 | tr -s ' ' | tr '\n' ';' || true)
	kill -KILL "${kill[@]}" 2>/dev/null || true
	rk_t_note "$what: caught at journal line $at, killed ${#kill[@]}: $victims"
	e2e_pause_release "$out"
	cp -- "$E2E_JOURNAL" "$out.journal"
	runs=$((runs + 1))
	after_failed_run "$what" "$id" "$pb" "$out" "$policy" pg-e2e \
		"db1: replace $E2E_PG/server.key: read command output: connection lost"
	rk_t_note "$what: rekey said: $(grep -m 1 -A 1 -E "^service +pg-e2e " "$out" | tail -n 1 |
		sed 's/^ *//')"
}

if wanted sshd-tree || wanted sshd-session || wanted sshd-orphan; then
	# db1's sshd runs each command with its input at 64 bytes per DELAY seconds (DELAY read
	# from the file throttle-delay by each command), so that a replace (a key and a
	# certificate, some 1.5 KB) stays in the middle of its transfer a while.
	cat >"$E2E/throttled-command" <<'EOF'
#!/bin/sh
# ForceCommand of db1's sshd in e2e_chaos.sh: the command as sent, its input slowed down.
exec sh -c 'python3 -c "
import os, sys, time
while True:
    b = os.read(0, 64)
    if not b:
        break
    os.write(1, b)
    time.sleep(float(open(\"@DELAY@\").read()))
" | sh -c "$SSH_ORIGINAL_COMMAND"'
EOF
	sed -i "s|@DELAY@|$E2E/throttle-delay|" "$E2E/throttled-command"
	chmod 0755 "$E2E/throttled-command"
	cp -- "$(sshd_dir 1)/sshd_config" "$work/sshd1_config.orig"
	printf 'ForceCommand %s\n' "$E2E/throttled-command" >>"$(sshd_dir 1)/sshd_config"
	sshd_reload 1
	for variant in sshd-tree sshd-session sshd-orphan; do
		wanted "$variant" || continue
		# sshd-session: the command, cut off, is still receiving when rekey asks what it
		# did (and removes its temporary files); sshd-orphan: it gets its input all the same
		# from the pipe and finishes first, so rekey finds the new files and puts the old back.
		case $variant in
		sshd-session) echo 0.05 ;;
		*) echo 0.01 ;;
		esac >"$E2E/throttle-delay"
		for policy in "${policies[@]}"; do
			fault_sshd "$variant" "$policy"
		done
		faults_run=$((faults_run + 1))
	done
	cp -- "$work/sshd1_config.orig" "$(sshd_dir 1)/sshd_config"
	sshd_reload 1
fi

# ---------------------------------------------------------------------------------------------
# 2. db2 accepts TCP and never answers

if wanted silent; then
	rm -f -- "$work/silent.port"
	python3 "$here/trickle_server.py" silent "$work/silent.port" &
	silent_pid=$!
	harness_wait_until 10 "the silent listener has a port" test -s "$work/silent.port"
	silent_port=$(<"$work/silent.port")
	timeout_s=3
	for policy in "${policies[@]}"; do
		id=E2E-C-silent-$policy what="silent/$policy" pb=$E2E/chaos-$id.yml
		e2e_reset
		e2e_write_playbook "$pb" id="$id" scenario=rotate timeout=$timeout_s \
			db2_port="$silent_port"
		started=${EPOCHREALTIME/./}
		e2e_rekey "$work/$id.out" run --on-failure "$policy" "$pb"
		took=$(((${EPOCHREALTIME/./} - started) / 1000))
		runs=$((runs + 1))
		rk_t_note "$what: rekey run took $took ms (db2's timeout: $timeout_s s)"
		if ((took >= timeout_s * 1000 && took <= timeout_s * 1000 + 3000)); then
			e2e_ok "$what: preflight gave up within the timeout ($took ms, timeout ${timeout_s} s + 3 s)"
		else
			e2e_bad "$what: rekey run took $took ms, want ${timeout_s} s to ${timeout_s} s + 3 s"
		fi
		after_preflight_no "$what" "$id" "$work/$id.out" mariadb-e2e \
			"db2.*timed out after $timeout_s s"
	done
	kill "$silent_pid" 2>/dev/null || true
	wait "$silent_pid" 2>/dev/null || true
	faults_run=$((faults_run + 1))
fi

# ---------------------------------------------------------------------------------------------
# 3. app1's certs/ on a full file system

if wanted disk-full; then
	certs=$E2E_APP/certs
	# The certificate failed after the key was swapped: the key is put back at once, so the
	# client's row may say rolled back under halt and continue too.
	halt_result='failed|rolled back'
	for policy in "${policies[@]}"; do
		id=E2E-C-full-$policy what="disk-full/$policy" pb=$E2E/chaos-$id.yml
		undo_mounts
		e2e_reset
		mount -t tmpfs -o size=64k,mode=0755 tmpfs "$certs"
		mounts+=("$certs")
		cp -a -- "$E2E/snap/app/certs/." "$certs/"
		chown -- "$RK_H_SSH_USER:$RK_H_SSH_USER" "$certs"
		# Two pages left: one for the new CA file (the old one stays as its backup), one for
		# the client's new key; its certificate, in the same command, finds none.
		dd if=/dev/zero of="$certs/filler" bs=4k status=none 2>/dev/null || true
		truncate -s -8192 "$certs/filler"
		e2e_equal "$what: the tmpfs under app1's certs/ has two pages left (df)" 8192 \
			"$(df --output=avail -B1 "$certs" | tail -n 1 | tr -d ' ')"
		e2e_write_playbook "$pb" id="$id" scenario=rotate timeout=5
		e2e_rekey "$work/$id.out" run --on-failure "$policy" "$pb"
		runs=$((runs + 1))
		after_failed_run "$what" "$id" "$pb" "$work/$id.out" "$policy" \
			app1-env \
			"app1: replace $certs/app.crt: dd: error writing '$certs/app.crt.rekey-tmp-[0-9a-f]+': No space left on device"
		rm -f -- "$certs/filler"
	done
	halt_result=
	undo_mounts
	faults_run=$((faults_run + 1))
fi

# ---------------------------------------------------------------------------------------------
# 4. PostgreSQL's reload command never ends

if wanted hang; then
	# A sleep no one else runs, so that what is left of it can be counted.
	nap="1000.$$"
	timeout_s=3
	rollback_fails="db1.*timed out after $timeout_s s"
	# Under rollback the undo reloads again, which hangs too: the row says so.
	rollback_result='undo FAILED'
	for policy in "${policies[@]}"; do
		id=E2E-C-hang-$policy what="hang/$policy" pb=$E2E/chaos-$id.yml
		e2e_reset
		e2e_write_playbook "$pb" id="$id" scenario=rotate timeout=$timeout_s \
			"pg_reload={command: \"sleep $nap\"}"
		started=${EPOCHREALTIME/./}
		e2e_rekey "$work/$id.out" run --on-failure "$policy" "$pb"
		took=$(((${EPOCHREALTIME/./} - started) / 1000))
		runs=$((runs + 1))
		rk_t_note "$what: rekey run took $took ms (db1's timeout: $timeout_s s)"
		# Each reload (the run's, and under rollback the undo's) is stopped at the timeout,
		# with timeout(1)'s 2 s of grace at most.
		if ((took <= 2 * (timeout_s + 2) * 1000 + 5000)); then
			e2e_ok "$what: the run ended within two reload timeouts and 5 s ($took ms)"
		else
			e2e_bad "$what: rekey run took $took ms"
		fi
		e2e_equal "$what: no reload command is left running on db1" "" \
			"$(pgrep -a -f "^sleep $nap\$" || true)"
		after_failed_run "$what" "$id" "$pb" "$work/$id.out" "$policy" pg-e2e \
			"db1: run sh: command: timed out after $timeout_s s; timeout\\(1\\) stopped it on the host \\(step [0-9]+, reload\\)"
	done
	rollback_fails='' rollback_result=''
	faults_run=$((faults_run + 1))
fi

# ---------------------------------------------------------------------------------------------
# 5. PostgreSQL goes down between its reload and its verify

pg_start() {
	harness_run_logged "$E2E_PG/pg_ctl.log" runuser -u postgres -- env -C / \
		"$RK_H_PG_BIN/pg_ctl" -D "$RK_H_PG_DATA" -l "$RK_H_PG_LOG" -w -t 30 start
}

if wanted db-down; then
	# How verify words it depends on where PostgreSQL's stop caught it: connection refused,
	# a TLS handshake cut short, or a login refused after the handshake checks.
	# PostgreSQL is down for the rest of the run: app1's clients, all of PostgreSQL but one,
	# fail with it under continue; MariaDB goes on.
	continue_verified=mariadb-e2e
	# Under rollback, the files are put back but the reload again meets the server down: the
	# row must say so, not "rolled back".
	rollback_result='undo FAILED'
	for policy in "${policies[@]}"; do
		id=E2E-C-dbdown-$policy what="db-down/$policy" pb=$E2E/chaos-$id.yml
		out=$work/$id.out
		e2e_reset
		e2e_write_playbook "$pb" id="$id" scenario=rotate timeout=5
		E2E_JOURNAL=$(e2e_incident_dir "$id")/journal.jsonl
		e2e_pause_at "$out" 'journal:^(?=.*"action":"reload")(?=.*"host":"db1")(?=.*"state":"done")' \
			run --on-failure "$policy" "$pb"
		at=$(e2e_pause_wait "$out")
		harness_stop_postgresql "$E2E_PG"
		rk_t_note "$what: PostgreSQL stopped at journal line $at"
		e2e_pause_release "$out"
		runs=$((runs + 1))
		if pg_start; then
			e2e_ok "$what: PostgreSQL starts again"
		else
			e2e_bad "$what: PostgreSQL does not start again"
		fi
		after_failed_run "$what" "$id" "$pb" "$out" "$policy" pg-e2e \
			"pg-e2e: [^"$'\n'"]*(Connection refused|TLS handshake failed|the server closed the connection)[^"$'\n'"]* \\(step [0-9]+, verify\\)"
		if [[ $policy == rollback ]]; then
			e2e_matches "$what: the row names the reload whose undo failed" \
				"(^|"$'\n'") +undo FAILED: [^"$'\n'"]+ \\(step [0-9]+, reload\\)" "$(<"$out")"
			record_says "$what" "$id" '^failed, rollback incomplete$'
			e2e_equal "$what: the record's pg-e2e says undo FAILED, with the undo's error" \
				"undo FAILED yes" "$(tar -xzOf "$E2E_RECORDS/$id.tar.gz" --wildcards \
				'*/incident.json' 2>/dev/null | python3 -c 'import json, sys
s = [u for u in json.load(sys.stdin)["services"] if u["name"] == "pg-e2e"][0]
print(s["result"], "yes" if s["undo_error"] and s["error"] else "no")' 2>&1)"
		fi
	done
	continue_verified='' rollback_result=''
	faults_run=$((faults_run + 1))
fi

# ---------------------------------------------------------------------------------------------
# 6. db2's host key changed since the last run

if wanted host-key; then
	dir2=$(sshd_dir 2)
	mkdir -p -- "$work/hk-old" "$work/hk-new"
	cp -a -- "$dir2"/hk_* "$work/hk-old/"
	ssh-keygen -q -t ed25519 -N '' -C rekey-chaos-new -f "$work/hk-new/hk_ed25519"
	ssh-keygen -q -t ecdsa -N '' -C rekey-chaos-new -f "$work/hk-new/hk_rsa"
	new_fp=$(ssh-keygen -l -E sha256 -f "$work/hk-new/hk_ed25519.pub" | cut -d' ' -f2)
	cp -a -- "$work/hk-new"/hk_* "$dir2/"
	sshd_reload 2
	kh_before=$(sha_of "$RK_H_KNOWN_HOSTS")
	for policy in "${policies[@]}"; do
		id=E2E-C-hostkey-$policy what="host-key/$policy" pb=$E2E/chaos-$id.yml
		e2e_reset
		e2e_write_playbook "$pb" id="$id" scenario=rotate timeout=5
		log_at=$(wc -c <"$dir2/sshd.log")
		e2e_rekey "$work/$id.out" run --on-failure "$policy" "$pb"
		runs=$((runs + 1))
		after_preflight_no "$what" "$id" "$work/$id.out" mariadb-e2e \
			"db2.*host key.*${new_fp//+/\\+}"
		e2e_equal "$what: db2's sshd logged no login" "" \
			"$(tail -c +$((log_at + 1)) "$dir2/sshd.log" | grep -E 'Accepted|session opened' || true)"
		e2e_equal "$what: known_hosts is unchanged" "$kh_before" "$(sha_of "$RK_H_KNOWN_HOSTS")"
	done
	cp -a -- "$work/hk-old"/hk_* "$dir2/"
	sshd_reload 2
	faults_run=$((faults_run + 1))
fi

# ---------------------------------------------------------------------------------------------
# 7. A wrong CA passphrase

# encrypted_ca_playbook FILE ID PASSFILE: the playbook with the CA key encrypted.
encrypted_ca_playbook() {
	e2e_write_playbook "$1" id="$2" scenario=rotate timeout=5
	python3 - "$1" "$E2E_PKI/ca.key" "$E2E/ca-encrypted.key" "$3" <<'PY'
import sys
path, old, new, passfile = sys.argv[1:]
text = open(path).read()
line = f'  key: "{old}"\n'
assert line in text
text = text.replace(line, f'  key: "{new}"\n  key_passphrase_file: "{passfile}"\n')
open(path, "w").write(text)
PY
}

if wanted passphrase; then
	( umask 077
	  harness_random_password >"$work/ca-pass.right"
	  printf 'not-the-passphrase\n' >"$work/ca-pass.wrong" )
	openssl pkey -in "$E2E_PKI/ca.key" -aes256 -passout "file:$work/ca-pass.right" \
		-out "$E2E/ca-encrypted.key"
	chmod 0600 "$E2E/ca-encrypted.key"
	for policy in "${policies[@]}"; do
		id=E2E-C-pass-$policy what="passphrase/$policy" pb=$E2E/chaos-$id.yml
		e2e_reset
		encrypted_ca_playbook "$pb" "$id" "$work/ca-pass.wrong"
		declare -A log_at=()
		for n in 1 2 3; do
			log_at[$n]=$(wc -c <"$(sshd_dir "$n")/sshd.log")
		done
		e2e_rekey "$work/$id.out" run --on-failure "$policy" "$pb"
		runs=$((runs + 1))
		# Found while the playbook is loaded, before the run begins: a playbook error.
		e2e_equal "$what: rekey run exits 2 (nothing touched)" 2 "$e2e_status"
		rk_t_note "$what: rekey says: $(grep -m 1 'rekey' "$work/$id.out")"
		e2e_matches "$what: the output names the CA key and the passphrase" \
			'ca-encrypted\.key.*([Pp]assphrase|decrypt)|([Pp]assphrase|decrypt).*ca-encrypted\.key' \
			"$(<"$work/$id.out")"
		sessions=""
		for n in 1 2 3; do
			sessions+=$(tail -c +$((log_at[$n] + 1)) "$(sshd_dir "$n")/sshd.log" |
				grep -E 'Connection from|Accepted' || true)
		done
		e2e_equal "$what: no sshd saw a connection" "" "$sessions"
		nothing_changed "$what" "$id"
		files_whole "$what" "$id"
	done
	# The same playbook with the right passphrase runs: the key file itself was sound.
	id=E2E-C-pass-right what="passphrase/right" pb=$E2E/chaos-$id.yml
	e2e_reset
	encrypted_ca_playbook "$pb" "$id" "$work/ca-pass.right"
	e2e_rekey "$work/$id.out" run "$pb"
	runs=$((runs + 1))
	e2e_equal "$what: with the right passphrase rekey run exits 0" 0 "$e2e_status"
	e2e_summary_all_verified "$what" "$work/$id.out"
	faults_run=$((faults_run + 1))
fi

# ---------------------------------------------------------------------------------------------
# 8. The incident folder's file system full, while the journal or the record is written

records_on_tmpfs() {
	undo_mounts
	e2e_reset
	mount -t tmpfs -o size=1m,mode=0755 tmpfs "$E2E_RECORDS"
	mounts+=("$E2E_RECORDS")
}

fill_records() {
	dd if=/dev/zero of="$E2E_RECORDS/filler" bs=4k status=none 2>/dev/null || true
}

fault_local_full() {
	local where=$1 policy=$2 id what pb out at when
	id=E2E-C-$where-$policy what="$where/$policy" pb=$E2E/chaos-$id.yml out=$work/$id.out
	records_on_tmpfs
	e2e_write_playbook "$pb" id="$id" scenario=rotate timeout=5
	E2E_JOURNAL=$(e2e_incident_dir "$id")/journal.jsonl
	case $where in
	journal-full) when='journal:^(?=.*"phase":"swap")(?=.*"host":"db1")(?=.*"state":"start")' ;;
	record-full) when='journal:^(?=.*"action":"record")(?=.*"state":"done")' ;;
	esac
	e2e_pause_at "$out" "$when" run --on-failure "$policy" "$pb"
	at=$(e2e_pause_wait "$out")
	fill_records
	rk_t_note "$what: the incident folder filled up at journal line $at"
	e2e_pause_release "$out"
	cp -- "$E2E_JOURNAL" "$out.journal"
	runs=$((runs + 1))
	e2e_equal "$what: rekey run exits 1" 1 "$e2e_status"
	e2e_matches "$what: the output says no space is left, and where" \
		"$E2E_RECORDS.*No space left on device" "$(<"$out")"
	files_whole "$what" "$id"
	journal_true "$what" "$id" "$pb"
	if [[ $where == record-full ]]; then
		e2e_matches "$what: the output says the record was not written" \
			'record: NOT WRITTEN' "$(<"$out")"
		e2e_summary_all_verified "$what" "$out"
	else
		# The summary still tells how far the run got, each row true on the hosts.
		e2e_matches "$what: the output says the journal stopped the run, and how to go on" \
			"the journal could not be written \\(.*No space left on device\\): the run stopped there.*\`rekey resume $pb\`" \
			"$(<"$out")"
		for name in "${E2E_SERVICES[@]}"; do
			e2e_check_service_state "$what" "$out" "$id" "$name"
		done
		e2e_check_clients_state "$what" "$out" "$id"
		e2e_matches "$what: the output says whether the record was written" \
			'(^|'$'\n'')record: (NOT WRITTEN: .*No space left on device|.*\.tar\.gz)' \
			"$(<"$out")"
	fi
	rm -f -- "$E2E_RECORDS/filler"
	e2e_rekey "$out.resume" resume "$pb"
	runs=$((runs + 1))
	e2e_equal "$what: after space is freed rekey resume exits 0" 0 "$e2e_status"
	e2e_summary_all_verified "$what: resume" "$out.resume"
	e2e_equal "$what: resume: every journaled step is done" "" "$(e2e_journal_unfinished "$id")"
	files_whole "$what: resume" "$id"
	journal_true "$what: resume" "$id" "$pb"
	for name in "${E2E_SERVICES[@]}"; do
		e2e_check_service_state "$what: resume" "$out.resume" "$id" "$name"
	done
	e2e_check_clients_state "$what: resume" "$out.resume" "$id"
	record_says "$what: resume" "$id" 'verified'
}

if wanted journal-full; then
	for policy in "${policies[@]}"; do
		fault_local_full journal-full "$policy"
	done
	faults_run=$((faults_run + 1))
fi
if wanted record-full; then
	fault_local_full record-full rollback
	faults_run=$((faults_run + 1))
fi
undo_mounts

rk_t_note "faults: $faults_run, runs of rekey run/resume under a fault: $runs"
e2e_finish
