#!/usr/bin/env bash
# Torture of a whole `rekey run` on the local transport (issue 20), as curl's torture mode:
#
#   torture_run.sh REKEY_FAULT REKEY [BUDGET|all]
#
# The estate: a CA made by `rekey pki init`, its client certificate leaked (revoked, and a new
# one issued), and an app on this machine whose files rekey replaces (CA, CRL, client
# certificate and key) and whose configuration it edits (a .env, its DATABASE_URL, a my.cnf
# and a pg_service.conf), verified with `openssl verify -crl_check`; on_failure halt, or
# RK_TORTURE_POLICY.
#
# An untouched run with RK_FAULT_REPORT lists every call site of a fallible call (fault.h)
# and the first call made there. Then, for each site (or BUDGET of them, spread evenly; or
# with `all`, every call in turn), the estate is put back and bin/rekey-fault runs with that
# call failed (RK_FAULT=N). After each:
#   - the process ended by itself: no signal, no sanitizer report (ASan and UBSan abort);
#   - exit 0 means the fault was absorbed and the run's end state is the reference one;
#     otherwise the exit status is 1 and stderr holds a message;
#   - every target file is whole: the old bytes, or the incident's (the CA, a CRL the CA
#     signed, the new certificate and key as the incident folder holds them, the edited
#     configuration of the reference run), with its mode (key 0600, others 0644) and owner;
#     no temporary file is left beside a target;
#   - then bin/rekey (no fault) finishes the job: `resume` when the failed run left a
#     journal, else `run` again; it exits 0 and the end state is the reference run's: every
#     client file byte for byte, the certificate the incident issued with its key, the old
#     one revoked in the CRL, the ledger and the record verified by rekey.
# RK_TORTURE_COMMAND=rollback tortures `rekey rollback` instead, after an untouched run each
# time, and finishes with `rollback` again: the end state is then the untouched rollback's.
# RK_TORTURE_SHARD=I/K runs only every K-th of the picked calls, from the I-th (1 <= I <= K),
# so that K copies (each with its own RK_TORTURE_WORK) share an `all` run over K cores.
# Prints the counts: sites, runs, exits by status, absorbed, failures.
set -euo pipefail

fault_bin=${1:?usage: torture_run.sh REKEY_FAULT REKEY [BUDGET]}
rekey=${2:?usage: torture_run.sh REKEY_FAULT REKEY [BUDGET]}
budget=${3:-0}
# The playbook's failure policy (halt, rollback or continue); resume finishes the job after each.
policy=${RK_TORTURE_POLICY:-halt}
# The command tortured: run (then finished by resume), or rollback (after an untouched run,
# then finished by rollback again).
command=${RK_TORTURE_COMMAND:-run}
work=${RK_TORTURE_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/rekey-torture.XXXXXX")}
# RK_TORTURE_KEEP=1 keeps the folder, to look at what the last run left.
trap '[[ -n ${RK_TORTURE_KEEP:-} ]] || rm -rf "$work"' EXIT
export TZ=UTC

# Sanitizer reports must end the process with a status no rekey run gives.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}:abort_on_error=1:exitcode=99
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}:halt_on_error=1:exitcode=99

me=$(id -un)
say() { printf 'torture/run: %s\n' "$*"; }
fail() {
	printf 'torture/run: FAIL: %s\n' "$*" >&2
	failures=$((failures + 1))
}

# ---------------------------------------------------------------------------------------------
# The estate, built once into $work/snap and copied into $work/est for each run.

snap=$work/snap
mkdir -p "$snap/host/app/certs"
"$rekey" pki init --key ec-p256 "$snap/pki" >/dev/null
app=$work/est/host/app
cp "$snap/pki/ca.crt" "$snap/host/app/certs/ca.crt"
cp "$snap/pki/ca.crl" "$snap/host/app/certs/ca.crl"
cp "$snap/pki/client.crt" "$snap/host/app/certs/app.crt"
install -m 0600 "$snap/pki/client.key" "$snap/host/app/certs/app.key"
chmod 0644 "$snap/host/app/certs/ca.crt" "$snap/host/app/certs/ca.crl" \
	"$snap/host/app/certs/app.crt"
