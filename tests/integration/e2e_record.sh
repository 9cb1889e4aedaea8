#!/usr/bin/env bash
# End to end, under with-servers.sh --ssh 3 --pg --mariadb (issue 15): the incident record
# every `rekey run`, `resume`, `rollback` and `rehearse` leaves, judged from outside rekey:
#   fresh      a server-key-compromise run: tar -tzf lists the members under one top folder,
#              sha256sum -c MANIFEST.sha256 passes, openssl dgst -verify says Verified OK with
#              signer.pub, which is the CA key's public half; the archive is 0600; the
#              timeline's hash chain, recomputed with python from playbook.yml, holds and
#              follows the journal; incident.json gives the outcome and the fingerprints
#              openssl s_client sees; certs/ holds the incident's certificates byte for byte,
#              fingerprints.tsv the old and new fingerprints; changes/ names every file that
#              changed on a host, with the SHA-256, mode and owner it has there now; `rekey
#              record verify` exits 0
#   tampered   one byte flipped in a member, a timeline line deleted, two swapped, MANIFEST.sig
#              replaced by another key's signature, each re-packed with tar in the same order:
#              `rekey record verify` exits 1 and names the member or the line (an untouched
#              re-pack still verifies)
#   outcomes   a failing reload under halt ("failed") and under rollback ("failed, rolled
#              back"), the failing service's result and error in incident.json; SIGINT mid-run
#              (exit 130, "interrupted"), then resume ("verified", its timeline beginning with
#              the interrupted run's) and rollback ("rolled back"); a rehearsal
#              (<id>.rehearsal.tar.gz, mode rehearsal, REHEARSAL in report.md's title and in
#              the HTML's <title> and <h1>)
#   secrets    no member of any record made here holds "PRIVATE KEY", a line of a private
#              key's PEM or a password of the harness; a password planted in the playbook (a
#              comment) makes the writer refuse the record, naming playbook.yml, while the run
#              itself ends verified
#   browser    report.html in headless Chromium: a PNG screenshot of the window's size with
#              more in it than a blank page's, and the page's text (--dump-dom) with the
#              incident, its outcome, every service and a new fingerprint; the HTML fetches
#              nothing (no URL, no script, no src=)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RK_T_NAME=e2e/record
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$here/e2e_lib.sh"
e2e_build_estate "${1:?usage: e2e_record.sh REKEY}"
work=$E2E_WORK
kept=$work/kept		# every record made, for the grep for secrets at the end
keylines=$work/key-lines	# the body lines of every private key the runs made
mkdir -p -- "$kept"
: >"$keylines"
id="E2E-REC"
pb=$E2E/record.yml
inc=$(e2e_incident_dir "$id")
e2e_write_playbook "$pb" id=$id scenario=server

# The members of a live record of the estate's server scenario, below its top folder.
server_members="MANIFEST.sha256
MANIFEST.sig
certs/app-client.crt
certs/crl.pem
certs/db1-server.crt
certs/db2-server.crt
certs/fingerprints.tsv
changes/app1.json
changes/app1/app1-env.diff
changes/app1/app1-mycnf.diff
changes/app1/app1-pgservice.diff
changes/app1/app1-url.diff
changes/db1.json
changes/db2.json
incident.json
playbook.yml
report.html
report.md
signer.pub
timeline.jsonl
verification.json"

# ---------------------------------------------------------------------------------------------
# Reading a record from outside

# record_path OUT: the archive the summary names ("record: PATH (...)", or --json's "record").
record_path() {
	if grep -q '"event": *"summary"' "$1"; then
		python3 -c 'import json, sys
for line in reversed(open(sys.argv[1]).read().splitlines()):
    try:
        ev = json.loads(line)
    except ValueError:
        continue
    if isinstance(ev, dict) and ev.get("event") == "summary":
        print(ev.get("record") or "")
        break' "$1"
	else
		sed -n 's/^record: *\(.*\) (rekey record verify checks it)$/\1/p' "$1" | tail -n 1
	fi
}

# have_record WHAT WANT GOT: the summary names the record WANT, and it is there; else the
# caller skips the checks of it.
have_record() {
	e2e_equal "$1: the summary names the record" "$2" "$3"
	[[ -f $2 ]] || { e2e_bad "$1: no record at $2"; return 1; }
}

