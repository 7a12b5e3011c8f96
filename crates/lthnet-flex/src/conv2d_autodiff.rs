//! The convolution as an operation of `Autodiff<Flex>` with its own backward step, so that
//! training uses [`conv2d_kernel`](crate::conv2d_kernel)'s GEMM gradients instead of Burn's
//! generic ones (burn-flex 0.21 overrides neither `conv2d_x_backward` nor
//! `conv2d_weight_backward`).

use burn::backend::Autodiff;
use burn::tensor::Shape;
use burn::tensor::backend::BackendTypes;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::NoCheckpointing;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};
use burn_flex::{Flex, FlexTensor};

use crate::conv2d_kernel;
use crate::flex_tensor;
use crate::geometry::ConvGeometry;

/// The float tensor of `Autodiff<Flex>` (burn-autodiff does not export the type by name).
pub(crate) type AutodiffFlexTensor = <Autodiff<Flex> as BackendTypes>::FloatTensorPrimitive;

/// `conv2d(x, weight)` on flex tensors (no bias) with [`conv2d_kernel::forward`].
pub(crate) fn forward(x: &FlexTensor, weight: &FlexTensor, g: &ConvGeometry) -> FlexTensor {
    let (x, weight) = (x.to_contiguous(), weight.to_contiguous());
    let y = conv2d_kernel::forward(g, x.storage(), weight.storage());
    flex_tensor(y, Shape::from([g.batch, g.channels_out, g.out_h, g.out_w]))
}

/// The backward step: input and weight gradients from the saved input and weight.
#[derive(Debug)]
struct Conv2dBackward {
    geometry: ConvGeometry,
}

impl Backward<Flex, 2> for Conv2dBackward {
    /// The forward's input and weight.
    type State = (FlexTensor, FlexTensor);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let g = self.geometry;
        let [node_x, node_weight] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let (x, weight) = ops.state;
        if let Some(node) = node_x {
            let weight = weight.to_contiguous();
            let dx = conv2d_kernel::backward_input(&g, weight.storage(), dy.storage());
            let shape = [g.batch, g.channels_in, g.in_h, g.in_w];
            grads.register::<Flex>(node.id, flex_tensor(dx, Shape::from(shape)));
        }
        if let Some(node) = node_weight {
            let x = x.to_contiguous();
            let dw = conv2d_kernel::backward_weight(&g, x.storage(), dy.storage());
            let shape = [g.channels_out, g.channels_in, g.kernel_h, g.kernel_w];
            grads.register::<Flex>(node.id, flex_tensor(dw, Shape::from(shape)));
        }
    }
}

/// `conv2d(x, weight)` (no bias) on `Autodiff<Flex>`, recorded with [`Conv2dBackward`].
pub(crate) fn forward_autodiff(
    x: AutodiffFlexTensor,
    weight: AutodiffFlexTensor,
    g: ConvGeometry,
) -> AutodiffFlexTensor {
    match (Conv2dBackward { geometry: g })
        .prepare::<NoCheckpointing>([x.node.clone(), weight.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let y = forward(&x.primitive, &weight.primitive, &g);
            prep.finish((x.primitive, weight.primitive), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(&x.primitive, &weight.primitive, &g)),
    }
}
