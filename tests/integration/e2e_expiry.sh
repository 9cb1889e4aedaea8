#!/usr/bin/env bash
# End to end, under with-servers.sh --ssh 3 --pg --mariadb (issue 17): `rekey expiry` and
# `rekey run --only-expiring` of the shipped playbooks/scheduled-rotation.yml, adapted to the
# estate of e2e_lib.sh (pg-a is db1's PostgreSQL, reporting db2's MariaDB; no incident.id, so
# each run makes its own), the estate aged: db1's certificate ends in 10 days, db2's in 90,
# and the CRL the CA and both servers hold is due in 2 days.
#   expiry: exits 1 and flags db1's certificate (served and deployed) and every copy of the
#     CRL, nothing else; its --json says the same with the days openssl reads from the files;
#     its Prometheus file passes `promtool check metrics` and holds one sample per item.
#   a reload that never happened: a new certificate put in db2's file without a reload is
#     flagged reload-pending on what MariaDB serves, and no longer once MariaDB reloads.
#   rehearse --only-expiring 30d: go, with the playbook's generated id, and nothing changed.
#   run --only-expiring 30d: rotates db1's certificate alone (PostgreSQL serves the
#     incident's new one, MariaDB keeps its own), signs the CRL anew
#     (nextUpdate 7 days out, on both servers), writes its choice into the journal, and the
#     record verifies; expiry is then clean and exits 0; a second run has nothing to do.
#   rollback: of the newest incident, narrowed as its journal says, it puts db1's old
#     certificate back.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RK_T_NAME=e2e/expiry
# shellcheck source-path=SCRIPTDIR source=e2e_lib.sh
. "$here/e2e_lib.sh"
e2e_build_estate "${1:?usage: e2e_expiry.sh REKEY}"
work=$E2E_WORK

# reissue NAME DAYS: the estate's certificate NAME again, valid DAYS days.
reissue() {
	rm -f -- "$E2E_PKI/issued/$1.crt" "$E2E_PKI/issued/$1.key"
	if [[ $1 == app-client ]]; then
		E2E_ISSUE_DAYS=$2 e2e_issue "$1" client "/O=rekey e2e/CN=rkclient"
	else
		E2E_ISSUE_DAYS=$2 e2e_issue "$1" server "/O=rekey e2e/CN=localhost" \
			"DNS:localhost,IP:127.0.0.1"
	fi
}

# days_left FILE [crl]: whole days until notAfter (nextUpdate), as openssl reads the file.
days_left() {
	local end
	if [[ ${2:-} == crl ]]; then
		end=$(openssl crl -in "$1" -noout -nextupdate | cut -d= -f2)
	else
		end=$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)
	fi
	echo $((($(date -d "$end" +%s) - $(date +%s)) / 86400))
}

# flagged JSON: "SERVICE-OR-CLIENT|SOURCE|WHAT|problem,problem" per flagged item, sorted.
flagged() {
	python3 - "$1" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
rows = []
for it in doc["items"]:
    if it["problems"]:
        who = it["service"] or it["client"] or it["path"]
        rows.append("%s|%s|%s|%s" % (who, it["source"], it["what"],
                    ",".join(p["problem"] for p in it["problems"])))
print("\n".join(sorted(rows)))
PY
}

age_the_estate() {
	reissue db1-server 10
	reissue db2-server 90
	# Re-signed with nextUpdate in 2 days; the harness's revoked client is already in it.
	harness_run_or_show "rekey pki revoke (CRL due in 2 days)" "$E2E_REKEY" pki revoke \
		--ca-cert "$E2E_PKI/ca.crt" --ca-key "$E2E_PKI/ca.key" --crl "$E2E_PKI/ca.crl" \
		--crl-days 2 --cert "$RK_H_REVOKED_CERT" >/dev/null
	e2e_install_server_files "$E2E_PG" postgres db1-server
	e2e_install_server_files "$E2E_MY" mysql db2-server
	e2e_reload_servers
	e2e_wait_served postgres "$RK_H_PG_PORT" "$E2E_PKI/issued/db1-server.crt" &&
		e2e_wait_served mysql "$RK_H_MY_PORT" "$E2E_PKI/issued/db2-server.crt" || {
		e2e_bad "aging: the servers do not serve the aged certificates"
		return 1
	}
	# notAfter is now + 10 days to the second: 10 whole days left for a second, then 9.
	e2e_matches "aging: db1's certificate ends in 10 days (openssl)" '^(9|10)$' \
		"$(days_left "$E2E_PG/server.crt")"
	e2e_matches "aging: the CRL is due in 2 days (openssl)" '^(1|2)$' \
		"$(days_left "$E2E_PG/ca.crl" crl)"
}

# The newest incident folder: the scheduled playbook names no id.
newest_incident() {
	find "$E2E_RECORDS" -mindepth 1 -maxdepth 1 -type d -name 'INC-*' -printf '%T@ %p\n' |
		sort -n | tail -n 1 | cut -d' ' -f2-
}

