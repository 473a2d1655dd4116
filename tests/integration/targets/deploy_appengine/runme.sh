#!/usr/bin/env bash
# playbooks/deploy_appengine.yml end to end against the local App Engine Admin API + Cloud Storage service, with what
# AWX's built-in Google Compute Engine credential injects (GCP_* and a service-account key file in the environment):
# the sample app built and deployed, a second run with changed=0 as an AWX job template runs it (tests/awx_job.py:
# ansible-runner, extra variables in a file, only the credential's variables in the environment, no standard input)
# and --check --diff with changed=0, a
# new build (another version) that takes the traffic; the final GET reaches the running version through the service's
# front end by the Host of the version URL; no access token, private key or env value in any output at -vvv.
set -euo pipefail
cd "$(dirname "$0")"

out=${OUTPUT_DIR:?}/deploy_appengine
rm -rf "$out"
mkdir -p "$out"
python=$(python -c 'import sys; print(sys.executable)')
export ANSIBLE_ROLES_PATH=..
export ANSIBLE_PYTHON_INTERPRETER=$python

ansible-playbook -i localhost, setup.yml -e appengine_env_file="$out/appengine.env" \
  -e appengine_secrets_file="$out/secrets.env" >"$out/setup.log" 2>&1 || { cat "$out/setup.log"; exit 1; }
# shellcheck disable=SC1091 # written by setup.yml
. "$out/appengine.env"
export no_proxy=127.0.0.1,localhost

common=(-i 'localhost,' -e appengine_proxy_url="$APPENGINE_PROXY" -e appengine_build_dir="$out/build"
        -e appengine_wait_timeout=120
        -e '{"appengine_env_variables": {"DB_PASSWORD": "jvmops-secret-appengine-play"}}')

run() {
  local name=$1
  shift
  if ! ansible-playbook jvmops.deploy.deploy_appengine "${common[@]}" -vvv --diff "$@" >"$out/$name.log" 2>&1; then
    tail -n 80 "$out/$name.log"
    echo "deploy_appengine: the $name run failed (log: $out/$name.log)" >&2
    exit 1
  fi
  grep -A3 '^PLAY RECAP' "$out/$name.log"
}

recap() {
  sed -n '/^PLAY RECAP/,$p' "$out/$1.log" | grep -o "$2=[0-9]*" | head -n1
}

deployed_at() {
  grep -o 'App Engine version deployed at: https://[a-z0-9-]*-dot-default-dot-[a-z0-9.-]*appspot[.]com (version [a-z0-9-]*' "$out/$1.log" \
    | sed 's/.*(version //' | head -n1
}

run first
first=$(deployed_at first)
[ -n "$first" ] || { echo "deploy_appengine: the first run names no version URL" >&2; exit 1; }
grep -q 'app [0-9a-z.-]* build [0-9a-f]\{12\})' "$out/first.log" \
  || { echo "deploy_appengine: the version URL did not answer with the build" >&2; exit 1; }
[ "$(recap first changed)" != changed=0 ]

root=${ANSIBLE_COLLECTIONS_PATH%%:*}/ansible_collections/jvmops/deploy
(
  # shellcheck disable=SC1091 # written by setup.yml: the values the leak check looks for, not given to the job
  . "$out/secrets.env"
  "$python" "$root/tests/awx_job.py" --dir "$out/awx" --project "$root" --playbook playbooks/deploy_appengine.yml --localhost \
    --extra-var appengine_proxy_url="$APPENGINE_PROXY" --extra-var appengine_build_dir="$out/build" \
    --extra-vars-json '{"appengine_wait_timeout": 120, "appengine_env_variables": {"DB_PASSWORD": "jvmops-secret-appengine-play"}}' \
    --env GCE_CREDENTIALS_FILE_PATH --env GCP_SERVICE_ACCOUNT_FILE --env GCP_AUTH_KIND --env GCP_PROJECT --env GCE_PROJECT \
    --env GCP_ENV_TYPE --env APPENGINE_API_ENDPOINT --env STORAGE_EMULATOR_HOST --env no_proxy --env ANSIBLE_COLLECTIONS_PATH \
    --cmdline '-vvv --diff' --expect-changed 0 --stdout "$out/again.log" --secret 'the access token=APPENGINE_LEAK_TOKEN' \
    --secret "the service account's private key=APPENGINE_LEAK_KEY" --text 'an env variable value=jvmops-secret-'
) || { echo "deploy_appengine: the second run, as an AWX job, failed, changed something or leaked" >&2; exit 1; }
[ "$(recap again changed)" = changed=0 ] || { echo "deploy_appengine: the second run changed something" >&2; exit 1; }
[ "$(deployed_at again)" = "$first" ] || { echo "deploy_appengine: the second run names another version" >&2; exit 1; }

run check --check
[ "$(recap check changed)" = changed=0 ] || { echo "deploy_appengine: --check on the converged service reports changes" >&2; exit 1; }

run new-build -e build_version=2.0.0-it
second=$(deployed_at new-build)
if [ -z "$second" ] || [ "$second" = "$first" ]; then
  echo "deploy_appengine: a new build made no new version" >&2
  exit 1
fi
grep -q "traffic $second=1.0, replacing $first" "$out/new-build.log" \
  || { echo "deploy_appengine: the new version did not take the traffic from $first" >&2; exit 1; }
grep -q 'app 2.0.0-it build [0-9a-f]\{12\}' "$out/new-build.log" \
  || { echo "deploy_appengine: the version URL did not answer with the new build" >&2; exit 1; }

(
  # shellcheck disable=SC1091 # written by setup.yml
  . "$out/secrets.env"
  "$python" "$root/tests/leaks.py" --secret 'the access token=APPENGINE_LEAK_TOKEN' \
    --secret "the service account's private key=APPENGINE_LEAK_KEY" \
    --text 'an env variable value=jvmops-secret-' "$out"/first.log "$out"/again.log "$out"/check.log "$out"/new-build.log >&2
) || { echo "deploy_appengine: a secret shows in the output" >&2; exit 1; }
echo "deploy_appengine: 4 runs, no secret in $(cat "$out"/*.log | wc -l) lines of -vvv output"