# unpack NAME ARCHIVE: ARCHIVE unpacked with tar into $work/NAME (a copy kept aside for the
# grep for secrets); sets unpacked to its top folder.
unpack() {
	local name=$1 archive=$2
	rm -rf -- "${work:?}/$name"
	mkdir -p -- "$work/$name"
	cp -- "$archive" "$kept/$name.tar.gz"
	tar -xzf "$archive" -C "$work/$name" || e2e_bad "$name: tar -xzf $archive fails"
	unpacked=$work/$name/$(basename -- "$archive" .tar.gz)
}

# json FILE EXPR: a value from a JSON file (EXPR reads it as d), as python prints it.
json() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

# unit DIR NAME: "result error" of a service or client in DIR/incident.json.
unit() {
	json "$1/incident.json" "next(u['result'] + ' ' + str(u['error'])
	    for u in d['services'] + d['clients'] if u['name'] == '$2')"
}

# outcome_of DIR: "command outcome" of DIR/incident.json.
outcome_of() {
	json "$1/incident.json" 'd["command"] + " " + d["outcome"]'
}

# chain_problems DIR: what is wrong with DIR/timeline.jsonl's hash chain, recomputed here:
# each line's prev is the SHA-256 (hex) of the line before it, the first's that of playbook.yml.
chain_problems() {
	python3 - "$1" <<'PY'
import hashlib, json, sys
d = sys.argv[1]
prev = hashlib.sha256(open(f"{d}/playbook.yml", "rb").read()).hexdigest()
raw = open(f"{d}/timeline.jsonl", "rb").read()
if not raw.endswith(b"\n"):
    print("timeline.jsonl does not end with a newline")
for n, line in enumerate(raw.split(b"\n")[:-1], 1):
    try:
        got = json.loads(line).get("prev")
    except ValueError:
        got = "(not JSON)"
    if got != prev:
        print(f"line {n}: prev {got}, want {prev}")
    prev = hashlib.sha256(line).hexdigest()
PY
}

# timeline_steps FILE: "seq step action state" of every line of a timeline, or of a journal
# (its header aside).
timeline_steps() {
	python3 -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("kind") != "header":
        print(r.get("seq"), r.get("step"), r.get("action"), r.get("state"))' "$1"
}

# changes_last DIR [HOST]: "path sha256 mode owner group state" of the last entry of each path
# in DIR/changes/*.json (or HOST.json only), the mode as stat prints it.
changes_last() {
	python3 -c 'import glob, json, sys
last = {}
for f in sorted(glob.glob(sys.argv[1] + "/changes/" + sys.argv[2] + ".json")):
    for e in json.load(open(f)):
        last[e["path"]] = e
for p in sorted(last):
    e = last[p]
    print(p, e["sha256"], e["mode"].lstrip("0"), e["owner"], e["group"], e["state"])' \
		"$1" "${2:-*}"
}

