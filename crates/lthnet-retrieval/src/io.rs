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

/// Read codes from `.npy` (see the module docs for the accepted layouts).
pub fn read_codes_npy(path: &Path) -> Result<PackedCodes, RetrievalError> {
    let npy = open_npy(path)?;
    let shape = npy.shape().to_vec();
    if shape.len() != 2 || shape[1] == 0 {
        return Err(fmt(
            path,
            format!("codes must be a 2-D N × K array, got shape {shape:?}"),
        ));
    }
    let cols = shape[1] as usize;
    let ts = type_str(&npy);
    let bad = |e: std::io::Error| fmt(path, format!("cannot read {ts} data: {e}"));
    match ts.trim_start_matches(['<', '|', '=']) {
        "i1" => {
            let v: Vec<i8> = npy.into_vec().map_err(bad)?;
            if let Some(x) = v.iter().find(|&&x| !matches!(x, -1..=1)) {
                return Err(fmt(
                    path,
                    format!("int8 codes must be ±1 or 0/1, found {x}"),
                ));
            }
            Ok(PackedCodes::from_i8(&v, cols, true))
        }
        "f4" => {
            let v: Vec<f32> = npy.into_vec().map_err(bad)?;
            Ok(PackedCodes::from_signs(&v, cols))
        }
        "u1" => {
            let v: Vec<u8> = npy.into_vec().map_err(bad)?;
            Ok(PackedCodes::from_faiss_bytes(&v, cols * 8))
        }
        other => Err(fmt(
            path,
            format!(
                "unsupported code dtype {other}: use int8/float32 ±1 (N×K) or packed uint8 (N×K/8)"
            ),
        )),
    }
}

/// Write codes as `int8` ±1 `N × K`.
pub fn write_codes_npy(path: &Path, codes: &PackedCodes) -> Result<(), RetrievalError> {
    write_npy(
        path,
        &[codes.len() as u64, codes.bits() as u64],
        codes.to_signs_i8(),
    )
}

/// Read labels from `.npy`: class ids `(N,)` (`int64`/`int32`) or multi-hot `N × C`
/// (`uint8`/`float32`).
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
pub fn write_i64_npy(path: &Path, shape: &[u64], data: &[i64]) -> Result<(), RetrievalError> {
    write_npy(path, shape, data.iter().copied())
}

/// Write an `int32` array of shape `shape`.
pub fn write_i32_npy(path: &Path, shape: &[u64], data: &[i32]) -> Result<(), RetrievalError> {
    write_npy(path, shape, data.iter().copied())
}

/// Write an n-d `.npy` array of `T`'s default dtype.
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
    /// Save in the native format: magic, version, `n`, `bits`, the words (little-endian) and a
    /// SHA-256 of everything before it. Written to a temporary file and renamed.
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

    /// Load a file written by [`PackedCodes::save`], verifying the checksum.
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
            return Err(fmt(
                path,
                format!("code file version {version}, this build reads {VERSION}"),
            ));
        }
        let (body, digest) = buf.split_at(buf.len() - 32);
        if Sha256::digest(body).as_slice() != digest {
            return Err(fmt(path, "checksum mismatch (corrupt or truncated file)"));
        }
        let n = u64::from_le_bytes(body[12..20].try_into().expect("8 bytes")) as usize;
        let bits = u64::from_le_bytes(body[20..28].try_into().expect("8 bytes")) as usize;
        let words: Vec<u64> = body[28..]
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
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
        let mut b = std::fs::read(&p).unwrap();
        b[30] ^= 1;
        std::fs::write(&p, &b).unwrap();
        assert!(
            PackedCodes::load(&p)
                .unwrap_err()
                .to_string()
                .contains("checksum")
        );
    }

    #[test]
    fn npy_codes_and_labels() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.npy");
        let c = PackedCodes::from_signs(
            &[
                1.0, -1.0, 1.0, 1.0, -1.0, -1.0, 1.0, 1.0, 1.0, -1.0, 1.0, 1.0, -1.0, -1.0, 1.0,
                1.0,
            ],
            8,
        );
        write_codes_npy(&p, &c).unwrap();
        assert_eq!(read_codes_npy(&p).unwrap(), c);
        write_npy(&p, &[2, 1], c.to_faiss_bytes()).unwrap();
        assert_eq!(read_codes_npy(&p).unwrap(), c);
        let l = dir.path().join("l.npy");
        write_i64_npy(&l, &[3], &[0, 2, 1]).unwrap();
        assert_eq!(read_labels_npy(&l).unwrap(), Labels::Single(vec![0, 2, 1]));
        write_i64_npy(&l, &[1], &[-4]).unwrap();
        assert!(read_labels_npy(&l).unwrap_err().to_string().contains("-4"));
        std::fs::write(&l, b"garbage").unwrap();
        assert!(
            read_labels_npy(&l)
                .unwrap_err()
                .to_string()
                .contains(".npy")
        );
    }
}
