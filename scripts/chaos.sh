#!/usr/bin/env bash
# Kills the recoverable word count 100 times (or $1 times) at random moments
# and checks every recovery, reading a directory and then a Kafka topic (the
# broker from scripts/kafka-broker.sh); prints "N/100 recoveries exact" for each.
# Usage: scripts/chaos.sh [kills]
set -euo pipefail
cd "$(dirname "$0")/.."
kills="${1:-100}"
STREAMFLOW_CHAOS_KILLS="$kills" cargo test --release --test chaos 2>&1 \
    | tee /tmp/streamflow-chaos.log \
    | grep -E "recoveries exact|^chaos:|panicked|test result"
