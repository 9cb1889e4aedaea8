#!/usr/bin/env bash
# End to end, under with-servers.sh --ssh 3 --pg --mariadb (issue 13): `kill -9` of `rekey run`
# at journal line N, for N from 2 to the last line of an uninterrupted run (the first "start"
# line of every action, and every E2E_KILL_STRIDE-th line: by default about 4 more, 1 for
# every line), then `rekey resume`. Each time the end state equals the uninterrupted run's, seen
# from outside: every host file's mode, owner and content (the incident's certificate or key,
# the same client configuration bytes, the same revoked serials), the certificates served,
# each certificate once in the ledger, no temporary file or uploaded key left behind.
# Along the way: a second run while one holds the journal is refused with the holder's pid;
# `rekey run` on an interrupted incident refuses and names `rekey resume`; a torn last line
# is ignored by resume. Then `rekey rollback`, after a resumed run and straight after a kill,
# puts back the exact previous bytes, modes and owners, the old certificates are served
# again, and the revocation stays; also when the kill came the moment a new key landed on
# db1, before the run could journal it. Then E2E_KILL_RANDOM kills at random moments (below).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RK_T_NAME=e2e/kill
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$here/e2e_lib.sh"
e2e_build_estate "${1:?usage: e2e_kill.sh REKEY}"
work=$E2E_WORK
id="E2E-KILL"
pb=$E2E/kill.yml
inc=$(e2e_incident_dir "$id")
journal=$inc/journal.jsonl
E2E_JOURNAL=$journal
e2e_write_playbook "$pb" id=$id scenario=server
names=(db1-server db2-server app-client)

# What a run leaves, in terms that do not depend on the run: each host file's mode and owner,
# and its content as "cert:NAME"/"key:NAME" of the incident, the revoked serials of a CRL,
# else its SHA-256 (the same edits give the same bytes); what each server serves; the CA's
# CRL; the ledger's verdict; temporary files beside targets; uploads of the incident's keys
# left in the hosts' scratch folder (/tmp).
end_state() {
	local proto port served name
	local -a files
	mapfile -t files < <(e2e_host_files)
	python3 - "$inc" "$E2E_PKI/ca.crl" "${names[*]}" "${files[@]}" <<'PY'
import glob, grp, hashlib, os, pwd, subprocess, sys
inc, ca_crl, names, files = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4:]
def digest(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None
known = {}
for name in names:
    known[digest(f"{inc}/certs/{name}.crt")] = f"cert:{name}"
    known[digest(f"{inc}/keys/{name}.key")] = f"key:{name}"
known.pop(None, None)
def serials(path):
    text = subprocess.run(["openssl", "crl", "-in", path, "-noout", "-text"],
                          capture_output=True, text=True).stdout
    return " ".join(sorted(l.split(":", 1)[1].strip() for l in text.splitlines()
                           if "Serial Number:" in l))
for path in files:
    try:
        st = os.stat(path)
    except OSError:
        print(path, "missing")
        continue
    d = digest(path)
    what = "crl: " + serials(path) if path.endswith(".crl") else known.get(d, d)
    print(path, "%o" % (st.st_mode & 0o7777), pwd.getpwuid(st.st_uid).pw_name,
          grp.getgrgid(st.st_gid).gr_name, what)
print("ca.crl revokes", serials(ca_crl))
keys = {digest(f"{inc}/keys/{n}.key") for n in names} - {None}
print("uploaded keys left in /tmp:", sum(1 for f in glob.glob("/tmp/rekey-upload-*")
                                         if digest(f) in keys))
PY
	for proto in postgres mysql; do
		case $proto in postgres) port=$RK_H_PG_PORT ;; *) port=$RK_H_MY_PORT ;; esac
		served=$(e2e_served_fingerprint "$proto" "$port")
		for name in "${names[@]}"; do
			[[ $served != "$(e2e_fingerprint "$inc/certs/$name.crt")" ]] || served=cert:$name
		done
		printf '%s serves %s\n' "$proto" "$served"
	done
	printf 'ledger: %s\n' "$(e2e_ledger_problems "$id" "${names[@]}" | xargs)"
	printf 'temporary files: %s\n' "$(e2e_transport_leftovers | grep -c 'rekey-tmp' || true)"
}

# The uninterrupted run.
started=${EPOCHREALTIME/./}
e2e_rekey "$work/reference.out" run "$pb"
reference_ms=$(((${EPOCHREALTIME/./} - started) / 1000))
rk_t_note "the uninterrupted run took $(e2e_elapsed "$started")"
if ((e2e_status != 0)); then
	e2e_bad "the uninterrupted run exits $e2e_status$(rk_t_show "$(<"$work/reference.out")")"
	e2e_finish
	exit 1
