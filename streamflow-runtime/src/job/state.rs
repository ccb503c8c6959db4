//! A job's state as one value: every window buffer and state store of the job,
//! owned by its [`JobCore`](crate::JobCore), saved and restored together.
//!
//! The macro generates a `<Job>State` struct with one [`Kept`] field per
//! window or stateful operator and implements [`JobState`] on it by listing
//! those fields. Each field carries a stable id (the operator's stream name in
//! the job, or `<operator>_<k>` for the k-th unnamed operator of that name),
//! never a position or a line number, so that a snapshot still fits a job
//! whose code changed elsewhere.
//!
//! Serialization is chosen where the kept types are known: the typing witness
//! of each operator hands over a [`CodecProbe`] of its state type, and the
//! generated code asks it for a [`StateCodec`] (`(&&probe).codec()`) once
//! those types are inferred.
//! A serde type gets one; any other type gets none, so a job whose windows
//! keep, say, `&'static str` keys still compiles and runs, and only saving its
//! state fails, with an error that names the operator.

use crate::state::{GroupSource, KeyGroups};
use serde::{Deserialize, Serialize};

/// How one operator's state is saved and loaded (postcard, a compact serde
/// format), and, for a state kept in key groups, how the parts saved by the
/// processes of a cluster make one again.
pub struct StateCodec<S> {
    save: fn(&S) -> Result<Vec<u8>, postcard::Error>,
    load: fn(&[u8]) -> Result<S, postcard::Error>,
    groups: Option<fn(Vec<S>, GroupSource<'_>) -> S>,
}

impl<S: Serialize + Deserialize<'static>> StateCodec<S> {
    /// The codec of a serde type.
    ///
    /// A state read back may borrow from its bytes (a window keyed by
    /// `&'static str` does), so the bytes it is read from are kept for the
    /// life of the process: a restore costs the snapshot's size once, which is
    /// what recovery does once, at start.
    pub fn serde() -> Self {
        StateCodec {
            save: postcard::to_stdvec::<S>,
            load: |bytes| postcard::from_bytes(Box::leak(bytes.to_vec().into_boxed_slice())),
            groups: None,
        }
    }
}

impl<S: Serialize + Deserialize<'static> + KeyGroups> StateCodec<S> {
    /// The codec of a serde type kept in key groups (every state the
    /// generated code keeps), which a checkpoint taken on a cluster can
    /// restore on another number of processes.
    pub fn grouped() -> Self {
        StateCodec {
            groups: Some(S::merge_groups),
            ..Self::serde()
        }
    }
}

impl<S> Clone for StateCodec<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for StateCodec<S> {}

/// Finds the codec of a state type `S` where `S` is known, without
/// requiring it to be a serde type: `(&&probe).codec()` is `Some` for a serde
/// type (through [`SerdeCodec`], implemented on `&CodecProbe<S>`, whose
/// `&self` matches the receiver as written) and `None` for any other (through
/// [`NoCodec`], implemented on `CodecProbe<S>`, which method lookup reaches by
/// one auto-deref when the first does not apply). A type still being inferred
/// (an integer literal's) counts as serde.
pub struct CodecProbe<S>(std::marker::PhantomData<fn() -> S>);

impl<S> CodecProbe<S> {
    /// A probe of `S`.
    pub fn new() -> Self {
        CodecProbe(std::marker::PhantomData)
    }
}

impl<S> Default for CodecProbe<S> {
    fn default() -> Self {
        Self::new()
    }
}

/// The codec of a serde state type (see [`CodecProbe`]).
pub trait SerdeCodec<S> {
    /// `Some` codec.
    fn codec(&self) -> Option<StateCodec<S>>;
}

impl<S: Serialize + Deserialize<'static> + KeyGroups> SerdeCodec<S> for &CodecProbe<S> {
    fn codec(&self) -> Option<StateCodec<S>> {
        Some(StateCodec::grouped())
    }
}

/// No codec for a state type that is not a serde type (see [`CodecProbe`]).
pub trait NoCodec<S> {
    /// `None`.
    fn codec(&self) -> Option<StateCodec<S>>;
}

impl<S> NoCodec<S> for CodecProbe<S> {
    fn codec(&self) -> Option<StateCodec<S>> {
        None
    }
}

/// One operator's state object in a job's state, with its stable id and how
/// to save it (if its type can be saved).
pub struct Kept<S> {
    id: &'static str,
    value: S,
    codec: Option<StateCodec<S>>,
    /// The state read back, as the operator now keeps it (taking the
    /// operator's current settings, such as a timeout), or why it cannot
    /// replace the current one (a partition count or window changed).
    restore: fn(&S, S) -> Result<S, String>,
}

