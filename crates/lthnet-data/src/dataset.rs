//! The in-memory image dataset every reader returns.

/// A dataset's official split (CIFAR's train/test, (Fashion-)MNIST's train/t10k).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OfficialSplit {
    /// The training split.
    Train,
    /// The test split.
    Test,
}

/// Images as `u8` HWC plus class labels.
///
/// Single-label data has `multi_hot == None`. Multi-label data (list files with several 1s per
/// line, e.g. NUS-WIDE or MS-COCO) keeps the 0/1 label rows in `multi_hot`, and `labels` then
/// holds each item's first positive class (0 when it has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageDataset {
    /// `len × height × width × channels` bytes, HWC per image.
    pub images: Vec<u8>,
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Class label of every image.
    pub labels: Vec<u32>,
    /// Class names, index = label (sorted name order for folder datasets).
    pub class_names: Vec<String>,
    /// For multi-label data: `len × num_classes` 0/1 values, row-major.
    pub multi_hot: Option<Vec<u8>>,
}

impl ImageDataset {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Bytes per image.
    pub fn image_size(&self) -> usize {
        self.height * self.width * self.channels
    }

    /// The HWC bytes of image `i`.
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn image(&self, i: usize) -> &[u8] {
        let s = self.image_size();
        &self.images[i * s..(i + 1) * s]
    }

    /// The 0/1 label row of item `i`: the multi-hot row for multi-label data, else the one-hot
    /// encoding of `labels[i]`.
    ///
    /// # Panics
    /// If `i >= self.len()`.
    pub fn label_row(&self, i: usize) -> Vec<u8> {
        let c = self.num_classes();
        match &self.multi_hot {
            Some(m) => m[i * c..(i + 1) * c].to_vec(),
            None => {
                let mut row = vec![0; c];
                row[self.labels[i] as usize] = 1;
                row
            }
        }
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// Images per class (by `labels`).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.num_classes()];
        for &l in &self.labels {
            if let Some(n) = c.get_mut(l as usize) {
                *n += 1;
            }
        }
        c
    }

    /// A dataset of the given items, in that order.
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn subset(&self, indices: &[usize]) -> Self {
        let mut images = Vec::with_capacity(indices.len() * self.image_size());
        for &i in indices {
            images.extend_from_slice(self.image(i));
        }
        let c = self.num_classes();
        Self {
            images,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            class_names: self.class_names.clone(),
            multi_hot: self.multi_hot.as_ref().map(|m| {
                indices
                    .iter()
                    .flat_map(|&i| m[i * c..(i + 1) * c].iter().copied())
                    .collect()
            }),
            ..*self
        }
    }

    /// This dataset followed by `other` (e.g. a `[train…, test…]` concatenation for the split
    /// protocols).
    ///
    /// # Panics
    /// If the image shapes or class names differ.
    pub fn concat(mut self, other: &ImageDataset) -> Self {
        assert_eq!(
            (self.height, self.width, self.channels),
            (other.height, other.width, other.channels),
            "cannot concatenate datasets with different image shapes"
        );
        assert_eq!(
            self.class_names, other.class_names,
            "cannot concatenate datasets with different classes"
        );
        self.images.extend_from_slice(&other.images);
        self.labels.extend_from_slice(&other.labels);
        self.multi_hot = match (self.multi_hot.take(), &other.multi_hot) {
            (None, None) => None,
            (a, b) => {
                let c = self.num_classes();
                let n = self.labels.len() - other.labels.len();
                let mut m = a.unwrap_or_else(|| {
                    (0..n)
                        .flat_map(|i| {
                            let mut r = vec![0u8; c];
                            r[self.labels[i] as usize] = 1;
                            r
                        })
                        .collect()
                });
                match b {
                    Some(b) => m.extend_from_slice(b),
                    None => m.extend((0..other.len()).flat_map(|i| other.label_row(i))),
                }
                Some(m)
            }
        };
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(labels: Vec<u32>) -> ImageDataset {
        ImageDataset {
            images: (0..labels.len() as u8 * 2).collect(),
            height: 1,
            width: 2,
            channels: 1,
            labels,
            class_names: vec!["a".into(), "b".into(), "c".into()],
            multi_hot: None,
        }
    }

    #[test]
    fn subset_concat_and_rows() {
        let d = tiny(vec![0, 2, 1]);
        let s = d.subset(&[2, 0]);
        assert_eq!(s.labels, vec![1, 0]);
        assert_eq!(s.image(0), &[4, 5]);
        assert_eq!(d.class_counts(), vec![1, 1, 1]);
        let mut m = tiny(vec![1]);
        m.multi_hot = Some(vec![0, 1, 1]);
        let all = d.clone().concat(&m);
        assert_eq!(all.len(), 4);
        assert_eq!(all.label_row(1), vec![0, 0, 1]);
        assert_eq!(all.label_row(3), vec![0, 1, 1]);
        assert_eq!(all.subset(&[3]).multi_hot, Some(vec![0, 1, 1]));
        assert_eq!(d.clone().concat(&d).multi_hot, None);
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<ImageDataset>();
        check::<crate::DataError>();
        check::<crate::Split>();
    }
}
