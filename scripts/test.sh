#!/usr/bin/env bash
# The project's test command: installs what the tests need that a Rust
# toolchain does not bring (Debian's chromium and chromium-driver, for the
# status page's browser test; the tansu Kafka broker, for the Kafka tests),
# then runs every test of the workspace. Arguments are passed to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    echo "scripts/test.sh: installing chromium and chromium-driver (Debian packages) for the browser test" >&2
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo=(sudo)
    fi
    if command -v apt-get >/dev/null; then
        "${sudo[@]}" apt-get update -q
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q chromium chromium-driver
    else
        echo "scripts/test.sh: no apt-get here; install chromium and chromedriver by hand" >&2
    fi
fi

# The Kafka tests start their own brokers with this binary (a missing one
# fails them).
scripts/kafka-broker.sh install
STREAMFLOW_TANSU="$(scripts/kafka-broker.sh path)"
export STREAMFLOW_TANSU

cargo test --workspace "$@"

# The cluster feature is off by default (with it, every exchanged element
# must be a serde type): its tests, 2 and 3 processes on 127.0.0.1 against
# one, and the live example over a directory, 2 processes against one.
cargo test --features cluster --test cluster --test cluster_agree --test cluster_connect --test cluster_files --test cluster_recovery --test cluster_source_recovery --test cluster_sources --test cluster_stop
# The README's cluster snippet compiles only with the feature.
cargo test -p streamflow --features cluster,status-page,kafka --doc ReadmeSnippets
