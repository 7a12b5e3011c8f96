//! Packed binary codes: bit `j` of a code is 1 for +1 and 0 for −1, stored in `u64` words
//! (bit `j` in word `j / 64`, position `j % 64`); unused high bits are always 0.
//!
//! Codes come from relaxed real values through sgn with **sgn(0) = +1**
//! ([`PackedCodes::from_signs`], `PackedCodes::from_tensor` with the `burn` feature), from ±1 or
//! 0/1 `i8` matrices ([`PackedCodes::from_i8`]), from faiss-packed bytes, or from files
//! ([`crate::io`]).

/// `n` binary codes of `bits` bits each, packed into `words_per_code` `u64` words per code.
///
/// ```
/// use lthnet_retrieval::PackedCodes;
/// // Relaxed codes (e.g. tanh outputs): sgn(0) = +1.
/// let c = PackedCodes::from_signs(&[0.3, -0.9, 0.0, -0.2], 4);
/// assert_eq!(c.to_signs_i8(), vec![1, -1, 1, -1]);
/// assert_eq!(c.words(), &[0b0101]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackedCodes {
    n: usize,
    bits: usize,
    words_per_code: usize,
    words: Vec<u64>,
}

impl PackedCodes {
    /// Pack codes from their signs: `values` is `n × bits` row-major, and an entry ≥ 0 (including
    /// +0, −0 and +1) is bit 1, i.e. sgn(0) = +1. NaN is treated as −1.
    ///
    /// # Panics
    /// If `bits` is zero or `values.len()` is not a multiple of `bits`.
    pub fn from_signs(values: &[f32], bits: usize) -> Self {
        assert!(bits > 0, "codes must have at least one bit");
        assert!(
            values.len().is_multiple_of(bits),
            "{} values do not form codes of {bits} bits",
            values.len()
        );
        let n = values.len() / bits;
        let wpc = bits.div_ceil(64);
        let mut words = vec![0u64; n * wpc];
        for (i, row) in values.chunks_exact(bits).enumerate() {
            let w = &mut words[i * wpc..(i + 1) * wpc];
            for (j, &v) in row.iter().enumerate() {
                if v >= 0.0 {
                    w[j / 64] |= 1u64 << (j % 64);
                }
            }
        }
        Self {
            n,
            bits,
            words_per_code: wpc,
            words,
        }
    }

    /// Pack `i8` codes (`n × bits` row-major): a value > 0 is bit 1 (+1), a value < 0 is bit 0
    /// (−1), and 0 is −1 when `zero_is_negative` (0/1 codes) or +1 otherwise (sgn(0) = +1).
    ///
    /// # Panics
    /// If `bits` is zero or `values.len()` is not a multiple of `bits`.
    pub fn from_i8(values: &[i8], bits: usize, zero_is_negative: bool) -> Self {
        let f: Vec<f32> = values
            .iter()
            .map(|&v| match v {
                0 if zero_is_negative => -1.0,
                v => v as f32,
            })
            .collect();
        Self::from_signs(&f, bits)
    }

    /// Build from already packed words (`n × words_per_code`, `words_per_code = ⌈bits/64⌉`).
    ///
    /// # Panics
    /// If the sizes disagree or bits beyond `bits` are set.
    pub fn from_words(words: Vec<u64>, bits: usize) -> Self {
        assert!(bits > 0, "codes must have at least one bit");
        let wpc = bits.div_ceil(64);
        assert!(
            words.len().is_multiple_of(wpc),
            "{} words do not form codes of {wpc} words",
            words.len()
        );
        if !bits.is_multiple_of(64) {
            let mask = !0u64 << (bits % 64);
            assert!(
                words.chunks_exact(wpc).all(|c| c[wpc - 1] & mask == 0),
                "bits beyond the code length are set"
            );
        }
        Self {
            n: words.len() / wpc,
            bits,
            words_per_code: wpc,
            words,
        }
    }

    /// From faiss-style packed bytes (`n × ⌈bits/8⌉`, bit `j` in byte `j/8`, LSB first), as
    /// `IndexBinaryFlat` and `np.packbits(..., bitorder="little")` store them.
    ///
    /// # Panics
    /// If `bytes.len()` is not a multiple of `⌈bits/8⌉`, or bits beyond `bits` are set.
    pub fn from_faiss_bytes(bytes: &[u8], bits: usize) -> Self {
        let bpc = bits.div_ceil(8);
        assert!(
            bytes.len().is_multiple_of(bpc),
            "{} bytes do not form codes of {bpc} bytes",
            bytes.len()
        );
        let wpc = bits.div_ceil(64);
        let n = bytes.len() / bpc;
        let mut words = vec![0u64; n * wpc];
        for i in 0..n {
            for (b, &byte) in bytes[i * bpc..(i + 1) * bpc].iter().enumerate() {
                words[i * wpc + b / 8] |= (byte as u64) << ((b % 8) * 8);
            }
        }
        Self::from_words(words, bits)
    }

