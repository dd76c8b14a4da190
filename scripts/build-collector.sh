#!/usr/bin/env bash
# Builds voicetrace's OpenTelemetry Collector from collector-config/build/manifest.yaml
# with the official builder (ocb), once per manifest content, into a cache outside the repo
# (${VOICETRACE_CACHE:-~/.cache/voicetrace}/bin). Prints the binary's path on stdout (and
# nothing else); build logs go to stderr. Reuses the cached binary when the manifest is
# unchanged. Safe to run concurrently (a lock serializes builds).
# --cached: print the cached binary's path, never build (exit 4 when there is none).
# Exit codes: 0 ok, 3 Go missing, 4 not cached (--cached), other = build failure.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
manifest="$here/collector-config/build/manifest.yaml"
cache="${VOICETRACE_CACHE:-$HOME/.cache/voicetrace}"
builder_version="v0.161.0"   # keep equal to dist.version in the manifest
key="$( (cat "$manifest"; echo "$builder_version") | sha256sum | cut -c1-12)"
bin="$cache/bin/otelcol-voicetrace-$key"
if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi
if [[ "${1:-}" == "--cached" ]]; then echo "build-collector: no cached binary at $bin" >&2; exit 4; fi
command -v go >/dev/null || { echo "build-collector: Go is not installed" >&2; exit 3; }
mkdir -p "$cache/bin" "$cache/build"
exec 9>"$cache/build/collector.lock"
flock 9
if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi   # built by a concurrent run while we waited
export GOPROXY="${GOPROXY:-https://proxy.golang.org}" GOFLAGS="${GOFLAGS:-} -mod=mod"
builder="$cache/bin/ocb-$builder_version"
if [[ ! -x "$builder" ]]; then
  GOBIN="$cache/build/gobin" go install "go.opentelemetry.io/collector/cmd/builder@$builder_version" >&2
  mv "$cache/build/gobin/builder" "$builder"
fi
work="$(mktemp -d "$cache/build/otelcol.XXXX")"
trap 'rm -rf "$work"' EXIT
sed "s#output_path: ./_build#output_path: $work/out#" "$manifest" > "$work/manifest.yaml"
echo "build-collector: building $bin (takes a few minutes the first time)" >&2
"$builder" --config "$work/manifest.yaml" >&2
mv "$work/out/voicetrace-otelcol" "$bin.tmp" && mv "$bin.tmp" "$bin"
echo "$bin"