impl<S> Kept<S> {
    /// Keeps `value` under `id`, saved and loaded with `codec` (`None`: the
    /// state cannot be saved, and saving it is an error).
    pub fn new(id: &'static str, value: S, codec: Option<StateCodec<S>>) -> Self {
        Kept {
            id,
            value,
            codec,
            restore: |_, loaded| Ok(loaded),
        }
    }

    /// The same loading a state as `restore(current, loaded)` returns it:
    /// the loaded state with the settings the operator has now (a
    /// `map_with_state` timeout), or an error saying why it cannot be
    /// restored (a keyed state saved in another partition count, a window
    /// of another length). Nothing saved is kept silently against a
    /// changed setting.
    pub fn checked(self, restore: fn(&S, S) -> Result<S, String>) -> Self {
        Kept { restore, ..self }
    }

    /// The state object, for the operator's call in a batch.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.value
    }

    /// The state object.
    pub fn get(&self) -> &S {
        &self.value
    }
}

/// One kept state object, its type erased: what [`JobState`] lists.
pub trait KeptState: Send {
    /// The operator's stable id in the job.
    fn id(&self) -> &'static str;
    /// The state object's Rust type, which says what its operator keeps
    /// (key, value and state types).
    fn type_name(&self) -> &'static str;
    /// The state object, serialized.
    fn save(&self) -> Result<Vec<u8>, StateError>;
    /// Replaces the state object with one read from `bytes`; on an error the
    /// state is left as it was.
    fn load(&mut self, bytes: &[u8]) -> Result<(), StateError>;
    /// Replaces the state object with the key groups `from` picks out of
    /// `parts` (each process's saved state, by process index; see
    /// [`KeyGroups`]); on an error the state is left as it was.
    fn load_groups(&mut self, parts: &[&[u8]], from: GroupSource<'_>) -> Result<(), StateError> {
        let _ = (parts, from);
        Err(StateError::NotGrouped {
            id: self.id().to_owned(),
        })
    }
}

impl<S: Send> KeptState for Kept<S> {
    fn id(&self) -> &'static str {
        self.id
    }

    fn type_name(&self) -> &'static str {
        std::any::type_name::<S>()
    }

    fn save(&self) -> Result<Vec<u8>, StateError> {
        let codec = self.codec()?;
        (codec.save)(&self.value).map_err(|e| StateError::Encode {
            id: self.id.to_owned(),
            message: e.to_string(),
        })
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), StateError> {
        let codec = self.codec()?;
        let loaded = (codec.load)(bytes).map_err(|e| StateError::Decode {
            id: self.id.to_owned(),
            message: e.to_string(),
        })?;
        self.value = (self.restore)(&self.value, loaded).map_err(|reason| StateError::DoesNotFit {
            id: self.id.to_owned(),
            reason,
        })?;
        Ok(())
    }

    fn load_groups(&mut self, parts: &[&[u8]], from: GroupSource<'_>) -> Result<(), StateError> {
        let codec = self.codec()?;
        let Some(merge) = codec.groups else {
            return Err(StateError::NotGrouped { id: self.id.to_owned() });
        };
        let loaded = parts
            .iter()
            .map(|bytes| {
                (codec.load)(bytes).map_err(|e| StateError::Decode {
                    id: self.id.to_owned(),
                    message: e.to_string(),
                })
            })
            .collect::<Result<Vec<S>, StateError>>()?;
        if loaded.is_empty() {
            return Err(StateError::Missing { id: self.id.to_owned() });
        }
        self.value = (self.restore)(&self.value, merge(loaded, from)).map_err(|reason| StateError::DoesNotFit {
            id: self.id.to_owned(),
            reason,
        })?;
        Ok(())
    }
}

impl<S> Kept<S> {
    fn codec(&self) -> Result<StateCodec<S>, StateError> {
        self.codec.ok_or_else(|| StateError::NotSerde {
            id: self.id.to_owned(),
            type_name: std::any::type_name::<S>().to_owned(),
        })
    }
}