    /// faiss-style packed bytes (see [`PackedCodes::from_faiss_bytes`]).
    pub fn to_faiss_bytes(&self) -> Vec<u8> {
        let bpc = self.bits.div_ceil(8);
        let mut out = Vec::with_capacity(self.n * bpc);
        for i in 0..self.n {
            let c = self.code(i);
            for b in 0..bpc {
                out.push((c[b / 8] >> ((b % 8) * 8)) as u8);
            }
        }
        out
    }

    /// Codes as ±1 `i8` (`n × bits`).
    pub fn to_signs_i8(&self) -> Vec<i8> {
        let mut out = Vec::with_capacity(self.n * self.bits);
        for i in 0..self.n {
            let c = self.code(i);
            for j in 0..self.bits {
                out.push(if c[j / 64] >> (j % 64) & 1 == 1 {
                    1
                } else {
                    -1
                });
            }
        }
        out
    }

    /// Pack the signs of a Burn tensor of relaxed codes `[n, bits]` (sgn(0) = +1). The data is
    /// read with `into_data()` (a device-to-host copy on GPU backends) and converted to `f32`.
    ///
    /// # Panics
    /// If the tensor has zero columns.
    #[cfg(feature = "burn")]
    pub fn from_tensor<B: burn::tensor::backend::Backend>(t: burn::tensor::Tensor<B, 2>) -> Self {
        let [_, bits] = t.dims();
        let v = t
            .into_data()
            .convert::<f32>()
            .into_vec::<f32>()
            .expect("f32 tensor data");
        Self::from_signs(&v, bits)
    }

    /// Number of codes.
    pub fn len(&self) -> usize {
        self.n
    }

    /// Whether there are no codes.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Code length in bits.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// `u64` words per code.
    pub fn words_per_code(&self) -> usize {
        self.words_per_code
    }

    /// Bit `j` of code `i`: `true` for +1.
    ///
    /// # Panics
    /// If `i` or `j` is out of range.
    pub fn bit(&self, i: usize, j: usize) -> bool {
        assert!(j < self.bits, "bit {j} of a {}-bit code", self.bits);
        self.code(i)[j / 64] >> (j % 64) & 1 == 1
    }

    /// The codes `range` as a new store (e.g. to split a database into chunks).
    ///
    /// # Panics
    /// If the range is out of bounds.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Self {
        let w = self.words_per_code;
        Self::from_words(
            self.words[range.start * w..range.end * w].to_vec(),
            self.bits,
        )
    }

    /// The words of code `i`.
    ///
    /// # Panics
    /// If `i` is out of range.
    pub fn code(&self, i: usize) -> &[u64] {
        &self.words[i * self.words_per_code..(i + 1) * self.words_per_code]
    }

    /// All words, row-major.
    pub fn words(&self) -> &[u64] {
        &self.words
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_zero_is_plus_one_and_round_trips() {
        let v = [1.0, -0.5, 0.0, -0.0, -1.0];
        let c = PackedCodes::from_signs(&v, 5);
        assert_eq!(c.to_signs_i8(), vec![1, -1, 1, 1, -1]);
        assert_eq!(c.words(), &[0b01101]);
    }

    #[test]
    fn multi_word_and_faiss_layout() {
        let v: Vec<f32> = (0..130)
            .map(|j| if j % 3 == 0 { 1.0 } else { -1.0 })
            .collect();
        let c = PackedCodes::from_signs(&v, 130);
        assert_eq!(c.words_per_code(), 3);
        let bytes = c.to_faiss_bytes();
        assert_eq!(bytes.len(), 17);
        assert_eq!(bytes[0], 0b0100_1001);
        assert_eq!(PackedCodes::from_faiss_bytes(&bytes, 130), c);
        let back: Vec<f32> = c.to_signs_i8().iter().map(|&b| b as f32).collect();
        assert_eq!(back, v);
    }

    #[test]
    fn i8_zero_one_codes() {
        let c = PackedCodes::from_i8(&[0, 1, 1, 0], 2, true);
        assert_eq!(c.to_signs_i8(), vec![-1, 1, 1, -1]);
    }

    #[test]
    fn bit_access_and_slices() {
        let c = PackedCodes::from_i8(&[1, -1, 0, 1, 1, -1], 3, false);
        assert!(c.bit(0, 0) && !c.bit(0, 1) && c.bit(0, 2));
        assert_eq!(c.slice(1..2).to_signs_i8(), vec![1, 1, -1]);
    }

    #[cfg(feature = "burn")]
    #[test]
    fn from_burn_tensor() {
        use burn::tensor::{Tensor, TensorData};
        type B = burn::backend::Flex;
        let device = Default::default();
        let t = Tensor::<B, 2>::from_data(
            TensorData::new(vec![0.5f32, -0.5, 0.0, -2.0, 3.0, 0.0], [2, 3]),
            &device,
        );
        let c = PackedCodes::from_tensor(t);
        assert_eq!(c.len(), 2);
        assert_eq!(c.to_signs_i8(), vec![1, -1, 1, -1, 1, 1]);
    }

    #[test]
    #[should_panic(expected = "bits beyond the code length")]
    fn stray_bits_are_rejected() {
        PackedCodes::from_words(vec![1 << 10], 8);
    }
}