# remember_keys DIR: the body lines of DIR/keys/*.key (the incident's new private keys).
remember_keys() {
	local f
	for f in "$1"/keys/*.key "$1"/ca/ca.key; do
		[[ ! -f $f ]] || grep -v -- '-----' "$f" | awk 'length($0) >= 20' >>"$keylines"
	done
}

# check_outside WHAT ARCHIVE DIR: what an auditor without rekey checks on any record (the
# listing's top folder, the mode, sha256sum -c, openssl dgst -verify, the chain), then
# `rekey record verify`.
check_outside() {
	local what=$1 archive=$2 dir=$3 top out
	top=$(basename -- "$archive" .tar.gz)
	e2e_equal "$what: the record is mode 600" 600 "$(stat -c %a -- "$archive")"
	e2e_equal "$what: every member tar -tzf lists is under $top/" "" \
		"$(tar -tzf "$archive" | grep -v "^$top/" || true)"
	if out=$(cd "$dir" && sha256sum --strict -c MANIFEST.sha256 2>&1); then
		e2e_ok "$what: sha256sum -c MANIFEST.sha256 passes"
	else
		e2e_bad "$what: sha256sum -c MANIFEST.sha256:$(rk_t_show "$out")"
	fi
	e2e_equal "$what: MANIFEST.sha256 lists every other member" \
		"$(cd "$dir" && find . -type f ! -name 'MANIFEST.*' -printf '%P\n' | sort)" \
		"$(cut -c67- "$dir/MANIFEST.sha256" | sort)"
	e2e_equal "$what: openssl dgst -sha256 -verify signer.pub -signature MANIFEST.sig" \
		"Verified OK" "$(openssl dgst -sha256 -verify "$dir/signer.pub" \
		-signature "$dir/MANIFEST.sig" "$dir/MANIFEST.sha256" 2>&1)"
	e2e_equal "$what: the timeline's hash chain holds (recomputed from playbook.yml)" "" \
		"$(chain_problems "$dir")"
	e2e_check "$what: rekey record verify exits 0" "$E2E_REKEY" record verify "$archive"
}

# recorded WHAT NAME ARCHIVE STATUS OUT ARGS...: `rekey ARGS` (output into OUT) exits STATUS,
# and its summary names ARCHIVE, which is unpacked as NAME (sets unpacked) and checked from
# outside. Returns 1 when there is no record (the caller skips its checks of it).
recorded() {
	local what=$1 name=$2 want=$3 status=$4 out=$5 started=${EPOCHREALTIME/./} archive
	shift 5
	e2e_rekey "$out" "$@"
	rk_t_note "$what: rekey $1 took $(e2e_elapsed "$started")"
	if [[ $e2e_status == "$status" ]]; then
		e2e_ok "$what: rekey $1 exits $status"
	else
		e2e_bad "$what: rekey $1 exits $e2e_status, want $status$(rk_t_show "$(<"$out")")"
	fi
	archive=$(record_path "$out")
	have_record "$what" "$want" "$archive" || return 1
	unpack "$name" "$archive"
	check_outside "$what" "$archive" "$unpacked"
}

# ---------------------------------------------------------------------------------------------
# fresh: a successful server-key-compromise run

scenario_fresh() {
	local archive=$E2E_RECORDS/$id.tar.gz rec svc name proto port cert got
	recorded fresh fresh "$archive" 0 "$work/fresh.out" run "$pb" || return 0
	rec=$unpacked
	e2e_same "fresh: tar -tzf lists the members" "$(sed "s|^|$id/|" <<<"$server_members")" \
		"$(tar -tzf "$archive" | sort)"
	tar -tzf "$archive" >"$work/order"
	cp -a -- "$rec" "$work/pristine"
	remember_keys "$inc"
	openssl pkey -in "$E2E_PKI/ca.key" -pubout -out "$work/ca.pub"
	e2e_check "fresh: signer.pub is the CA key's public half (openssl pkey -pubout)" \
		cmp -- "$work/ca.pub" "$rec/signer.pub"
	e2e_check "fresh: rekey record verify --pubkey (the CA's, kept apart) exits 0" \
		"$E2E_REKEY" record verify --pubkey "$work/ca.pub" "$archive"
	e2e_check "fresh: playbook.yml is the playbook as run" cmp -- "$pb" "$rec/playbook.yml"
	timeline_steps "$inc/journal.jsonl" >"$work/fresh.steps"
	e2e_same "fresh: the timeline holds every journal record, in order" \
		"$(<"$work/fresh.steps")" "$(timeline_steps "$rec/timeline.jsonl")"

	e2e_equal "fresh: incident.json: id, mode, title, command, reason, outcome" \
		"$id live LIVE run keyCompromise verified" \
		"$(json "$rec/incident.json" '" ".join(d[k] for k in
		    ("id", "mode", "title", "command", "reason", "outcome"))')"
	e2e_equal "fresh: incident.json: every service and client verified, no error" \
		"$(printf '%s verified None\n' "${E2E_SERVICES[@]}" "${E2E_CLIENTS[@]}")" \
		"$(for name in "${E2E_SERVICES[@]}" "${E2E_CLIENTS[@]}"; do
			printf '%s %s\n' "$name" "$(unit "$rec" "$name")"
		done)"
	e2e_equal "fresh: incident.json: the revoked serial is db1-server's" \
		"$(e2e_serial "$E2E/snap/pki/issued/db1-server.crt")" \
		"$(json "$rec/incident.json" 'd["revocations"][0]["serials"]' | tr -d :)"
	for svc in "pg-e2e postgres $RK_H_PG_PORT db1-server" \
		"mariadb-e2e mysql $RK_H_MY_PORT db2-server"; do
		read -r name proto port cert <<<"$svc"
		e2e_equal "fresh: incident.json: $name's new fingerprint is what openssl s_client sees" \
			"$(e2e_served_fingerprint "$proto" "$port" | cut -d= -f2)" \
			"$(json "$rec/incident.json" "next(s['fingerprint_after']
			    for s in d['services'] if s['name'] == '$name')")"
		e2e_equal "fresh: fingerprints.tsv: $name's old and new fingerprint, notAfter" \
			"$name $(e2e_fingerprint "$E2E/snap/pki/issued/$cert.crt" | cut -d= -f2) $(
			e2e_fingerprint "$inc/certs/$cert.crt" | cut -d= -f2) $(date -u +%FT%TZ -d "$(
			openssl x509 -in "$inc/certs/$cert.crt" -noout -enddate | cut -d= -f2)")" \
			"$(awk -F'\t' -v n="$name" '$1 == n { print $1, $2, $3, $4 }' \
			"$rec/certs/fingerprints.tsv")"
	done
	for cert in db1-server db2-server app-client; do
		e2e_check "fresh: certs/$cert.crt is the incident folder's, byte for byte" \
			cmp -- "$inc/certs/$cert.crt" "$rec/certs/$cert.crt"
	done
	e2e_check "fresh: certs/crl.pem is the CA's CRL, byte for byte" \
		cmp -- "$E2E_PKI/ca.crl" "$rec/certs/crl.pem"
	e2e_check_revoked "fresh: certs/crl.pem" "$E2E/snap/pki/issued/db1-server.crt" \
		"$E2E_PKI/ca.crt" "$rec/certs/crl.pem" "Key Compromise"

	# changes/: the last entry of each path against the file on its host now (sha256sum,
	# stat), every host file whose bytes changed named, each under its own host.
	got=$(changes_last "$rec")
	e2e_same "fresh: changes/ gives every pushed file the SHA-256, mode and owner it has now" \
		"$(while read -r name _; do
			printf '%s %s %s in place\n' "$name" "$(sha256sum <"$name" | cut -c1-64)" \
				"$(stat -c '%a %U %G' -- "$name")"
		done <<<"$got")" "$got"
	e2e_equal "fresh: every host file that changed is in changes/" "" \
		"$(comm -23 <(diff <(printf '%s\n' "$E2E_SNAP_HOST_DIGEST") <(e2e_host_digest) |
			sed -n 's/^> \([^ ]*\) .*/\1/p' | sort) <(cut -d' ' -f1 <<<"$got" | sort))"
	e2e_matches "fresh: changes/app1/app1-url.diff shows DATABASE_URL's edit, password masked" \
		"^\+DATABASE_URL='?postgresql://app:\*+@.*sslmode=verify-full" \
		"$(grep '^+DATABASE_URL=' "$rec/changes/app1/app1-url.diff" || true)"
	e2e_equal "fresh: changes/app1/app1-url.diff does not hold the app's password" 0 \
		"$(grep -c -F -- "$E2E_APP_PASSWORD" "$rec/changes/app1/app1-url.diff" || true)"
	e2e_equal "fresh: changes/HOST.json names only files of HOST" "" \
		"$({ changes_last "$rec" db1 | grep -v "^$E2E_PG/"
		changes_last "$rec" db2 | grep -v "^$E2E_MY/"
		changes_last "$rec" app1 | grep -v "^$E2E_APP/"; } || true)"
}

