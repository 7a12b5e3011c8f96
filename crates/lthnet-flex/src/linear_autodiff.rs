//! The fully connected layer, with an optional activation on its output, as an operation of
//! `Autodiff<Flex>` with its own backward step ([`linear_kernel`](crate::linear_kernel)'s GEMMs
//! into fresh outputs, instead of flex's matmuls with their zero-and-copy output allocation;
//! the activation's gradient from the saved output, [`activation_kernel`](crate::activation_kernel)).

use burn::tensor::Shape;
use burn_autodiff::checkpoint::base::Checkpointer;
use burn_autodiff::checkpoint::strategy::NoCheckpointing;
use burn_autodiff::grads::Gradients;
use burn_autodiff::ops::{Backward, Ops, OpsKind};
use burn_flex::{Flex, FlexTensor};

use crate::activation_kernel::Activation;
use crate::conv2d_autodiff::AutodiffFlexTensor;
use crate::flex_tensor;
use crate::linear_kernel::{self, LinearShape};

/// `activation(x · W + b)` on flex tensors with [`linear_kernel::forward`].
pub(crate) fn forward(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: &FlexTensor,
    s: LinearShape,
    activation: Activation,
) -> FlexTensor {
    let (x, weight, bias) = (
        x.to_contiguous(),
        weight.to_contiguous(),
        bias.to_contiguous(),
    );
    let mut y = linear_kernel::forward(s, x.storage(), weight.storage(), Some(bias.storage()));
    activation.apply(&mut y);
    flex_tensor(y, Shape::from([s.batch, s.d_output]))
}

/// The backward step: the activation's gradient from the saved output, then the input, weight
/// and bias gradients from the saved input and weight.
#[derive(Debug)]
struct LinearBackward {
    shape: LinearShape,
    activation: Activation,
}

impl Backward<Flex, 3> for LinearBackward {
    /// The forward's input and weight, and its output when there is an activation.
    type State = (FlexTensor, FlexTensor, Option<FlexTensor>);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let s = self.shape;
        let [node_x, node_weight, node_bias] = ops.parents;
        let (x, weight, y) = ops.state;
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let dy = match y {
            Some(y) => {
                let y = y.to_contiguous();
                let dz = self.activation.backward(y.storage(), dy.storage());
                flex_tensor(dz, Shape::from([s.batch, s.d_output]))
            }
            None => dy,
        };
        if let Some(node) = node_x {
            let weight = weight.to_contiguous();
            let dx = linear_kernel::backward_input(s, weight.storage(), dy.storage());
            grads.register::<Flex>(node.id, flex_tensor(dx, Shape::from([s.batch, s.d_input])));
        }
        if let Some(node) = node_weight {
            let x = x.to_contiguous();
            let dw = linear_kernel::backward_weight(s, x.storage(), dy.storage());
            let shape = Shape::from([s.d_input, s.d_output]);
            grads.register::<Flex>(node.id, flex_tensor(dw, shape));
        }
        if let Some(node) = node_bias {
            let db = linear_kernel::backward_bias(s, dy.storage());
            grads.register::<Flex>(node.id, flex_tensor(db, Shape::from([s.d_output])));
        }
    }
}

/// `activation(x · W + b)` on `Autodiff<Flex>`, recorded with [`LinearBackward`].
pub(crate) fn forward_autodiff(
    x: AutodiffFlexTensor,
    weight: AutodiffFlexTensor,
    bias: AutodiffFlexTensor,
    s: LinearShape,
    activation: Activation,
) -> AutodiffFlexTensor {
    let backward = LinearBackward {
        shape: s,
        activation,
    };
    match backward
        .prepare::<NoCheckpointing>([x.node.clone(), weight.node.clone(), bias.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let y = forward(
                &x.primitive,
                &weight.primitive,
                &bias.primitive,
                s,
                activation,
            );
            let saved_y = (activation != Activation::Identity).then(|| y.clone());
            prep.finish((x.primitive, weight.primitive, saved_y), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(
            &x.primitive,
            &weight.primitive,
            &bias.primitive,
            s,
            activation,
        )),
    }
}
