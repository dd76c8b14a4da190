#!/usr/bin/env bash
# Ensures a Prometheus server binary is available (for span-derived RED metrics in tests).
# Uses an existing `prometheus` on PATH (or $VOICETRACE_PROMETHEUS), else installs Debian's
# `prometheus` package with apt-get (update first). Idempotent. Prints the binary's path on
# stdout (and nothing else). The package's own service is not started by this script: tests
# run their own instance on loopback ports with a temporary config and data directory.
# Exit codes: 0 ok, 3 not installable here (no apt-get / not root and no sudo).
set -euo pipefail
if [[ -n "${VOICETRACE_PROMETHEUS:-}" && -x "${VOICETRACE_PROMETHEUS}" ]]; then echo "$VOICETRACE_PROMETHEUS"; exit 0; fi
if p="$(command -v prometheus 2>/dev/null)"; then echo "$p"; exit 0; fi
if [[ -x /usr/bin/prometheus ]]; then echo /usr/bin/prometheus; exit 0; fi
command -v apt-get >/dev/null || { echo "install-prometheus: no apt-get here; install Prometheus and set VOICETRACE_PROMETHEUS" >&2; exit 3; }
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo=(sudo -n); else
    echo "install-prometheus: need root (or passwordless sudo) to apt-get install prometheus" >&2; exit 3
  fi
fi
exec 9>"${TMPDIR:-/tmp}/voicetrace-install-prometheus.lock"
flock 9
if [[ -x /usr/bin/prometheus ]]; then echo /usr/bin/prometheus; exit 0; fi
echo "install-prometheus: installing Debian's prometheus package" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update >&2
# The package's postinst would start a system service listening on *:9090. We only want the
# binary: a temporary policy-rc.d (exit 101 = "action forbidden", honoured by invoke-rc.d and
# deb-systemd-invoke) stops that, unless the host already has its own policy-rc.d.
policy=/usr/sbin/policy-rc.d
if [[ ! -e $policy ]]; then
  trap '"${sudo[@]}" rm -f "$policy"' EXIT
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
  "${sudo[@]}" chmod 755 "$policy"
fi
"${sudo[@]}" apt-get install -y --no-install-recommends prometheus >&2
echo /usr/bin/prometheus
