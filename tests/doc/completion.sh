#!/usr/bin/env bash
# The bash completion (doc/rekey.bash-completion), sourced into bash and called as bash calls
# it (COMP_WORDS, COMP_CWORD), completes what the program takes and nothing else: the
# commands and global options of `rekey --help`, the subcommands of record and pki, for every
# command and subcommand exactly the options its --help offers (with --help and --debug), the
# values its help lists (--on-failure, --profile, --key, --reason), environment variables for
# --*-passphrase-env, playbooks (*.yml, *.yaml, folders) for PLAYBOOK and records (*.tar.gz)
# for record verify and show; --option=value whether bash splits the word at "=" or not.
# Usage: tests/doc/completion.sh REKEY REPO
set -euo pipefail
# shellcheck source=../check.sh
. "$(dirname "${BASH_SOURCE[0]}")/../check.sh"
rekey=${1:?usage: completion.sh REKEY REPO}
repo=${2:?usage: completion.sh REKEY REPO}
completion=$repo/doc/rekey.bash-completion
# shellcheck source=help.sh
. "$(dirname "${BASH_SOURCE[0]}")/help.sh"


command -v shellcheck >/dev/null || { echo "completion.sh: no shellcheck (scripts/install-deps.sh)" >&2; exit 1; }
if out=$(shellcheck -s bash -S warning "$completion" 2>&1); then
	ok "shellcheck passes the completion file"
else
	bad "shellcheck: $out"
fi

# shellcheck source=../../doc/rekey.bash-completion
. "$completion"
[ "$(complete -p rekey 2>/dev/null)" = "complete -F _rekey rekey" ] &&
	ok "sourcing it registers _rekey for rekey" || bad "complete -p rekey: $(complete -p rekey 2>&1)"

# complete WORD...: what the completion offers for the last WORD (the one being typed), one
# a line, sorted; the words before it are the command line, from "rekey" on.
complete_words() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE="${COMP_WORDS[*]}"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_rekey rekey "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	((${#COMPREPLY[@]} == 0)) || printf '%s\n' "${COMPREPLY[@]}" | sort
}

# expect WHAT EXPECTED WORD...: the completion of WORD... is exactly EXPECTED (lines).
expect() {
	local what=$1 want got
	want=$(printf '%s\n' "$2" | sed '/^$/d' | sort)
	shift 2
	got=$(complete_words "$@")
	if [ "$got" = "$want" ]; then
		ok "$what: $(echo "$got" | tr '\n' ' ')"
	else
		bad "$what: completing '$*' offers [$(echo "$got" | tr '\n' ' ')], expected [$(echo "$want" | tr '\n' ' ')]"
	fi
}
lines() { printf '%s\n' "$@"; }

# ---- against the program's help --------------------------------------------------------------

expect "commands, as rekey --help lists them" "$(help_commands)" rekey ""
expect "commands starting with r" "$(help_commands | grep '^r')" rekey r
expect "global options, as rekey --help lists them" "$(help_global_options)" rekey -
expect "commands after a global option" "$(help_commands)" rekey --debug ""
for c in record pki; do
	expect "$c: its subcommands, as rekey $c --help names them" "$(help_subcommands "$c")" \
		rekey "$c" ""
	expect "$c after --debug: its subcommands" "$(help_subcommands "$c")" rekey --debug "$c" ""
done

nleaves=0
while read -r leaf; do
	read -ra words <<<"$leaf"
	want=$( { "$rekey" "${words[@]}" --help | help_options; lines --help --debug; } | sort -u)
	expect "rekey $leaf: the options its --help offers" "$want" rekey "${words[@]}" --
	nleaves=$((nleaves + 1))
done < <(help_leaves)
((nleaves >= 14)) || bad "only $nleaves commands and subcommands found in rekey's help"