printf '%s\n' '# the app' 'DB_SSL_MODE=require' \
	'DATABASE_URL=postgresql://app:s3cret@127.0.0.1:5432/app?sslmode=require' >"$snap/host/app/.env"
printf '%s\n' '[client]' 'host = 127.0.0.1' 'ssl-ca = /nonexistent/old-ca.crt' >"$snap/host/app/my.cnf"
printf '%s\n' '[app]' 'host=127.0.0.1' 'sslmode=require' >"$snap/host/app/pg_service.conf"
chmod 0640 "$snap/host/app/.env"

cat >"$snap/torture.yml" <<EOF
version: 1
incident: {id: INC-TORTURE, reason: keyCompromise, records: records}
ca: {cert: pki/ca.crt, key: pki/ca.key, crl: pki/ca.crl, crl_days: 30}
revoke:
  - cert: pki/client.crt
certificates:
  app-client: {profile: client, subject: "/O=Torture/CN=app", key: ec-p256, days: 30}
hosts:
  here: {transport: local, timeout: 30}
clients:
  - name: app-env
    host: here
    file: {path: $app/.env, format: env}
    set: {DB_SSL_MODE: verify-full, DB_SSL_ROOT_CERT: $app/certs/ca.crt}
    files:
      ca: {path: $app/certs/ca.crt, mode: "0644"}
      crl: {path: $app/certs/ca.crl, mode: "0644"}
      cert: {path: $app/certs/app.crt, certificate: app-client, mode: "0644"}
      key: {path: $app/certs/app.key, certificate: app-client, mode: "0600"}
    verify: {command: "openssl verify -crl_check -CAfile $app/certs/ca.crt -CRLfile $app/certs/ca.crl $app/certs/app.crt"}
  - name: app-url
    host: here
    file: {path: $app/.env, format: conninfo, variable: DATABASE_URL}
    set: {sslmode: verify-full, sslrootcert: $app/certs/ca.crt}
  - name: app-mycnf
    host: here
    file: {path: $app/my.cnf, format: ini, section: client}
    set: {ssl-ca: $app/certs/ca.crt}
  - name: app-service
    host: here
    file: {path: $app/pg_service.conf, format: pg_service, section: app}
    set: {sslmode: verify-full}
policy: {max_parallel: 2, canary: 0, on_failure: $policy}
EOF

reset_estate() {
	rm -rf "$work/est"
	cp -a "$snap" "$work/est"
}

