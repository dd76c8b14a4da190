#!/usr/bin/env bash
# Builds Jaeger v2 (the all-in-one `jaeger` binary) from the Go module proxy, once per
# version, into a cache outside the repo (${VOICETRACE_CACHE:-~/.cache/voicetrace}/bin).
# Prints the binary's path on stdout (and nothing else); build logs go to stderr.
# v1.76.0 is the Go module version of a Jaeger v2 release (its v2.x tags are not valid Go
# module versions for this module path). Its go.mod carries a `replace` line, which
# `go install pkg@version` refuses, so we build from a throwaway wrapper module that
# requires Jaeger and repeats that replace line, then `go build` the package path.
# Safe to run concurrently (a lock serializes builds).
set -euo pipefail
version="${JAEGER_MODULE_VERSION:-v1.76.0}"
cache="${VOICETRACE_CACHE:-$HOME/.cache/voicetrace}"
bin="$cache/bin/jaeger-$version"
if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi
command -v go >/dev/null || { echo "build-jaeger: Go is not installed" >&2; exit 3; }
mkdir -p "$cache/bin" "$cache/build"
exec 9>"$cache/build/jaeger.lock"
flock 9
if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi
export GOPROXY="${GOPROXY:-https://proxy.golang.org}" GOFLAGS="-mod=mod"
work="$(mktemp -d "$cache/build/jaeger.XXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"
cat > go.mod <<MOD
module voicetrace.local/jaegerbuild

go 1.24

require github.com/jaegertracing/jaeger $version

replace github.com/Shopify/sarama => github.com/Shopify/sarama v1.33.0
MOD
echo "build-jaeger: building $bin (takes a few minutes the first time)" >&2
# Resolve the module graph (writes go.sum), then build the main package by its path.
go get "github.com/jaegertracing/jaeger/cmd/jaeger@$version" >&2
go build -trimpath -o "$bin.tmp" github.com/jaegertracing/jaeger/cmd/jaeger >&2
mv "$bin.tmp" "$bin"
echo "$bin"