# Values the help lists: --on-failure rollback|halt|continue in run's usage line, the key
# types of pki issue's --key line, the reasons of pki revoke's --reason line.
on_failure=$("$rekey" run --help | grep -o -- '--on-failure [a-z|]*' | head -1 | cut -d' ' -f2 | tr '|' '\n')
[ -n "$on_failure" ] || bad "rekey run --help names no --on-failure values"
expect "run --on-failure: the policies of rekey run --help" "$on_failure" rekey run --on-failure ""
expect "resume --on-failure h" "halt" rekey resume --on-failure h
expect "run --on-failure=h, split at = by bash" "halt" rekey run --on-failure = h
expect "run --on-failure=, split at = by bash" "$on_failure" rekey run --on-failure =
expect "run --on-failure=h as one word" "--on-failure=halt" rekey run --on-failure=h
profiles=$("$rekey" pki issue --help | grep -o -- '--profile [a-z|]*' | head -1 | cut -d' ' -f2 | tr '|' '\n')
expect "pki issue --profile: server and client, as its help says" "$profiles" rekey pki issue --profile ""
key_types=$("$rekey" pki issue --help | sed -n 's/^  --key TYPE *\(.*\) (default.*/\1/p' | tr ' ' '\n')
[ -n "$key_types" ] || bad "rekey pki issue --help lists no key types on its --key line"
expect "pki issue --key: the key types of its help" "$key_types" rekey pki issue --key ""
expect "pki init --key ec: the EC key types" "$(echo "$key_types" | grep '^ec')" rekey pki init --key ec
reasons=$("$rekey" pki revoke --help | sed -n 's/^  --reason R *//p' | sed 's/,//g; s/ or / /' | tr ' ' '\n')
[ -n "$reasons" ] || bad "rekey pki revoke --help lists no reasons on its --reason line"
expect "pki revoke --reason: the reasons of its help" "$reasons" rekey pki revoke --reason ""
expect "pki init --name: DNS: and IP:" "$(lines DNS: IP:)" rekey pki init --name ""
expect "pki issue --san I" "IP:" rekey pki issue --san I

# ---- files and variables ---------------------------------------------------------------------

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
mkdir incidents 'with space'
touch a.yml b.yaml c.txt 'd e.yml' notes.yml.bak INC-1.tar.gz INC-1.rehearsal.tar.gz key.pem
playbooks=$(lines a.yml b.yaml 'd e.yml' incidents 'with space')
records=$(lines INC-1.tar.gz INC-1.rehearsal.tar.gz incidents 'with space')
expect "plan PLAYBOOK: playbooks and folders" "$playbooks" rekey plan ""
expect "run --json PLAYBOOK" "$playbooks" rekey run --json ""
expect "run after --on-failure's value: playbooks" "$playbooks" rekey run --on-failure halt ""
expect "expiry after --within's value: playbooks" "$playbooks" rekey expiry --within 30d ""
expect "expiry --within: no guess at a duration" "" rekey expiry --within ""
expect "verify a: a.yml" "a.yml" rekey verify a
expect "record verify: records and folders" "$records" rekey record verify ""
expect "record show: records and folders" "$records" rekey record show ""
expect "record verify --pubkey: any file" "$(ls -A)" rekey record verify --pubkey ""
expect "record list: folders" "$(lines incidents 'with space')" rekey record list ""
expect "pki init: folders" "$(lines incidents 'with space')" rekey pki init ""
expect "pki inspect: any file" "$(ls -A)" rekey pki inspect ""
expect "pki revoke --folder: folders" "$(lines incidents 'with space')" rekey pki revoke --folder ""
expect "expiry --prometheus=k, split at =: files" "key.pem" rekey expiry --prometheus = k
expect "sweep PLAYBOOK: playbooks and folders" "$playbooks" rekey sweep ""
expect "sweep --paths: folders" "$(lines incidents 'with space')" rekey sweep --paths ""
expect "sweep --match: any file" "$(ls -A)" rekey sweep --match ""
expect "sweep after --match's value: playbooks" "$playbooks" rekey sweep --match key.pem ""
expect "sweep --match=k as one word" "--match=key.pem" rekey sweep --match=k
export REKEY_COMPLETION_TEST_PASSPHRASE=x
expect "pki issue --ca-passphrase-env: variables" "REKEY_COMPLETION_TEST_PASSPHRASE" \
	rekey pki issue --ca-passphrase-env REKEY_COMPLETION_TEST_

check_end completion.sh
