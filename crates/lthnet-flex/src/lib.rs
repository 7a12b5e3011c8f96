//! Kernels for Burn's `flex` CPU backend that burn-flex 0.21 lacks.
//!
//! burn-flex 0.21 has a fast convolution forward but no convolution backward of its own, so
//! training falls back to Burn's generic gradients: the weight gradient is a convolution whose
//! "kernel" is the whole output gradient, at 1.4–3× the forward's time (`docs/benchmarks.md`).
//! [`conv2d`] is a drop-in replacement for [`burn::tensor::module::conv2d`] that, on `Flex` and
//! `Autodiff<Flex>`, runs im2col + GEMM kernels for the forward and for both gradients
//! ([`conv2d_kernel`]), and on every other backend (or for a grouped convolution, or a
//! non-`f32` tensor) calls Burn's own convolution unchanged. [`conv2d_layer`] does the same for
//! a `burn::nn::conv::Conv2d` module.
//!
//! Model code stays generic over `B: Backend`: the backend is recognised by its type
//! (`TypeId`), not by a trait bound, so no extension trait spreads through the model's
//! signatures. The price is that a new backend wrapper (another checkpointing strategy, say)
//! takes Burn's path until it is added here.
//!
//!
//! [`max_pool2d`] (and [`max_pool2d_layer`]) replaces flex's max pool, whose forward checks
//! bounds per window element and whose backward runs on one thread ([`max_pool2d_kernel`]).
//!
//! [`linear`] (and [`linear_layer`]) is the fully connected layer with its gradients as single
//! GEMMs into fresh outputs: flex's matmul zeroes and then copies every output, which for the
//! LTHNet head's 2000 × 2000 weight gradient was about 10% of a training step
//! ([`linear_kernel`]). [`linear_activation`] fuses a ReLU or a tanh into it, with the tanh
//! vectorised and its gradient taken from the saved output ([`activation_kernel`]).
//!
//! [`batch_norm_2d_train`] is training-mode BatchNorm (optionally fused with the ReLU after
//! it) as one `Autodiff<Flex>` operation: two passes over the activation forward and two
//! backward, where the same function as tensor operations makes about twenty.
//!
//! ```
//! use burn::backend::{Autodiff, Flex};
//! use burn::tensor::{Distribution, Tensor};
//! use burn::tensor::ops::ConvOptions;
//!
//! type B = Autodiff<Flex>;
//! let device = Default::default();
//! let x = Tensor::<B, 4>::random([2, 3, 8, 8], Distribution::Default, &device).require_grad();
//! let w = Tensor::<B, 4>::random([4, 3, 3, 3], Distribution::Default, &device).require_grad();
//! let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
//!
//! let y = lthnet_flex::conv2d(x.clone(), w.clone(), None, options.clone());
//! let reference = burn::tensor::module::conv2d(x.clone(), w.clone(), None, options);
//! y.clone().into_data().assert_approx_eq::<f32>(&reference.into_data(), Default::default());
//!
//! let grads = y.sum().backward();
//! assert_eq!(w.grad(&grads).unwrap().dims(), [4, 3, 3, 3]);
//! ```

pub mod activation_kernel;
pub mod batch_norm_kernel;
pub mod conv2d_kernel;
pub mod linear_kernel;
pub mod max_pool2d_kernel;

mod batch_norm_autodiff;
mod conv2d_autodiff;
mod geometry;
mod linear_autodiff;
mod max_pool2d_autodiff;
mod simd;

pub use activation_kernel::Activation;
pub use geometry::ConvGeometry;

use std::any::{Any, TypeId};

use burn::backend::Autodiff;
use burn::nn::Linear;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::prelude::*;
use burn::tensor::ops::PaddedConvOptions;
use burn::tensor::{DType, Shape, TensorPrimitive};
use burn_flex::{Flex, FlexTensor, Layout};

use batch_norm_kernel::NormShape;
use linear_kernel::LinearShape;
use max_pool2d_kernel::PoolGeometry;

use conv2d_autodiff::AutodiffFlexTensor;

