//! The shape arithmetic of one 2D convolution, checked once and shared by its three kernels.

use burn::tensor::ops::PaddedConvOptions;

/// Sizes, strides, padding and dilation of a `groups = 1` 2D convolution over NCHW tensors.
///
/// `pad_top` / `pad_left` are the zeros before the input; the zeros after it only enter through
/// the output size (`out_h`, `out_w`), so asymmetric padding (TensorFlow "SAME") needs no
/// padded copy of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Batch size.
    pub batch: usize,
    /// Input channels.
    pub channels_in: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Output channels.
    pub channels_out: usize,
    /// Kernel height.
    pub kernel_h: usize,
    /// Kernel width.
    pub kernel_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Zero rows above the input.
    pub pad_top: usize,
    /// Zero columns left of the input.
    pub pad_left: usize,
    /// Vertical dilation.
    pub dilation_h: usize,
    /// Horizontal dilation.
    pub dilation_w: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
}

impl ConvGeometry {
    /// The geometry of `conv2d(x, weight, options)`, or `None` where these kernels do not
    /// apply and the caller should use Burn's own convolution: grouped convolutions, a weight
    /// whose input channels differ from `x`'s, a zero stride or dilation, any zero size, or a
    /// kernel larger than the padded input (Burn then reports the error itself).
    pub fn new(x: [usize; 4], weight: [usize; 4], options: &PaddedConvOptions<2>) -> Option<Self> {
        let [batch, channels_in, in_h, in_w] = x;
        let [channels_out, weight_in, kernel_h, kernel_w] = weight;
        let o = &options.options;
        let [stride_h, stride_w] = o.stride;
        let [dilation_h, dilation_w] = o.dilation;
        let [pad_top, pad_left] = o.padding;
        let [pad_bottom, pad_right] = options.padding_end.unwrap_or(o.padding);
        if o.groups != 1 || weight_in != channels_in {
            return None;
        }
        if [stride_h, stride_w, dilation_h, dilation_w].contains(&0)
            || [
                batch,
                channels_in,
                in_h,
                in_w,
                channels_out,
                kernel_h,
                kernel_w,
            ]
            .contains(&0)
        {
            return None;
        }
        let out = |size: usize, before: usize, after: usize, k: usize, s: usize, d: usize| {
            let span = d * (k - 1) + 1;
            let padded = size + before + after;
            (padded >= span).then(|| (padded - span) / s + 1)
        };
        let out_h = out(in_h, pad_top, pad_bottom, kernel_h, stride_h, dilation_h)?;
        let out_w = out(in_w, pad_left, pad_right, kernel_w, stride_w, dilation_w)?;
        Some(Self {
            batch,
            channels_in,
            in_h,
            in_w,
            channels_out,
            kernel_h,
            kernel_w,
            stride_h,
            stride_w,
            pad_top,
            pad_left,
            dilation_h,
            dilation_w,
            out_h,
            out_w,
        })
    }

    /// Rows of the im2col matrix: `channels_in · kernel_h · kernel_w`, the GEMM's inner size.
    pub fn patch_len(&self) -> usize {
        self.channels_in * self.kernel_h * self.kernel_w
    }