# ---------------------------------------------------------------------------------------------
# tampered: each on a copy of the fresh record, re-packed with tar in the same member order

# tampered WHAT REGEX MUTATION...: MUTATION runs in a copy of the fresh record's top folder;
# re-packed, `rekey record verify` must exit 1 saying something that matches REGEX (REGEX
# "valid": exit 0).
tampered() {
	local what=$1 pattern=$2 copy=$work/tampered status=0 out
	shift 2
	rm -rf -- "$copy"
	mkdir -p -- "$copy"
	cp -a -- "$work/pristine" "$copy/$id"
	(cd "$copy/$id" && "$@")
	tar -C "$copy" -czf "$copy.tar.gz" --no-recursion -T "$work/order"
	out=$("$E2E_REKEY" record verify "$copy.tar.gz" 2>&1) || status=$?
	if [[ $pattern == valid ]]; then
		e2e_equal "tampered: $what: rekey record verify exits 0" 0 "$status"
	elif ((status != 1)); then
		e2e_bad "tampered: $what: rekey record verify exits $status, want 1$(rk_t_show "$out")"
	else
		e2e_matches "tampered: $what: rekey record verify exits 1 and names it" "$pattern" \
			"$out"
		rk_t_note "tampered: $what: ${out##*NOT VALID: }"
	fi
}

