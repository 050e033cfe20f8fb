#!/usr/bin/env bash
# gov's one entry point for developers and CI:
#   ./gov.sh demo    install missing Debian packages, build the tools, run the demo
#   ./gov.sh test    install missing Debian and npm packages, build, run every test
#                    (release build, ASan+UBSan build, a short fuzzing run)
#   ./gov.sh deps    only install missing Debian and npm packages
#   ./gov.sh build   only build the release preset
#   ./gov.sh package build the release preset and the Debian package (build/release/gov_*.deb)
set -euo pipefail
cd "$(dirname "$0")"

# Everything gov needs, from Debian 12's archive only.
PACKAGES=(
  cmake ninja-build g++ pkg-config
  antlr4 libantlr4-runtime-dev
  llvm-19-dev
  libsodium-dev libseccomp-dev
  libcli11-dev libtomlplusplus-dev nlohmann-json3-dev libfmt-dev
  catch2
  libz3-dev   # govc diff's solver (docs/diff.md)
  clang-14 libclang-rt-14-dev
  libbpf-dev bpftool libelf-dev zlib1g-dev   # the kernel session mechanism (BPF, runtime/session/bpf)
  git make   # the demo's agent session (and its test) runs them under govrun
  python3    # tests/lineage: an independent verifier of the lineage format
  libcpp-httplib-dev   # govconsole's HTTP server
  libsqlite3-dev       # govconsole's index of a lineage log
  dpkg-dev   # dpkg-shlibdeps: the Debian package's Depends (cpack, docs/packaging.md)
)

# Each step with the time since gov.sh started (CI keeps build + tests well under 30 min).
log() { printf '\033[1m==> [%02d:%02d] %s\033[0m\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*" >&2; }

# Installs the missing ones of the packages given, or of PACKAGES.
install_deps() {
  local wanted=("$@")
  [ ${#wanted[@]} -gt 0 ] || wanted=("${PACKAGES[@]}")
  local missing=()
  for package in "${wanted[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$package")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "all ${#wanted[@]} Debian packages are present"
    return
  fi
  log "installing missing Debian packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then
      sudo=(sudo)
    else
      echo "gov.sh: need root to run: apt-get install ${missing[*]}" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Node.js and the npm packages some tests drive (sigstore-js checks that gov's
# Sigstore bundles verify; puppeteer-core drives Debian's chromium in the
# console's browser tests): Debian's nodejs and npm when no node is installed,
# the packages pinned in tests/node/package.json under build/node.
install_node_modules() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    install_deps nodejs npm
  fi
  local want=tests/node/package.json
  if [ -d build/node/node_modules/@sigstore/verify ] && cmp -s "$want" build/node/package.json; then
    log "npm packages are present (build/node)"
    return
  fi
  log "installing npm packages from $want into build/node"
  mkdir -p build/node
  cp "$want" build/node/package.json
  (cd build/node && npm install --no-audit --no-fund --loglevel=error)
}

build() {
  local preset=$1
  log "configuring and building preset '$preset'"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
}

run_tests() {
  local preset=$1
  log "running tests of preset '$preset'"
  ctest --preset "$preset"
}

# The asan preset builds the libFuzzer targets beside the tests, on the same
# coverage-instrumented libraries (the fuzz preset builds them alone, -O1).
fuzz_briefly() {
  local dir=$1
  # A fixed seed and run count keep CI deterministic; set GOV_FUZZ_RUNS=-1
  # and GOV_FUZZ_SECONDS to fuzz for longer.
  local runs=${GOV_FUZZ_RUNS:-20000}
  local seconds=${GOV_FUZZ_SECONDS:-300}
  for target in "$dir"/fuzz/fuzz_*; do
    [ -x "$target" ] || continue
    local name corpus
    name=$(basename "$target")
    corpus=fuzz/corpus-run/$name
    mkdir -p "$corpus"
    log "fuzzing $name: $runs runs, seed 1"
    "$target" -seed=1 -runs="$runs" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
      "$corpus" "fuzz/corpus/${name#fuzz_}" 2>&1 | tail -n 3
  done
}

command=${1:-}
case "$command" in
  deps)
    install_deps
    install_node_modules
    ;;
  build)
    install_deps
    build release
    ;;
  package)
    install_deps
    build release
    log "building the Debian package (docs/packaging.md)"
    cpack --config build/release/CPackConfig.cmake -B build/release
    ls build/release/gov_*.deb
    ;;
  demo)
    install_deps
    log "configuring and building govc, govrun, govverify, govd and govconsole (preset 'release')"
    cmake --preset release >/dev/null
    cmake --build --preset release --target govc govrun govverify govd govconsole
    exec examples/demo.sh build/release
    ;;
  test)
    install_deps
    install_deps chromium prometheus   # the console's browser tests (headless; no browser download); promtool
    install_deps zsh fish man-db groff-base   # tests/packaging: completions in their shells; man pages
    install_deps python3-yaml   # tests/ci reads the CI examples with a YAML parser
    install_deps jq   # tests/govrun: `jq -n env` shows what environment examples/agent.gov passes
    install_deps sudo patch curl   # tests/policies: the grammar conformance test runs these (sudo as root)
    install_deps python3-pip   # tests/policies: std.pip's grammar against pip's own parser
    install_deps libfuse3-dev   # tests/govrun: gated_fs, a FUSE file system whose fsync a session test holds and fails
    install_node_modules
    build release
    # The sanitizer build runs at the lowest priority beside the release
    # suite: it takes the CPU the tests leave idle (they wait on processes,
    # fsync and a browser much of the time) and yields it to them at once.
    log "configuring preset 'asan'; building it in the background (build/asan.log) while the release tests run"
    cmake --preset asan >/dev/null
    # In a session of its own, so that a failure below stops the whole build
    # (cmake, ninja and the compilers), not only cmake. A new session is a new
    # scheduler autogroup where the kernel has them (sched_autogroup_enabled):
    # nice then only ranks processes inside the group, so the group's own
    # nice value is raised too, or the build would take half of the CPU.
    setsid -w sh -c 'echo 19 >/proc/self/autogroup 2>/dev/null; exec nice -n 19 cmake --build --preset asan' \
      >build/asan.log 2>&1 &
    asan_build=$!
    trap 'kill -- -"$asan_build" 2>/dev/null || kill "$asan_build" 2>/dev/null || true' EXIT
    run_tests release
    log "waiting for the build of preset 'asan'"
    if ! wait "$asan_build"; then
      tail -n 60 build/asan.log
      log "the build of preset 'asan' failed (build/asan.log)"
      exit 1
    fi
    trap - EXIT
    tail -n 1 build/asan.log
    run_tests asan
    fuzz_briefly build/asan
    log "all tests passed"
    ;;
  *)
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
