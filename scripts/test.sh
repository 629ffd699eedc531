#!/usr/bin/env bash
# The project's test command (README, CI).
#
#   scripts/test.sh          installs the system packages the tests need
#                            (idempotent), fmt check, clippy, all tests
#                            (e2e serially)
#   scripts/test.sh --ci     the same plus a fuzz smoke run, the
#                            unused-dependency check and the Debian
#                            package (installs cargo-fuzz, cargo-machete
#                            and cargo-deb if missing)
#   scripts/test.sh --docker also build the image (docker/build.sh, tag
#                            rbgpd:latest) so that the image tests run
#                            (they skip when the image is absent)
#
# Tests run with cargo-nextest when installed (the e2e group runs one test
# at a time, .config/nextest.toml), else with cargo test (e2e with
# --test-threads=1). The last line is "test.sh: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

ci=0
docker_image=0
for arg in "$@"; do
    case "$arg" in
        --ci) ci=1 ;;
        --docker) docker_image=1 ;;
        *) echo "usage: scripts/test.sh [--ci] [--docker]" >&2; exit 2 ;;
    esac
done
start=$(date +%s)
log=$(mktemp /tmp/rb-test-log.XXXXXX)
# Tests whose prerequisite is missing record themselves here
# (testbed::skip): the harness can only pass them, so they are counted
# as skips below, with their reasons.
skips=$(mktemp /tmp/rb-test-skips.XXXXXX)
export RBGPD_TEST_SKIPS=$skips
trap 'rm -f "$log" "$skips"' EXIT

step() { printf '\n=== %s (%ss) ===\n' "$*" "$(($(date +%s) - start))"; }
die() {
    echo "test.sh: FAILED at: $*" >&2
    echo "test.sh: 0 passed, 1 failed"
    exit 1
}

# Idempotent: apt-get runs only when a package is missing, so a fresh
# machine needs nothing but this script.
step "install system dependencies"
./scripts/install-deps.sh || die "install-deps"

step "cargo fmt --all --check"
cargo fmt --all --check || die "rustfmt (run: cargo fmt --all)"

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings || die "clippy"

# Unused dependencies: cargo-machete reads every crate's sources against
# its Cargo.toml (installed in --ci mode when missing; otherwise said).
if ! cargo machete --version >/dev/null 2>&1 && ((ci)); then
    step "cargo install cargo-machete --locked"
    cargo install cargo-machete --locked || die "cargo install cargo-machete"
fi
if cargo machete --version >/dev/null 2>&1; then
    step "cargo machete (unused dependencies)"
    cargo machete || die "unused dependencies (cargo machete)"
else
    echo "test.sh: cargo machete not installed: unused-dependency check skipped (--ci installs it)"
fi

step "cargo build -p bgpd --bins (the e2e lab runs rbgpd)"
cargo build -p bgpd --bins || die "build rbgpd"

if ((docker_image)); then
    step "docker/build.sh rbgpd:latest"
    ./docker/build.sh rbgpd:latest || die "docker image build"
fi

# The Debian package, for its install test (e2e/tests/package.rs, which
# is skipped without it): where cargo-deb is installed (--ci installs it).
if ! cargo deb --version >/dev/null 2>&1 && ((ci)); then
    step "cargo install cargo-deb --locked"
    cargo install cargo-deb --locked || die "cargo install cargo-deb"
fi
if cargo deb --version >/dev/null 2>&1; then
    step "scripts/build-deb.sh"
    ./scripts/build-deb.sh || die "Debian package build"
else
    echo "test.sh: cargo-deb not installed: no .deb, its install test is skipped (--ci installs it)"
fi

passed=0
failed=0
step "tests"
if cargo nextest --version >/dev/null 2>&1; then
    profile=default
    ((ci)) && profile=ci
    cargo nextest run --workspace --profile "$profile" --no-tests=warn 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    # "Summary [ 64.9s] 120 tests run: 118 passed, 2 failed, 3 skipped"
    line=$(grep -E '^ *Summary \[' "$log" | tail -1)
    passed=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || echo 0)
    failed=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+' || echo 0)
    [[ -z "$failed" ]] && failed=0
    [[ -z "$passed" ]] && passed=0
else
    echo "(cargo-nextest not installed: using cargo test)"
    {
        cargo test --workspace --exclude e2e
        r1=$?
        cargo test -p e2e -- --test-threads=1
        r2=$?
        exit $((r1 | r2))
    } 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    passed=$(grep -oE 'test result: .*' "$log" | grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
    failed=$(grep -oE 'test result: .*' "$log" | grep -oE '[0-9]+ failed' | awk '{s+=$1} END {print s+0}')
fi
skipped=$(sort -u "$skips" | grep -c . || true)
if ((skipped > 0)); then
    echo
    echo "=== skipped: $skipped (prerequisite missing) ==="
    sort -u "$skips"
    passed=$((passed > skipped ? passed - skipped : 0))
fi
if ((rc != 0)); then
    ((failed == 0)) && failed=1
    echo "test.sh: tests failed after $(($(date +%s) - start))s"
    echo "test.sh: $passed passed, $failed failed, $skipped skipped"
    exit 1
fi

# Fuzz smoke: only where the fuzz script, a nightly toolchain and
# cargo-fuzz exist (cargo-fuzz is installed in --ci mode if missing).
fuzz="skipped: no nightly toolchain (rustup toolchain install nightly)"
if [[ -x scripts/fuzz.sh ]] && rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    fuzz="skipped: cargo-fuzz not installed (cargo install cargo-fuzz; --ci installs it)"
    if ! cargo +nightly fuzz --version >/dev/null 2>&1 && ((ci)); then
        step "cargo install cargo-fuzz --locked"
        cargo install cargo-fuzz --locked || true
    fi
    if cargo +nightly fuzz --version >/dev/null 2>&1; then
        step "fuzz smoke (scripts/fuzz.sh, FUZZ_SECONDS=${FUZZ_SECONDS:-20} per target)"
        if timeout 1500 ./scripts/fuzz.sh "${FUZZ_SECONDS:-20}"; then
            fuzz="ok"
        else
            echo "test.sh: fuzz smoke failed"
            echo "test.sh: $passed passed, 1 failed, $skipped skipped"
            exit 1
        fi
    fi
fi

echo
echo "test.sh: all green in $(($(date +%s) - start))s (fuzz smoke: $fuzz)"
echo "test.sh: $passed passed, $failed failed, $skipped skipped"