/// Everything a job keeps across batches: implemented by the generated
/// `<Job>State` struct (and by `()` for hand-written jobs with no state).
pub trait JobState: Send + 'static {
    /// Every kept state object, in the order of the job's operators.
    fn kept(&self) -> Vec<&dyn KeptState>;

    /// The same, to restore them.
    fn kept_mut(&mut self) -> Vec<&mut dyn KeptState>;

    /// The whole state as one value.
    fn snapshot(&self) -> Result<StateSnapshot, StateError> {
        let entries = self
            .kept()
            .into_iter()
            .map(|kept| {
                Ok(StateEntry {
                    id: kept.id().to_owned(),
                    type_name: kept.type_name().to_owned(),
                    bytes: kept.save()?,
                })
            })
            .collect::<Result<_, StateError>>()?;
        Ok(StateSnapshot { entries })
    }

    /// Replaces the whole state with `snapshot`. Every operator's entry is
    /// checked (same type, then present, and no entry left over) before
    /// anything is replaced.
    fn restore(&mut self, snapshot: &StateSnapshot) -> Result<(), StateError> {
        let mut kept = self.kept_mut();
        let matched = match_entries(&kept, snapshot)?;
        for (k, entry) in kept.iter_mut().zip(matched) {
            k.load(&entry.bytes)?;
        }
        Ok(())
    }

    /// Replaces the whole state with the key groups this process owns, out
    /// of `parts`: the snapshots every process of a cluster saved, by process
    /// index (`from` says which part holds a group this process owns now;
    /// see [`KeyGroups`]). Every part is checked as
    /// [`restore`](Self::restore) checks one before anything is replaced.
    fn restore_groups(&mut self, parts: &[&StateSnapshot], from: GroupSource<'_>) -> Result<(), StateError> {
        let mut kept = self.kept_mut();
        let matched = parts
            .iter()
            .map(|part| match_entries(&kept, part))
            .collect::<Result<Vec<_>, StateError>>()?;
        for (index, k) in kept.iter_mut().enumerate() {
            let bytes: Vec<&[u8]> = matched.iter().map(|entries| entries[index].bytes.as_slice()).collect();
            k.load_groups(&bytes, from)?;
        }
        Ok(())
    }
}

/// Each kept object's entry in `snapshot`, in the kept objects' order: every
/// one present with the same type, and no entry left over.
fn match_entries<'s>(
    kept: &[&mut dyn KeptState],
    snapshot: &'s StateSnapshot,
) -> Result<Vec<&'s StateEntry>, StateError> {
    for k in kept {
        if let Some(entry) = snapshot.entries.iter().find(|entry| entry.id == k.id())
            && entry.type_name != k.type_name()
        {
            return Err(StateError::TypeChanged {
                id: k.id().to_owned(),
                saved: entry.type_name.clone(),
                now: k.type_name().to_owned(),
            });
        }
    }
    if let Some(extra) = snapshot
        .entries
        .iter()
        .find(|entry| !kept.iter().any(|k| k.id() == entry.id))
    {
        return Err(StateError::Unknown { id: extra.id.clone() });
    }
    kept.iter()
        .map(|k| {
            snapshot
                .entries
                .iter()
                .find(|entry| entry.id == k.id())
                .ok_or_else(|| StateError::Missing { id: k.id().to_owned() })
        })
        .collect()
}

impl JobState for () {
    fn kept(&self) -> Vec<&dyn KeptState> {
        Vec::new()
    }

    fn kept_mut(&mut self) -> Vec<&mut dyn KeptState> {
        Vec::new()
    }
}

/// A job's whole state at one moment: one entry per window or stateful
/// operator, found again by id when restored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateSnapshot {
    /// The operators' states, in the order of the job's operators.
    pub entries: Vec<StateEntry>,
}

/// One operator's saved state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateEntry {
    /// The operator's stable id in the job.
    pub id: String,
    /// The state object's Rust type when it was saved.
    pub type_name: String,
    /// The serialized state object.
    pub bytes: Vec<u8>,
}

impl StateSnapshot {
    /// The snapshot as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Strings and byte vectors always serialize.
        postcard::to_stdvec(self).unwrap_or_default()
    }

    /// A snapshot read back from [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StateError> {
        postcard::from_bytes(bytes).map_err(|e| StateError::Corrupt(e.to_string()))
    }
}

