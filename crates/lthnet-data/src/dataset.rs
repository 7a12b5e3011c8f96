//! The in-memory image dataset every reader returns.

/// Images as `u8` HWC plus single class labels.
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
    pub fn image(&self, i: usize) -> &[u8] {
        let s = self.image_size();
        &self.images[i * s..(i + 1) * s]
    }

    /// Number of classes.
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// Images per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.num_classes()];
        for &l in &self.labels {
            c[l as usize] += 1;
        }
        c
    }

    /// A dataset of the given items, in that order.
    pub fn subset(&self, indices: &[usize]) -> Self {
        let mut images = Vec::with_capacity(indices.len() * self.image_size());
        for &i in indices {
            images.extend_from_slice(self.image(i));
        }
        Self {
            images,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            class_names: self.class_names.clone(),
            ..*self
        }
    }
}
