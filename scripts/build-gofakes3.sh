#!/usr/bin/env bash
# Builds gofakes3 (github.com/johannesboyne/gofakes3, MIT), a small S3-compatible server used
# as the S3 backend in tests (MinIO is AGPL and must not be used), from its Go module source,
# once per version, into a cache outside the repo (${VOICETRACE_CACHE:-~/.cache/voicetrace}/bin).
# Prints the binary's path on stdout (and nothing else); build logs go to stderr.
# Same recipe as build-livekit-server.sh: `go mod download -json` names the module directory,
# we copy it somewhere writable and `go build ./cmd/gofakes3` there. v1.2.0 is the newest
# version the module proxy serves. Runs as `gofakes3 -host 127.0.0.1:PORT -backend memory -autobucket`.
# Safe to run concurrently (a lock serializes builds).
# Exit codes: 0 ok, 3 Go missing, other = build failure.
set -euo pipefail
version="${GOFAKES3_VERSION:-v1.2.0}"
cache="${VOICETRACE_CACHE:-$HOME/.cache/voicetrace}"
bin="$cache/bin/gofakes3-$version"
if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi
command -v go >/dev/null || { echo "build-gofakes3: Go is not installed" >&2; exit 3; }
mkdir -p "$cache/bin" "$cache/build"
exec 9>"$cache/build/gofakes3.lock"
flock 9
if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi   # built by a concurrent run while we waited
export GOPROXY="${GOPROXY:-https://proxy.golang.org}" GOFLAGS="-mod=mod" GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
work="$(mktemp -d "$cache/build/gofakes3.XXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
echo "build-gofakes3: building $bin" >&2
dir="$(cd "$work" && go mod download -json "github.com/johannesboyne/gofakes3@$version" \
  | sed -n 's/^[[:space:]]*"Dir":[[:space:]]*"\(.*\)",\{0,1\}$/\1/p')"
[[ -n "$dir" && -d "$dir" ]] || { echo "build-gofakes3: go mod download did not name a directory" >&2; exit 1; }
cp -R "$dir" "$work/src"
chmod -R u+w "$work/src"
cd "$work/src"
go build -trimpath -o "$bin.tmp" ./cmd/gofakes3 >&2
mv "$bin.tmp" "$bin"
echo "$bin"
