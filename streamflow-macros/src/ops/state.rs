//! Operators keeping per-key state across batches, and the snapshots of it.

use super::{Keeps, Kind, OpDesc, Param, Signature, Snapshots};

const UPDATE: Param = Param::Function(2, "the key's new values and its previous state");
const UPDATE_WITH_TIME: Param = Param::Function(4, "the batch time, the key, its new values and its previous state");
/// `map_with_state`'s rebound function (see `Signature::rebind`).
const MAPPED: &[&str] = &["f(key: &_, value, state: &mut _)"];

const MAPPING: Param = Param::Function(3, "the key, its value (`None` when timing out) and its state");
const INITIAL: Param = Param::Value("the initial state, (key, state) pairs");
const TIMEOUT: Param = Param::Timeout("the idle timeout");

/// A stateful operator: keyed, a shuffle, its state a field of the job's
/// state. A call names its partition count after its initial state (Spark's
/// `numPartitions`; `[]` for no initial state): the two would not be told
/// apart in a call of two arguments.
const fn stateful(name: &'static str, signatures: &'static [Signature], doc: &'static str) -> OpDesc {
    OpDesc::new(name, Kind::Boundary, signatures, doc)
        .pairs()
        .keeps(Keeps::Keys)
        .partitions()
        .roles("map-side group", "update state")
        .shuffles()
}

/// The stateful operators.
pub const OPS: &[OpDesc] = &[
    stateful(
        "update_state_by_key",
        &[
            Signature::new("update_state_by_key", &[UPDATE]).state("StateStore"),
            Signature::new("update_state_by_key", &[UPDATE, INITIAL])
                .witness("update_state_by_key_initial")
                .state("StateStore"),
            Signature::new("update_state_by_key", &[UPDATE, INITIAL, Param::Partitions])
                .witness("update_state_by_key_initial")
                .state("StateStore"),
        ],
        "`update_state_by_key(f, [initial, [partitions]])`: per key, `f(&new_values, state) -> Option<state>` every batch; outputs every live (key, state).",
    ),
    stateful(
        "update_state_by_key_with_time",
        &[
            Signature::new("update_state_by_key_with_time", &[UPDATE_WITH_TIME]).state("StateStore"),
            Signature::new("update_state_by_key_with_time", &[UPDATE_WITH_TIME, INITIAL])
                .witness("update_state_by_key_with_time_initial")
                .state("StateStore"),
            Signature::new("update_state_by_key_with_time", &[UPDATE_WITH_TIME, INITIAL, Param::Partitions])
                .witness("update_state_by_key_with_time_initial")
                .state("StateStore"),
        ],
        "`update_state_by_key_with_time(f, [initial, [partitions]])`: like `update_state_by_key`, `f(time, &key, &new_values, state)`.",
    ),
    OpDesc {
        snapshots: Snapshots::Yields,
        ..stateful(
            "map_with_state",
            &[
                Signature::new("map_with_state", &[MAPPING]).state("MappedState")
                    .rebind(MAPPED),
                Signature::new("map_with_state", &[MAPPING, TIMEOUT]).state("MappedState")
                    .rebind(MAPPED),
                Signature::new("map_with_state", &[MAPPING, INITIAL])
                    .witness("map_with_state_initial")
                    .state("MappedState")
                    .rebind(MAPPED),
                Signature::new("map_with_state", &[MAPPING, TIMEOUT, INITIAL])
                    .witness("map_with_state_initial")
                    .state("MappedState")
                    .rebind(MAPPED),
                Signature::new("map_with_state", &[MAPPING, INITIAL, Param::Partitions])
                    .witness("map_with_state_initial")
                    .state("MappedState")
                    .rebind(MAPPED),
                Signature::new("map_with_state", &[MAPPING, TIMEOUT, INITIAL, Param::Partitions])
                    .witness("map_with_state_initial")
                    .state("MappedState")
                    .rebind(MAPPED),
            ],
            "`map_with_state(f, [timeout], [initial, [partitions]])`: per record, `f(&key, Some(value), &mut state) -> Option<out>`; idle keys time out.",
        )
        .roles("map-side group", "map with state")
    },
    OpDesc {
        snapshots: Snapshots::Reads,
        // Computed by the step of the `map_with_state` it reads, typed by that
        // operator's witness call.
        ..OpDesc::new(
            "state_snapshots",
            Kind::Boundary,
            &[Signature::new("map_with_state", &[])],
            "`state_snapshots()`: on the result of `map_with_state`, every (key, state) after each batch.",
        )
        .roles("", "state snapshots")
    },
];
