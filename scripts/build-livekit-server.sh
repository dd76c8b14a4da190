#!/usr/bin/env bash
# Builds LiveKit's media server (`livekit-server`, Apache-2.0) from its Go module source, once
# per version, into a cache outside the repo (${VOICETRACE_CACHE:-~/.cache/voicetrace}/bin).
# Prints the binary's path on stdout (and nothing else); build logs go to stderr.
# Recipe: `go mod download -json` names the module's directory in the module cache (read-only);
# we copy it somewhere writable and `go build ./cmd/server` there, with the module's own
# go.mod/go.sum (so exactly the dependency versions LiveKit released with).
# v1.13.5 is the newest version that builds from the module proxy: v1.13.6 and later add
# `replace` lines to LiveKit's `-warp` forks of pion that the proxy refuses. About 2.5 minutes cold
# on 2 cores (empty Go caches, downloads included), ~72 MB. Safe to run concurrently (a lock serializes builds).
# Exit codes: 0 ok, 3 Go missing, other = build failure.
set -euo pipefail
version="${LIVEKIT_SERVER_VERSION:-v1.13.5}"
cache="${VOICETRACE_CACHE:-$HOME/.cache/voicetrace}"
bin="$cache/bin/livekit-server-$version"
if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi
command -v go >/dev/null || { echo "build-livekit-server: Go is not installed" >&2; exit 3; }
mkdir -p "$cache/bin" "$cache/build"
exec 9>"$cache/build/livekit-server.lock"
flock 9
if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi   # built by a concurrent run while we waited
export GOPROXY="${GOPROXY:-https://proxy.golang.org}" GOFLAGS="-mod=mod" GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
work="$(mktemp -d "$cache/build/livekit-server.XXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
echo "build-livekit-server: building $bin (a few minutes the first time)" >&2
dir="$(cd "$work" && go mod download -json "github.com/livekit/livekit-server@$version" \
  | sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p')"
[[ -n "$dir" && -d "$dir" ]] || { echo "build-livekit-server: go mod download did not name a directory" >&2; exit 1; }
cp -R "$dir" "$work/src"
chmod -R u+w "$work/src"
cd "$work/src"
go build -trimpath -o "$bin.tmp" ./cmd/server >&2
mv "$bin.tmp" "$bin"
echo "$bin"
