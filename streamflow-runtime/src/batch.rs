//! `Batch<T>`: one batch of a stream, a vector of partitions.

/// One batch of a stream: its elements, cut into partitions that stages process
/// in parallel. Also the type of static datasets joined inside `transform`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch<T> {
    partitions: Vec<Vec<T>>,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Batch {
            partitions: Vec::new(),
        }
    }
}

impl<T> Batch<T> {
    /// A batch with no partitions and no elements.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A batch made of the given partitions, in order.
    pub fn from_partitions(partitions: Vec<Vec<T>>) -> Self {
        Batch { partitions }
    }

    /// A batch with one partition holding `elements`.
    pub fn from_vec(elements: Vec<T>) -> Self {
        Batch {
            partitions: vec![elements],
        }
    }

    /// The partitions, in order.
    pub fn partitions(&self) -> &[Vec<T>] {
        &self.partitions
    }

    /// Takes the partitions out.
    pub fn into_partitions(self) -> Vec<Vec<T>> {
        self.partitions
    }

    /// The number of partitions.
    pub fn num_partitions(&self) -> usize {
        self.partitions.len()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.partitions.iter().map(Vec::len).sum()
    }

    /// Whether the batch has no elements.
    pub fn is_empty(&self) -> bool {
        self.partitions.iter().all(Vec::is_empty)
    }

    /// The elements, partition by partition.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.partitions.iter().flatten()
    }

    /// All elements in one vector, partition by partition.
    pub fn collect(self) -> Vec<T> {
        self.partitions.into_iter().flatten().collect()
    }
}

impl<T> From<Vec<T>> for Batch<T> {
    fn from(elements: Vec<T>) -> Self {
        Batch::from_vec(elements)
    }
}

impl<T> FromIterator<T> for Batch<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        Batch::from_vec(iter.into_iter().collect())
    }
}
