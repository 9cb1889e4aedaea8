#!/usr/bin/env bash
# The functions STYLE.md bans, called anywhere in src/, tests/ or bench/: each has a safer
# replacement (snprintf with a truncation check, strtoll with an end check, mkstemp, argv exec,
# RAND_bytes). Comments and string literals are blanked first, so "gets EROFS" in a comment
# or "system" in a message is no call.
set -euo pipefail

root=${1:?usage: banned.sh REPO_ROOT}
cd "$root"

banned='strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|atol|atoll|tmpnam|mktemp|system|popen|rand|srand'
found=0
while IFS= read -r -d '' file; do
	if hits=$(perl -0777 -ne '
		# Blank comments and literals, keeping newlines so line numbers stay true.
		s{(/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"|'"'"'(?:\\.|[^'"'"'\\\n])*'"'"')}{ (my $m = $1) =~ s/[^\n]/ /g; $m }gse;
		my $n = 0;
		for my $line (split /\n/, $_, -1) {
			$n++;
			print "$n: $1\n" while $line =~ /(?<![\w.>])('"$banned"')\s*\(/g;
		}' "$file") && [ -n "$hits" ]; then
		while IFS= read -r h; do
			echo "$file:${h%%:*}: banned function ${h#*: }() (STYLE.md)"
		done <<<"$hits"
		found=1
	fi
done < <(find src tests bench -name '*.[ch]' -print0 | sort -z)

if [ "$found" -ne 0 ]; then
	exit 1
fi
echo "banned.sh: no banned function in src/, tests/ or bench/"
