//! Codes and labels on disk: `.npy` interchange with numpy / faiss, and a native checksummed
//! format for packed codes.
//!
//! `.npy` codes: `int8` or `float32` `N × K` of ±1 (or 0/1 for `int8`; 0 means −1), or faiss-style
//! packed `uint8` `N × K/8`. Labels: `int64` / `int32` class ids `(N,)`, or multi-hot
//! `uint8` / `float32` `N × C`.

use std::io::{Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::codes::PackedCodes;
use crate::error::RetrievalError;
use crate::labels::Labels;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RetrievalError + '_ {
    move |source| RetrievalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn fmt(path: &Path, m: impl Into<String>) -> RetrievalError {
    RetrievalError::Format {
        path: path.to_path_buf(),
        message: m.into(),
    }
}

fn open_npy(
    path: &Path,
) -> Result<npyz::NpyFile<std::io::BufReader<std::fs::File>>, RetrievalError> {
    let f = std::fs::File::open(path).map_err(io(path))?;
    npyz::NpyFile::new(std::io::BufReader::new(f))
        .map_err(|e| fmt(path, format!("not a valid .npy file: {e}")))
}

fn type_str(npy: &npyz::NpyFile<impl Read>) -> String {
    match npy.dtype() {
        npyz::DType::Plain(t) => t.to_string(),
        other => format!("{other:?}"),
    }
}

/// Read codes from `.npy`.
///
/// Accepted layouts (dtype by its numpy name):
/// - `int8` (also `int16`/`int32`/`int64`) `N × K` of ±1, or of 0/1. A 0 means −1 when the file
///   holds no −1 (0/1 codes) and +1 otherwise (sgn(0) = +1, as after `np.sign` of relaxed codes).
/// - `float32`/`float64` `N × K` of ±1 or relaxed values, packed by sign with sgn(0) = +1; a
///   file with only 0 and 1 values is read as 0/1 codes (0 means −1).
/// - `uint8` `N × K/8`: faiss-style packed bits (bit `j` in byte `j/8`, LSB first), K = 8 × columns.
///
/// # Errors
/// [`RetrievalError::Io`] if the file cannot be read, [`RetrievalError::Format`] for anything
/// else (not a `.npy`, wrong rank or dtype, integer values other than −1/0/1, NaN).
pub fn read_codes_npy(path: &Path) -> Result<PackedCodes, RetrievalError> {
    let npy = open_npy(path)?;
    let shape = npy.shape().to_vec();
    if shape.len() != 2 || shape[1] == 0 {
        return Err(fmt(
            path,
            format!("codes must be a 2-D N × K array with K > 0, got shape {shape:?}"),
        ));
    }
    let cols = shape[1] as usize;
    let ts = type_str(&npy);
    let bad = |e: std::io::Error| fmt(path, format!("cannot read {ts} data: {e}"));
    let kind = ts.trim_start_matches(['<', '|', '=']).to_string();
    let ints = |v: Vec<i64>| -> Result<PackedCodes, RetrievalError> {
        if let Some((i, x)) = v.iter().enumerate().find(|(_, x)| !(-1..=1).contains(*x)) {
            return Err(fmt(
                path,
                format!(
                    "integer codes must be ±1 or 0/1, found {x} at row {}, column {}",
                    i / cols,
                    i % cols
                ),
            ));
        }
        let zero_one = !v.contains(&-1);
        let v: Vec<i8> = v.into_iter().map(|x| x as i8).collect();
        Ok(PackedCodes::from_i8(&v, cols, zero_one))
    };
    let floats = |v: Vec<f32>| -> Result<PackedCodes, RetrievalError> {
        if let Some(i) = v.iter().position(|x| x.is_nan()) {
            return Err(fmt(
                path,
                format!("NaN code value at row {}, column {}", i / cols, i % cols),
            ));
        }
        if v.iter().all(|&x| x == 0.0 || x == 1.0) {
            let v: Vec<i8> = v.into_iter().map(|x| x as i8).collect();
            return Ok(PackedCodes::from_i8(&v, cols, true));
        }
        Ok(PackedCodes::from_signs(&v, cols))
    };
    match kind.as_str() {
        "i1" => ints(
            npy.into_vec::<i8>()
                .map_err(bad)?
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        "i2" => ints(
            npy.into_vec::<i16>()
                .map_err(bad)?
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        "i4" => ints(
            npy.into_vec::<i32>()
                .map_err(bad)?
                .into_iter()
                .map(i64::from)
                .collect(),
        ),
        "i8" => ints(npy.into_vec::<i64>().map_err(bad)?),
        "f4" => floats(npy.into_vec::<f32>().map_err(bad)?),
        "f8" => floats(
            npy.into_vec::<f64>()
                .map_err(bad)?
                .into_iter()
                .map(|x| x as f32)
                .collect(),
        ),
        "u1" => {
            let v: Vec<u8> = npy.into_vec().map_err(bad)?;
            Ok(PackedCodes::from_faiss_bytes(&v, cols * 8))
        }
        other => Err(fmt(
            path,
            format!(
                "unsupported code dtype {other}: use int8/float32 ±1 (N×K) or faiss-packed uint8 (N×K/8)"
            ),
        )),
    }
}

/// Read codes from a `.npy` file (any layout of [`read_codes_npy`]) or, for any other
/// extension, a native file written by [`PackedCodes::save`]; with `expected_bits`, check the
/// code length.
///
/// # Errors
/// As [`read_codes_npy`] and [`PackedCodes::load`], and [`RetrievalError::BitsMismatch`].
pub fn read_codes(
    path: &Path,
    expected_bits: Option<usize>,
) -> Result<PackedCodes, RetrievalError> {
    let codes = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("npy"))
    {
        read_codes_npy(path)?
    } else {
        PackedCodes::load(path)?
    };
    match expected_bits {
        Some(b) if b != codes.bits() => Err(RetrievalError::BitsMismatch {
            path: path.to_path_buf(),
            found: codes.bits(),
            expected: b,
        }),
        _ => Ok(codes),
    }
}

/// Write codes as `int8` ±1 `N × K`.
///
/// # Errors
/// [`RetrievalError::Io`] if the file cannot be written.
pub fn write_codes_npy(path: &Path, codes: &PackedCodes) -> Result<(), RetrievalError> {
    write_npy(
        path,
        &[codes.len() as u64, codes.bits() as u64],
        codes.to_signs_i8(),
    )
}

/// Write codes faiss-style: `uint8` `N × ⌈K/8⌉`, bit `j` in byte `j/8`, LSB first (readable by
/// [`read_codes_npy`] only when K is a multiple of 8).
///
/// # Errors
/// [`RetrievalError::Io`] if the file cannot be written.
pub fn write_codes_npy_packed(path: &Path, codes: &PackedCodes) -> Result<(), RetrievalError> {
    write_npy(
        path,
        &[codes.len() as u64, codes.bits().div_ceil(8) as u64],
        codes.to_faiss_bytes(),
    )
}

/// Read labels from `.npy`: class ids `(N,)` (`int64`/`int32`) or multi-hot `N × C`
/// (`uint8`/`float32`; any non-zero is a set label).
///
/// # Errors
/// [`RetrievalError::Io`] if the file cannot be read, [`RetrievalError::Format`] for other
/// layouts and negative class ids.
pub fn read_labels_npy(path: &Path) -> Result<Labels, RetrievalError> {
    let npy = open_npy(path)?;
    let shape = npy.shape().to_vec();
    let ts = type_str(&npy);
    let bad = |e: std::io::Error| fmt(path, format!("cannot read {ts} data: {e}"));
    let kind = ts.trim_start_matches(['<', '|', '=']).to_string();
    match (shape.len(), kind.as_str()) {
        (1, "i8") | (1, "i4") => {
            let v: Vec<i64> = if kind == "i8" {
                npy.into_vec::<i64>().map_err(bad)?
            } else {
                npy.into_vec::<i32>()
                    .map_err(bad)?
                    .into_iter()
                    .map(i64::from)
                    .collect()
            };
            if let Some((i, x)) = v
                .iter()
                .enumerate()
                .find(|(_, x)| !(0..=u32::MAX as i64).contains(x))
            {
                return Err(fmt(
                    path,
                    format!("label {x} of item {i} is not a class id"),
                ));
            }
            Ok(Labels::Single(v.into_iter().map(|x| x as u32).collect()))
        }
        (2, "u1") | (2, "f4") => {
            let c = shape[1] as usize;
            let dense: Vec<u8> = if kind == "u1" {
                npy.into_vec::<u8>().map_err(bad)?
            } else {
                npy.into_vec::<f32>()
                    .map_err(bad)?
                    .into_iter()
                    .map(|x| (x != 0.0) as u8)
                    .collect()
            };
            Ok(Labels::from_multi_hot(&dense, c.max(1)))
        }
        _ => Err(fmt(
            path,
            format!(
                "unsupported labels {kind} with shape {shape:?}: use int64/int32 (N,) or uint8/float32 (N×C)"
            ),
        )),
    }
}

/// Write an `int64` array of shape `shape`.
///
/// # Errors
/// [`RetrievalError::Io`] if the file cannot be written.
pub fn write_i64_npy(path: &Path, shape: &[u64], data: &[i64]) -> Result<(), RetrievalError> {
    write_npy(path, shape, data.iter().copied())
}

/// Write an `int32` array of shape `shape`.
///
/// # Errors
/// [`RetrievalError::Io`] if the file cannot be written.
pub fn write_i32_npy(path: &Path, shape: &[u64], data: &[i32]) -> Result<(), RetrievalError> {
    write_npy(path, shape, data.iter().copied())
}

/// Write an n-d `.npy` array of `T`'s default dtype.
///
/// # Errors
/// [`RetrievalError::Io`] if the file cannot be written.
pub fn write_npy<T: npyz::AutoSerialize>(
    path: &Path,
    shape: &[u64],
    data: impl IntoIterator<Item = T>,
) -> Result<(), RetrievalError> {
    use npyz::WriterBuilder;
    let file = std::fs::File::create(path).map_err(io(path))?;
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(shape)
        .writer(std::io::BufWriter::new(file))
        .begin_nd()
        .map_err(io(path))?;
    w.extend(data).map_err(io(path))?;
    w.finish().map_err(io(path))
}

const MAGIC: &[u8; 8] = b"LTHCODE\0";
const VERSION: u32 = 1;

impl PackedCodes {
    /// Save in the native format: the magic `LTHCODE\0`, the format version (u32), `n` and
    /// `bits` (u64), the words (all little-endian) and a SHA-256 of everything before it.
    /// Written to a temporary file beside `path`, then renamed.
    ///
    /// # Errors
    /// [`RetrievalError::Io`] if the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), RetrievalError> {
        let mut buf = Vec::with_capacity(32 + self.words().len() * 8 + 32);
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&VERSION.to_le_bytes());
        buf.extend_from_slice(&(self.len() as u64).to_le_bytes());
        buf.extend_from_slice(&(self.bits() as u64).to_le_bytes());
        for w in self.words() {
            buf.extend_from_slice(&w.to_le_bytes());
        }
        let digest = Sha256::digest(&buf);
        buf.extend_from_slice(&digest);
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io(&tmp))?;
        f.write_all(&buf).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        std::fs::rename(&tmp, path).map_err(io(path))
    }

    /// Load a file written by [`PackedCodes::save`], verifying the header and the checksum.
    ///
    /// # Errors
    /// [`RetrievalError::Io`] if the file cannot be read; [`RetrievalError::Format`] for a file
    /// that is not a code file or whose header disagrees with its size;
    /// [`RetrievalError::Version`] for another format version; [`RetrievalError::Checksum`]
    /// for a corrupt file.
    pub fn load(path: &Path) -> Result<Self, RetrievalError> {
        let buf = std::fs::read(path).map_err(io(path))?;
        if buf.len() < 28 + 32 || &buf[..8] != MAGIC {
            return Err(fmt(
                path,
                "not an lthnet code file (bad magic or too short)",
            ));
        }
        let version = u32::from_le_bytes(buf[8..12].try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(RetrievalError::Version {
                path: path.to_path_buf(),
                found: version,
                supported: VERSION,
            });
        }
        let (body, digest) = buf.split_at(buf.len() - 32);
        let computed = Sha256::digest(body);
        if computed.as_slice() != digest {
            let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
            return Err(RetrievalError::Checksum {
                path: path.to_path_buf(),
                stored: hex(digest),
                computed: hex(&computed),
            });
        }
        let n = u64::from_le_bytes(body[12..20].try_into().expect("8 bytes")) as usize;
        let bits = u64::from_le_bytes(body[20..28].try_into().expect("8 bytes")) as usize;
        let words: Vec<u64> = body[28..]
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        let stray = bits > 0
            && !bits.is_multiple_of(64)
            && words
                .chunks_exact(bits.div_ceil(64))
                .any(|c| c[c.len() - 1] >> (bits % 64) != 0);
        if stray {
            return Err(fmt(
                path,
                format!("bits beyond the {bits}-bit code length are set"),
            ));
        }
        if bits == 0 || words.len() != n * bits.div_ceil(64) {
            return Err(fmt(
                path,
                format!(
                    "header says {n} codes of {bits} bits but holds {} words",
                    words.len()
                ),
            ));
        }
        Ok(PackedCodes::from_words(words, bits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_round_trip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.lthcodes");
        let c = PackedCodes::from_signs(&[1.0, -1.0, 1.0, 1.0, -1.0, -1.0], 3);
        c.save(&p).unwrap();
        assert_eq!(PackedCodes::load(&p).unwrap(), c);
        assert_eq!(read_codes(&p, Some(3)).unwrap(), c);
        assert!(matches!(
            read_codes(&p, Some(64)),
            Err(RetrievalError::BitsMismatch {
                found: 3,
                expected: 64,
                ..
            })
        ));
        let good = std::fs::read(&p).unwrap();
        let mut b = good.clone();
        b[30] ^= 1;
        std::fs::write(&p, &b).unwrap();
        let e = PackedCodes::load(&p).unwrap_err();
        assert!(matches!(e, RetrievalError::Checksum { .. }), "{e}");
        assert!(e.to_string().contains("c.lthcodes"));
        let mut b = good.clone();
        b[8] = 9;
        std::fs::write(&p, &b).unwrap();
        assert!(matches!(
            PackedCodes::load(&p),
            Err(RetrievalError::Version {
                found: 9,
                supported: 1,
                ..
            })
        ));
        std::fs::write(&p, &good[..good.len() - 5]).unwrap();
        assert!(PackedCodes::load(&p).is_err());
        std::fs::write(&p, b"LTHCODE").unwrap();
        assert!(
            PackedCodes::load(&p)
                .unwrap_err()
                .to_string()
                .contains("magic")
        );
        assert!(matches!(
            PackedCodes::load(&dir.path().join("missing")),
            Err(RetrievalError::Io { .. })
        ));
    }

    #[test]
    fn npy_code_layouts() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.npy");
        let signs: Vec<f32> = (0..24)
            .map(|j| if j % 3 == 1 { 1.0 } else { -1.0 })
            .collect();
        let c = PackedCodes::from_signs(&signs, 8);
        write_codes_npy(&p, &c).unwrap();
        assert_eq!(read_codes_npy(&p).unwrap(), c);
        write_codes_npy_packed(&p, &c).unwrap();
        assert_eq!(read_codes_npy(&p).unwrap(), c);
        write_npy(&p, &[3, 8], signs.iter().copied()).unwrap();
        assert_eq!(read_codes(&p, Some(8)).unwrap(), c);
        // Relaxed float codes: sign with sgn(0) = +1.
        write_npy(&p, &[1, 3], [0.2f32, -0.1, 0.0]).unwrap();
        assert_eq!(read_codes_npy(&p).unwrap().to_signs_i8(), vec![1, -1, 1]);
        // 0/1 codes, as int8 and float32: 0 means −1.
        write_npy(&p, &[1, 3], [0i8, 1, 0]).unwrap();
        assert_eq!(read_codes_npy(&p).unwrap().to_signs_i8(), vec![-1, 1, -1]);
        write_npy(&p, &[1, 3], [0f32, 1.0, 0.0]).unwrap();
        assert_eq!(read_codes_npy(&p).unwrap().to_signs_i8(), vec![-1, 1, -1]);
        // np.sign output: −1/0/+1 with 0 → +1.
        write_npy(&p, &[1, 3], [-1i64, 0, 1]).unwrap();
        assert_eq!(read_codes_npy(&p).unwrap().to_signs_i8(), vec![-1, 1, 1]);
        write_npy(&p, &[1, 2], [1i8, 5]).unwrap();
        let e = read_codes_npy(&p).unwrap_err().to_string();
        assert!(e.contains('5') && e.contains("column 1"), "{e}");
        write_npy(&p, &[4], [1i8, 1, 1, 1]).unwrap();
        assert!(read_codes_npy(&p).unwrap_err().to_string().contains("[4]"));
        write_npy(&p, &[1, 2], [1u16, 1]).unwrap();
        assert!(read_codes_npy(&p).unwrap_err().to_string().contains("u2"));
    }

    #[test]
    fn npy_labels() {
        let dir = tempfile::tempdir().unwrap();
        let l = dir.path().join("l.npy");
        write_i64_npy(&l, &[3], &[0, 2, 1]).unwrap();
        assert_eq!(read_labels_npy(&l).unwrap(), Labels::Single(vec![0, 2, 1]));
        write_i32_npy(&l, &[2], &[4, 1]).unwrap();
        assert_eq!(read_labels_npy(&l).unwrap(), Labels::Single(vec![4, 1]));
        write_npy(&l, &[2, 3], [1u8, 0, 1, 0, 1, 0]).unwrap();
        assert_eq!(
            read_labels_npy(&l).unwrap(),
            Labels::from_multi_hot(&[1, 0, 1, 0, 1, 0], 3)
        );
        write_npy(&l, &[1, 2], [0.0f32, 1.0]).unwrap();
        assert_eq!(
            read_labels_npy(&l).unwrap(),
            Labels::from_multi_hot(&[0, 1], 2)
        );
        write_i64_npy(&l, &[1], &[-4]).unwrap();
        assert!(read_labels_npy(&l).unwrap_err().to_string().contains("-4"));
        std::fs::write(&l, b"garbage").unwrap();
        let e = read_labels_npy(&l).unwrap_err().to_string();
        assert!(e.contains(".npy") && e.contains("l.npy"), "{e}");
    }
}
