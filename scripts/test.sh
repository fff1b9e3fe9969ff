#!/usr/bin/env bash
# The whole openfc test suite, on a fresh machine with Go, gcc, python3 and
# Node.js/npm: installs what the tests need, then checks formatting, vets,
# runs every test with the race detector (unit, integration, e2e, and the
# @alicloud/fc2 Node SDK compatibility test), and fuzzes each fuzz target
# briefly. Every step runs even when an earlier one failed, so that one run
# shows every problem; the script exits non-zero if any step failed. CI runs
# it through .ci/run.
#
# Environment:
#   FUZZTIME      time per fuzz target (default 10s; 0 skips fuzzing)
#   TEST_TIMEOUT  go test -timeout (default 30m)
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-10s}
timeout=${TEST_TIMEOUT:-30m}
start=$SECONDS
log=$(mktemp -t openfc-test.XXXXXX)
trap 'rm -f "$log"' EXIT

step() { printf '\n==> %s\n' "$*"; }
failed=()
fail() {
	echo "FAILED: $*" >&2
	failed+=("$*")
}

step "environment"
go version
if [[ -x /usr/bin/node ]]; then echo "node $(/usr/bin/node --version) at /usr/bin/node"; fi
if [[ -x /usr/bin/python3 ]]; then /usr/bin/python3 --version; fi

step "install test dependencies: npm ci --prefix e2e/node"
# The Node SDK compatibility test (e2e/node) needs @alicloud/fc2 2.6.6,
# pinned by e2e/node/package-lock.json. No apt packages are needed.
if ! command -v npm >/dev/null; then
	fail "npm not found: install Node.js 20 with npm"
else
	npm ci --prefix e2e/node --no-audit --no-fund || fail "npm ci --prefix e2e/node"
fi

step "gofmt -l"
# (a file gofmt cannot parse shows up here with its error)
unformatted=$(gofmt -l $(find . -name '*.go' -not -path './.git/*' -not -path '*/node_modules/*') 2>&1) || true
if [[ -n $unformatted ]]; then
	echo "these files need gofmt -w:" >&2
	echo "$unformatted" >&2
	fail "gofmt: $(echo $unformatted)"
else
	echo "all Go files are formatted"
fi

step "go vet ./..."
go vet ./... || fail "go vet ./..."

step "go test -race -timeout $timeout ./..."
status=0
go test -race -timeout "$timeout" ./... 2>&1 | tee "$log" || status=$?

step "go test summary"
grep -E '^(ok|FAIL|--- FAIL|panic:)' "$log" || true
if [[ $status -ne 0 ]]; then
	fail "go test -race ./... (exit $status)"
fi

if [[ $fuzztime != 0 ]]; then
	step "fuzz: $fuzztime per target"
	# Every `func FuzzX(f *testing.F)` in a _test.go file, as "dir name".
	targets=$(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(' --exclude-dir=node_modules --exclude-dir=.git . |
		sed -E 's#^(.*)/[^/]+\.go:func (Fuzz[A-Za-z0-9_]+)\($#\1 \2#' | sort -u) || true
	while read -r dir name; do
		[[ -n $dir ]] || continue
		echo "--- $name in $dir"
		out=$(mktemp -t openfc-fuzz.XXXXXX)
		if ! go test -run='^$' -fuzz="^${name}\$" -fuzztime="$fuzztime" "$dir" 2>&1 | tee "$out"; then
			# Go 1.26's fuzz coordinator can fail a target with "context
			# deadline exceeded" right at -fuzztime on a busy machine
			# (go.dev/issue/75804, fixed in Go 1.27): no input failed, so
			# none was written. A real failure always writes its input.
			if grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written' "$out"; then
				echo "warning: $name: the Go fuzz coordinator's deadline race (go.dev/issue/75804), not a failing input"
			else
				fail "fuzz $name in $dir"
			fi
		fi
		rm -f "$out"
	done <<<"$targets"
fi

if ((${#failed[@]} > 0)); then
	step "FAILED after $((SECONDS - start))s:"
	printf '  %s\n' "${failed[@]}"
	exit 1
fi
step "all passed in $((SECONDS - start))s"
