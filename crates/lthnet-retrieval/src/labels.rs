//! Labels of queries and database items: single class ids or multi-hot vectors.
//! An item is relevant to a query iff they share a label.

/// Labels of a set of items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Labels {
    /// One class id per item.
    Single(Vec<u32>),
    /// Multi-hot: `n` items × `num_classes`, packed into `u64` words per item.
    Multi {
        /// Number of classes.
        num_classes: usize,
        /// `n × ⌈num_classes/64⌉` words.
        words: Vec<u64>,
    },
}

impl Labels {
    /// Multi-hot labels from a dense `n × num_classes` 0/1 matrix (any non-zero is 1).
    ///
    /// # Panics
    /// If `num_classes` is 0 or `dense.len()` is not a multiple of it.
    pub fn from_multi_hot(dense: &[u8], num_classes: usize) -> Self {
        assert!(num_classes > 0, "num_classes must be positive");
        assert!(
            dense.len().is_multiple_of(num_classes),
            "{} values are not rows of {num_classes}",
            dense.len()
        );
        let wpr = num_classes.div_ceil(64);
        let n = dense.len() / num_classes;
        let mut words = vec![0u64; n * wpr];
        for (i, row) in dense.chunks_exact(num_classes).enumerate() {
            for (c, &v) in row.iter().enumerate() {
                if v != 0 {
                    words[i * wpr + c / 64] |= 1 << (c % 64);
                }
            }
        }
        Labels::Multi { num_classes, words }
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        match self {
            Labels::Single(v) => v.len(),
            Labels::Multi { num_classes, words } => words.len() / num_classes.div_ceil(64),
        }
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of classes (max id + 1 for single labels).
    pub fn num_classes(&self) -> usize {
        match self {
            Labels::Single(v) => v.iter().map(|&l| l as usize + 1).max().unwrap_or(0),
            Labels::Multi { num_classes, .. } => *num_classes,
        }
    }

    /// Calls `f` with every class of item `i` (its class id, or every set bit of its multi-hot
    /// row).
    ///
    /// # Panics
    /// If `i` is out of range.
    pub fn for_each_class(&self, i: usize, mut f: impl FnMut(usize)) {
        match self {
            Labels::Single(v) => f(v[i] as usize),
            Labels::Multi { num_classes, words } => {
                let wpr = num_classes.div_ceil(64);
                for (w, &bits) in words[i * wpr..(i + 1) * wpr].iter().enumerate() {
                    let mut b = bits;
                    while b != 0 {
                        f(w * 64 + b.trailing_zeros() as usize);
                        b &= b - 1;
                    }
                }
            }
        }
    }

    /// The class of item `i` for single-label sets.
    pub fn single(&self, i: usize) -> Option<u32> {
        match self {
            Labels::Single(v) => Some(v[i]),
            Labels::Multi { .. } => None,
        }
    }
}

/// Fills `rel[i] = (query shares a label with database item i)`.
pub(crate) fn relevance_into(query: &Labels, qi: usize, db: &Labels, rel: &mut [bool]) {
    match (query, db) {
        (Labels::Single(q), Labels::Single(d)) => {
            let l = q[qi];
            for (r, &x) in rel.iter_mut().zip(d) {
                *r = x == l;
            }
        }
        (
            Labels::Multi {
                num_classes: cq,
                words: wq,
            },
            Labels::Multi {
                num_classes: cd,
                words: wd,
            },
        ) => {
            assert_eq!(cq, cd, "query and database label widths differ");
            let wpr = cq.div_ceil(64);
            let q = &wq[qi * wpr..(qi + 1) * wpr];
            for (r, d) in rel.iter_mut().zip(wd.chunks_exact(wpr)) {
                *r = q.iter().zip(d).any(|(a, b)| a & b != 0);
            }
        }
        _ => panic!("query and database labels must both be single-label or both multi-hot"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_relevance() {
        let m = Labels::from_multi_hot(&[1, 0, 1, 0, 0, 0], 3);
        assert_eq!(m.len(), 2);
        assert_eq!(m.num_classes(), 3);
        let mut got = Vec::new();
        m.for_each_class(0, |k| got.push(k));
        assert_eq!(got, vec![0, 2]);
        let mut rel = vec![true; 2];
        relevance_into(&m, 0, &m, &mut rel);
        assert_eq!(rel, vec![true, false]);
        let s = Labels::Single(vec![3, 1, 3]);
        assert_eq!(s.num_classes(), 4);
        let mut rel = vec![false; 3];
        relevance_into(&s, 0, &s, &mut rel);
        assert_eq!(rel, vec![true, false, true]);
    }
}
