#!/usr/bin/env bash
# What the test suite needs beyond npm packages: PostgreSQL on 127.0.0.1:5432 (store contract, cluster
# tests) and Debian's Chromium (dashboard tests). Starts or installs them when it can (as root with apt),
# else says what is missing. Run by `npm test` (pretest) and by .ci/run.
set -uo pipefail

apt_install() {
  if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null; then
    echo "test prerequisites: $1 is missing; install it (e.g. apt-get install $1)" >&2
    return 1
  fi
  echo "== installing $1"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null) || return 1
}

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then apt_install postgresql; fi
  if command -v pg_ctlcluster >/dev/null && ls /etc/postgresql/*/main >/dev/null 2>&1; then
    echo "== starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start 2>/dev/null || true
    for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
  fi
  pg_isready -h 127.0.0.1 -p 5432 -q || echo "test prerequisites: PostgreSQL is not answering on 127.0.0.1:5432" >&2
fi

if [ ! -x /usr/bin/chromium ]; then apt_install chromium; fi
exit 0
