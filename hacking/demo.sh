#!/usr/bin/env bash
# `make demo`: run site.yml against the lab hosts, as a user would, and say where the app answers.
set -euo pipefail
cd "$(dirname "$0")/.."
inventory=${1:?usage: demo.sh INVENTORY}
.venv/bin/ansible-playbook -i "$inventory" jvmops.deploy.site
ip=$(sed -n '/^        lb1:/{n;s/.*ansible_host: //p}' "$inventory")
echo
echo "demo: open http://$ip/ (HAProxy on lb1, in front of app1 and app2); /version answers: $(python3 -c "
import urllib.request; print(urllib.request.urlopen('http://$ip/version', timeout=5).read().decode())")"
echo "demo: inventory: $inventory; more: ANSIBLE_COLLECTIONS_PATH=.build/collections .venv/bin/ansible-playbook -i $inventory jvmops.deploy.run_command -e target=app -e command=uptime"
