#!/usr/bin/env bash
# Install what the tests need (a development virtualenv in .venv) and run the whole suite.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# Real tools the tests run: rsync and sqlite3 (previews, issue 15), a C compiler (the native client,
# issue 16). Installed where we can (root with apt-get); elsewhere those tests skip and say why.
for need in "rsync:rsync" "sqlite3:sqlite3" "cc:gcc libc6-dev"; do
  tool="${need%%:*}"; packages="${need#*:}"
  if ! command -v "$tool" >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    # shellcheck disable=SC2086
    apt-get install -y -q $packages >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 &&
      apt-get install -y -q $packages >/dev/null 2>&1; } || echo "test.sh: could not install $packages; the tests that need $tool skip" >&2
  fi
done
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
exec .venv/bin/python -m pytest "$@"