/// Why a job's state could not be saved or restored.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum StateError {
    /// An operator's state could not be serialized.
    #[error("cannot save the state of `{id}`: {message}")]
    Encode {
        /// The operator's id.
        id: String,
        /// What the serializer said.
        message: String,
    },
    /// An operator's saved state could not be read.
    #[error("cannot read the saved state of `{id}`: {message}")]
    Decode {
        /// The operator's id.
        id: String,
        /// What the deserializer said.
        message: String,
    },
    /// The snapshot has no entry for an operator of the job.
    #[error(
        "the snapshot holds no state for `{id}`, which this job keeps (a stateful operator added since: \
         name its stream as before, or start from a new checkpoint)"
    )]
    Missing {
        /// The operator's id.
        id: String,
    },
    /// The snapshot has an entry for an operator the job does not have.
    #[error(
        "the snapshot holds state for `{id}`, which this job does not keep (a stateful operator removed or \
         renamed since: its state would be lost)"
    )]
    Unknown {
        /// The operator's id.
        id: String,
    },
    /// An operator keeps another type than when the snapshot was taken.
    #[error("the state of `{id}` was saved as `{saved}`, but the job now keeps `{now}`")]
    TypeChanged {
        /// The operator's id.
        id: String,
        /// The type in the snapshot.
        saved: String,
        /// The type the job keeps now.
        now: String,
    },
    /// An operator's saved state does not fit the operator as the job now
    /// builds it (a keyed state saved in another partition count, a window
    /// saved with another length or slide).
    #[error("the state of `{id}` cannot be restored: {reason}")]
    DoesNotFit {
        /// The operator's id.
        id: String,
        /// Why, and what to do.
        reason: String,
    },
    /// An operator keeps a type that is not a serde type.
    #[error(
        "the state of `{id}` cannot be saved: it keeps `{type_name}`, whose keys or values are not serde \
         types (derive `Serialize` and `Deserialize` for them)"
    )]
    NotSerde {
        /// The operator's id.
        id: String,
        /// The state object's type.
        type_name: String,
    },
    /// The snapshot's bytes are not a snapshot.
    #[error("not a state snapshot: {0}")]
    Corrupt(String),
    /// A checkpoint taken on a cluster (in parts, one per process) holds
    /// the state of an operator whose state is not kept in key groups.
    #[error(
        "the state of `{id}` cannot be restored from a checkpoint taken on a cluster: it is not kept in key \
         groups (implement `KeyGroups` for it)"
    )]
    NotGrouped {
        /// The operator's id.
        id: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TwoCounters {
        a: Kept<Vec<u64>>,
        b: Kept<(String, u32)>,
    }

    impl JobState for TwoCounters {
        fn kept(&self) -> Vec<&dyn KeptState> {
            vec![&self.a, &self.b]
        }
        fn kept_mut(&mut self) -> Vec<&mut dyn KeptState> {
            vec![&mut self.a, &mut self.b]
        }
    }

    fn state(a: Vec<u64>, b: (&str, u32)) -> TwoCounters {
        TwoCounters {
            a: Kept::new("a", a, Some(StateCodec::serde())),
            b: Kept::new("b", (b.0.to_owned(), b.1), Some(StateCodec::serde())),
        }
    }

    #[test]
    fn a_snapshot_restores_every_kept_object() {
        let saved = state(vec![1, 2, 3], ("x", 7)).snapshot().unwrap();
        let bytes = saved.to_bytes();
        let mut fresh = state(vec![], ("", 0));
        fresh.restore(&StateSnapshot::from_bytes(&bytes).unwrap()).unwrap();
        assert_eq!(fresh.a.get(), &vec![1, 2, 3]);
        assert_eq!(fresh.b.get(), &("x".to_owned(), 7));
        assert_eq!(saved.entries[0].type_name, "alloc::vec::Vec<u64>");
    }

    #[test]
    fn restore_names_the_operator_that_does_not_fit() {
        let mut saved = state(vec![1], ("x", 7)).snapshot().unwrap();
        let mut target = state(vec![9], ("y", 1));
        saved.entries[1].type_name = "(alloc::string::String, u64)".to_owned();
        assert_eq!(
            target.restore(&saved).unwrap_err().to_string(),
            "the state of `b` was saved as `(alloc::string::String, u64)`, but the job now keeps \
             `(alloc::string::String, u32)`"
        );
        assert_eq!(target.a.get(), &vec![9], "nothing is replaced when a check fails");
        saved.entries.truncate(1);
        assert_eq!(
            target.restore(&saved).unwrap_err(),
            StateError::Missing { id: "b".to_owned() }
        );
        saved.entries[0].id = "gone".to_owned();
        assert_eq!(
            target.restore(&saved).unwrap_err().to_string(),
            "the snapshot holds state for `gone`, which this job does not keep (a stateful operator removed or \
             renamed since: its state would be lost)"
        );
        assert!(matches!(
            StateSnapshot::from_bytes(&[0xff, 0xff]),
            Err(StateError::Corrupt(_))
        ));
    }

    #[test]
    // The two borrows are the probe's point: one fewer finds `NoCodec` first.
    #[allow(clippy::needless_borrow)]
    fn a_state_of_a_type_that_is_not_serde_is_kept_but_not_saved() {
        #[derive(Debug, PartialEq)]
        struct Opaque(u32);
        struct NotSaved {
            seen: Kept<Vec<Opaque>>,
        }
        impl JobState for NotSaved {
            fn kept(&self) -> Vec<&dyn KeptState> {
                vec![&self.seen]
            }
            fn kept_mut(&mut self) -> Vec<&mut dyn KeptState> {
                vec![&mut self.seen]
            }
        }
        let probe = CodecProbe::<Vec<Opaque>>::new();
        let mut state = NotSaved {
            seen: Kept::new("seen", vec![Opaque(1)], (&&probe).codec()),
        };
        state.seen.get_mut().push(Opaque(2));
        assert_eq!(state.seen.get(), &vec![Opaque(1), Opaque(2)]);
        let err = state.snapshot().unwrap_err().to_string();
        assert!(
            err.starts_with("the state of `seen` cannot be saved: it keeps `alloc::vec::Vec<"),
            "{err}"
        );
        assert!(
            err.ends_with(
                "Opaque>`, whose keys or values are not serde types (derive `Serialize` and `Deserialize` for them)"
            ),
            "{err}"
        );
    }

    #[test]
    fn borrowed_strings_are_saved_and_read_back() {
        let mut words = Kept::new("words", vec!["a", "b"], Some(StateCodec::serde()));
        let bytes = words.save().unwrap();
        words.get_mut().clear();
        words.load(&bytes).unwrap();
        assert_eq!(words.get(), &vec!["a", "b"]);
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Groups(Vec<Vec<u32>>);

    impl KeyGroups for Groups {
        fn merge_groups(parts: Vec<Self>, from: GroupSource<'_>) -> Self {
            Groups(crate::state::partitions::pick_groups(
                parts.into_iter().map(|p| p.0).collect(),
                from,
            ))
        }
    }

    struct Grouped {
        groups: Kept<Groups>,
        plain: Kept<Vec<u64>>,
    }

    impl JobState for Grouped {
        fn kept(&self) -> Vec<&dyn KeptState> {
            vec![&self.groups, &self.plain]
        }
        fn kept_mut(&mut self) -> Vec<&mut dyn KeptState> {
            vec![&mut self.groups, &mut self.plain]
        }
    }

    #[test]
    // The two borrows are the probe's point: one fewer finds `NoCodec` first.
    #[allow(clippy::needless_borrow)]
    fn parts_saved_by_processes_restore_the_groups_this_process_owns_now() {
        let saved = |groups: Vec<Vec<u32>>| {
            Grouped {
                groups: Kept::new("groups", Groups(groups), (&&CodecProbe::new()).codec()),
                plain: Kept::new("plain", vec![1], Some(StateCodec::serde())),
            }
            .snapshot()
            .unwrap()
        };
        let parts = [
            saved(vec![vec![1], vec![2], vec![], vec![]]),
            saved(vec![vec![], vec![], vec![3], vec![4]]),
        ];
        let mut state = Grouped {
            groups: Kept::new("groups", Groups(Vec::new()), (&&CodecProbe::new()).codec()),
            plain: Kept::new("plain", Vec::new(), Some(StateCodec::serde())),
        };
        // Process 1 of 3 owns group 2 of 4, which process 1 of 2 saved.
        let from = |g: usize, n: usize| (crate::cluster::owner(g, n, 3) == 1).then(|| crate::cluster::owner(g, n, 2));
        let err = state.restore_groups(&[&parts[0], &parts[1]], &from).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the state of `plain` cannot be restored from a checkpoint taken on a cluster: it is not kept in key \
             groups (implement `KeyGroups` for it)"
        );
        let plain_free = |mut snapshot: StateSnapshot| {
            snapshot.entries.retain(|e| e.id == "groups");
            snapshot
        };
        let parts = parts.map(plain_free);
        let mut state = GroupsOnly {
            groups: Kept::new("groups", Groups(Vec::new()), (&&CodecProbe::new()).codec()),
        };
        state.restore_groups(&[&parts[0], &parts[1]], &from).unwrap();
        assert_eq!(state.groups.get(), &Groups(vec![vec![], vec![], vec![3], vec![]]));
    }

    struct GroupsOnly {
        groups: Kept<Groups>,
    }

    impl JobState for GroupsOnly {
        fn kept(&self) -> Vec<&dyn KeptState> {
            vec![&self.groups]
        }
        fn kept_mut(&mut self) -> Vec<&mut dyn KeptState> {
            vec![&mut self.groups]
        }
    }
}
