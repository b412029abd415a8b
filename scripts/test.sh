#!/usr/bin/env bash
# Runs every check and test of mlsbackup: the README's "run all tests"
# command, and what CI runs (.ci/run). Needs only Go on a fresh machine.
#
#   bash scripts/test.sh                 # everything
#   bash scripts/test.sh ./uploader/...  # go test only these (lint still runs)
#
# It installs the pinned tools the tests use (MinIO, versitygw, the age CLI,
# staticcheck) into ${MLSBACKUP_TEST_CACHE:-$HOME/.cache/mlsbackup-test}/bin,
# once: a stamp file per tool records the pinned version, and a tool is
# rebuilt only when it is missing or its pin (or the Go version) changed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Pinned tool versions. Change a pin here; the next run reinstalls that tool.
MINIO_PKG="github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"
VERSITYGW_PKG="github.com/versity/versitygw/cmd/versitygw@v1.8.0"
AGE_PKG="filippo.io/age/cmd/...@v1.3.2"
STATICCHECK_PKG="honnef.co/go/tools/cmd/staticcheck@v0.8.2"

CACHE="${MLSBACKUP_TEST_CACHE:-${HOME:-/root}/.cache/mlsbackup-test}"
BIN="$CACHE/bin"
STAMPS="$CACHE/stamps"
export MLSBACKUP_TEST_CACHE="$CACHE"
mkdir -p "$BIN" "$STAMPS"

START=$SECONDS
step() { printf '\n==> [%4ds] %s\n' "$((SECONDS - START))" "$*"; }

command -v go >/dev/null || { echo "scripts/test.sh: Go is required (https://go.dev/doc/install)" >&2; exit 1; }
GOVERSION="$(go env GOVERSION)"

# built_from PKG BINARY...: every BINARY's build info names PKG's module
# version and this Go version.
built_from() {
	local version="${1##*@}" b info
	shift
	for b in "$@"; do
		info="$(go version -m "$BIN/$b" 2>/dev/null)" || return 1
		[[ "$(head -n1 <<<"$info" | awk '{print $2}')" == "$GOVERSION" ]] || return 1
		[[ "$(awk '$1 == "mod" {print $3; exit}' <<<"$info")" == "$version" ]] || return 1
	done
}

# install_tool NAME PKG BINARY...: go install PKG into $BIN unless every
# BINARY exists and the stamp matches PKG and the Go version.
install_tool() {
	local name="$1" pkg="$2"
	shift 2
	local want="$pkg $GOVERSION" stamp="$STAMPS/$name" missing=0 b
	for b in "$@"; do
		[[ -x "$BIN/$b" ]] || missing=1
	done
	if [[ $missing -eq 0 && ! -f "$stamp" ]] && built_from "$pkg" "$@"; then
		# Binaries put there by hand or an older script: adopt them when
		# their embedded build info shows the pinned version.
		printf '%s\n' "$want" >"$stamp"
	fi
	if [[ $missing -eq 0 && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
		echo "    $name: cached ($pkg)"
		return
	fi
	step "installing $name ($pkg)"
	local t0=$SECONDS
	GOBIN="$BIN" go install "$pkg"
	printf '%s\n' "$want" >"$stamp"
	echo "    $name: installed in $((SECONDS - t0))s"
}

step "tools (cache: $CACHE)"
install_tool staticcheck "$STATICCHECK_PKG" staticcheck
install_tool age "$AGE_PKG" age age-keygen
install_tool versitygw "$VERSITYGW_PKG" versitygw
install_tool minio "$MINIO_PKG" minio

# Debian packages the tests run: Node.js for the JavaScript peers, curl for
# the README's MinIO quickstart (TestREADMEQuickstart).
missing=()
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v curl >/dev/null || missing+=(curl)
if ((${#missing[@]})); then
	step "installing ${missing[*]} (apt-get)"
	if [[ "$(id -u)" -ne 0 ]]; then
		echo "scripts/test.sh: ${missing[*]} missing; install them (apt-get install ${missing[*]}) or run as root" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi
echo "    node $(node --version), npm $(npm --version), $(curl --version | head -1 | cut -d" " -f1-2)"

# The JavaScript dependencies of the ts-mls interop peer and of the
# core-crypto benchmark peer, each reinstalled only when its package-lock.json
# changed; npm's own cache lives beside the tools.
for NODEDIR in internal/tsmls internal/peerbench; do
	[[ -f "$NODEDIR/package.json" ]] || continue
	lockhash="$(cat "$NODEDIR/package.json" "$NODEDIR/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1) $(node --version)"
	if [[ -f "$NODEDIR/node_modules/.mlsbackup-stamp" && "$(cat "$NODEDIR/node_modules/.mlsbackup-stamp")" == "$lockhash" ]]; then
		echo "    $NODEDIR/node_modules: cached"
	else
		step "npm ci in $NODEDIR"
		(cd "$NODEDIR" && npm ci --no-audit --no-fund --cache "$CACHE/npm" --prefer-offline)
		printf '%s\n' "$lockhash" >"$NODEDIR/node_modules/.mlsbackup-stamp"
	fi
done

export PATH="$BIN:$PATH"

step "gofmt"
unformatted="$(find . -name '*.go' -not -path '*/node_modules/*' -not -path './.cache/*' -print0 | xargs -0 gofmt -l)"
if [[ -n "$unformatted" ]]; then
	echo "gofmt: these files need formatting (run gofmt -w):" >&2
	echo "$unformatted" >&2
	exit 1
fi

step "go vet ./..."
go vet ./...
# The killpoint build (tests only: internal/killcampaign) is linted too.
go vet -tags killpoint ./cmd/mlsbackup

step "staticcheck ./..."
staticcheck ./...
staticcheck -tags killpoint ./cmd/mlsbackup

# go test -json goes through scripts/testreport: a line per package, the
# output of failing tests only, a note each minute on what is still running,
# and a closing "N passed, N failed, N skipped". The raw JSON is kept in
# the cache for digging.
REPORTER="$(mktemp -d)/testreport"
trap 'rm -rf "$(dirname "$REPORTER")"' EXIT
go build -o "$REPORTER" ./scripts/testreport
if [[ $# -eq 0 ]]; then
	set -- ./...
fi
step "go test $* (raw log: $CACHE/last-go-test.json)"
go test -json -count=1 -timeout 80m "$@" 2>&1 | tee "$CACHE/last-go-test.json" | "$REPORTER"
step "all checks and tests passed"
