#!/usr/bin/env bash
# Prepares this machine for `make demo` / `make test`: checks it can run the lab, installs the
# Debian packages the lab needs, and builds .venv from requirements-dev.txt with the newest
# CPython (3.11 to 3.14) it finds. Idempotent: a second run only checks.
#
#   hacking/bootstrap.sh system   Linux + root + Debian packages + systemd-nspawn
#   hacking/bootstrap.sh venv     .venv with the pinned dev requirements
set -euo pipefail
cd "$(dirname "$0")/.."

die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'bootstrap: %s\n' "$*"; }

# Debian packages: the lab (nspawn, debootstrap, apt proxy, bridge), SSH, git for the build tree,
# the shell linter that ansible-test sanity runs, a JDK for the sample app's tests, rsync for benchmarks.
# openssl for the lab's self-signed certificates, nginx (never started) for the nginx_upstream_server target,
# tomcat10-common (CATALINA_HOME /usr/share/tomcat10, no service) for the local Elastic Beanstalk's Tomcat platform.
DEB_PACKAGES=(systemd-container debootstrap apt-cacher-ng iproute2 openssh-client openssl git ca-certificates shellcheck
  openjdk-17-jdk-headless rsync nginx libjakarta-servlet-api-java tomcat10-common util-linux mount e2fsprogs)

system() {
  [ "$(uname -s)" = Linux ] || die "this needs Linux (the lab boots systemd-nspawn containers); found $(uname -s)"
  [ "$(id -u)" -eq 0 ] || die "this needs root (the lab creates a network bridge and boots containers); run it as root"
  command -v apt-get >/dev/null || die "this needs a Debian-like system with apt-get"
  local missing=()
  for pkg in "${DEB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    # policy-rc.d stops the packaged apt-cacher-ng from starting on every address: the lab runs its own.
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 0755 "$policy"; created_policy=1; fi
    apt-get update -qq || die "apt-get update failed: no Debian package mirror reachable"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || die "could not install Debian packages: ${missing[*]}"
    [ $created_policy -eq 0 ] || rm -f "$policy"
  fi
  systemd-nspawn --version >/dev/null 2>&1 || die "systemd-nspawn is installed but cannot run here"
  [ -d /sys/fs/cgroup ] || die "systemd-nspawn needs /sys/fs/cgroup, which this machine lacks"
}

pick_python() {
  # Newest CPython 3.11-3.14 on PATH or in pyenv; prints its path.
  local best="" best_ver=0 cand ver
  for cand in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[1-4]*/bin/python3 python3.14 python3.13 python3.12 python3.11 python3; do
    cand=$(command -v "$cand" 2>/dev/null) || continue
    ver=$("$cand" -c 'import sys, venv, ensurepip; v = sys.version_info; print(v[0] * 100 + v[1] if v[:2] >= (3, 11) and v[:2] <= (3, 14) and sys.implementation.name == "cpython" else 0)' 2>/dev/null) || continue
    if [ "$ver" -gt "$best_ver" ]; then best=$cand; best_ver=$ver; fi
  done
  [ -n "$best" ] || die "no CPython 3.11 to 3.14 with venv and ensurepip found (apt-get install python3-venv)"
  printf '%s\n' "$best"
}

pip_quiet() {
  # Some machines' pip configuration names local indexes that are absent; pip warns once per package.
  .venv/bin/python -m pip install -q --disable-pip-version-check "$@" 2>&1 \
    | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
  return "${PIPESTATUS[0]}"
}

venv() {
  local py want stamp
  py=$(pick_python)
  want="$("$py" -c 'import sys; print(sys.version.split()[0])') $(sha256sum requirements-dev.txt | cut -c1-16)"
  stamp=.venv/.jvmops-stamp
  if ! { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/python ]; }; then
    say "creating .venv with $py ($want)"
    rm -rf .venv
    "$py" -m venv .venv || die "could not create .venv with $py"
    pip_quiet --upgrade pip || die "could not upgrade pip in .venv (is PyPI reachable?)"
    pip_quiet -r requirements-dev.txt || die "could not install requirements-dev.txt into .venv (is PyPI reachable?)"
    printf '%s\n' "$want" > "$stamp"
  fi
  # ansible-test --venv bootstraps pip from a host that not every machine reaches; give it a local copy.
  .venv/bin/python hacking/ansible_test_pip.py || die "could not prepare pip for ansible-test's virtual environments"
}

case "${1:-}" in
  system) system ;;
  venv) venv ;;
  *) die "usage: $0 system|venv" ;;
esac