# What a finished run leaves, in terms that do not depend on the run's own key: each target
# file's mode and owner, and its content as "new-cert"/"new-key" (the incident's), or its
# SHA-256; the serials the CRL revokes; the verdicts of the ledger and the record.
end_state() {
	local inc=$work/est/records/INC-TORTURE f
	for f in "$app/.env" "$app/my.cnf" "$app/pg_service.conf" "$app"/certs/*; do
		[[ $f == *.rekey-bak-* ]] && continue	# named after the time
		printf '%s %s ' "${f#"$work/est/"}" "$(stat -c '%a %U:%G' "$f")"
		if cmp -s "$f" "$inc/certs/app-client.crt"; then
			echo new-cert
		elif [[ -e $inc/keys/app-client.key ]] && cmp -s "$f" "$inc/keys/app-client.key"; then
			echo new-key
		elif [[ $f == *.crl ]]; then
			openssl crl -in "$f" -noout -text | { grep -c 'Serial Number' || true; } | sed 's/^/crl entries /'
		else
			sha256sum <"$f" | cut -c1-16
		fi
	done
	openssl crl -in "$work/est/pki/ca.crl" -noout -text | { grep -c 'Serial Number' || true; } |
		sed 's/^/the CA\x27s crl entries /'
	(cd "$work/est" && "$rekey" record verify records/INC-TORTURE.tar.gz >/dev/null 2>&1 &&
		echo record verifies) || echo record does not verify
}

# Whether every target is whole, right now: old bytes or the incident's, right mode, and no
# temporary file beside it.
check_targets() {
	local what=$1 inc=$work/est/records/INC-TORTURE f name mode
	for f in "$app"/certs/* "$app"/.env "$app"/my.cnf "$app"/pg_service.conf; do
		name=${f##*/}
		case $name in
		*.rekey-bak-*) continue ;;
		app.crt | app.key | ca.crt | ca.crl | .env | my.cnf | pg_service.conf) ;;
		*)
			fail "$what: a stray file beside the targets: $name"
			continue
			;;
		esac
		mode=$(stat -c %a "$f")
		case $name in
		app.key) [[ $mode == 600 ]] || fail "$what: $name has mode $mode" ;;
		.env) [[ $mode == 640 ]] || fail "$what: $name has mode $mode" ;;
		*) [[ $mode == 644 ]] || fail "$what: $name has mode $mode" ;;
		esac
		[[ $(stat -c %U "$f") == "$me" ]] || fail "$what: $name is owned by $(stat -c %U "$f")"
		cmp -s "$f" "$snap/host/app/${f#"$app/"}" && continue
		case $name in
		app.crt) cmp -s "$f" "$inc/certs/app-client.crt" ||
			fail "$what: app.crt is neither the old certificate nor the new one" ;;
		app.key) [[ -e $inc/keys/app-client.key ]] && cmp -s "$f" "$inc/keys/app-client.key" ||
			fail "$what: app.key is neither the old key nor the new one" ;;
		ca.crl) openssl crl -in "$f" -CAfile "$snap/pki/ca.crt" -noout 2>/dev/null ||
			fail "$what: ca.crl is not a CRL the CA signed" ;;
		.env) cmp -s "$f" "$work/ref/.env" || cmp -s "$f" "$work/ref/.env.without-app-url" ||
			cmp -s "$f" "$work/ref/.env.without-app-env" ||
			fail "$what: .env is neither the old file nor an edited one" ;;
		*) cmp -s "$f" "$work/ref/${f#"$app/"}" ||
			fail "$what: $name is neither the old file nor the edited one" ;;
		esac
	done
}

# ---------------------------------------------------------------------------------------------
# The reference: an untouched run of the fault build, which also lists the call sites.

failures=0
reset_estate
(cd "$work/est" && RK_FAULT_REPORT=$work/report "$fault_bin" run torture.yml >"$work/ref.out" 2>&1) ||
	{ cat "$work/ref.out" >&2; fail "the untouched run failed"; exit 1; }
mkdir -p "$work/ref/certs"
cp "$app/.env" "$app/my.cnf" "$app/pg_service.conf" "$work/ref/"
if [[ $command == rollback ]]; then
	grep -q 'new-cert' <(end_state) || { fail "the run before the rollback did not rotate"; exit 1; }
	(cd "$work/est" && RK_FAULT_REPORT=$work/report "$fault_bin" rollback torture.yml \
		>"$work/ref.out" 2>&1) ||
		{ cat "$work/ref.out" >&2; fail "the untouched rollback failed"; exit 1; }
fi
end_state >"$work/ref.state"
# Two clients edit the .env, app-env then app-url: between the two it holds app-env's edit
# alone, which is a whole file too. A run of the playbook without app-url makes it.
reset_estate
# Under `continue`, app-url's edit can be made after app-env's failed: a run without
# app-env makes that one.
for client in app-url app-env; do
	reset_estate
	python3 - "$work/est/torture.yml" "$client" <<'PY'
import sys
path, client = sys.argv[1], sys.argv[2]
text = open(path).read()
start = text.index("  - name: " + client)
end = text.index("  - name: ", start + 1)
open(path, "w").write(text[:start] + text[end:])
PY
	(cd "$work/est" && "$rekey" run torture.yml >/dev/null 2>&1) ||
		{ fail "the run without $client failed"; exit 1; }
	cp "$app/.env" "$work/ref/.env.without-$client"
