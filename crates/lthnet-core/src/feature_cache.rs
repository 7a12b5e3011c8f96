//! Frozen-backbone mode: backbone features extracted once and cached on disk.
//!
//! A cache file holds an `n × d` `f32` matrix and the key it was made for (backbone, input
//! resolution, a checksum of the input data). Format (little-endian):
//!
//! ```text
//! b"LTHFEAT\0"  u32 version (=1)  u32 json_len  json (CacheKey + n + d)
//! n·d f32 values
//! 32-byte SHA-256 of everything before it
//! ```
//!
//! A truncated, corrupt or mismatched file is an error (and [`load_or_extract`] rebuilds it).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::CoreError;

const MAGIC: &[u8; 8] = b"LTHFEAT\0";
const VERSION: u32 = 1;

/// What a feature cache was computed from. Two caches are interchangeable iff their keys are equal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheKey {
    /// Backbone identifier, e.g. `"mobilenet_v2_1.0_224_imagenet"`, including its weights.
    pub backbone: String,
    /// Input resolution fed to the backbone (pixels per side).
    pub resolution: usize,
    /// Hex SHA-256 of the input data (see [`data_checksum`]).
    pub data_checksum: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    key: CacheKey,
    n: usize,
    d: usize,
}

/// Hex SHA-256 of a byte slice (use it on the raw images and labels to build a [`CacheKey`]).
pub fn data_checksum(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A cached `n × d` feature matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureCache {
    /// What the features were computed from.
    pub key: CacheKey,
    /// Number of items.
    pub n: usize,
    /// Feature dimension.
    pub d: usize,
    /// Row-major features.
    pub features: Vec<f32>,
}

fn malformed(path: &Path, message: impl Into<String>) -> CoreError {
    CoreError::Malformed {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

impl FeatureCache {
    /// Write the cache atomically (temporary file + rename).
    pub fn save(&self, path: &Path) -> Result<(), CoreError> {
        assert_eq!(
            self.features.len(),
            self.n * self.d,
            "feature matrix size mismatch"
        );
        let io = |source| CoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let header = serde_json::to_vec(&Header {
            key: self.key.clone(),
            n: self.n,
            d: self.d,
        })
        .expect("header serialises");
        let mut buf = Vec::with_capacity(16 + header.len() + self.features.len() * 4 + 32);
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&VERSION.to_le_bytes());
        buf.extend_from_slice(&(header.len() as u32).to_le_bytes());
        buf.extend_from_slice(&header);
        for v in &self.features {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        let digest = Sha256::digest(&buf);
        buf.extend_from_slice(&digest);
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&buf).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(())
    }

    /// Read a cache file, verifying magic, version, sizes and checksum.
    pub fn load(path: &Path) -> Result<Self, CoreError> {
        let mut buf = Vec::new();
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut buf))
            .map_err(|source| CoreError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        if buf.len() < 16 + 32 || &buf[..8] != MAGIC {
            return Err(malformed(
                path,
                "not an lthnet feature cache (bad magic or too short)",
            ));
        }
        let version = u32::from_le_bytes(buf[8..12].try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(malformed(
                path,
                format!("feature cache version {version}, this build reads version {VERSION}"),
            ));
        }
        let (body, digest) = buf.split_at(buf.len() - 32);
        if Sha256::digest(body).as_slice() != digest {
            return Err(malformed(
                path,
                "checksum mismatch (corrupt or truncated file)",
            ));
        }
        let json_len = u32::from_le_bytes(body[12..16].try_into().expect("4 bytes")) as usize;
        let json = body
            .get(16..16 + json_len)
            .ok_or_else(|| malformed(path, "header length beyond end of file"))?;
        let header: Header = serde_json::from_slice(json)
            .map_err(|e| malformed(path, format!("bad header: {e}")))?;
        let data = &body[16 + json_len..];
        let expected = header
            .n
            .checked_mul(header.d)
            .and_then(|x| x.checked_mul(4));
        if expected != Some(data.len()) {
            return Err(malformed(
                path,
                format!(
                    "header says {} × {} features but the file holds {} bytes of data",
                    header.n,
                    header.d,
                    data.len()
                ),
            ));
        }
        let features = data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        Ok(Self {
            key: header.key,
            n: header.n,
            d: header.d,
            features,
        })
    }
}

/// Load the cache at `path` if it exists and matches `key`; otherwise run `extract` (which
/// returns `(features, d)`), save the result and return it. A corrupt or stale cache is
/// rebuilt, with a note on stderr.
pub fn load_or_extract(
    path: &Path,
    key: &CacheKey,
    extract: impl FnOnce() -> Result<(Vec<f32>, usize), CoreError>,
) -> Result<FeatureCache, CoreError> {
    if path.exists() {
        match FeatureCache::load(path) {
            Ok(cache) if &cache.key == key => return Ok(cache),
            Ok(cache) => eprintln!(
                "feature cache {} was made for {:?}, need {:?}: rebuilding",
                path.display(),
                cache.key,
                key
            ),
            Err(e) => eprintln!("ignoring unusable feature cache: {e}"),
        }
    }
    let (features, d) = extract()?;
    if d == 0 || features.len() % d != 0 {
        return Err(CoreError::Config(format!(
            "extractor returned {} values, not a multiple of d = {d}",
            features.len()
        )));
    }
    let cache = FeatureCache {
        key: key.clone(),
        n: features.len() / d,
        d,
        features,
    };
    cache.save(path)?;
    Ok(cache)
}

/// The default cache directory: `$LTHNET_CACHE_DIR`, else `$XDG_CACHE_HOME/lthnet`, else
/// `~/.cache/lthnet`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LTHNET_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("lthnet");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| ".".into());
    home.join(".cache").join("lthnet")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CacheKey {
        CacheKey {
            backbone: "test".into(),
            resolution: 8,
            data_checksum: data_checksum(b"abc"),
        }
    }

    #[test]
    fn round_trip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.lthfeat");
        let cache = FeatureCache {
            key: key(),
            n: 3,
            d: 2,
            features: vec![1.0, -2.0, 3.5, 0.0, 1e-3, 7.0],
        };
        cache.save(&path).unwrap();
        assert_eq!(FeatureCache::load(&path).unwrap(), cache);

        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let err = FeatureCache::load(&path).unwrap_err().to_string();
        assert!(err.contains("checksum"), "{err}");

        std::fs::write(&path, &bytes[..10]).unwrap();
        assert!(
            FeatureCache::load(&path)
                .unwrap_err()
                .to_string()
                .contains("magic")
        );
    }

    #[test]
    fn load_or_extract_rebuilds_on_key_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.lthfeat");
        let mut calls = 0;
        let a = load_or_extract(&path, &key(), || {
            calls += 1;
            Ok((vec![1.0; 4], 2))
        })
        .unwrap();
        assert_eq!(a.n, 2);
        let b = load_or_extract(&path, &key(), || panic!("must hit the cache")).unwrap();
        assert_eq!(a, b);
        let mut other = key();
        other.resolution = 16;
        let c = load_or_extract(&path, &other, || Ok((vec![2.0; 6], 3))).unwrap();
        assert_eq!((c.n, c.d), (2, 3));
        assert_eq!(calls, 1);
    }
}