    /// Output pixels per image: `out_h · out_w`.
    pub fn out_pixels(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Input pixels per image: `in_h · in_w`.
    pub fn in_pixels(&self) -> usize {
        self.in_h * self.in_w
    }

    /// Elements of one input image (`channels_in · in_h · in_w`).
    pub fn in_image_len(&self) -> usize {
        self.channels_in * self.in_pixels()
    }

    /// Elements of one output image (`channels_out · out_h · out_w`).
    pub fn out_image_len(&self) -> usize {
        self.channels_out * self.out_pixels()
    }

    /// Whether the im2col matrix of one image is the image itself (1×1 kernel, stride 1, no
    /// padding), so the kernels can read the input in place.
    pub fn is_pointwise(&self) -> bool {
        self.kernel_h == 1
            && self.kernel_w == 1
            && self.stride_h == 1
            && self.stride_w == 1
            && self.pad_top == 0
            && self.pad_left == 0
            && self.out_h == self.in_h
            && self.out_w == self.in_w
    }

    /// The output columns `[lo, hi)` whose kernel tap `offset` (= `j · dilation`) lands inside
    /// a row of `size` input pixels, given `stride` and `pad` zeros before the row.
    pub(crate) fn valid_range(
        out: usize,
        size: usize,
        offset: usize,
        stride: usize,
        pad: usize,
    ) -> (usize, usize) {
        // Input index of output column `o`: `o·stride + offset − pad`, valid in [0, size).
        let lo = if pad > offset {
            (pad - offset).div_ceil(stride)
        } else {
            0
        };
        let hi = if size + pad > offset {
            ((size - 1 + pad - offset) / stride + 1).min(out)
        } else {
            0
        };
        (lo.min(hi), hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::ops::ConvOptions;

    fn options(stride: usize, pad: usize, dilation: usize) -> PaddedConvOptions<2> {
        ConvOptions::new([stride; 2], [pad; 2], [dilation; 2], 1).into()
    }

    #[test]
    fn output_size_matches_the_convolution_formula() {
        let g = ConvGeometry::new([2, 3, 32, 30], [8, 3, 3, 3], &options(1, 1, 1)).unwrap();
        assert_eq!((g.out_h, g.out_w), (32, 30));
        let g = ConvGeometry::new([2, 3, 33, 33], [8, 3, 3, 3], &options(2, 1, 1)).unwrap();
        assert_eq!((g.out_h, g.out_w), (17, 17));
        let g = ConvGeometry::new([2, 3, 10, 10], [8, 3, 3, 3], &options(1, 0, 2)).unwrap();
        assert_eq!((g.out_h, g.out_w), (6, 6));
        // TF "SAME", stride 2 on an even size: 0 before, 1 after.
        let same = PaddedConvOptions::asymmetric([2, 2], [0, 0], [1, 1], [1, 1], 1);
        let g = ConvGeometry::new([1, 3, 8, 8], [4, 3, 3, 3], &same).unwrap();
        assert_eq!((g.out_h, g.out_w), (4, 4));
    }

    #[test]
    fn unsupported_or_invalid_convolutions_are_declined() {
        let grouped = ConvOptions::new([1, 1], [1, 1], [1, 1], 2).into();
        assert!(ConvGeometry::new([1, 4, 8, 8], [4, 2, 3, 3], &grouped).is_none());
        assert!(ConvGeometry::new([1, 4, 8, 8], [4, 3, 3, 3], &options(1, 1, 1)).is_none());
        assert!(ConvGeometry::new([1, 3, 2, 2], [4, 3, 5, 5], &options(1, 0, 1)).is_none());
        assert!(ConvGeometry::new([0, 3, 8, 8], [4, 3, 3, 3], &options(1, 1, 1)).is_none());
        // `ConvOptions::new` rejects a zero stride itself; the fields are public, though.
        let zero_stride = ConvOptions {
            stride: [0, 1],
            padding: [1, 1],
            dilation: [1, 1],
            groups: 1,
        }
        .into();
        assert!(ConvGeometry::new([1, 3, 8, 8], [4, 3, 3, 3], &zero_stride).is_none());
    }

    #[test]
    fn valid_range_is_exactly_the_in_bounds_columns() {
        for out in 1..7 {
            for size in 1..9 {
                for offset in 0..5 {
                    for stride in 1..4 {
                        for pad in 0..4 {
                            let (lo, hi) =
                                ConvGeometry::valid_range(out, size, offset, stride, pad);
                            for o in 0..out {
                                let i = (o * stride + offset) as isize - pad as isize;
                                let inside = i >= 0 && (i as usize) < size;
                                assert_eq!(
                                    inside,
                                    (lo..hi).contains(&o),
                                    "out {out} size {size} offset {offset} stride {stride} pad {pad} o {o}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
