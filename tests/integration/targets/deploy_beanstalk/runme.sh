#!/usr/bin/env bash
# playbooks/deploy_beanstalk.yml end to end against the local Elastic Beanstalk service, with the Amazon Web Services
# credential's AWS_* in the environment: a WAR on Tomcat, then a second run with changed=0 as an AWX job template runs
# it (tests/awx_job.py: ansible-runner, extra variables in a file, only the credential's variables in the environment,
# no standard input) and --check --diff with changed=0; an executable JAR on Corretto in a second environment; the
# final GET goes to the environment's CNAME (through the service, as the HTTP proxy); no secret in any output at -vvv
# or in any file ansible-runner wrote.
set -euo pipefail
cd "$(dirname "$0")"

out=${OUTPUT_DIR:?}/deploy_beanstalk
rm -rf "$out"
mkdir -p "$out"
python=$(python -c 'import sys; print(sys.executable)')
export ANSIBLE_ROLES_PATH=..
export ANSIBLE_PYTHON_INTERPRETER=$python

ansible-playbook -i localhost, setup.yml -e beanstalk_env_file="$out/beanstalk.env" >"$out/setup.log" 2>&1 || { cat "$out/setup.log"; exit 1; }
# shellcheck disable=SC1091 # written by setup.yml
. "$out/beanstalk.env"
# The environments' CNAMEs resolve through the service; the AWS endpoint itself is reached directly.
export http_proxy=$BEANSTALK_PROXY no_proxy=127.0.0.1,localhost

app=jvmops-it-play-$RANDOM
common=(-i 'localhost,' -e beanstalk_application="$app" -e aws_endpoint_url="$AWS_ENDPOINT"
        -e beanstalk_bucket=jvmops-it-play -e beanstalk_build_dir="$out/build"
        -e '{"beanstalk_secret_properties": {"DB_PASSWORD": "jvmops-secret-db-password"}}')

cleanup() {
  for env in development it-play-java; do
    ansible -i localhost, -c local localhost -m jvmops.deploy.beanstalk_deploy \
      -a "application=$app environment=$env state=absent endpoint_url=$AWS_ENDPOINT" >>"$out/cleanup.log" 2>&1 || true
  done
}
trap cleanup EXIT

run() {
  local name=$1
  shift
  if ! ansible-playbook jvmops.deploy.deploy_beanstalk "${common[@]}" -vvv --diff "$@" >"$out/$name.log" 2>&1; then
    tail -n 80 "$out/$name.log"
    echo "deploy_beanstalk: the $name run failed (log: $out/$name.log)" >&2
    exit 1
  fi
  grep -A3 '^PLAY RECAP' "$out/$name.log"
}

recap_changed() {
  sed -n '/^PLAY RECAP/,$p' "$out/$1.log" | grep -o 'changed=[0-9]*' | head -n1
}

run war
grep -q 'Environment deployed at: development[.].*elasticbeanstalk[.]com' "$out/war.log"
grep -q '"health": "Green"' "$out/war.log"
grep -q 'running Tomcat' "$out/war.log"
[ "$(recap_changed war)" != changed=0 ]

root=${ANSIBLE_COLLECTIONS_PATH%%:*}/ansible_collections/jvmops/deploy
"$python" "$root/tests/awx_job.py" --dir "$out/awx" --project "$root" --playbook playbooks/deploy_beanstalk.yml --localhost \
  --extra-var beanstalk_application="$app" --extra-var aws_endpoint_url="$AWS_ENDPOINT" \
  --extra-var beanstalk_bucket=jvmops-it-play --extra-var beanstalk_build_dir="$out/build" \
  --extra-vars-json '{"beanstalk_secret_properties": {"DB_PASSWORD": "jvmops-secret-db-password"}}' \
  --env AWS_ACCESS_KEY_ID --env AWS_SECRET_ACCESS_KEY --env AWS_REGION --env http_proxy --env no_proxy \
  --env ANSIBLE_COLLECTIONS_PATH --cmdline '-vvv --diff' --expect-changed 0 --stdout "$out/war-again.log" \
  --secret 'the AWS secret key=AWS_SECRET_ACCESS_KEY' --text 'a secret property=jvmops-secret-' \
  || { echo "deploy_beanstalk: the second run, as an AWX job, failed or changed something" >&2; exit 1; }

run war-check --check
[ "$(recap_changed war-check)" = changed=0 ] || { echo "deploy_beanstalk: --check on the converged environment reports changes" >&2; exit 1; }

run jar -e beanstalk_artifact_type=jar -e beanstalk_environment=it-play-java -e beanstalk_build_dir="$out/build-jar"
grep -q 'Environment deployed at: it-play-java[.].*elasticbeanstalk[.]com' "$out/jar.log"
grep -q 'running Corretto' "$out/jar.log"

"$python" "$root/tests/leaks.py" --secret 'the AWS secret key=AWS_SECRET_ACCESS_KEY' --text 'a secret property=jvmops-secret-' "$out"/*.log >&2 \
  || { echo "deploy_beanstalk: a secret shows in the output" >&2; exit 1; }
echo "deploy_beanstalk: 4 runs, no secret in $(cat "$out"/*.log | wc -l) lines of -vvv output"