# flip FILE OFFSET: one bit of one byte.
flip() {
	python3 -c 'import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[int(sys.argv[2])] ^= 0x01
open(sys.argv[1], "wb").write(b)' "$1" "$2"
}

# swap_lines FILE N: lines N and N+1 change places.
swap_lines() {
	awk -v a="$2" 'NR == a { held = $0; next } NR == a + 1 { print; print held; next } 1' \
		"$1" >"$1.new"
	mv -- "$1.new" "$1"
}

# resign: MANIFEST.sig made by another key over the same MANIFEST.sha256.
resign() {
	openssl dgst -sha256 -sign "$work/other.key" -out MANIFEST.sig MANIFEST.sha256
}

scenario_tampered() {
	local member
	[[ -d $work/pristine ]] || { e2e_bad "tampered: no fresh record to tamper with"; return; }
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/other.key"
	tampered "nothing changed (the re-pack alone)" valid true
	for member in certs/db1-server.crt report.md incident.json changes/db1.json; do
		tampered "one byte of $member flipped" "NOT VALID: ${member//./\\.}: " \
			flip "$member" 100
	done
	tampered "timeline line 5 deleted" 'NOT VALID: timeline\.jsonl line 5: ' \
		sed -i 5d timeline.jsonl
	tampered "timeline lines 7 and 8 swapped" 'NOT VALID: timeline\.jsonl line 7: ' \
		swap_lines timeline.jsonl 7
	tampered "the last timeline line deleted" 'NOT VALID: timeline\.jsonl' \
		sed -i '$d' timeline.jsonl
	tampered "MANIFEST.sig replaced by another key's signature" \
		'NOT VALID: MANIFEST\.sig does not verify' resign
}

# ---------------------------------------------------------------------------------------------
# outcomes: failed runs, an interrupted one, its resume, a rollback, a rehearsal

# A reload that fails while the new files are in place (as in e2e_faults.sh), under POLICY, on
# the scheduled rotation (nothing revoked).
scenario_failed() {
	local policy=$1 what="failed reload ($1)" fid="E2E-REC-F-$1" fpb=$E2E/record-$1.yml
	local rec want result
	# The reload works only while the old certificate is in place (sudo -n: as the login or
	# as root, whichever the reload runs as).
	local reload="cmp -s $E2E_PG/server.crt $E2E/snap/pg/server.crt"
	reload+=" && sudo -n kill -HUP \$(sudo -n head -n 1 $RK_H_PG_DATA/postmaster.pid)"
	e2e_reset
	e2e_write_playbook "$fpb" id="$fid" scenario=rotate timeout=5 on_failure="$policy" \
		"pg_reload={command: \"$reload\"}"
	recorded "$what" "fault-$policy" "$E2E_RECORDS/$fid.tar.gz" 1 "$work/fault-$policy.out" \
		run "$fpb" || return 0
	rec=$unpacked
	remember_keys "$(e2e_incident_dir "$fid")"
	case $policy in
	halt) want="run failed" result=failed ;;
	*) want="run failed, rolled back" result="rolled back" ;;
	esac
	e2e_equal "$what: incident.json's outcome" "$want" "$(outcome_of "$rec")"
	e2e_matches "$what: incident.json gives pg-e2e's result and error" "^$result .*reload" \
		"$(unit "$rec" pg-e2e)"
	rk_t_note "$what: pg-e2e in incident.json: $(unit "$rec" pg-e2e)"
	e2e_matches "$what: report.md's summary table gives pg-e2e's error" \
		'\| *pg-e2e *\|.*\|.*reload' "$(grep -m 1 '| *pg-e2e *|' "$rec/report.md")"
}

