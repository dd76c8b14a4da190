#!/usr/bin/env bash
# Ensures a headless-capable Chromium is available, for tests that open voicetrace's HTML report
# in a real browser (driven by playwright-core, which never downloads a browser here).
# Uses $VOICETRACE_CHROMIUM when it points at an executable, else an existing `chromium` on PATH
# (or /usr/bin/chromium), else installs Debian's `chromium` package with apt-get (update first).
# Idempotent. Prints the browser's path on stdout (and nothing else).
# Exit codes: 0 ok, 1 still missing after apt-get, 3 not installable here (no apt-get / not root
# and no sudo).
set -euo pipefail
if [[ -n "${VOICETRACE_CHROMIUM:-}" && -x "${VOICETRACE_CHROMIUM}" ]]; then echo "$VOICETRACE_CHROMIUM"; exit 0; fi
if [[ -x /usr/bin/chromium ]]; then echo /usr/bin/chromium; exit 0; fi
if p="$(command -v chromium 2>/dev/null)"; then echo "$p"; exit 0; fi
command -v apt-get >/dev/null || { echo "install-chromium: no apt-get here; install Chromium and set VOICETRACE_CHROMIUM" >&2; exit 3; }
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo=(sudo -n); else
    echo "install-chromium: need root (or passwordless sudo) to apt-get install chromium" >&2; exit 3
  fi
fi
exec 9>"${TMPDIR:-/tmp}/voicetrace-install-chromium.lock"
flock 9
if [[ -x /usr/bin/chromium ]]; then echo /usr/bin/chromium; exit 0; fi   # installed by a concurrent run while we waited
echo "install-chromium: installing Debian's chromium package" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update >&2
# --no-install-recommends: no desktop integration, no extra fonts or drivers; headless needs none of it.
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends chromium >&2
[[ -x /usr/bin/chromium ]] || { echo "install-chromium: /usr/bin/chromium still missing after apt-get install" >&2; exit 1; }
echo /usr/bin/chromium
