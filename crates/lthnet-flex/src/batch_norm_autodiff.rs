//! Training-mode BatchNorm (+ ReLU) as an operation of `Autodiff<Flex>` with its own backward
//! step ([`batch_norm_kernel`](crate::batch_norm_kernel)).

use burn::backend::Autodiff;
use burn::tensor::backend::AutodiffBackend;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::NoCheckpointing;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};
use burn_flex::{Flex, FlexTensor};

use crate::batch_norm_kernel::{self, BatchStats, NormShape};
use crate::conv2d_autodiff::AutodiffFlexTensor;
use crate::flex_tensor;

#[derive(Debug)]
struct BatchNormBackward {
    shape: NormShape,
    relu: bool,
}

/// What the backward step needs: the input, its statistics, γ and β.
#[derive(Clone, Debug)]
struct Saved {
    x: FlexTensor,
    stats: BatchStats,
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

impl Backward<Flex, 3> for BatchNormBackward {
    type State = Saved;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let s = ops.state;
        let x = s.x.to_contiguous();
        let (dx, d_gamma, d_beta) = batch_norm_kernel::backward(
            self.shape,
            x.storage(),
            dy.storage(),
            &s.stats,
            &s.gamma,
            &s.beta,
            self.relu,
        );
        let shape = x.layout().shape().clone();
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, flex_tensor(dx, shape));
        }
        let channels = burn::tensor::Shape::from([self.shape.channels]);
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, flex_tensor(d_gamma, channels.clone()));
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, flex_tensor(d_beta, channels));
        }
    }
}

/// `(y, mean, var)`: the normalised (and rectified, if `relu`) `x`, recorded with
/// [`BatchNormBackward`], and the untracked batch mean and biased variance.
pub(crate) fn forward_autodiff(
    x: AutodiffFlexTensor,
    gamma: AutodiffFlexTensor,
    beta: AutodiffFlexTensor,
    shape: NormShape,
    epsilon: f64,
    relu: bool,
) -> [AutodiffFlexTensor; 3] {
    let input = x.primitive.to_contiguous();
    let gamma_values = gamma.primitive.to_contiguous().storage::<f32>().to_vec();
    let beta_values = beta.primitive.to_contiguous().storage::<f32>().to_vec();
    let stats = batch_norm_kernel::statistics(shape, input.storage(), epsilon);
    let y = batch_norm_kernel::forward(
        shape,
        input.storage(),
        &stats,
        &gamma_values,
        &beta_values,
        relu,
    );
    let y = flex_tensor(y, input.layout().shape().clone());
    let channels = burn::tensor::Shape::from([shape.channels]);
    let mean = flex_tensor(stats.mean.clone(), channels.clone());
    let var = flex_tensor(stats.var.clone(), channels);
    let y = match (BatchNormBackward { shape, relu })
        .prepare::<NoCheckpointing>([x.node.clone(), gamma.node.clone(), beta.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(
            Saved {
                x: input,
                stats,
                gamma: gamma_values,
                beta: beta_values,
            },
            y,
        ),
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    [
        y,
        <Autodiff<Flex> as AutodiffBackend>::from_inner(mean),
        <Autodiff<Flex> as AutodiffBackend>::from_inner(var),
    ]
}
