#!/usr/bin/env bash
# Install what the tests need (a development virtualenv in .venv) and run the whole suite.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# The preview tests run the real rsync and sqlite3 (issue 15): install them where we can (root with apt-get).
for tool in rsync sqlite3; do
  if ! command -v "$tool" >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get install -y -q "$tool" >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 &&
      apt-get install -y -q "$tool" >/dev/null 2>&1; } || echo "test.sh: could not install $tool; its preview tests skip" >&2
  fi
done
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
exec .venv/bin/python -m pytest "$@"