/// A 2D convolution: [`burn::tensor::module::conv2d`], with this crate's kernels on `Flex` and
/// `Autodiff<Flex>` (see the [crate docs](crate)).
///
/// # Shapes
/// - `x`: `[batch, channels_in, height, width]`
/// - `weight`: `[channels_out, channels_in / groups, kernel_h, kernel_w]`
/// - `bias`: `[channels_out]`
/// - output: `[batch, channels_out, out_h, out_w]`
///
/// # Panics
/// Where Burn's `conv2d` panics (mismatched channels, a kernel larger than the padded input):
/// those cases are passed to it.
pub fn conv2d<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Option<Tensor<B, 1>>,
    options: impl Into<PaddedConvOptions<2>>,
) -> Tensor<B, 4> {
    let options = options.into();
    let geometry = ConvGeometry::new(x.dims(), weight.dims(), &options)
        .filter(|_| x.dtype() == DType::F32 && weight.dtype() == DType::F32)
        // Forward only, flex's own 1×1 path is faster (MobileNetV2: 28.8 against 9.8 images/s).
        .filter(|g| !(is_flex::<B>() && g.is_pointwise()));
    let (Some(geometry), true) = (geometry, is_flex::<B>() || is_autodiff_flex::<B>()) else {
        return burn::tensor::module::conv2d(x, weight, bias, options);
    };
    let x = x.into_primitive().tensor();
    let weight = weight.into_primitive().tensor();
    let y: B::FloatTensorPrimitive = if is_flex::<B>() {
        let y = conv2d_autodiff::forward(
            &cast::<_, FlexTensor>(x),
            &cast::<_, FlexTensor>(weight),
            &geometry,
        );
        cast(y)
    } else {
        let y = conv2d_autodiff::forward_autodiff(
            cast::<_, AutodiffFlexTensor>(x),
            cast::<_, AutodiffFlexTensor>(weight),
            geometry,
        );
        cast(y)
    };
    let y = Tensor::from_primitive(TensorPrimitive::Float(y));
    match bias {
        Some(bias) => y + bias.reshape([1, geometry.channels_out, 1, 1]),
        None => y,
    }
}

/// `layer.forward(x)` through [`conv2d`].
///
/// # Shapes
/// - `x`: `[batch, channels_in, height, width]` → `[batch, channels_out, out_h, out_w]`
pub fn conv2d_layer<B: Backend>(layer: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let (start, end) = match layer.padding {
        PaddingConfig2d::Valid => ([0, 0], [0, 0]),
        PaddingConfig2d::Explicit(top, left, bottom, right) => ([top, left], [bottom, right]),
        PaddingConfig2d::Same if layer.dilation == [1, 1] => {
            let [_, _, h, w] = x.dims();
            let (top, bottom) = same_padding(h, layer.kernel_size[0], layer.stride[0]);
            let (left, right) = same_padding(w, layer.kernel_size[1], layer.stride[1]);
            ([top, left], [bottom, right])
        }
        // Burn's "same" ignores dilation; leave that case to Burn itself.
        PaddingConfig2d::Same => return layer.forward(x),
    };
    let options =
        PaddedConvOptions::asymmetric(layer.stride, start, end, layer.dilation, layer.groups);
    conv2d(
        x,
        layer.weight.val(),
        layer.bias.as_ref().map(|b| b.val()),
        options,
    )
}

/// Burn's "same" padding (burn-nn's `calculate_same_padding`, which is crate-private): the
/// output is `⌈size / stride⌉` long and the padding is split with the odd zero at the end.
fn same_padding(size: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let out = size.div_ceil(stride);
    let total = ((out.max(1) - 1) * stride + kernel).saturating_sub(size);
    (total / 2, total - total / 2)
}

/// A fully connected layer `x · W + b`: [`burn::tensor::module::linear`] for a batch of rows,
/// with [`linear_kernel`] on `Flex` and `Autodiff<Flex>` when there is a bias and every tensor
/// is `f32` (otherwise Burn's own).
///
/// # Shapes
/// - `x`: `[batch, d_input]`, `weight`: `[d_input, d_output]`, `bias`: `[d_output]` →
///   `[batch, d_output]`
///
/// # Panics
/// Where Burn's `linear` panics (an input width other than `d_input`): those cases are passed
/// to it.
pub fn linear<B: Backend>(
    x: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
) -> Tensor<B, 2> {
    linear_activation(x, weight, bias, Activation::Identity)
}

