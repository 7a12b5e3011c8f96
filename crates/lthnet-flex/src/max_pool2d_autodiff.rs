//! Max pooling as an operation of `Autodiff<Flex>` with its own backward step
//! ([`max_pool2d_kernel`](crate::max_pool2d_kernel)). Only the argmax is kept for the backward,
//! not the input.

use burn::tensor::Shape;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::NoCheckpointing;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};
use burn_flex::{Flex, FlexTensor};

use crate::conv2d_autodiff::AutodiffFlexTensor;
use crate::flex_tensor;
use crate::max_pool2d_kernel::{self, PoolGeometry};

/// `[batch, channels]` of the input and the pool's geometry.
#[derive(Debug)]
struct MaxPool2dBackward {
    batch_channels: [usize; 2],
    geometry: PoolGeometry,
}

impl Backward<Flex, 1> for MaxPool2dBackward {
    /// The argmax of every window.
    type State = Vec<u32>;

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_x] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        if let Some(node) = node_x {
            let g = self.geometry;
            let dx = max_pool2d_kernel::backward(&g, dy.storage(), &ops.state);
            let [batch, channels] = self.batch_channels;
            let shape = Shape::from([batch, channels, g.in_h, g.in_w]);
            grads.register::<Flex>(node.id, flex_tensor(dx, shape));
        }
    }
}

fn output_shape(batch_channels: [usize; 2], g: &PoolGeometry) -> Shape {
    let [batch, channels] = batch_channels;
    Shape::from([batch, channels, g.out_h, g.out_w])
}

/// The max pool of a flex tensor of `[batch, channels, ..]`.
pub(crate) fn forward(x: &FlexTensor, batch_channels: [usize; 2], g: &PoolGeometry) -> FlexTensor {
    let x = x.to_contiguous();
    let (y, _) = max_pool2d_kernel::forward(g, x.storage(), false);
    flex_tensor(y, output_shape(batch_channels, g))
}

/// The max pool on `Autodiff<Flex>`, recorded with [`MaxPool2dBackward`].
pub(crate) fn forward_autodiff(
    x: AutodiffFlexTensor,
    batch_channels: [usize; 2],
    geometry: PoolGeometry,
) -> AutodiffFlexTensor {
    match (MaxPool2dBackward {
        batch_channels,
        geometry,
    })
    .prepare::<NoCheckpointing>([x.node.clone()])
    .compute_bound()
    .stateful()
    {
        OpsKind::Tracked(prep) => {
            let input = x.primitive.to_contiguous();
            let (y, indices) = max_pool2d_kernel::forward(&geometry, input.storage(), true);
            prep.finish(
                indices,
                flex_tensor(y, output_shape(batch_channels, &geometry)),
            )
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(&x.primitive, batch_channels, &geometry)),
    }
}