# SIGINT once the first file is pushed (the journal's first push-file "done"), as Ctrl-C
# would: rekey ends the steps under way, exits 130 and writes the record. Then resume, then
# rollback, each record covering the whole incident.
scenario_interrupted() {
	local stop_at at status archive irec rrec brec
	e2e_reset
	stop_at=$(awk '$3 == "push-file" && $4 == "done" { print NR + 1; exit }' \
		"$work/fresh.steps" 2>/dev/null || echo 30)
	read -r at status < <(E2E_JOURNAL=$inc/journal.jsonl e2e_run_until_line \
		"$work/interrupted.out" "${stop_at:-30}" INT run "$pb")
	rk_t_note "interrupted: SIGINT at journal line $at (the first push-file done: line $stop_at)"
	e2e_equal "interrupted: rekey run exits 130" 130 "$status"
	archive=$(record_path "$work/interrupted.out")
	have_record interrupted "$E2E_RECORDS/$id.tar.gz" "$archive" || return 0
	unpack interrupted "$archive"
	irec=$unpacked
	check_outside interrupted "$archive" "$irec"
	e2e_equal "interrupted: incident.json's outcome" "run interrupted" "$(outcome_of "$irec")"
	e2e_same "interrupted: the timeline holds every journal record, in order" \
		"$(timeline_steps "$inc/journal.jsonl")" "$(timeline_steps "$irec/timeline.jsonl")"
	e2e_matches "interrupted: some service or client is not verified" \
		'(not started|skipped|failed)' "$(json "$irec/incident.json" \
		'" ".join(u["result"] for u in d["services"] + d["clients"])')"

	# --json: the summary event names the record.
	recorded resume resume "$E2E_RECORDS/$id.tar.gz" 0 "$work/resume.json" \
		resume --json "$pb" || return 0
	rrec=$unpacked
	remember_keys "$inc"
	e2e_equal "resume: incident.json's outcome" "resume verified" "$(outcome_of "$rrec")"
	e2e_equal "resume: incident.json starts when the interrupted run started" \
		"$(json "$irec/incident.json" 'd["started"]')" "$(json "$rrec/incident.json" 'd["started"]')"
	e2e_check "resume: the timeline begins with the interrupted run's $(wc -l \
		<"$irec/timeline.jsonl") lines, byte for byte" \
		cmp -n "$(wc -c <"$irec/timeline.jsonl")" -- "$irec/timeline.jsonl" "$rrec/timeline.jsonl"
	e2e_same "resume: the timeline holds every journal record of the incident, in order" \
		"$(timeline_steps "$inc/journal.jsonl")" "$(timeline_steps "$rrec/timeline.jsonl")"
	e2e_equal "resume: incident.json: every service and client verified" \
		"$(printf 'verified None\n%.0s' "${E2E_SERVICES[@]}" "${E2E_CLIENTS[@]}")" \
		"$(for name in "${E2E_SERVICES[@]}" "${E2E_CLIENTS[@]}"; do unit "$rrec" "$name"; done)"
	e2e_check_served "resume: PostgreSQL serves the new db1-server" postgres "$RK_H_PG_PORT" \
		"$inc/certs/db1-server.crt"

	recorded rollback rollback "$E2E_RECORDS/$id.tar.gz" 0 "$work/rollback.out" \
		rollback "$pb" || return 0
	brec=$unpacked
	e2e_equal "rollback: incident.json's outcome" "rollback rolled back" "$(outcome_of "$brec")"
	e2e_check "rollback: the timeline begins with the resumed run's, byte for byte" \
		cmp -n "$(wc -c <"$rrec/timeline.jsonl")" -- "$rrec/timeline.jsonl" "$brec/timeline.jsonl"
	e2e_same "rollback: every host file is back (bytes, modes, owners)" \
		"$E2E_SNAP_HOST_DIGEST" "$(e2e_host_digest)"
	e2e_equal "rollback: changes/ leaves no file in place" "" \
		"$(changes_last "$brec" | awk '$6 == "in" { print $1 }')"
}

