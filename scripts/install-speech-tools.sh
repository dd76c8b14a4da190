#!/usr/bin/env bash
# Ensures Debian's `espeak-ng` (text to speech: a scripted caller's voice, WAV at 22,050 Hz mono)
# and `sox` (resampling to 48 kHz / 16 kHz, measuring) are installed, for tests that talk to an
# agent through a real room. No-op when both are present; otherwise installs them with apt-get
# (update first). Idempotent. Prints the espeak-ng binary's path on stdout (and nothing else);
# sox is then on PATH too (`command -v sox`), or at $VOICETRACE_SOX.
# $VOICETRACE_ESPEAK_NG / $VOICETRACE_SOX may point at existing binaries instead.
# Exit codes: 0 ok, 3 not installable here (no apt-get / not root and no sudo).
set -euo pipefail
have() {
  espeak="${VOICETRACE_ESPEAK_NG:-$(command -v espeak-ng 2>/dev/null || true)}"
  sox="${VOICETRACE_SOX:-$(command -v sox 2>/dev/null || true)}"
  [[ -n "$espeak" && -x "$espeak" && -n "$sox" && -x "$sox" ]]
}
if have; then echo "$espeak"; exit 0; fi
command -v apt-get >/dev/null || { echo "install-speech-tools: no apt-get here; install espeak-ng and sox (or set VOICETRACE_ESPEAK_NG / VOICETRACE_SOX)" >&2; exit 3; }
sudo=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo=(sudo -n); else
    echo "install-speech-tools: need root (or passwordless sudo) to apt-get install espeak-ng sox" >&2; exit 3
  fi
fi
exec 9>"${TMPDIR:-/tmp}/voicetrace-install-speech-tools.lock"
flock 9
if have; then echo "$espeak"; exit 0; fi   # installed by a concurrent run while we waited
echo "install-speech-tools: installing Debian's espeak-ng and sox packages" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update >&2
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends espeak-ng sox >&2
have || { echo "install-speech-tools: espeak-ng or sox still missing after apt-get install" >&2; exit 1; }
echo "$espeak"