done
if [[ $command == run ]]; then
	grep -q 'new-cert' "$work/ref.state" && grep -q 'new-key' "$work/ref.state" &&
		grep -q 'record verifies' "$work/ref.state" ||
		{ cat "$work/ref.state" >&2; fail "the reference run did not rotate"; exit 1; }
elif grep -q 'new-' "$work/ref.state"; then
	cat "$work/ref.state" >&2
	fail "the reference rollback left new files"
	exit 1
fi
calls=$(awk '$1 == "calls" { print $2 }' "$work/report")
mapfile -t firsts < <(awk '$1 == "site" { print $2 }' "$work/report" | sort -n)
say "an untouched run makes $calls fallible calls from ${#firsts[@]} call sites"

# The runs: each site's first call, or BUDGET of them spread over the list.
picked=("${firsts[@]}")
if [[ $budget == all ]]; then
	mapfile -t picked < <(seq 1 "$calls")
elif ((budget > 0 && budget < ${#firsts[@]})); then
	picked=()
	for ((i = 0; i < budget; i++)); do
		picked+=("${firsts[$((i * ${#firsts[@]} / budget))]}")
	done
fi

if [[ -n ${RK_TORTURE_SHARD:-} ]]; then
	shard=${RK_TORTURE_SHARD%/*} shards=${RK_TORTURE_SHARD#*/}
	if ! [[ $shard =~ ^[1-9][0-9]*$ && $shards =~ ^[1-9][0-9]*$ ]] || ((shard > shards)); then
		echo "torture_run.sh: RK_TORTURE_SHARD must be I/K with 1 <= I <= K" >&2
		exit 2
	fi
	mine=()
	for ((i = shard - 1; i < ${#picked[@]}; i += shards)); do
		mine+=("${picked[$i]}")
	done
	picked=("${mine[@]}")
	say "shard $shard of $shards: ${#picked[@]} runs"
fi

runs=0 absorbed=0 recovered=0
declare -A by_status=()
for n in "${picked[@]}"; do
	reset_estate
	if [[ $command == rollback ]] && ! (cd "$work/est" && "$rekey" run torture.yml >/dev/null 2>&1)
	then
		fail "call $n: the run before the rollback failed"
		continue
	fi
	status=0
	(cd "$work/est" && RK_FAULT=$n RK_FAULT_REPORT=$work/report.n "$fault_bin" "$command" torture.yml \
		>"$work/run.out" 2>"$work/run.err") || status=$?
	runs=$((runs + 1))
	by_status[$status]=$((${by_status[$status]:-0} + 1))
	what="call $n ($(awk '$1 == "failed" { print $3 " at " $4 }' "$work/report.n"))"
	if ((status != 0 && status != 1)); then
		fail "$what: exit status $status"
		sed 's/^/    /' "$work/run.err" | tail -n 20 >&2
		continue
	fi
	if ((status == 1)) && ! grep -q '[a-z]' "$work/run.err" "$work/run.out"; then
		fail "$what: exit 1 without a word"
	fi
	check_targets "$what"
	if ((status == 0)); then
		absorbed=$((absorbed + 1))
	else
		# Finish the job without the fault.
		if [[ $command == rollback ]]; then
			verb=rollback
		elif [[ -e $work/est/records/INC-TORTURE/journal.jsonl ]]; then
			verb=resume
		else
			verb=run
		fi
		(cd "$work/est" && "$rekey" "$verb" torture.yml >"$work/again.out" 2>&1) || {
			fail "$what: then \`rekey $verb\` failed:"
			sed 's/^/    /' "$work/again.out" | tail -n 8 >&2
			continue
		}
		recovered=$((recovered + 1))
	fi
	if ! diff -u "$work/ref.state" <(end_state) >"$work/diff"; then
		fail "$what: the end state differs from the reference run's:"
		sed 's/^/    /' "$work/diff" >&2
	fi
done

summary=""
for s in "${!by_status[@]}"; do
	summary+=" exit $s: ${by_status[$s]};"
done
say "$command, $policy: $runs runs over ${#firsts[@]} call sites ($calls calls);$summary absorbed $absorbed," \
	"finished by resume or run $recovered; failures $failures"
((failures == 0))
