#!/usr/bin/env bash
# Copies the collection's files (tracked, plus new files git does not ignore) into an
# ansible_collections/jvmops/deploy tree: ansible-test and ansible-playbook need that path,
# and a copy keeps .venv and build output out of sanity and lint.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:?usage: tree.sh DEST}
case "$dest" in */ansible_collections/jvmops/deploy) ;; *) echo "tree.sh: DEST must end in ansible_collections/jvmops/deploy" >&2; exit 2 ;; esac
rm -rf "$dest"
mkdir -p "$dest"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar --null -T - -cf - | tar -xf - -C "$dest"
else
  tar --exclude=./.venv --exclude=./.build --exclude=./tests/output -cf - . | tar -xf - -C "$dest"
fi
# A repository of its own: ansible-test and ansible-lint list files through git, and the copy
# sits below the project's ignored .build directory.
git -C "$dest" init -q
git -C "$dest" add -A
# The collections the modules import from (amazon.aws), beside jvmops/deploy: ansible-test's import and
# validate-modules tests look for them in the same ansible_collections directory. Taken from the `ansible`
# package in .venv, which bundles them.
bundled=$(.venv/bin/python -c 'import ansible_collections, os; print(ansible_collections.__path__[0])' 2>/dev/null || true)
if [ -n "$bundled" ] && [ -d "$bundled/amazon/aws" ]; then
  mkdir -p "$dest/../../amazon"
  rm -rf "$dest/../../amazon/aws"
  ln -s "$bundled/amazon/aws" "$dest/../../amazon/aws"
fi
