#!/usr/bin/env bash
# playbooks/converge.yml with EC2 groups against a moto server of its own (127.0.0.1, a free port, stopped on exit):
# the scenario is in converge_ec2.py (converge to 2, again with no change, to 3, to 1 with the oldest gone, to 0;
# check mode before each change; bad input failing before any instance exists; the aws_ec2 inventory plugin).
set -euo pipefail
cd "$(dirname "$0")"

out=${OUTPUT_DIR:?}/converge_ec2
rm -rf "$out"
mkdir -p "$out"
python=$(python -c 'import sys; print(sys.executable)')
export ANSIBLE_PYTHON_INTERPRETER=$python

port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$(dirname "$python")/moto_server" -H 127.0.0.1 -p "$port" >"$out/moto.log" 2>&1 &
moto=$!
trap 'kill "$moto" 2>/dev/null || true; wait "$moto" 2>/dev/null || true' EXIT

# Dummy credentials for moto, in the environment as AWX's AWS credential puts them (never on a command line).
export AWS_ACCESS_KEY_ID=jvmops-it-key AWS_SECRET_ACCESS_KEY=jvmops-it-secret AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export no_proxy=127.0.0.1,localhost

"$python" converge_ec2.py --endpoint "http://127.0.0.1:$port" --moto-pid "$moto" --out "$out"