/// `activation(x · W + b)` as one operation on `Flex` and `Autodiff<Flex>` (the conditions of
/// [`linear`]): the activation runs on the GEMM's output in place, and its gradient comes from
/// the saved output ([`activation_kernel`]). Elsewhere, Burn's `linear` then Burn's activation.
///
/// The fused tanh is a rational approximation within 5·10⁻⁷ of the exact value, so it differs
/// from Burn's `tanh` in the last bits.
///
/// ```
/// use burn::backend::{Autodiff, Flex};
/// use burn::tensor::{Distribution, Tensor};
/// use lthnet_flex::Activation;
///
/// type B = Autodiff<Flex>;
/// let device = Default::default();
/// let x = Tensor::<B, 2>::random([4, 3], Distribution::Default, &device);
/// let w = Tensor::<B, 2>::random([3, 5], Distribution::Default, &device).require_grad();
/// let b = Tensor::<B, 1>::zeros([5], &device).require_grad();
///
/// let y = lthnet_flex::linear_activation(x.clone(), w.clone(), Some(b.clone()), Activation::Tanh);
/// let reference = burn::tensor::activation::tanh(x.matmul(w.clone()) + b.unsqueeze());
/// y.clone().into_data().assert_approx_eq::<f32>(&reference.into_data(), Default::default());
///
/// let grads = y.sum().backward();
/// assert_eq!(w.grad(&grads).unwrap().dims(), [3, 5]);
/// ```
///
/// # Shapes
/// - `x`: `[batch, d_input]`, `weight`: `[d_input, d_output]`, `bias`: `[d_output]` →
///   `[batch, d_output]`
///
/// # Panics
/// Where Burn's `linear` panics (an input width other than `d_input`).
pub fn linear_activation<B: Backend>(
    x: Tensor<B, 2>,
    weight: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
    activation: Activation,
) -> Tensor<B, 2> {
    let ([batch, d_input], [rows, d_output]) = (x.dims(), weight.dims());
    let supported = (is_flex::<B>() || is_autodiff_flex::<B>())
        && d_input == rows
        && [x.dtype(), weight.dtype()] == [DType::F32; 2]
        && bias
            .as_ref()
            .is_some_and(|b| b.dims() == [d_output] && b.dtype() == DType::F32);
    let bias = match bias {
        Some(bias) if supported => bias,
        bias => {
            let z = burn::tensor::module::linear(x, weight, bias);
            return match activation {
                Activation::Identity => z,
                Activation::Relu => burn::tensor::activation::relu(z),
                Activation::Tanh => burn::tensor::activation::tanh(z),
            };
        }
    };
    let shape = LinearShape {
        batch,
        d_input,
        d_output,
    };
    let primitive = |t: Tensor<B, 2>| t.into_primitive().tensor();
    let (x, weight, bias) = (
        primitive(x),
        primitive(weight),
        bias.into_primitive().tensor(),
    );
    let y: B::FloatTensorPrimitive = if is_flex::<B>() {
        cast(linear_autodiff::forward(
            &cast(x),
            &cast(weight),
            &cast(bias),
            shape,
            activation,
        ))
    } else {
        cast(linear_autodiff::forward_autodiff(
            cast(x),
            cast(weight),
            cast(bias),
            shape,
            activation,
        ))
    };
    Tensor::from_primitive(TensorPrimitive::Float(y))
}

/// `layer.forward(x)` through [`linear`].
///
/// # Shapes
/// - `x`: `[batch, d_input]` → `[batch, d_output]`
pub fn linear_layer<B: Backend>(layer: &Linear<B>, x: Tensor<B, 2>) -> Tensor<B, 2> {
    linear_layer_activation(layer, x, Activation::Identity)
}

/// `activation(layer.forward(x))` through [`linear_activation`].
///
/// # Shapes
/// - `x`: `[batch, d_input]` → `[batch, d_output]`
pub fn linear_layer_activation<B: Backend>(
    layer: &Linear<B>,
    x: Tensor<B, 2>,
    activation: Activation,
) -> Tensor<B, 2> {
    linear_activation(
        x,
        layer.weight.val(),
        layer.bias.as_ref().map(|b| b.val()),
        activation,
    )
}

/// A 2D max pool: [`burn::tensor::module::max_pool2d`], with [`max_pool2d_kernel`] on `Flex`
/// and `Autodiff<Flex>` for `f32` tensors without `ceil_mode` (everything else goes to Burn).
///
/// Ties go to the window's first maximum, as in Burn and PyTorch; a NaN in a window is its
/// maximum, as in PyTorch (flex can skip it).
///
/// # Shapes
/// - `x`: `[batch, channels, height, width]` → `[batch, channels, out_h, out_w]`, with
///   `out = ⌊(in + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1`
pub fn max_pool2d<B: Backend>(
    x: Tensor<B, 4>,
    kernel_size: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    ceil_mode: bool,
) -> Tensor<B, 4> {
    let [batch, channels, h, w] = x.dims();
    let geometry = PoolGeometry::new(
        [batch, channels, h, w],
        kernel_size,
        stride,
        padding,
        dilation,
    )
    .filter(|_| !ceil_mode && x.dtype() == DType::F32);
    let (Some(geometry), true) = (geometry, is_flex::<B>() || is_autodiff_flex::<B>()) else {
        return burn::tensor::module::max_pool2d(
            x,
            kernel_size,
            stride,
            padding,
            dilation,
            ceil_mode,
        );
    };
    let x = x.into_primitive().tensor();
    let y: B::FloatTensorPrimitive = if is_flex::<B>() {
        cast(max_pool2d_autodiff::forward(
            &cast(x),
            [batch, channels],
            &geometry,
        ))
    } else {
        cast(max_pool2d_autodiff::forward_autodiff(
            cast(x),
            [batch, channels],
            geometry,
        ))
    };
    Tensor::from_primitive(TensorPrimitive::Float(y))
}