fi
e2e_ok "the uninterrupted run exits 0"
reference=$(end_state)
e2e_equal "the uninterrupted run: each certificate once in the ledger" "ledger: " \
	"$(grep '^ledger:' <<<"$reference")"
e2e_matches "the uninterrupted run: PostgreSQL serves the new db1-server" \
	'postgres serves cert:db1-server' "$reference"
e2e_journal_lines "$journal" >"$work/reference.lines"
total=$(wc -l <"$journal")
rk_t_note "the uninterrupted run wrote $total journal lines"

# Kill points: the first "start" line of each action, and every stride-th line (by default
# about 4 more; E2E_KILL_STRIDE=1 kills at every line in turn, which takes some minutes).
stride=${E2E_KILL_STRIDE:-$(((total - 2) / 4 + 1))}
mapfile -t points < <({
	seq 2 "$stride" $((total - 1))
	awk '$4 == "start" && !seen[$3]++ { print $1 }' "$work/reference.lines"
} | awk -v max=$((total - 1)) '$1 >= 2 && $1 <= max' | sort -n -u)
rk_t_note "kill points (${#points[@]}): ${points[*]}"
mid=${points[$((${#points[@]} / 2))]}

covered=()
for n in "${points[@]}"; do
	e2e_reset
	if ((n == mid)); then
		# Held by a stopped run, the journal's lock refuses a second one and names its pid.
		read -r at pid < <(e2e_run_until_line "$work/run-$n.out" "$n" STOP run "$pb")
		e2e_rekey "$work/second.out" run "$pb"
		e2e_equal "N=$n: a second rekey run while one holds the journal exits 1" 1 "$e2e_status"
		e2e_matches "N=$n: ... and names the holder's pid $pid" "\\b$pid\\b" "$(<"$work/second.out")"
		e2e_rekey "$work/second-resume.out" resume "$pb"
		e2e_equal "N=$n: rekey resume while a run holds the journal exits 1" 1 "$e2e_status"
		kill -KILL "$pid"
		rk_t_within 10 "N=$n: the stopped run is gone after SIGKILL" harness_pid_is_gone "$pid"
	else
		read -r at pid < <(e2e_run_until_line "$work/run-$n.out" "$n" KILL run "$pb")
	fi
	if [[ $at == ended ]]; then
		rk_t_note "N=$n: the run ended (status $pid) before its journal had $n lines"
	else
		covered+=("$(e2e_journal_lines "$journal" | tail -n 1 | cut -d' ' -f3-)")
	fi
	if ((n == mid)); then
		e2e_rekey "$work/rerun-$n.out" run "$pb"
		e2e_equal "N=$n: rekey run on an interrupted incident exits 1" 1 "$e2e_status"
		e2e_matches "N=$n: ... and names rekey resume" 'rekey resume' "$(<"$work/rerun-$n.out")"
		# A write cut short by a power cut: resume ignores the torn last line.
		printf '{"seq":%s,"step":' "$n" >>"$journal"
	fi
	e2e_rekey "$work/resume-$n.out" resume "$pb"
	if ((e2e_status != 0)); then
		e2e_bad "N=$n (killed at $at lines): rekey resume exits $e2e_status$(rk_t_show \
			"$(<"$work/resume-$n.out")")"
		continue
	fi
	e2e_same "N=$n (killed at $at lines): after resume the end state is the uninterrupted run's" \
		"$reference" "$(end_state)"
	e2e_equal "N=$n: every journaled step is done" "" "$(e2e_journal_unfinished "$id")"
done
rk_t_note "killed after: $(printf '%s\n' "${covered[@]}" | sort -u | tr '\n' ',' | sed 's/,$//')"
missing=$(comm -23 <(awk 'NR > 1 { print $3 }' "$work/reference.lines" | sort -u) \
	<(printf '%s\n' "${covered[@]}" | cut -d' ' -f1 | sort -u) | xargs)
[[ -z $missing ]] || rk_t_note "no kill landed right after a line of: $missing"

# Kills at random moments (issue 20): E2E_KILL_RANDOM runs (default 6), each `kill -9` after a
# delay drawn evenly from 0 to the uninterrupted run's duration (E2E_KILL_SEED repeats the
# draws), so a kill lands anywhere, not only right after a journal line: mid-write, mid-replace
# on a host, mid-reload. Then `rekey resume` (`rekey run` when the kill came before the journal
# existed), and the end state is the uninterrupted run's. Says where the kills landed.
# kill_after OUT MS ARGS...: `rekey ARGS`, SIGKILL after MS ms; prints "killed" or "ended STATUS".
kill_after() {
	python3 - "$@" "$E2E_REKEY" <<'PY'
import subprocess, sys, time
out, delay, argv = sys.argv[1], int(sys.argv[2]) / 1000, [sys.argv[-1]] + sys.argv[3:-1]
with open(out, "wb") as f:
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT)
deadline = time.monotonic() + delay
while (left := deadline - time.monotonic()) > 0:
    if child.poll() is not None:
        print("ended", child.returncode)
        sys.exit(0)
    time.sleep(min(left, 0.0005))
if child.poll() is not None:
    print("ended", child.returncode)
else:
    child.kill()
    child.wait()
    print("killed")
PY
}

random_runs=${E2E_KILL_RANDOM:-6}
seed=${E2E_KILL_SEED:-$((${EPOCHREALTIME/./} % 32768))}
RANDOM=$seed
rk_t_note "random kills: $random_runs, delays 0 to $reference_ms ms, E2E_KILL_SEED=$seed"
declare -A landed=()
random_checked=0 random_failed_before=$e2e_failed
landed_lines=()
for ((r = 1; r <= random_runs; r++)); do
	e2e_reset
	delay=$(((RANDOM * 32768 + RANDOM) % (reference_ms + 1)))
	read -r how status < <(kill_after "$work/random-$r.out" "$delay" run "$pb")
	command=resume
	if [[ $how == ended ]]; then
		where="(the run ended first, status $status)"
	elif [[ ! -s $journal ]]; then
		where="(before the journal existed)"
		command=run
	else
		where=$(e2e_journal_lines "$journal" | tail -n 1 | cut -d' ' -f1,3-)
		landed_lines+=("${where%% *}")
		where=${where#* }
	fi
	landed[$where]=$((${landed[$where]:-0} + 1))
	e2e_rekey "$work/random-$r.$command.out" "$command" "$pb"
	if ((e2e_status != 0)); then
		e2e_bad "random kill $r after $delay ms ($where): rekey $command exits $e2e_status$(rk_t_show \
			"$(<"$work/random-$r.$command.out")")"
		continue
	fi
	e2e_same "random kill $r after $delay ms ($where): after $command the end state is the uninterrupted run's" \
		"$reference" "$(end_state)"
	e2e_equal "random kill $r: every journaled step is done" "" "$(e2e_journal_unfinished "$id")"
	random_checked=$((random_checked + 1))
done
rk_t_note "random kills: $random_runs runs, $random_checked end states checked, $((e2e_failed - \
	random_failed_before)) failures"
rk_t_note "random kills landed after (last journal line: action state, times):$(for w in \
	"${!landed[@]}"; do printf ' [%s: %s]' "$w" "${landed[$w]}"; done)"
if ((${#landed_lines[@]} > 0)); then
	rk_t_note "random kills landed after journal lines (of $total): $(printf '%s\n' \
		"${landed_lines[@]}" | sort -n | uniq -c | awk '{ printf "%s%s(x%s)", sep, $2, $1; sep = " " }')"
fi

# Rollback of the last resumed run: every host file as before, the old certificates served,
# the revocation kept.
check_rolled_back() {
	local what=$1
	e2e_rekey "$work/rollback.out" rollback "$pb"
	e2e_equal "$what: rekey rollback exits 0" 0 "$e2e_status"
	e2e_same "$what: every host file has its previous bytes, mode and owner" \
		"$E2E_SNAP_HOST_DIGEST" "$(e2e_host_digest)"
	e2e_check_served "$what: PostgreSQL serves the old certificate again" \
		postgres "$RK_H_PG_PORT" "$E2E/snap/pki/issued/db1-server.crt"
	e2e_check_served "$what: MariaDB serves the old certificate again" \
		mysql "$RK_H_MY_PORT" "$E2E/snap/pki/issued/db2-server.crt"
	e2e_check_revoked "$what: the revocation stays" "$E2E/snap/pki/issued/db1-server.crt" \
		"$E2E_PKI/ca.crt" "$E2E_PKI/ca.crl" "Key Compromise"
	e2e_equal "$what: the journal is sound and holds no secret" "" "$(e2e_journal_problems "$id")"
}
check_rolled_back "rollback after a resumed run"

# Killed the moment db1's new key lands, before the run could journal it: its step is started,
# not done, and rollback must still put the old key back.
e2e_reset
read -r at pid < <(e2e_run_until_line "$work/run-rollback.out" "$E2E_PG/server.key" KILL \
	run "$pb")
e2e_matches "killed as db1's new key landed: a push is journaled started, not done" \
	'\(push-file\): start' "$(e2e_journal_unfinished "$id")"
check_rolled_back "rollback straight after a kill as db1's new key landed (line $at)"
e2e_finish
