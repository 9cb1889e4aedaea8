#!/usr/bin/env bash
# examples/ judged by the programs that will read it (issue 17):
#   systemd: `systemd-analyze verify` accepts every unit (with the built rekey standing in for
#     /usr/bin/rekey) and says nothing; the timers' calendars parse; what issue 17 asks of
#     each unit is there (oneshot, the rekey user, the hardening, network-online.target,
#     Persistent= and RandomizedDelaySec= on timers); the textfile folder is writable;
#   cron: every line is a comment, an environment line or a job of 5 time fields in range, a
#     user and a command without a bare %;
#   both: every rekey command line names rekey's real options, and rekey's own parser takes it;
#   prometheus: `promtool check rules` and `promtool test rules` pass, and the test makes
#     every alert fire and stay silent at least once;
#   the real thing: `rekey expiry --prometheus` on a small local estate (a certificate ending
#     in 10 days, a CRL due in 1, a server down, a missing file) writes only metrics and
#     problem names the rules know, and fed to the rules it raises exactly the alerts it should.
# Each check is also run once on a broken input (a misspelt directive, a 25 o'clock calendar,
# a cron line of 4 fields, an unknown option, a broken expression, a moved threshold), which
# must fail it: a check that cannot fail proves nothing.
# Usage: tests/examples/examples.sh REKEY REPO
set -euo pipefail

