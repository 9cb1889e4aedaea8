#!/usr/bin/env bash
# The README's command line reference cannot drift from the program: every command `rekey
# --help` lists has a row of the README's command table, and has a section of its own (a
# heading naming `rekey COMMAND`) in which every option that the command's --help (and each
# of its subcommands' --help) offers is named; the global options of `rekey --help` are named
# under "Command line"; and every key of every key table of src/parse/playbook.c is named
# (`key`, `key: ...`, `parent.key`) under "The playbook".
# Usage: tests/doc/readme.sh REKEY REPO
set -euo pipefail
# shellcheck source=../check.sh
. "$(dirname "${BASH_SOURCE[0]}")/../check.sh"
rekey=${1:?usage: readme.sh REKEY REPO}
repo=${2:?usage: readme.sh REKEY REPO}
readme=$repo/README.md
# shellcheck source=help.sh
. "$(dirname "${BASH_SOURCE[0]}")/help.sh"

# section HEADING_PATTERN: the README's lines from the first heading matching the extended
# regular expression to the next heading of the same level or above.
section() {
	awk -v pat="$1" '
	/^```/ { fence = !fence }
	!fence && /^#+ / {
		level = length($1)
		if (inside && level <= start) exit
		if (!inside && $0 ~ pat) { inside = 1; start = level }
	}
	inside' "$readme"
}

# names OPTION FILE: whether FILE names the option as a word of its own (`--json`, --json=).
names() {
	grep -qE -- "(^|[^a-z0-9-])$1([^a-z0-9-]|\$)" "$2"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
section '^## Command line$' >"$tmp/command-line"
[ -s "$tmp/command-line" ] && ok "the README has a \"Command line\" section" ||
	bad "the README has no \"## Command line\" section"

commands=$(help_commands)
[ -n "$commands" ] || bad "rekey --help lists no command"
for c in $commands; do
	if grep -qE "^\| \`$c( |\`)" "$tmp/command-line"; then
		ok "the command table has a row for $c"
	else
		bad "the command table of \"Command line\" has no row for $c (\`rekey --help\` lists it)"
	fi
	section "^#+ .*\`rekey $c( [^\`]*)?\`" >"$tmp/section-$c"
	if [ ! -s "$tmp/section-$c" ]; then
		bad "no README heading names \`rekey $c\`"
		continue
	fi
	ok "$c has its section: $(head -n 1 "$tmp/section-$c")"
	grep -E "^\| \`$c( |\`)" "$tmp/command-line" >>"$tmp/section-$c" || true
	subs=$(help_subcommands "$c")
	missing=
	for leaf in "$c" ${subs:+$(printf "$c %s " $subs)}; do
		# shellcheck disable=SC2086 # a leaf is a command and maybe its subcommand
		while read -r opt; do
			[ "$opt" = --help ] && continue
			names "$opt" "$tmp/section-$c" || missing="$missing $leaf:$opt"
		done < <("$rekey" $leaf --help 2>&1 | help_options)
	done
	[ -z "$missing" ] && ok "its section names every option its --help offers" ||
		bad "the README's section for $c does not name:$missing"
done

while read -r opt; do
	names "$opt" "$tmp/command-line" && ok "\"Command line\" names the global option $opt" ||
		bad "\"Command line\" does not name the global option $opt"
done < <(help_global_options)

parser_keys "$repo/src/parse/playbook.c" >"$tmp/keys"
section '^## The playbook$' >"$tmp/playbook"
nkeys=$(wc -l <"$tmp/keys")
((nkeys >= 100)) || bad "found only $nkeys playbook keys in src/parse/playbook.c: has the form of its tables changed?"
missing=
while read -r table key; do
	grep -qE -- "\`([a-z_]+\.)*$key([\`:. =]|\$)" "$tmp/playbook" || missing="$missing $key ($table)"
done <"$tmp/keys"
[ -z "$missing" ] && ok "\"The playbook\" names every one of the parser's $nkeys keys" ||
	bad "\"The playbook\" does not name:$missing"

check_end readme.sh
