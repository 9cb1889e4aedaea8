# shellcheck shell=bash
# What rekey's own help says it takes, for the tests that keep the man page and the bash
# completion in step with the program (man.sh, completion.sh). Source it; needs $rekey.

# The options a help text on stdin offers: every --word of its usage lines (up to the first
# empty line) and of its option lines (two spaces, then --). Prose that names an option is not
# an offer. One a line, sorted.
help_options() {
	awk '
	NR == 1 || /^usage:/ { u = 1 }
	u && /^$/ { u = 0 }
	u || /^  --/ {
		s = $0
		while (match(s, /--[a-z][a-z0-9-]*/)) {
			print substr(s, RSTART, RLENGTH); s = substr(s, RSTART + RLENGTH)
		}
	}' | sort -u
}

# The commands `rekey --help` lists, one a line, in its order.
help_commands() {
	"${rekey:?help.sh: set rekey to the program}" --help | awk '/^commands:/ { c = 1; next } c && /^$/ { c = 0 } c { print $1 }'
}

# The subcommands of COMMAND, as its help's usage lines name them ("usage: rekey pki issue
# ..."); none for a command without subcommands.
help_subcommands() {
	"${rekey:?help.sh: set rekey to the program}" "$1" --help | sed -n "s/^usage: rekey $1 \\([a-z][a-z]*\\)\\( .*\\)\\{0,1\\}\$/\\1/p" |
		sort -u
}

# Every command that takes options of its own: each command, or each subcommand of one that
# has them ("pki issue"). One a line.
help_leaves() {
	local c s subs
	while read -r c; do
		subs=$(help_subcommands "$c")
		if [ -n "$subs" ]; then
			for s in $subs; do echo "$c $s"; done
		else
			echo "$c"
		fi
	done < <(help_commands)
}

# The global options of `rekey --help` (-h, --help, ...), one a line, sorted.
help_global_options() {
	"${rekey:?help.sh: set rekey to the program}" --help | awk '/^options:/ { o = 1; next } o && /^$/ { o = 0 } o' |
		grep -oE -- '(^| )--?[A-Za-z][a-z-]*' | tr -d ' ' | sort -u
}

# Every "static const char *const NAME_keys[] = { ... };" of the playbook parser FILE, as
# "NAME key" lines: the keys a playbook may hold, for the tests that keep the documents in step.
parser_keys() {
	awk '
	/static const char \*const [a-z_]*_keys\[\] *=/ {
		match($0, /[a-z_]*_keys\[/); table = substr($0, RSTART, RLENGTH - 1); on = 1
	}
	on {
		s = $0; sub(/^.*\] *= */, "", s)
		while (match(s, /"[^"]*"/)) { print table, substr(s, RSTART + 1, RLENGTH - 2); s = substr(s, RSTART + RLENGTH) }
		if ($0 ~ /;/) on = 0
	}' "$1"
}