expiry_before() {
	local pb=$1 out=$work/expiry-before.json prom=$work/rekey.prom want got
	e2e_rekey "$out" expiry --json --prometheus "$prom" "$pb"
	e2e_equal "expiry (aged): exits 1" 1 "$e2e_status"
	want=$(printf '%s\n' \
		"$E2E_PKI/ca.crl|playbook|crl|crl-due" \
		"reporting|deployed|crl|crl-due" \
		"pg-a|deployed|certificate|expiring" \
		"pg-a|deployed|crl|crl-due" \
		"pg-a|served|certificate|expiring" | sort)
	got=$(flagged "$out")
	e2e_equal "expiry (aged): flags db1's certificate served and deployed, and every CRL" \
		"$want" "$got"
	e2e_matches "expiry (aged): the JSON says it is not ok" '"ok": false' "$(<"$out")"
	e2e_matches "expiry (aged): db1's certificate has 9 or 10 days left" '^(9|10) (9|10)$' \
		"$(python3 -c 'import json, sys
d = [i["days_left"] for i in json.load(open(sys.argv[1]))["items"]
     if i["service"] == "pg-a" and i["what"] == "certificate"]
print(*d)' "$out")"

	if command -v promtool >/dev/null; then
		e2e_check "expiry: the Prometheus file passes promtool check metrics" \
			bash -c 'promtool check metrics <"$1"' _ "$prom"
	else
		e2e_bad "expiry: promtool is missing (scripts/install-deps.sh installs prometheus)"
	fi
	e2e_equal "expiry: one not_after sample per certificate item (2 served, 2 deployed)" 4 \
		"$(grep -c '^rekey_certificate_not_after_seconds{' "$prom")"
	e2e_matches "expiry: the metrics flag pg-a's served certificate" \
		'rekey_expiry_problem\{service="pg-a",host="pg-a",source="served",what="certificate",problem="expiring"\} 1' \
		"$(<"$prom")"
	e2e_matches "expiry: the served notAfter is the certificate's, as a Unix time" \
		"source=\"served\",certificate=\"pg-a\".*\\} $(date -d "$(openssl x509 -in \
		"$E2E_PG/server.crt" -noout -enddate | cut -d= -f2)" +%s)\$" \
		"$(grep '^rekey_certificate_not_after_seconds{service="pg-a"' "$prom")"
	e2e_matches "expiry: the check says it reached everything" \
		'rekey_expiry_check_success 1' "$(<"$prom")"
	[[ $(stat -c %a "$prom") == 644 ]] && e2e_ok "expiry: the metrics file is 0644" ||
		e2e_bad "expiry: the metrics file is $(stat -c %a "$prom"), want 644"
	e2e_equal "expiry: no temporary file is left beside the metrics file" "rekey.prom" \
		"$(find "$work" -maxdepth 1 -name 'rekey.prom*' -printf '%f\n')"
}

reload_never_happened() {
	local pb=$1 out=$work/expiry-reload.json before
	before=$(e2e_fingerprint "$E2E_PKI/issued/db2-server.crt")
	cp -- "$E2E_PKI/issued/db2-server.crt" "$work/db2-kept.crt"
	cp -- "$E2E_PKI/issued/db2-server.key" "$work/db2-kept.key"
	reissue db2-server 90
	e2e_install_server_files "$E2E_MY" mysql db2-server
	e2e_rekey "$out" expiry --json --within 5d "$pb"
	e2e_equal "no reload: expiry exits 1" 1 "$e2e_status"
	e2e_matches "no reload: what MariaDB serves is flagged reload-pending" \
		'reporting\|served\|certificate\|reload-pending' "$(flagged "$out")"
	e2e_equal "no reload: MariaDB still serves the old certificate (openssl s_client)" \
		"$before" "$(e2e_served_fingerprint mysql "$RK_H_MY_PORT")"
	# Put the certificate MariaDB serves back in its file: in step again.
	cp -- "$work/db2-kept.crt" "$E2E_PKI/issued/db2-server.crt"
	cp -- "$work/db2-kept.key" "$E2E_PKI/issued/db2-server.key"
	e2e_install_server_files "$E2E_MY" mysql db2-server
	e2e_rekey "$out" expiry --json --within 5d "$pb"
	e2e_equal "no reload: in step again, nothing inside 5 days but the CRL" \
		"$(printf '%s\n' "$E2E_PKI/ca.crl|playbook|crl|crl-due" \
		"reporting|deployed|crl|crl-due" "pg-a|deployed|crl|crl-due" | sort)" \
		"$(flagged "$out")"
}