# A rehearsal: its own file name, marked REHEARSAL; no live record beside it.
scenario_rehearsal() {
	local hid="E2E-REC-RH" hpb=$E2E/record-rehearse.yml rec
	e2e_reset
	e2e_write_playbook "$hpb" id=$hid scenario=server
	recorded rehearsal rehearsal "$E2E_RECORDS/$hid.rehearsal.tar.gz" 0 "$work/rehearse.out" \
		rehearse "$hpb" || return 0
	rec=$unpacked
	e2e_equal "rehearsal: no live record is written" "" \
		"$(ls -- "$E2E_RECORDS/$hid.tar.gz" 2>/dev/null || true)"
	e2e_equal "rehearsal: incident.json: mode, title, command, outcome" \
		"rehearsal REHEARSAL rehearse go" \
		"$(json "$rec/incident.json" '" ".join(d[k] for k in
		    ("mode", "title", "command", "outcome"))')"
	e2e_matches "rehearsal: report.md's title says REHEARSAL" '^# .*REHEARSAL' \
		"$(head -n 1 "$rec/report.md")"
	e2e_matches "rehearsal: report.html's <title> says REHEARSAL" \
		'<title>[^<]*REHEARSAL[^<]*</title>' "$(<"$rec/report.html")"
	e2e_matches "rehearsal: report.html's <h1> says REHEARSAL" '<h1>[^<]*REHEARSAL[^<]*</h1>' \
		"$(<"$rec/report.html")"
}

# ---------------------------------------------------------------------------------------------
# secrets

# A password planted in the playbook, as a comment: the run goes on and verifies, the record
# is refused, naming playbook.yml, and rekey does not repeat the password.
scenario_planted() {
	local sid="E2E-REC-SECRET" spb=$E2E/record-secret.yml out=$work/secret.out password said
	e2e_reset
	password=$(<"$RK_H_PG_PASSWORD_FILE")
	e2e_write_playbook "$spb" id=$sid scenario=rotate
	printf '# Until today rekey logged in to db1 with %s.\n' "$password" >>"$spb"
	e2e_rekey "$out" run "$spb"
	said=$(grep -m 1 'holds the value' "$out" || true)
	rk_t_note "planted: rekey run exits $e2e_status, saying: ${said//"$password"/<PASSWORD>}"
	e2e_equal "planted: rekey run exits 1 (verified, but without a record)" 1 "$e2e_status"
	e2e_summary_all_verified planted "$out"
	e2e_matches "planted: rekey names the member refused and why" \
		'playbook\.yml: holds the value of a secret' "$(<"$out")"
	e2e_equal "planted: rekey's output does not hold the password" 0 \
		"$(grep -c -F -- "$password" "$out" || true)"
	e2e_equal "planted: the summary names no record" "" "$(record_path "$out")"
	e2e_matches "planted: the summary's last lines say the record was not written, and why" \
		'record: NOT WRITTEN: .*playbook\.yml: holds the value of a secret' \
		"$(tail -n 3 "$out")"
	e2e_equal "planted: no record and no temporary file in incident.records" "$sid" \
		"$(ls -A -- "$E2E_RECORDS")"
}

