//! Element-wise activations applied in place to a layer's output, and their gradients from that
//! output: what [`linear_activation`](crate::linear_activation) fuses into the fully connected
//! layer.
//!
//! flex's `tanh` is libm's scalar `tanhf` (about 6% of an LTHNet head training step at batch
//! 128), and burn-autodiff's tanh backward computes the tanh a second time, then `1 − y²` in
//! four tensor passes. Here tanh is a rational approximation that the compiler vectorises
//! (Eigen's `generic_fast_tanh_float`, the one PyTorch's and TensorFlow's CPU kernels have
//! used): within 5·10⁻⁷ of the exact value everywhere (4.2·10⁻⁷ on a 2⁻¹² grid of
//! [−10, 10]), odd, in `[−1, 1]`, NaN for NaN; monotone only to within that error, which
//! oscillates near saturation. Its gradient is `1 − y²` from the saved output.

use crate::simd::with_avx2;

/// The activation after a fully connected layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    /// None: `y = z`.
    Identity,
    /// `y = max(z, 0)`, NaN kept; gradient 1 where `y > 0`, else 0.
    Relu,
    /// `y = tanh(z)`; gradient `1 − y²`.
    Tanh,
}

impl Activation {
    /// Applies the activation to `values` in place.
    pub fn apply(self, values: &mut [f32]) {
        match self {
            Activation::Identity => {}
            Activation::Relu => relu_in_place(values),
            Activation::Tanh => tanh_in_place(values),
        }
    }

    /// The gradient with respect to the activation's input, `dy ⊙ f′`, from its output `y`.
    ///
    /// # Panics
    /// If `y` and `dy` differ in length.
    pub fn backward(self, y: &[f32], dy: &[f32]) -> Vec<f32> {
        assert_eq!(y.len(), dy.len(), "activation output and gradient lengths");
        match self {
            Activation::Identity => dy.to_vec(),
            Activation::Relu => relu_backward(y, dy),
            Activation::Tanh => tanh_backward(y, dy),
        }
    }
}

/// Eigen's clamp: beyond it the rational function's value rounds to ±1 in `f32`.
const TANH_CLAMP: f32 = 7.905_311;
/// Below this magnitude `tanh(x)` is `x` in `f32` (the rational form loses a little there).
const TANH_TINY: f32 = 0.0004;

/// `tanh(x)` as Eigen's 13/6 rational approximation, written so that it vectorises: every
/// branch is a select, and NaN passes through.
#[inline(always)]
fn tanh_rational(x: f32) -> f32 {
    const ALPHA: [f32; 7] = [
        4.893_524_6e-3,
        6.372_619_3e-4,
        1.485_722_4e-5,
        5.122_297e-8,
        -8.604_672e-11,
        2.000_188e-13,
        -2.760_768_5e-16,
    ];
    const BETA: [f32; 4] = [4.893_525e-3, 2.268_434_6e-3, 1.185_347_1e-4, 1.198_258_4e-6];
    // `clamp` keeps NaN.
    let clamped = x.clamp(-TANH_CLAMP, TANH_CLAMP);
    let x2 = clamped * clamped;
    let mut p = ALPHA[6];
    for &a in ALPHA[..6].iter().rev() {
        p = p * x2 + a;
    }
    let mut q = BETA[3];
    for &b in BETA[..3].iter().rev() {
        q = q * x2 + b;
    }
    let y = clamped * p / q;
    if x.abs() < TANH_TINY { x } else { y }
}

with_avx2! {
    /// `tanh` of every value, in place ([`tanh_rational`]).
    fn tanh_in_place(values: &mut [f32]) {
        for v in values.iter_mut() {
            *v = tanh_rational(*v);
        }
    }
}

with_avx2! {
    fn tanh_backward(y: &[f32], dy: &[f32]) -> Vec<f32> {
        dy.iter().zip(y).map(|(&g, &y)| g * (1.0 - y * y)).collect()
    }
}

with_avx2! {
    fn relu_in_place(values: &mut [f32]) {
        for v in values.iter_mut() {
            // The select keeps NaN, as PyTorch's relu does (flex's relu, `max(x, 0)`, gives 0).
            *v = if *v < 0.0 { 0.0 } else { *v };
        }
    }
}