/// `layer.forward(x)` through [`max_pool2d`] (valid or symmetric explicit padding; any other
/// padding goes to `layer.forward`).
///
/// # Shapes
/// - `x`: `[batch, channels, height, width]` → `[batch, channels, out_h, out_w]`
pub fn max_pool2d_layer<B: Backend>(layer: &MaxPool2d, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let padding = match layer.padding {
        PaddingConfig2d::Valid => [0, 0],
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => {
            [top, left]
        }
        _ => return layer.forward(x),
    };
    max_pool2d(
        x,
        layer.kernel_size,
        layer.stride,
        padding,
        layer.dilation,
        layer.ceil_mode,
    )
}

/// What [`batch_norm_2d_train`] returns.
#[derive(Debug)]
pub struct BatchNormTrain<B: Backend> {
    /// The normalised (and, if asked, rectified) input, `[batch, channels, H, W]`.
    pub output: Tensor<B, 4>,
    /// The batch mean per channel, `[channels]`, outside the autodiff graph.
    pub mean: Tensor<B, 1>,
    /// The biased batch variance per channel, `[channels]`, outside the autodiff graph.
    pub var: Tensor<B, 1>,
}

/// Training-mode BatchNorm with batch statistics, `γ · (x − mean) / √(var + ε) + β` (biased
/// variance, as burn-nn), followed by ReLU when `relu`, as one operation with its own backward
/// step ([`batch_norm_kernel`]) on `Autodiff<Flex>`.
///
/// `None` on any other backend, for non-`f32` tensors or when `gamma` / `beta` do not have
/// `channels` elements: the caller then computes it with tensor operations. The running
/// statistics are the caller's to update, from [`BatchNormTrain::mean`] and
/// [`BatchNormTrain::var`].
///
/// # Shapes
/// - `x`: `[batch, channels, H, W]`, `gamma`, `beta`: `[channels]`
pub fn batch_norm_2d_train<B: Backend>(
    x: &Tensor<B, 4>,
    gamma: &Tensor<B, 1>,
    beta: &Tensor<B, 1>,
    epsilon: f64,
    relu: bool,
) -> Option<BatchNormTrain<B>> {
    let [batch, channels, h, w] = x.dims();
    let supported = is_autodiff_flex::<B>()
        && [x.dtype(), gamma.dtype(), beta.dtype()] == [DType::F32; 3]
        && gamma.dims() == [channels]
        && beta.dims() == [channels]
        && batch * channels * h * w > 0;
    if !supported {
        return None;
    }
    let primitive = |t: Tensor<B, 1>| cast(t.into_primitive().tensor());
    let shape = NormShape {
        batch,
        channels,
        pixels: h * w,
    };
    let [output, mean, var] = batch_norm_autodiff::forward_autodiff(
        cast(x.clone().into_primitive().tensor()),
        primitive(gamma.clone()),
        primitive(beta.clone()),
        shape,
        epsilon,
        relu,
    );
    Some(BatchNormTrain {
        output: from_autodiff_flex(output),
        mean: from_autodiff_flex(mean),
        var: from_autodiff_flex(var),
    })
}

fn from_autodiff_flex<B: Backend, const D: usize>(t: AutodiffFlexTensor) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(cast(t)))
}

/// A contiguous `f32` flex tensor of `shape` holding `data`.
pub(crate) fn flex_tensor(data: Vec<f32>, shape: Shape) -> FlexTensor {
    FlexTensor::new(
        burn::tensor::Bytes::from_elems(data),
        Layout::contiguous(shape),
        DType::F32,
    )
}

fn is_flex<B: Backend>() -> bool {
    TypeId::of::<B>() == TypeId::of::<Flex>()
}

fn is_autodiff_flex<B: Backend>() -> bool {
    TypeId::of::<B>() == TypeId::of::<Autodiff<Flex>>()
}

/// `value` as the type it is known to be (the caller has compared the backend's `TypeId`).
fn cast<T: 'static, U: 'static>(value: T) -> U {
    let mut slot = Some(value);
    (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<U>>()
        .and_then(Option::take)
        .expect("lthnet-flex: backend type checked before the cast")
}
