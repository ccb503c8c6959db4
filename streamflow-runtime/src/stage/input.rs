//! What a stage reads: an owned batch (moved through) or a shared one (a branch
//! point, read by several stages and cloned element by element).

use crate::Batch;

/// The input of a stage: a batch whose partitions are handed to parallel tasks.
///
/// `Batch<T>` yields owned elements; `&Batch<T>` yields references, for a
/// stream that feeds several operators (the generated code clones each element
/// it needs to own).
pub trait StageInput: Send {
    /// What one task receives per element.
    type Item;
    /// One partition, as handed to one task.
    type Part: IntoIterator<Item = Self::Item> + Send;
    /// Splits the input into its partitions, in order.
    fn into_parts(self) -> Vec<Self::Part>;
}

impl<T: Send> StageInput for Batch<T> {
    type Item = T;
    type Part = Vec<T>;
    fn into_parts(self) -> Vec<Vec<T>> {
        self.into_partitions()
    }
}

impl<'a, T: Sync> StageInput for &'a Batch<T> {
    type Item = &'a T;
    type Part = &'a Vec<T>;
    fn into_parts(self) -> Vec<&'a Vec<T>> {
        self.partitions().iter().collect()
    }
}