with_avx2! {
    fn relu_backward(y: &[f32], dy: &[f32]) -> Vec<f32> {
        dy.iter().zip(y).map(|(&g, &y)| if y > 0.0 { g } else { 0.0 }).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every 2⁻¹²-th value in [−10, 10], plus the edges of the approximation's ranges.
    fn grid() -> Vec<f32> {
        let mut xs: Vec<f32> = (-40_960..=40_960).map(|i| i as f32 / 4096.0).collect();
        for edge in [
            TANH_TINY,
            TANH_CLAMP,
            1e-30,
            20.0,
            1e30,
            f32::MAX,
            f32::INFINITY,
        ] {
            xs.extend([edge, -edge, edge.next_up(), -edge.next_up()]);
        }
        xs
    }

    #[test]
    fn tanh_is_within_5e7_of_the_exact_value() {
        let xs = grid();
        let mut ys = xs.clone();
        Activation::Tanh.apply(&mut ys);
        let worst = xs
            .iter()
            .zip(&ys)
            .map(|(&x, &y)| (f64::from(y) - f64::from(x).tanh()).abs())
            .fold(0.0, f64::max);
        assert!(worst < 5e-7, "largest error {worst}");
    }

    #[test]
    fn tanh_is_odd_monotone_bounded_and_keeps_nan() {
        let xs = grid();
        let mut ys = xs.clone();
        Activation::Tanh.apply(&mut ys);
        for (&x, &y) in xs.iter().zip(&ys) {
            assert!((-1.0..=1.0).contains(&y), "tanh({x}) = {y}");
            assert_eq!(tanh_rational(-x), -y, "odd at {x}");
        }
        let sorted: Vec<f32> = (-40_960..=40_960).map(|i| i as f32 / 4096.0).collect();
        let mut ys = sorted.clone();
        Activation::Tanh.apply(&mut ys);
        let worst_drop = ys.windows(2).map(|w| w[0] - w[1]).fold(0.0, f32::max);
        let at = ys.windows(2).position(|w| w[0] - w[1] == worst_drop);
        // The rational function's error oscillates near saturation (±4·10⁻⁷), so it is
        // monotone only to within that.
        assert!(
            worst_drop < 5e-7,
            "drops by {worst_drop} at {:?}",
            at.map(|i| sorted[i])
        );
        assert_eq!(tanh_rational(1e-5), 1e-5, "tiny values are their own tanh");
        let mut nan = [f32::NAN, 0.5];
        Activation::Tanh.apply(&mut nan);
        assert!(nan[0].is_nan());
    }

    #[test]
    fn the_vector_build_matches_one_value_at_a_time() {
        // A slice long enough for the vector loop and its remainder.
        let xs: Vec<f32> = (0..1001).map(|i| (i as f32 - 500.0) * 0.0173).collect();
        let mut ys = xs.clone();
        Activation::Tanh.apply(&mut ys);
        for (&x, &y) in xs.iter().zip(&ys) {
            assert_eq!(y.to_bits(), tanh_rational(x).to_bits(), "at {x}");
        }
    }

    #[test]
    fn relu_and_its_gradient() {
        let mut y = [-2.0, -0.0, 0.0, 3.0, f32::NAN];
        Activation::Relu.apply(&mut y);
        assert_eq!(y[..4], [0.0, -0.0, 0.0, 3.0]);
        assert!(y[4].is_nan());
        let dz = Activation::Relu.backward(&y, &[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(dz, [0.0, 0.0, 0.0, 4.0, 0.0]);
    }

    #[test]
    fn tanh_gradient_is_one_minus_y_squared() {
        let y = [0.0, 0.5, -0.5, 1.0];
        let dz = Activation::Tanh.backward(&y, &[2.0, 2.0, -4.0, 7.0]);
        assert_eq!(dz, [2.0, 1.5, -3.0, 0.0]);
        assert_eq!(
            Activation::Identity.backward(&y, &[1.0, 2.0, 3.0, 4.0]),
            [1.0, 2.0, 3.0, 4.0]
        );
    }

    #[test]
    #[should_panic(expected = "lengths")]
    fn backward_checks_lengths() {
        Activation::Tanh.backward(&[0.0], &[1.0, 2.0]);
    }
}