rehearse_only_expiring() {
	local pb=$1 out=$work/rehearse-only.out before
	before=$(e2e_estate_digest; e2e_transport_leftovers)
	e2e_rekey "$out" rehearse --only-expiring 30d "$pb"
	e2e_equal "rehearse --only-expiring: says go (exit 0)$(rk_t_show "$(grep -E \
		'NO-GO|rekey:' "$out")")" 0 "$e2e_status"
	e2e_matches "rehearse --only-expiring: ends GO:" $'(^|\n)GO: ' "$(<"$out")"
	e2e_matches "rehearse --only-expiring: rehearses pg-a alone" \
		'rotate pg-a: .*keep   reporting: not due within 30 days' "$(tr '\n' ' ' <"$out")"
	e2e_same "rehearse --only-expiring: no host file, CRL or ledger changed" "$before" \
		"$(e2e_estate_digest; e2e_transport_leftovers)"
	e2e_equal "rehearse --only-expiring: no incident folder is left" "" "$(newest_incident)"
}

only_expiring() {
	local pb=$1 out=$work/only.out dir db2
	db2=$(e2e_fingerprint "$E2E_MY/server.crt")
	e2e_run_ok "only-expiring" "$out" run --only-expiring 30d "$pb"
	dir=$(newest_incident)
	e2e_matches "only-expiring: the incident has an id of its own" '/INC-[0-9]{8}-[0-9]{6}Z$' \
		"$dir"
	e2e_matches "only-expiring: says pg-a is rotated" \
		'rotate pg-a: pg-a (served|deployed) expires in (9|10) days' "$(<"$out")"
	e2e_matches "only-expiring: says reporting is left out" \
		'keep   reporting: not due within 30 days' "$(<"$out")"
	e2e_check_served "only-expiring: PostgreSQL serves the incident's new pg-a" \
		postgres "$RK_H_PG_PORT" "$dir/certs/pg-a.crt"
	e2e_equal "only-expiring: MariaDB serves the certificate it had" "$db2" \
		"$(e2e_served_fingerprint mysql "$RK_H_MY_PORT")"
	e2e_equal "only-expiring: the incident issued pg-a alone" "pg-a.crt" \
		"$(find "$dir/certs" -name '*.crt' -printf '%f\n' | sort | tr '\n' ' ' | xargs)"
	e2e_matches "only-expiring: the new certificate is valid 90 days (openssl)" '^(89|90)$' \
		"$(days_left "$dir/certs/pg-a.crt")"
	e2e_matches "only-expiring: the new certificate is RSA 3072, as the playbook says" \
		'Public-Key: \(3072 bit\)' "$(openssl x509 -in "$dir/certs/pg-a.crt" -noout -text)"
	e2e_matches "only-expiring: PostgreSQL's CRL file is due in 7 days now (openssl)" '^(6|7)$' \
		"$(days_left "$E2E_PG/ca.crl" crl)"
	e2e_matches "only-expiring: MariaDB's CRL file is due in 7 days now (openssl)" '^(6|7)$' \
		"$(days_left "$E2E_MY/ca.crl" crl)"
	e2e_check "only-expiring: the new pg-a passes openssl verify -crl_check" \
		openssl verify -crl_check -CAfile "$E2E_PKI/ca.crt" -CRLfile "$E2E_PG/ca.crl" \
		"$dir/certs/pg-a.crt"
	e2e_check "only-expiring: psql logs in to PostgreSQL with verify-full" \
		e2e_psql "$E2E_PKI/ca.crt" "$RK_H_PG_USER"
	e2e_matches "only-expiring: the journal's header keeps the choice" \
		'"only.certificates": *"pg-a"' "$(head -n 1 "$dir/journal.jsonl")"
	e2e_check "only-expiring: the record verifies" \
		"$E2E_REKEY" record verify "$dir.tar.gz"
	e2e_matches "only-expiring: the record's report says what the run was narrowed to" \
		'only what ended within 30 days: pg-a; a new CRL' \
		"$("$E2E_REKEY" record show "$dir.tar.gz" 2>&1)"

	e2e_rekey "$work/expiry-after.out" expiry "$pb"
	e2e_equal "expiry (after): exits 0$(rk_t_show "$(<"$work/expiry-after.out")")" 0 \
		"$e2e_status"
	e2e_matches "expiry (after): says nothing is inside the window" \
		'nothing inside the window, nothing out of step' "$(<"$work/expiry-after.out")"

	e2e_rekey "$work/only-again.out" run --only-expiring 30d "$pb"
	e2e_equal "only-expiring again: exits 0" 0 "$e2e_status"
	e2e_matches "only-expiring again: nothing to do" 'nothing ends within 30 days' \
		"$(<"$work/only-again.out")"
	e2e_equal "only-expiring again: no new incident" "$dir" "$(newest_incident)"
}

rollback_as_journaled() {
	local pb=$1
	e2e_run_ok "rollback" "$work/rollback.out" rollback "$pb"
	e2e_check_served "rollback: PostgreSQL serves the aged db1-server again" \
		postgres "$RK_H_PG_PORT" "$E2E_PKI/issued/db1-server.crt"
}

pb=$E2E/scheduled.yml
age_the_estate
e2e_adapt "scheduled" scheduled-rotation.yml "$pb"
expiry_before "$pb"
reload_never_happened "$pb"
rehearse_only_expiring "$pb"
only_expiring "$pb"
rollback_as_journaled "$pb"
e2e_finish
