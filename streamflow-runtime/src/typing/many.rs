//! Witnesses of the operators over several streams, one per number of
//! streams: `union(b, ..)` and `transform_with(b, .., f)` in both of its forms
//! (with and without the batch time). The macro calls the one its operator
//! table's signature names (`union3`, `transform_with3_at_time`).

// One argument per stream, as the macro passes them.
#![allow(clippy::too_many_arguments)]

use super::{BatchFn, Data, SameElement, Stream, into_port, next};
use crate::{Batch, Time};

macro_rules! many_witnesses {
    ($union:ident, $union_fn:ident, $transform:ident, $at_time:ident: $(($u:ident, $other:ident, $batch:ident)),+) => {
        /// The batches of every stream of a `union`, as one batch: the
        /// receiver's partitions, then each other stream's, in order (moved,
        /// not copied). The element types are the same when the job compiles
        /// (its witness proved it), as for [`into_port`].
        pub fn $union_fn<T: 'static, $($u: 'static),+>(first: Batch<T>, $($batch: Batch<$u>),+) -> Batch<T> {
            let mut partitions = first.into_partitions();
            $(partitions.extend(into_port::<T, $u>($batch).into_partitions());)+
            Batch::from_partitions(partitions)
        }

        impl<T> Stream<T> {
            /// `union(other, ..)`: runs as `transform_with(other, .., f)` with
            /// `f` the union of the batches (the macro passes it).
            #[allow(clippy::type_complexity)]
            pub fn $union<$($u),+>(
                &self,
                $($other: &Stream<$u>,)+
                f: fn(Batch<T>, $(Batch<$u>),+) -> Batch<T>,
            ) -> (fn(Batch<T>, $(Batch<$u>),+) -> Batch<T>, Stream<T>)
            where
                $($u: SameElement<T>,)+
            {
                (f, next())
            }

            /// `transform_with(other, .., f)` with `f(batch, ..)`, handed
            /// over boxed (see [`BatchFn`]).
            #[allow(clippy::type_complexity)]
            pub fn $transform<$($u,)+ W: Data, F>(
                &self,
                $($other: &Stream<$u>,)+
                f: F,
            ) -> (BatchFn<dyn Fn(Batch<T>, $(Batch<$u>),+) -> Batch<W> + Send + Sync>, Stream<W>)
            where
                F: Fn(Batch<T>, $(Batch<$u>),+) -> Batch<W> + Send + Sync + 'static,
            {
                (Box::new(f), next())
            }

            /// `transform_with(other, .., f)` with `f(batch, .., time)`,
            /// handed over boxed (see [`BatchFn`]).
            #[allow(clippy::type_complexity)]
            pub fn $at_time<$($u,)+ W: Data, F>(
                &self,
                $($other: &Stream<$u>,)+
                f: F,
            ) -> (BatchFn<dyn Fn(Batch<T>, $(Batch<$u>,)+ Time) -> Batch<W> + Send + Sync>, Stream<W>)
            where
                F: Fn(Batch<T>, $(Batch<$u>,)+ Time) -> Batch<W> + Send + Sync + 'static,
            {
                (Box::new(f), next())
            }
        }
    };
}

many_witnesses!(union, union_batches, transform_with, transform_with_at_time: (U1, _o1, b1));
many_witnesses!(union3, union_batches3, transform_with3, transform_with3_at_time: (U1, _o1, b1), (U2, _o2, b2));
many_witnesses!(
    union4, union_batches4, transform_with4, transform_with4_at_time: (U1, _o1, b1), (U2, _o2, b2), (U3, _o3, b3)
);
many_witnesses!(
    union5, union_batches5, transform_with5, transform_with5_at_time:
    (U1, _o1, b1), (U2, _o2, b2), (U3, _o3, b3), (U4, _o4, b4)
);
many_witnesses!(
    union6, union_batches6, transform_with6, transform_with6_at_time:
    (U1, _o1, b1), (U2, _o2, b2), (U3, _o3, b3), (U4, _o4, b4), (U5, _o5, b5)
);
many_witnesses!(
    union7, union_batches7, transform_with7, transform_with7_at_time:
    (U1, _o1, b1), (U2, _o2, b2), (U3, _o3, b3), (U4, _o4, b4), (U5, _o5, b5), (U6, _o6, b6)
);
many_witnesses!(
    union8, union_batches8, transform_with8, transform_with8_at_time:
    (U1, _o1, b1), (U2, _o2, b2), (U3, _o3, b3), (U4, _o4, b4), (U5, _o5, b5), (U6, _o6, b6), (U7, _o7, b7)
);
