# shellcheck shell=bash
# What an installation of rekey holds, for the install and package tests. Source it.

# tree_expected REPO: every file an installation holds, as "MODE PATH" (PATH relative to the
# prefix), sorted by path: the program, the man pages, the completion, the README, and every
# file of playbooks/ and examples/ as they are in REPO now (whatever examples/ holds).
tree_expected() {
	local repo=$1 f
	{
		echo "0755 bin/rekey"
		echo "0644 share/man/man1/rekey.1.gz"
		echo "0644 share/man/man5/rekey-playbook.5.gz"
		echo "0644 share/bash-completion/completions/rekey"
		echo "0644 share/doc/rekey/README.md"
		for f in playbooks examples; do
			(cd "$repo" && find "$f" -type f) | sed "s|^|0644 share/doc/rekey/|"
		done
	} | sort -k2
}

# tree_source REPO PATH: the file of REPO that PATH (relative to the prefix) is installed
# from, or nothing for one the build makes (the program, the gzip'ed man pages).
tree_source() {
	local repo=$1 path=$2
	case $path in
	share/bash-completion/completions/rekey) echo "$repo/doc/rekey.bash-completion" ;;
	share/doc/rekey/*) echo "$repo/${path#share/doc/rekey/}" ;;
	share/man/man*/*.gz)
		local page=${path##*/}
		echo "$repo/doc/${page%.gz}"
		;;
	esac
}
