#!/usr/bin/env bash
# playbooks/deploy_heroku.yml end to end against the local Heroku API service: first run, second run with changed=0
# as an AWX job template runs it (tests/awx_job.py: ansible-runner, the extra variables in a file, only the Heroku
# credential type's HEROKU_API_KEY and HEROKU_API_URL in the environment, no standard input), --check --diff with
# changed=0, and neither the API key nor a config var value in any output at -vvv or any file ansible-runner wrote.
set -euo pipefail
cd "$(dirname "$0")"

out=${OUTPUT_DIR:?}/deploy_heroku
rm -rf "$out"
mkdir -p "$out"
python=$(python -c 'import sys; print(sys.executable)')
export ANSIBLE_ROLES_PATH=..
export ANSIBLE_PYTHON_INTERPRETER=$python

ansible-playbook -i localhost, setup.yml -e heroku_env_file="$out/heroku.env" >"$out/setup.log" 2>&1 || { cat "$out/setup.log"; exit 1; }
# shellcheck disable=SC1091 # written by setup.yml
. "$out/heroku.env"

app=jvmops-it-play-$RANDOM
common=(-i 'localhost,' -e heroku_app_name="$app" -e heroku_ca_path="$HEROKU_CA_PATH" -e @secrets.yml
        -e heroku_build_dir="$out/build" -e heroku_web_dynos=2 -e heroku_log_level=DEBUG)

cleanup() {
  ansible -i localhost, -c local localhost -m jvmops.deploy.heroku_app -a "name=$app state=absent ca_path=$HEROKU_CA_PATH" >"$out/cleanup.log" 2>&1 || true
}
trap cleanup EXIT

run() {
  local name=$1
  shift
  if ! ansible-playbook jvmops.deploy.deploy_heroku "${common[@]}" -vvv --diff "$@" >"$out/$name.log" 2>&1; then
    tail -n 80 "$out/$name.log"
    echo "deploy_heroku: the $name run failed (log: $out/$name.log)" >&2
    exit 1
  fi
  grep -A3 '^PLAY RECAP' "$out/$name.log"
}

recap_changed() {
  sed -n '/^PLAY RECAP/,$p' "$out/$1.log" | grep -o 'changed=[0-9]*' | head -n1
}

run first
grep -q "Heroku app $app answers at http" "$out/first.log"
grep -q "one-off output: 0 1 1 2 3 5 8 13 21 34 55 89" "$out/first.log"
[ "$(recap_changed first)" != changed=0 ]

root=${ANSIBLE_COLLECTIONS_PATH%%:*}/ansible_collections/jvmops/deploy
"$python" "$root/tests/awx_job.py" --dir "$out/awx" --project "$root" --playbook playbooks/deploy_heroku.yml --localhost \
  --extra-var heroku_app_name="$app" --extra-var heroku_ca_path="$HEROKU_CA_PATH" --extra-vars-file secrets.yml \
  --extra-var heroku_build_dir="$out/build" --extra-vars-json '{"heroku_web_dynos": 2}' --extra-var heroku_log_level=DEBUG \
  --env HEROKU_API_KEY --env HEROKU_API_URL --env ANSIBLE_COLLECTIONS_PATH --cmdline '-vvv --diff' \
  --expect-changed 0 --stdout "$out/second.log" --secret 'the API key=HEROKU_API_KEY' --text 'a config var value=jvmops-secret-' \
  || { echo "deploy_heroku: the second run, as an AWX job, failed or changed something" >&2; exit 1; }

run check --check
[ "$(recap_changed check)" = changed=0 ] || { echo "deploy_heroku: --check on the converged app reports changes" >&2; exit 1; }

# The app really runs two web dynos with the level and config given.
ansible -i localhost, -c local localhost -m jvmops.deploy.heroku_app -a "name=$app ca_path=$HEROKU_CA_PATH" >"$out/read.log" 2>&1
grep -q '"quantity": 2' "$out/read.log"
grep -q '"AUTH_PASS": "\*\*\*\*\*\*\*\*"' "$out/read.log"

# The tests' one leak scanner (tests/leaks.py): names the secret and the file, never the secret.
"$python" "$root/tests/leaks.py" --secret 'the API key=HEROKU_API_KEY' --text 'a config var value=jvmops-secret-' "$out"/*.log >&2 \
  || { echo "deploy_heroku: a secret shows in the output" >&2; exit 1; }
echo "deploy_heroku: 3 runs, no secret in $(cat "$out"/*.log | wc -l) lines of -vvv output"
