//! Where training and encoding inputs come from: cached features or images.
//!
//! A [`Source`] hands out batches of model inputs for any backend, so the same data feeds the
//! autodiff model during training and the inner-backend model (`model.valid()`) during the
//! memory refresh and encoding. The network that consumes them implements [`HashNetwork`].

use burn::prelude::*;

use crate::head::{LthNetHead, LthNetOutput};

/// A labelled set of training or encoding inputs.
pub trait Source: Sync {
    /// The model input for a batch on backend `B`.
    type Input<B: Backend>;

    /// Number of items.
    fn len(&self) -> usize;

    /// Whether the source has no items.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Class label of every item (single-label, `0..num_classes`).
    fn labels(&self) -> &[u32];

    /// The deterministic (non-augmented) inputs of the given items, in the given order.
    fn batch<B: Backend>(&self, indices: &[usize], device: &B::Device) -> Self::Input<B>;

    /// A new source holding only the given items, in that order (used to carve a validation
    /// split out of the training set).
    fn subset(&self, indices: &[usize]) -> Self
    where
        Self: Sized;

    /// The training inputs of the given items: [`Source::batch`] plus any data augmentation,
    /// drawn deterministically from `seed` (the trainer passes a per-epoch seed) and the item
    /// index, so that resumed runs see the same augmentations.
    fn train_batch<B: Backend>(
        &self,
        indices: &[usize],
        seed: u64,
        device: &B::Device,
    ) -> Self::Input<B> {
        let _ = seed;
        self.batch(indices, device)
    }
}

/// A network with LTHNet's outputs: anything in front of an [`LthNetHead`].
pub trait HashNetwork<B: Backend, I>: Module<B> {
    /// Full forward pass with the memory `M` (`[(k+1)·C, d_feature]`, `None` when DME is off).
    fn forward_hash(&self, input: I, memory: Option<Tensor<B, 2>>) -> LthNetOutput<B>;

    /// Only `v_direct` (`[batch, d_feature]`), for the memory refresh.
    fn forward_v_direct(&self, input: I) -> Tensor<B, 2>;

    /// The head (sizes, DME switch).
    fn head(&self) -> &LthNetHead<B>;
}

impl<B: Backend> HashNetwork<B, Tensor<B, 2>> for LthNetHead<B> {
    fn forward_hash(&self, input: Tensor<B, 2>, memory: Option<Tensor<B, 2>>) -> LthNetOutput<B> {
        self.forward(input, memory)
    }

    fn forward_v_direct(&self, input: Tensor<B, 2>) -> Tensor<B, 2> {
        self.v_direct(input)
    }

    fn head(&self) -> &LthNetHead<B> {
        self
    }
}

/// Precomputed backbone features held in memory (`n × d` row-major `f32`): the frozen-backbone
/// fast path.
#[derive(Debug, Clone)]
pub struct FeatureSource {
    features: Vec<f32>,
    dim: usize,
    labels: Vec<u32>,
}

impl FeatureSource {
    /// Wrap `features` (`labels.len() × dim`, row-major).
    ///
    /// # Panics
    /// If the sizes disagree or `dim` is zero.
    pub fn new(features: Vec<f32>, dim: usize, labels: Vec<u32>) -> Self {
        assert!(dim > 0, "feature dimension must be positive");
        assert_eq!(
            features.len(),
            labels.len() * dim,
            "features hold {} values, expected {} items × {dim}",
            features.len(),
            labels.len()
        );
        Self {
            features,
            dim,
            labels,
        }
    }

    /// Feature dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The features of item `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.features[i * self.dim..(i + 1) * self.dim]
    }

    /// All features, row-major.
    pub fn features(&self) -> &[f32] {
        &self.features
    }
}

impl Source for FeatureSource {
    type Input<B: Backend> = Tensor<B, 2>;

    fn len(&self) -> usize {
        self.labels.len()
    }

    fn labels(&self) -> &[u32] {
        &self.labels
    }

    fn subset(&self, indices: &[usize]) -> Self {
        let mut features = Vec::with_capacity(indices.len() * self.dim);
        for &i in indices {
            features.extend_from_slice(self.row(i));
        }
        let labels = indices.iter().map(|&i| self.labels[i]).collect();
        Self::new(features, self.dim, labels)
    }

    fn batch<B: Backend>(&self, indices: &[usize], device: &B::Device) -> Tensor<B, 2> {
        let mut data = Vec::with_capacity(indices.len() * self.dim);
        for &i in indices {
            data.extend_from_slice(self.row(i));
        }
        Tensor::from_data(TensorData::new(data, [indices.len(), self.dim]), device)
    }
}
