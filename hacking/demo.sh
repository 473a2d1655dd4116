#!/usr/bin/env bash
# `make demo`: run the collection's playbooks against the lab hosts, as a user would.
# Until the deployment playbooks land it runs run_command across the whole lab.
set -euo pipefail
cd "$(dirname "$0")/.."
inventory=${1:?usage: demo.sh INVENTORY}
.venv/bin/ansible-playbook -i "$inventory" jvmops.deploy.run_command \
  -e target=lab -e "command='echo \"\$(hostname): \$(. /etc/os-release; echo \$PRETTY_NAME), booted \$(ps -o etimes= -p 1 | tr -d \" \")s ago\"'" \
  -e confirm=true -e readonly=true
echo
echo "demo: the lab is up; inventory: $inventory"
echo "demo: try: ANSIBLE_COLLECTIONS_PATH=.build/collections .venv/bin/ansible-playbook -i $inventory jvmops.deploy.run_command -e target=app -e command=uptime"
