#!/usr/bin/env bash
# The Kafka-protocol broker the Kafka tests, example and bench run against:
# tansu (a Kafka-compatible broker written in Rust, from crates.io), with its
# SQLite storage so that a broker restarted on the same directory keeps its
# topics and offsets.
#
#   scripts/kafka-broker.sh install          installs tansu if it is missing
#   scripts/kafka-broker.sh path             prints the tansu binary it uses
#   scripts/kafka-broker.sh run PORT DIR     runs a broker on 127.0.0.1:PORT
#                                            storing in DIR (foreground)
#
# The tests and the example start and stop their own brokers with the binary
# this script installs (`STREAMFLOW_TANSU` overrides where it is looked for).
set -euo pipefail

TANSU_VERSION=0.6.0
CARGO_ROOT="${CARGO_HOME:-$HOME/.cargo}"

find_tansu() {
    if [ -n "${STREAMFLOW_TANSU:-}" ] && [ -x "$STREAMFLOW_TANSU" ]; then
        echo "$STREAMFLOW_TANSU"
    elif command -v tansu >/dev/null; then
        command -v tansu
    elif [ -x "$CARGO_ROOT/bin/tansu" ]; then
        echo "$CARGO_ROOT/bin/tansu"
    else
        return 1
    fi
}

case "${1:-}" in
    install)
        if tansu=$(find_tansu); then
            echo "scripts/kafka-broker.sh: using $tansu" >&2
            exit 0
        fi
        echo "scripts/kafka-broker.sh: installing tansu $TANSU_VERSION from crates.io (about 13 minutes on 2 cores)" >&2
        cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore,libsql --root "$CARGO_ROOT"
        find_tansu >/dev/null
        ;;
    path)
        find_tansu || { echo "scripts/kafka-broker.sh: tansu is not installed; run scripts/kafka-broker.sh install" >&2; exit 1; }
        ;;
    run)
        port="${2:?usage: scripts/kafka-broker.sh run PORT DIR}"
        dir="${3:?usage: scripts/kafka-broker.sh run PORT DIR}"
        tansu=$(find_tansu) || { echo "scripts/kafka-broker.sh: tansu is not installed; run scripts/kafka-broker.sh install" >&2; exit 1; }
        mkdir -p "$dir"
        # tansu reads a sqlite URL's path relative to its working directory.
        cd "$dir"
        exec "$tansu" broker \
            --listener-url "tcp://127.0.0.1:$port" \
            --advertised-listener-url "tcp://127.0.0.1:$port" \
            --storage-engine "sqlite://tansu.db"
        ;;
    *)
        sed -n '2,14p' "$0" >&2
        exit 2
        ;;
esac
