#!/usr/bin/env bash
# The README's main command: installs what is missing, builds rekey, brings up the embedded
# lab (a CA, PostgreSQL 15 and MariaDB with TLS, three sshd hosts, an app host) and shows
# the plan for its rotation, then checks every service as its clients see it (rekey verify).
# `scripts/lab down` tears the lab down.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
./scripts/install-deps.sh

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target rekey -j"$(nproc)" >/dev/null
echo "rekey built: $(./build/bin/rekey --version)"

./scripts/lab up
eval "$(./scripts/lab env | grep "^export REKEY_LAB_DIR=")"
lab=$REKEY_LAB_DIR
echo
# --diff reads the app host's configuration files (read only) to show each edit, secrets masked.
./build/bin/rekey plan --diff "$lab/lab.yml"
echo
# The estate as its clients see it now: the check a rotation ends with.
./build/bin/rekey verify "$lab/lab.yml"