# Every record made here, unpacked: no PEM private key, no line of a private key the runs
# made, no password of the harness (PostgreSQL's, MariaDB's, the app's in .env).
scenario_no_secrets() {
	local tgz dir name hits
	local -a passwords=("$(<"$RK_H_PG_PASSWORD_FILE")" "$(<"$RK_H_MY_PASSWORD_FILE")"
		"$E2E_APP_PASSWORD")
	grep -v -- '-----' "$E2E_PKI/ca.key" "$RK_H_SSH_KEY" "$E2E/snap/pki/issued/"*.key |
		cut -d: -f2- | awk 'length($0) >= 20' >>"$keylines"
	# The searches find what they look for: the keys the runs made, in the incident folders.
	e2e_matches "no secret: the search for key lines finds them in a key" '^.' \
		"$(grep -r -l -F -f "$keylines" -- "$E2E/snap/pki/issued" || true)"
	for tgz in "$kept"/*.tar.gz; do
		name=$(basename -- "$tgz" .tar.gz)
		dir=$work/secrets/$name
		mkdir -p -- "$dir"
		tar -xzf "$tgz" -C "$dir"
		hits=$(grep -r -l -- 'PRIVATE KEY' "$dir" || true)
		e2e_equal "no secret: $name: no member holds \"PRIVATE KEY\"" "" "${hits//$dir\//}"
		hits=$(grep -r -l -F -f "$keylines" -- "$dir" || true)
		e2e_equal "no secret: $name: no member holds a line of a private key ($(wc -l \
			<"$keylines") lines)" "" "${hits//$dir\//}"
		hits=$(for p in "${passwords[@]}"; do grep -r -l -F -- "$p" "$dir"; done || true)
		e2e_equal "no secret: $name: no member holds a password of the harness" "" \
			"${hits//$dir\//}"
	done
	e2e_equal "no secret: every record made was searched" \
		"fault-halt fault-rollback fresh interrupted rehearsal resume rollback" \
		"$(cd "$kept" && printf '%s\n' *.tar.gz | sed 's/\.tar\.gz$//' | paste -sd' ')"
}

# ---------------------------------------------------------------------------------------------
# browser: report.html in headless Chromium

# screenshot URL PNG
screenshot() {
	timeout 60 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
		--user-data-dir="$work/chromium" --window-size=1280,1800 --screenshot="$2" "$1" \
		>>"$work/chromium.log" 2>&1
}

# png_size PNG: "WIDTHxHEIGHT" from the PNG's IHDR, or why it is not a PNG.
png_size() {
	python3 -c 'import struct, sys
b = open(sys.argv[1], "rb").read(24)
if b[:8] != b"\x89PNG\r\n\x1a\n" or b[12:16] != b"IHDR":
    print("not a PNG")
else:
    print("%dx%d" % struct.unpack(">II", b[16:24]))' "$1"
}

scenario_browser() {
	local html=$work/pristine/report.html png=$work/report.png text fp
	[[ -f $html ]] || { e2e_bad "browser: no fresh record's report.html"; return; }
	command -v chromium >/dev/null ||
		{ e2e_bad "browser: no chromium (scripts/install-deps.sh installs it)"; return; }
	e2e_equal "browser: report.html names no URL, no script, no src= (it fetches nothing)" "" \
		"$(grep -o -i -E 'https?://|<script|src=' "$html" | sort -u | paste -sd' ')"
	if screenshot "file://$html" "$png" && screenshot about:blank "$work/blank.png"; then
		e2e_ok "browser: chromium takes the screenshots"
	else
		e2e_bad "browser: chromium fails$(rk_t_show "$(tail -n 20 "$work/chromium.log")")"
	fi
	[[ -s $png ]] || { e2e_bad "browser: no screenshot"; return; }
	e2e_matches "browser: file(1) says the screenshot is a PNG" 'PNG image data, 1280 x 1800' \
		"$(file -b -- "$png")"
	e2e_equal "browser: the PNG has the window's size" 1280x1800 "$(png_size "$png")"
	if (($(stat -c %s -- "$png") > 2 * $(stat -c %s -- "$work/blank.png"))); then
		e2e_ok "browser: the screenshot holds more than a blank page's"
	else
		e2e_bad "browser: the screenshot is no larger than a blank page's" \
			"($(stat -c %s -- "$png") bytes, blank $(stat -c %s -- "$work/blank.png"))"
	fi
	text=$(timeout 60 chromium --headless=new --no-sandbox --disable-gpu \
		--user-data-dir="$work/chromium" --dump-dom "file://$html" 2>>"$work/chromium.log" |
		python3 -c 'import html.parser, sys
class P(html.parser.HTMLParser):
    skip = 0
    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("style", "script")
    def handle_endtag(self, tag):
        self.skip -= tag in ("style", "script")
    def handle_data(self, data):
        if not self.skip:
            sys.stdout.write(data + "\n")
P().feed(sys.stdin.read())')
	fp=$(json "$work/pristine/incident.json" 'd["services"][0]["fingerprint_after"]')
	for want in "Incident $id" verified "${E2E_SERVICES[@]}" "$fp"; do
		if [[ $text == *"$want"* ]]; then
			e2e_ok "browser: the page's text (--dump-dom) has \"$want\""
		else
			e2e_bad "browser: the page's text (--dump-dom) lacks \"$want\"$(rk_t_show \
				"$(head -c 2000 <<<"$text")")"
		fi
	done
}

scenario_fresh
scenario_tampered
scenario_browser
scenario_failed halt
scenario_failed rollback
scenario_interrupted
scenario_rehearsal
scenario_planted
scenario_no_secrets
e2e_finish