rekey=$(realpath "${1:?usage: examples.sh REKEY REPO}")
repo=$(realpath "${2:?usage: examples.sh REKEY REPO}")
ex=$repo/examples
for tool in systemd-analyze promtool python3; do
	command -v "$tool" >/dev/null ||
		{ echo "examples.sh: no $tool (scripts/install-deps.sh installs it)" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
# fails DESCRIPTION COMMAND...: a negative control; COMMAND (a check) must report a failure.
fails() {
	local what=$1
	shift
	if "$@" >"$tmp/neg.out" 2>&1; then bad "$what: the check did not fail"; else ok; fi
}

# ---- rekey command lines ---------------------------------------------------------------------

# The contract of issue 17, for a rekey without the commands yet: option and what it takes.
declare -A contract=(
	[expiry --within]=D [expiry --crl-within]=D [expiry --json]="" [expiry --prometheus]=F
	[run --json]="" [run --on-failure]=P [run --only-expiring]=D
)
declare -A help_ok=()
for sub in expiry run; do
	if "$rekey" "$sub" --help >"$tmp/help-$sub" 2>&1; then
		help_ok[$sub]=1
	else
		echo "NOTE: rekey $sub --help fails: its options are checked against the contract only"
	fi
done

# check_rekey_command WHERE LINE: the words after /usr/bin/rekey in LINE, up to the first
# redirection or shell operator, are a command of rekey with real options, valid values and
# one absolute playbook; and rekey's own parser takes them (it gets as far as reading the
# playbook, which is then absent). Prints what is wrong; fails if anything is.
check_rekey_command() {
	local where=$1 line=$2 w sub opt kind i=0 n status problems=0 playbook=
	local -a words args=() probe=()
	read -ra words <<<"$line"
	n=${#words[@]}
	while ((i < n)) && [[ ${words[i]} != /usr/bin/rekey ]]; do i=$((i + 1)); done
	if ((i >= n)); then echo "$where: no /usr/bin/rekey"; return 1; fi
	sub=${words[i + 1]:-}
	for ((i += 2; i < n; i++)); do
		w=${words[i]}
		[[ $w == '>'* || $w == '2>'* || $w == '|' || $w == '||' || $w == '&&' || $w == ';' ]] &&
			break
		args+=("$w")
	done
	if [[ $sub != expiry && $sub != run ]]; then
		echo "$where: rekey '$sub': not a command these jobs run"
		return 1
	fi
	for ((i = 0; i < ${#args[@]}; i++)); do
		w=${args[i]}
		if [[ $w != --* ]]; then
			if [[ -n $playbook ]]; then echo "$where: a second playbook '$w'"; problems=1; fi
			playbook=$w
			[[ $w == /* ]] || { echo "$where: playbook '$w' is not an absolute path"; problems=1; }
			probe+=("$tmp/absent/playbook.yml")
			continue
		fi
		opt=${w%%=*}
		if [[ ! -v "contract[$sub $opt]" ]]; then
			echo "$where: rekey $sub $opt: not an option of the contract"
			problems=1
			probe+=("$w")
			continue
		fi
		if [[ -n ${help_ok[$sub]:-} ]] &&
		    ! grep -qE -- "(^|[^a-z-])$opt([^a-z-]|\$)" "$tmp/help-$sub"; then
			echo "$where: rekey $sub $opt: not in rekey $sub --help"
			problems=1
		fi
		kind=${contract[$sub $opt]}
		probe+=("$opt")
		[[ -z $kind ]] && continue
		i=$((i + 1))
		w=${args[i]:-}
		case $kind in
		D) [[ $w =~ ^[0-9]+[dhw]?$ ]] || { echo "$where: $opt '$w': not a duration"; problems=1; } ;;
		P) [[ $w =~ ^(rollback|halt|continue)$ ]] || { echo "$where: $opt '$w'"; problems=1; } ;;
		F) [[ $w == /* ]] || { echo "$where: $opt '$w': not an absolute path"; problems=1; }
		   w=$tmp/absent/out ;;
		esac
		probe+=("$w")
	done
	[[ -n $playbook ]] || { echo "$where: no playbook"; problems=1; }
	if [[ -n ${help_ok[$sub]:-} ]]; then
		status=0
		"$rekey" "$sub" "${probe[@]}" >"$tmp/probe.out" 2>&1 || status=$?
		if [[ $status != 2 ]] ||
		    ! head -n 1 "$tmp/probe.out" | grep -qF "$tmp/absent/playbook.yml: error:"; then
			echo "$where: rekey's parser refuses 'rekey $sub ${args[*]}' (exit $status):"
			sed 's/^/    /' "$tmp/probe.out" | head -n 5
			problems=1
		fi
	fi
	return "$problems"
}

# ---- systemd -----------------------------------------------------------------------------------

# unit_value UNIT KEY: the values KEY= takes in UNIT, one a line.
unit_value() { sed -n "s/^$2=//p" "$1"; }

# verify_units DIR: systemd-analyze verify on every unit in DIR must pass and print nothing.
verify_units() {
	local status=0
	(cd "$1" && systemd-analyze verify --man=no ./*.service ./*.timer) >"$tmp/verify.out" 2>&1 ||
		status=$?
	if [[ $status != 0 || -s $tmp/verify.out ]]; then
		echo "systemd-analyze verify (exit $status):"
		sed 's/^/    /' "$tmp/verify.out"
		return 1
	fi
}

# The units as installed name /usr/bin/rekey; the copies name the rekey just built.
mkdir "$tmp/units"
units=("$ex"/systemd/*.service "$ex"/systemd/*.timer)
[[ ${#units[@]} == 4 ]] && ok || bad "examples/systemd: ${#units[@]} units, not 4"
for u in "${units[@]}"; do
	name=$(basename "$u")
	if [[ $u == *.service ]]; then
		exec_lines=$(unit_value "$u" ExecStart)
		[[ -n $exec_lines ]] && ! grep -qv '^/usr/bin/rekey ' <<<"$exec_lines" && ok ||
			bad "$name: every ExecStart must run /usr/bin/rekey: $exec_lines"
	fi
	sed "s|/usr/bin/rekey |$rekey |" "$u" >"$tmp/units/$name"
done
verify_units "$tmp/units" && ok || bad "the units fail systemd-analyze verify"

# What issue 17 asks of each unit.
for u in "$ex"/systemd/*.service; do
	name=$(basename "$u")
	for want in Type=oneshot User=rekey NoNewPrivileges=yes ProtectSystem=strict \
	    ProtectHome=yes PrivateTmp=yes After=network-online.target Wants=network-online.target; do
		grep -qx -- "$want" "$u" && ok || bad "$name: no $want"
	done
	# Every rekey command line, with the unit's Environment= values put in.
	line=$(unit_value "$u" ExecStart)
	while IFS='=' read -r var value; do
		line=${line//"\${$var}"/$value}
	done < <(unit_value "$u" Environment)
	check_rekey_command "$name" "$line" && ok || bad "$name: ExecStart"
done
# The expiry check writes its metrics file where the unit lets it.
prom=$(unit_value "$ex/systemd/rekey-expiry.service" Environment | sed -n 's/^PROM_FILE=//p')
[[ $prom == /var/lib/prometheus/node-exporter/*.prom ]] && ok ||
	bad "rekey-expiry.service: metrics file '$prom' is not in node_exporter's textfile folder"
unit_value "$ex/systemd/rekey-expiry.service" ReadWritePaths | tr ' ' '\n' |
	grep -qx -- "$(dirname -- "$prom")" && ok ||
	bad "rekey-expiry.service: $(dirname -- "$prom") is not among ReadWritePaths"
for t in "$ex"/systemd/*.timer; do
	name=$(basename "$t")
	[[ -f $ex/systemd/${name%.timer}.service ]] && ok || bad "$name: no ${name%.timer}.service"
	for want in Persistent=true WantedBy=timers.target; do
		grep -qx -- "$want" "$t" && ok || bad "$name: no $want"
	done
	grep -q '^RandomizedDelaySec=[1-9]' "$t" && ok || bad "$name: no RandomizedDelaySec"
	while read -r cal; do
		systemd-analyze calendar -- "$cal" >/dev/null 2>&1 && ok ||
			bad "$name: OnCalendar=$cal does not parse"
	done < <(unit_value "$t" OnCalendar)
done

# Negative controls: a misspelt directive, a binary that is not there, a 25 o'clock timer.
mkdir "$tmp/broken"
cp "$tmp/units"/* "$tmp/broken/"
sed -i 's/^NoNewPrivileges=/NoNewPrivilegs=/' "$tmp/broken/rekey-expiry.service"
fails "verify: a misspelt directive" verify_units "$tmp/broken"
cp "$tmp/units"/* "$tmp/broken/"
sed -i "s|^ExecStart=$rekey |ExecStart=$tmp/no-such-rekey |" "$tmp/broken/rekey-rotate.service"
fails "verify: an ExecStart binary that does not exist" verify_units "$tmp/broken"
cp "$tmp/units"/* "$tmp/broken/"
sed -i 's/^OnCalendar=.*/OnCalendar=*-*-* 25:00:00/' "$tmp/broken/rekey-expiry.timer"
fails "verify: a calendar that cannot be" verify_units "$tmp/broken"

# ---- cron --------------------------------------------------------------------------------------

# cron_field VALUE MIN MAX [NAMES]: one time field of crontab(5): lists of *, N, N-M, each with
# an optional /STEP, numbers within MIN..MAX; or one of NAMES alone.
cron_field() {
	local value=$1 min=$2 max=$3 names=${4:-} e a b
	if [[ -n $names && ${value,,} =~ ^($names)$ ]]; then return 0; fi
	IFS=, read -ra elems <<<"$value"
	[[ ${#elems[@]} -gt 0 && $value != *, && $value != ,* ]] || return 1
	for e in "${elems[@]}"; do
		if [[ $e =~ ^(\*|([0-9]+)(-([0-9]+))?)(/([0-9]+))?$ ]]; then
			[[ -z ${BASH_REMATCH[6]} || ${BASH_REMATCH[6]} -gt 0 ]] || return 1
			[[ ${BASH_REMATCH[1]} == '*' ]] && continue
			a=$((10#${BASH_REMATCH[2]}))
			b=$((10#${BASH_REMATCH[4]:-${BASH_REMATCH[2]}}))
			((a >= min && b <= max && a <= b)) || return 1
		else
			return 1
		fi
	done
}

# check_cron FILE: a well-formed /etc/cron.d file whose rekey commands are real. Prints what
# is wrong; fails if anything is.
check_cron() {
	local file=$1 nr=0 line problems=0 jobs=0
	local -a f
	[[ $(basename -- "$file") =~ ^[A-Za-z0-9_-]+$ ]] ||
		{ echo "$file: cron ignores a file of cron.d named with a dot"; problems=1; }
	[[ -s $file && $(tail -c 1 "$file" | od -An -c) == *'\n'* ]] ||
		{ echo "$file: empty or no newline at the end (cron drops the last line)"; problems=1; }
	while IFS= read -r line || [[ -n $line ]]; do
		nr=$((nr + 1))
		[[ $line =~ ^[[:space:]]*(#|$) ]] && continue
		if [[ $line =~ ^[A-Za-z_][A-Za-z0-9_]*= ]]; then
			[[ $line != *'#'* ]] ||
				{ echo "$file:$nr: a comment on an environment line is part of its value"; problems=1; }
			continue
		fi
		read -ra f <<<"$line"
		if ((${#f[@]} < 7)); then
			echo "$file:$nr: not 5 time fields, a user and a command"; problems=1; continue
		fi
		cron_field "${f[0]}" 0 59 || { echo "$file:$nr: minute '${f[0]}'"; problems=1; }
		cron_field "${f[1]}" 0 23 || { echo "$file:$nr: hour '${f[1]}'"; problems=1; }
		cron_field "${f[2]}" 1 31 || { echo "$file:$nr: day of month '${f[2]}'"; problems=1; }
		cron_field "${f[3]}" 1 12 'jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec' ||
			{ echo "$file:$nr: month '${f[3]}'"; problems=1; }
		cron_field "${f[4]}" 0 7 'sun|mon|tue|wed|thu|fri|sat' ||
			{ echo "$file:$nr: day of week '${f[4]}'"; problems=1; }
		[[ ${f[5]} == rekey ]] ||
			{ echo "$file:$nr: user '${f[5]}', not rekey (the systemd units' user)"; problems=1; }
		# cron turns a % not preceded by a backslash into a newline (crontab(5)).
		if [[ $line =~ (^|[^\\])% ]]; then echo "$file:$nr: a bare %"; problems=1; fi
		check_rekey_command "$file:$nr" "$line" || problems=1
		jobs=$((jobs + 1))
	done <"$file"
	((jobs > 0)) || { echo "$file: no job"; problems=1; }
	return "$problems"
}

check_cron "$ex/cron/rekey" && ok || bad "examples/cron/rekey"
jobs=$(grep -c '^[0-9*].* rekey .*/usr/bin/rekey ' "$ex/cron/rekey")
[[ $jobs == 2 ]] && ok || bad "examples/cron/rekey: $jobs rekey jobs, not 2"
grep -q 'flock -n /run/lock/rekey-rotate.lock /usr/bin/rekey run' "$ex/cron/rekey" && ok ||
	bad "examples/cron/rekey: the rotation does not run under flock"

# Negative controls: each of these files must be refused.
mkdir "$tmp/cron"
good_job=$(grep '^[0-9].*/usr/bin/rekey expiry' "$ex/cron/rekey")
bad_cron() {	# bad_cron NAME LINE: a cron file of LINE alone must fail check_cron
	printf '%s\n' "$2" >"$tmp/cron/$1"
	fails "cron: $1" check_cron "$tmp/cron/$1"
}
bad_cron four-fields "${good_job#* }"
bad_cron minute-60 "60 ${good_job#* }"
bad_cron hour-25 "${good_job/ 6 / 25 }"
bad_cron bare-percent "${good_job/>\/dev\/null/>\/tmp\/x-\$(date +%F)}"
bad_cron unknown-option "${good_job/--within/--withinn}"
bad_cron bad-duration "${good_job/--within 30d/--within 30x}"
bad_cron no-user "${good_job/ rekey  flock/ flock}"
bad_cron env-comment "MAILTO=root # the admins
$good_job"
cp "$ex/cron/rekey" "$tmp/cron/dot.ted"
fails "cron: a file name with a dot" check_cron "$tmp/cron/dot.ted"

# ---- prometheus --------------------------------------------------------------------------------

rules=$ex/prometheus/rekey-alerts.yml
rules_test=$ex/prometheus/rekey-alerts.test.yml
promtool check rules "$rules" >"$tmp/check.out" 2>&1 && ok ||
	{ bad "promtool check rules"; cat "$tmp/check.out"; }
(cd "$ex/prometheus" && promtool test rules "$(basename "$rules_test")") >"$tmp/test.out" 2>&1 &&
	ok || { bad "promtool test rules"; cat "$tmp/test.out"; }

# Every alert is tested firing at least once, and silent at least once.
coverage=0
python3 - "$rules" "$rules_test" >"$tmp/coverage.out" 2>&1 <<'PY' || coverage=$?
import sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))
tests = yaml.safe_load(open(sys.argv[2]))
alerts = [r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r]
fires, silent = set(), set()
for t in tests["tests"]:
    for a in t.get("alert_rule_test", []):
        (fires if a.get("exp_alerts") else silent).add(a["alertname"])
gaps = [f"{a}: never tested firing" for a in alerts if a not in fires]
gaps += [f"{a}: never tested silent" for a in alerts if a not in silent]
gaps += [f"{a}: tested, but no such alert" for a in (fires | silent) - set(alerts)]
print("\n".join(gaps))
sys.exit(1 if gaps or not alerts else 0)
PY
[[ $coverage == 0 ]] && ok || { bad "alert coverage"; cat "$tmp/coverage.out"; }

# Negative controls: a broken expression fails the check; a threshold moved by a day (14 to
# 15 days) and a severity changed fail the unit test.
mkdir "$tmp/prom"
cp "$ex"/prometheus/*.yml "$tmp/prom/"
sed -i '0,/_not_after_seconds - time() < 14/s//_not_after_seconds - time() <</' \
	"$tmp/prom/rekey-alerts.yml"
fails "promtool check rules: a broken expression" promtool check rules "$tmp/prom/rekey-alerts.yml"
cp "$rules" "$tmp/prom/"
sed -i 's/< 14 \* 86400/< 15 * 86400/' "$tmp/prom/rekey-alerts.yml"
fails "promtool test rules: a threshold moved" \
	bash -c 'cd "$1" && promtool test rules rekey-alerts.test.yml' _ "$tmp/prom"
cp "$rules" "$tmp/prom/"
sed -i '0,/severity: critical/s//severity: warning/' "$tmp/prom/rekey-alerts.yml"
fails "promtool test rules: a severity changed" \
	bash -c 'cd "$1" && promtool test rules rekey-alerts.test.yml' _ "$tmp/prom"

# ---- the rules on rekey's own metrics ----------------------------------------------------------

if [[ -z ${help_ok[expiry]:-} ]]; then
	echo "NOTE: no rekey expiry: the rules are not run on its metrics"
	echo "examples: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
fi

# A local estate: a PostgreSQL service whose server is down (nothing listens on port 1) but
# whose files are here, its certificate good for 30 days; a client whose certificate ends in
# 10 days and whose CA file is missing; the CRL, signed to be due in 1 day.
est=$tmp/estate
mkdir "$est"
"$rekey" pki init "$est/pki" >/dev/null
"$rekey" pki issue --ca-cert "$est/pki/ca.crt" --ca-key "$est/pki/ca.key" --profile client \
	--subject /O=rekey/CN=app --days 10 --cert-out "$est/app.crt" --key-out "$est/app.key" \
	>/dev/null
"$rekey" pki revoke --ca-cert "$est/pki/ca.crt" --ca-key "$est/pki/ca.key" --crl-days 1 \
	--cert "$est/pki/client.crt" >/dev/null
printf 'unused\n' >"$est/pg-password"
chmod 600 "$est/pg-password"
cat >"$est/estate.yml" <<EOF
version: 1
ca: {cert: pki/ca.crt, key: pki/ca.key}
certificates:
  pg-server: {profile: server, subject: "/O=rekey/CN=localhost", san: ["DNS:localhost"]}
  app-client: {profile: client, subject: "/O=rekey/CN=app"}
hosts:
  here: {transport: local, timeout: 5}
services:
  - name: pg-down
    host: here
    kind: postgresql
    certificate: pg-server
    files:
      cert: {path: $est/pki/server.crt}
      key: {path: $est/pki/server.key, mode: "0600"}
      ca: {path: $est/pki/ca.crt}
      crl: {path: $est/pki/ca.crl}
    connect: {address: localhost, port: 1, user: rekey, password_file: pg-password}
clients:
  - name: app1
    host: here
    files:
      cert: {path: $est/app.crt, certificate: app-client}
      key: {path: $est/app.key, mode: "0600", certificate: app-client}
      ca: {path: $est/missing-ca.crt}
EOF
status=0
"$rekey" expiry --prometheus "$est/rekey.prom" "$est/estate.yml" >"$tmp/expiry.out" 2>&1 ||
	status=$?
[[ $status == 1 && -s $est/rekey.prom ]] && ok || {
	bad "rekey expiry on the local estate: exit $status, not 1 with a metrics file"
	cat "$tmp/expiry.out"
}
promtool check metrics <"$est/rekey.prom" >"$tmp/metrics.out" 2>&1 && ok ||
	{ bad "promtool check metrics"; cat "$tmp/metrics.out"; }

# Every metric the rules read is one rekey writes; every problem they name, one rekey names.
for m in $(grep -o 'rekey_[a-z_]*' "$rules" | sort -u); do
	grep -qx "# TYPE $m gauge" "$est/rekey.prom" && ok ||
		bad "the rules read $m, which rekey does not write"
done
known=$(sed -n '/problem_names\[/,/};/p' "$repo/src/action/expiry.c" |
	grep -o '"[a-z-]*"' | tr -d '"')
[[ $(wc -w <<<"$known") -ge 10 ]] && ok || bad "no problem names found in src/action/expiry.c"
named=$(grep -o 'problem=~*"[a-z|-]*"' "$rules" | sed 's/.*"\(.*\)"/\1/' | tr '|' '\n' | sort -u)
for p in $named; do
	grep -qx -- "$p" <<<"$known" && ok || bad "the rules name problem '$p', which rekey does not"
done

# The file as input series, its dates made relative to the check (the unit test's clock
# starts at 0); then exactly these alerts must fire: app1's certificate within 14 days, both
# copies of the CRL within 2 days (the service's and the playbook's), the incomplete check.
checked=$(sed -n 's/^rekey_expiry_check_timestamp_seconds \([0-9]*\)$/\1/p' "$est/rekey.prom")
{
	printf 'rule_files: [%s]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n' "$rules"
	printf '    input_series:\n'
	awk -v t="$checked" '!/^#/ && NF {
		v = $NF; s = substr($0, 1, length($0) - length(v) - 1)
		if (s ~ /^rekey_[a-z_]*(not_after|next_update|timestamp)_seconds/) v = v - t
		gsub(/\047/, "\047\047", s)
		printf "      - series: \047%s\047\n        values: \047%sx10\047\n", s, v }' \
		"$est/rekey.prom"
	cat <<'EOF'
    alert_rule_test:
      - eval_time: 5m
        alertname: RekeyExpiryCheckStale
        exp_alerts: []
    promql_expr_test:
      - expr: count by (alertname, service, client, host) (ALERTS{alertstate="firing"})
        eval_time: 5m
        exp_samples:
          - labels: '{alertname="RekeyCertificateExpiresSoon",client="app1",host="here"}'
            value: 1
          - labels: '{alertname="RekeyCRLDueSoon",service="pg-down",host="here"}'
            value: 1
          - labels: '{alertname="RekeyCRLDueSoon"}'
            value: 1
          - labels: '{alertname="RekeyExpiryCheckFailing"}'
            value: 1
EOF
} >"$tmp/real.test.yml"
promtool test rules "$tmp/real.test.yml" >"$tmp/real.out" 2>&1 && ok ||
	{ bad "the rules on rekey's own metrics"; cat "$tmp/real.out"; }
# Negative control: the same metrics with the client's certificate taken out cannot pass.
awk '/series: .rekey_certificate_not_after_seconds\{client="app1"/ { skip = 2 }
	skip > 0 { skip--; next } { print }' "$tmp/real.test.yml" >"$tmp/less.test.yml"
fails "the rules on rekey's metrics without the expiring certificate" \
	promtool test rules "$tmp/less.test.yml"

echo "examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
