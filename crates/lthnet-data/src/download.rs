//! Downloading the official CIFAR archives, with checksum verification.
//!
//! [`download`] streams a URL to `dest.part` with an indicatif progress bar, resumes an
//! interrupted `.part` with an HTTP `Range` request (or starts over cleanly when the server
//! ignores it or the result is corrupt), verifies the checksum and only then renames the file
//! into place. Without a network it fails fast (short connect timeout) with a message saying
//! where to put the file by hand.
//!
//! [`download_cifar`] does that for one of the four official archives (with the MD5s published on
//! <https://www.cs.toronto.edu/~kriz/cifar.html>) and extracts it, so that
//! [`crate::cifar::read_cifar10`] / [`crate::cifar::read_cifar100`] find the files.
//!
//! ```no_run
//! use lthnet_data::cifar::{CifarSplit, read_cifar100};
//! use lthnet_data::download::{CifarArchive, DownloadOptions, download_cifar};
//! # fn main() -> Result<(), lthnet_data::DataError> {
//! let dir = std::path::Path::new("data");
//! download_cifar(CifarArchive::Cifar100Binary, dir, &DownloadOptions::default())?;
//! let train = read_cifar100(dir, CifarSplit::Train)?;
//! # Ok(()) }
//! ```

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::Digest as _;

use crate::error::{DataError, io_err};

/// A published digest of a file (lower- or upper-case hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checksum {
    /// MD5 (what the CIFAR page publishes).
    Md5(String),
    /// SHA-256.
    Sha256(String),
}

/// An incremental hasher for either digest.
enum Hasher {
    Md5(md5::Context),
    Sha256(sha2::Sha256),
}

impl Hasher {
    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Md5(c) => c.consume(data),
            Hasher::Sha256(h) => h.update(data),
        }
    }

    fn finish(self) -> String {
        match self {
            Hasher::Md5(c) => format!("{:x}", c.finalize()),
            Hasher::Sha256(h) => hex::encode(h.finalize()),
        }
    }
}

impl Checksum {
    /// The algorithm's name.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Checksum::Md5(_) => "MD5",
            Checksum::Sha256(_) => "SHA-256",
        }
    }

    /// The expected digest, lower-case hex.
    pub fn expected(&self) -> String {
        match self {
            Checksum::Md5(h) | Checksum::Sha256(h) => h.to_ascii_lowercase(),
        }
    }

    fn hasher(&self) -> Hasher {
        match self {
            Checksum::Md5(_) => Hasher::Md5(md5::Context::new()),
            Checksum::Sha256(_) => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    /// The digest of `data`, lower-case hex, with this checksum's algorithm.
    pub fn digest(&self, data: &[u8]) -> String {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }

    /// Check a file against the digest.
    ///
    /// # Errors
    /// [`DataError::Io`] if the file cannot be read, [`DataError::Checksum`] on a mismatch.
    pub fn verify(&self, path: &Path) -> Result<(), DataError> {
        let mut f = std::fs::File::open(path).map_err(io_err(path))?;
        let mut h = self.hasher();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = f.read(&mut buf).map_err(io_err(path))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
        let actual = h.finish();
        if actual == self.expected() {
            Ok(())
        } else {
            Err(DataError::Checksum {
                path: path.to_path_buf(),
                algorithm: self.algorithm(),
                expected: self.expected(),
                actual,
            })
        }
    }
}

/// The official CIFAR archives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CifarArchive {
    /// `cifar-10-binary.tar.gz` (extracts to `cifar-10-batches-bin/`).
    Cifar10Binary,
    /// `cifar-100-binary.tar.gz` (extracts to `cifar-100-binary/`).
    Cifar100Binary,
    /// `cifar-10-python.tar.gz` (extracts to `cifar-10-batches-py/`).
    Cifar10Python,
    /// `cifar-100-python.tar.gz` (extracts to `cifar-100-python/`).
    Cifar100Python,
}

/// Where the CIFAR archives are published.
pub const CIFAR_BASE_URL: &str = "https://www.cs.toronto.edu/~kriz/";

impl CifarArchive {
    /// The archive's file name.
    pub fn file_name(self) -> &'static str {
        match self {
            CifarArchive::Cifar10Binary => "cifar-10-binary.tar.gz",
            CifarArchive::Cifar100Binary => "cifar-100-binary.tar.gz",
            CifarArchive::Cifar10Python => "cifar-10-python.tar.gz",
            CifarArchive::Cifar100Python => "cifar-100-python.tar.gz",
        }
    }

    /// The folder the archive extracts to.
    pub fn extracted_dir(self) -> &'static str {
        match self {
            CifarArchive::Cifar10Binary => "cifar-10-batches-bin",
            CifarArchive::Cifar100Binary => "cifar-100-binary",
            CifarArchive::Cifar10Python => "cifar-10-batches-py",
            CifarArchive::Cifar100Python => "cifar-100-python",
        }
    }

    /// The official URL.
    pub fn url(self) -> String {
        format!("{CIFAR_BASE_URL}{}", self.file_name())
    }

    /// The MD5 published on the CIFAR page.
    pub fn checksum(self) -> Checksum {
        Checksum::Md5(
            match self {
                CifarArchive::Cifar10Binary => "c32a1d4ab5d03f1284b67883e8d87530",
                CifarArchive::Cifar100Binary => "03b5dce01913d631647c71ecec9e9cb8",
                CifarArchive::Cifar10Python => "c58f30108f718f92721af3b95e74349a",
                CifarArchive::Cifar100Python => "eb9058c3a382ffc7106e4002c42a8d85",
            }
            .to_string(),
        )
    }
}

/// Download settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadOptions {
    /// TCP connect timeout (short, so that an offline machine fails fast).
    pub connect_timeout: Duration,
    /// Timeout of each read from the connection.
    pub read_timeout: Duration,
    /// Further attempts after a broken transfer or a corrupt result.
    pub retries: usize,
    /// Show an indicatif progress bar on stderr.
    pub progress: bool,
    /// Base URL to fetch CIFAR archives from instead of [`CIFAR_BASE_URL`] (a mirror).
    pub base_url: Option<String>,
}

impl Default for DownloadOptions {
    /// 10 s connect timeout, 60 s read timeout, 3 retries, progress bar on, official site.
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            retries: 3,
            progress: true,
            base_url: None,
        }
    }
}

fn part_path(dest: &Path) -> PathBuf {
    let mut p = dest.as_os_str().to_owned();
    p.push(".part");
    PathBuf::from(p)
}

/// Outcome of one attempt.
enum Attempt {
    Done,
    /// Worth retrying (broken transfer): the message.
    Retry(String),
}

fn manual_hint(url: &str, dest: &Path, checksum: Option<&Checksum>) -> String {
    let sum = checksum
        .map(|c| format!(" ({} {})", c.algorithm(), c.expected()))
        .unwrap_or_default();
    format!(
        "if this machine is offline, download {url} elsewhere and put it at {}{sum}",
        dest.display()
    )
}

fn attempt(
    agent: &ureq::Agent,
    url: &str,
    part: &Path,
    options: &DownloadOptions,
    hint: &str,
) -> Result<Attempt, DataError> {
    let fail = |message: String| DataError::Download {
        url: url.to_string(),
        message,
    };
    let offset = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let mut req = agent.get(url);
    if offset > 0 {
        req = req.set("Range", &format!("bytes={offset}-"));
    }
    let resp = match req.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(416, _)) if offset > 0 => {
            // The part already holds the whole file (or more): let the checksum decide.
            return Ok(Attempt::Done);
        }
        Err(ureq::Error::Status(code, r)) => {
            return Err(fail(format!(
                "the server answered HTTP {code} {}; {hint}",
                r.status_text()
            )));
        }
        Err(ureq::Error::Transport(t)) => {
            return Err(fail(format!("cannot connect ({t}); {hint}")));
        }
    };
    let (append, start) = if resp.status() == 206 && offset > 0 {
        (true, offset)
    } else {
        (false, 0)
    };
    let len: Option<u64> = resp
        .header("Content-Length")
        .and_then(|v| v.trim().parse().ok());
    let file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(part)
        .map_err(io_err(part))?;
    let mut out = std::io::BufWriter::new(file);
    let bar = if options.progress {
        let b = indicatif::ProgressBar::new(len.map_or(0, |l| l + start));
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{msg} {bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        ) {
            b.set_style(style);
        }
        b.set_message(url.rsplit('/').next().unwrap_or(url).to_string());
        b.set_position(start);
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut reader = resp.into_reader();
    let mut buf = vec![0u8; 1 << 16];
    let mut got = 0u64;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                out.write_all(&buf[..n]).map_err(io_err(part))?;
                got += n as u64;
                bar.inc(n as u64);
            }
            Err(e) => {
                out.flush().map_err(io_err(part))?;
                bar.abandon();
                return Ok(Attempt::Retry(format!(
                    "transfer broke after {} bytes: {e}",
                    start + got
                )));
            }
        }
    }
    out.flush().map_err(io_err(part))?;
    bar.finish();
    if let Some(l) = len
        && got < l
    {
        return Ok(Attempt::Retry(format!(
            "transfer ended after {got} of {l} bytes"
        )));
    }
    Ok(Attempt::Done)
}

/// Download `url` to `dest`: stream to `dest.part` (resuming an existing `.part` with an HTTP
/// `Range` request), verify `checksum`, then rename into place. If `dest` already exists and
/// matches the checksum, nothing is downloaded. A corrupt result is deleted and downloaded again
/// from scratch, up to `options.retries` more times.
///
/// # Errors
/// [`DataError::Download`] when the server cannot be reached (fast, with a message saying where
/// to put the file by hand) or answers with an error status, or when every attempt broke;
/// [`DataError::Checksum`] when the result is still corrupt after the retries;
/// [`DataError::Io`] for local file errors.
pub fn download(
    url: &str,
    dest: &Path,
    checksum: Option<&Checksum>,
    options: &DownloadOptions,
) -> Result<PathBuf, DataError> {
    if dest.is_file() {
        match checksum {
            Some(c) if c.verify(dest).is_ok() => return Ok(dest.to_path_buf()),
            None => return Ok(dest.to_path_buf()),
            Some(_) => {}
        }
    }
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    }
    let part = part_path(dest);
    let hint = manual_hint(url, dest, checksum);
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(options.connect_timeout)
        .timeout_read(options.read_timeout)
        .build();
    let mut last = String::new();
    for _ in 0..=options.retries {
        match attempt(&agent, url, &part, options, &hint)? {
            Attempt::Retry(m) => {
                last = m;
                continue;
            }
            Attempt::Done => {}
        }
        match checksum.map(|c| c.verify(&part)) {
            Some(Err(e @ DataError::Checksum { .. })) => {
                // Clean retry: a resumed or plain transfer produced a wrong file.
                std::fs::remove_file(&part).map_err(io_err(&part))?;
                last = e.to_string();
                if options.retries == 0 {
                    return Err(e);
                }
                continue;
            }
            Some(Err(e)) => return Err(e),
            Some(Ok(())) | None => {}
        }
        std::fs::rename(&part, dest).map_err(io_err(dest))?;
        return Ok(dest.to_path_buf());
    }
    if let Some(c) = checksum
        && last.contains("checksum")
    {
        return Err(DataError::Checksum {
            path: dest.to_path_buf(),
            algorithm: c.algorithm(),
            expected: c.expected(),
            actual: format!("wrong after {} attempts ({last})", options.retries + 1),
        });
    }
    Err(DataError::Download {
        url: url.to_string(),
        message: format!(
            "gave up after {} attempts ({last}); the partial file {} is kept for resuming; {hint}",
            options.retries + 1,
            part.display()
        ),
    })
}

/// Extract a `.tar.gz` into `dir` (entries with absolute paths or `..` are refused by `tar`).
///
/// # Errors
/// [`DataError::BadFormat`] if the archive is corrupt, [`DataError::Io`] for local errors.
pub fn extract_tar_gz(archive: &Path, dir: &Path) -> Result<(), DataError> {
    let f = std::fs::File::open(archive).map_err(io_err(archive))?;
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let gz = flate2::read::GzDecoder::new(std::io::BufReader::new(f));
    tar::Archive::new(gz)
        .unpack(dir)
        .map_err(|e| DataError::BadFormat {
            path: archive.to_path_buf(),
            message: format!("cannot extract into {}: {e}", dir.display()),
        })
}

/// Download (unless already there and verified) and extract an official CIFAR archive into
/// `dir`. Returns the extracted folder (`dir/cifar-100-binary`, …), which the CIFAR readers
/// also find when given `dir`. If the extracted folder already exists, nothing is done.
///
/// # Errors
/// As [`download`] and [`extract_tar_gz`].
pub fn download_cifar(
    archive: CifarArchive,
    dir: &Path,
    options: &DownloadOptions,
) -> Result<PathBuf, DataError> {
    let out = dir.join(archive.extracted_dir());
    if out.is_dir() {
        return Ok(out);
    }
    let url = match &options.base_url {
        Some(base) => format!("{}/{}", base.trim_end_matches('/'), archive.file_name()),
        None => archive.url(),
    };
    let file = download(
        &url,
        &dir.join(archive.file_name()),
        Some(&archive.checksum()),
        options,
    )?;
    extract_tar_gz(&file, dir)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::net::{TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};

    /// A tiny HTTP/1.1 server on 127.0.0.1: `/good.tar.gz` (with Range support), `/corrupt.tar.gz`
    /// (one byte flipped), `/cifar-10-binary.tar.gz` (the fixture, so the official MD5 fails),
    /// `/flaky.tar.gz` (the first response breaks off halfway), anything else
    /// 404. Records the Range header of every request.
    struct Server {
        base: String,
        ranges: Arc<Mutex<Vec<Option<String>>>>,
    }

    fn serve(body: Vec<u8>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let ranges = Arc::new(Mutex::new(Vec::new()));
        let log = ranges.clone();
        std::thread::spawn(move || {
            let mut flaky_served = false;
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                handle(stream, &body, &log, &mut flaky_served);
            }
        });
        Server { base, ranges }
    }

    fn handle(
        mut stream: TcpStream,
        body: &[u8],
        log: &Mutex<Vec<Option<String>>>,
        flaky_served: &mut bool,
    ) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
        let mut range = None;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                break;
            }
            if let Some(v) = h
                .strip_prefix("Range: ")
                .or_else(|| h.strip_prefix("range: "))
            {
                range = Some(v.trim().to_string());
            }
        }
        log.lock().unwrap().push(range.clone());
        let mut data = body.to_vec();
        match path.as_str() {
            "/good.tar.gz" | "/flaky.tar.gz" | "/cifar-10-binary.tar.gz" => {}
            "/corrupt.tar.gz" => data[body.len() / 2] ^= 0xff,
            _ => {
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                return;
            }
        }
        if path == "/flaky.tar.gz" && !*flaky_served {
            *flaky_served = true;
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                data.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&data[..data.len() / 2]);
            return; // connection closes early
        }
        let start: usize = range
            .as_deref()
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.trim_end_matches('-').parse().ok())
            .unwrap_or(0);
        let head = if start > 0 {
            format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{}\r\nConnection: close\r\n\r\n",
                data.len() - start,
                data.len() - 1,
                data.len()
            )
        } else {
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                data.len()
            )
        };
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.write_all(&data[start.min(data.len())..]);
    }

    /// A small `.tar.gz` holding `cifar-10-batches-bin/test_batch.bin` (one record).
    fn fixture_archive() -> Vec<u8> {
        let mut rec = vec![7u8];
        rec.extend((0..3072).map(|i| (i * 31 % 256) as u8));
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let mut tar = tar::Builder::new(gz);
        let mut header = tar::Header::new_gnu();
        header.set_size(rec.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, "cifar-10-batches-bin/test_batch.bin", &rec[..])
            .unwrap();
        tar.into_inner().unwrap().finish().unwrap()
    }

    fn quiet() -> DownloadOptions {
        DownloadOptions {
            connect_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_secs(5),
            retries: 1,
            progress: false,
            base_url: None,
        }
    }

    #[test]
    fn downloads_verifies_resumes_and_extracts() {
        let body = fixture_archive();
        let sha = Checksum::Sha256(Checksum::Sha256(String::new()).digest(&body));
        let md5 = Checksum::Md5(Checksum::Md5(String::new()).digest(&body));
        let server = serve(body.clone());
        let dir = tempfile::tempdir().unwrap();

        // Plain download with SHA-256.
        let dest = dir.path().join("a/good.tar.gz");
        download(
            &format!("{}/good.tar.gz", server.base),
            &dest,
            Some(&sha),
            &quiet(),
        )
        .unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), body);
        assert!(!part_path(&dest).exists());

        // Resume an existing .part with a Range request (MD5 this time).
        let dest = dir.path().join("b.tar.gz");
        std::fs::write(part_path(&dest), &body[..100]).unwrap();
        download(
            &format!("{}/good.tar.gz", server.base),
            &dest,
            Some(&md5),
            &quiet(),
        )
        .unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), body);
        assert!(
            server
                .ranges
                .lock()
                .unwrap()
                .contains(&Some("bytes=100-".to_string()))
        );

        // A transfer that breaks off is resumed on the next attempt.
        let dest = dir.path().join("c.tar.gz");
        download(
            &format!("{}/flaky.tar.gz", server.base),
            &dest,
            Some(&sha),
            &quiet(),
        )
        .unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), body);

        // Extraction puts the files where the CIFAR reader looks.
        extract_tar_gz(&dest, dir.path()).unwrap();
        let test = crate::cifar::read_cifar10(dir.path(), crate::cifar::CifarSplit::Test).unwrap();
        assert_eq!(test.labels, vec![7]);
    }

    #[test]
    fn corrupt_archive_is_rejected_and_not_kept() {
        let body = fixture_archive();
        let sha = Checksum::Sha256(Checksum::Sha256(String::new()).digest(&body));
        let server = serve(body);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x.tar.gz");
        let e = download(
            &format!("{}/corrupt.tar.gz", server.base),
            &dest,
            Some(&sha),
            &quiet(),
        )
        .unwrap_err();
        assert!(matches!(e, DataError::Checksum { .. }), "{e}");
        assert!(e.to_string().contains("SHA-256"), "{e}");
        assert!(!dest.exists() && !part_path(&dest).exists());
        // Two clean attempts, neither resumed.
        assert_eq!(*server.ranges.lock().unwrap(), vec![None, None]);

        let e = download(&format!("{}/missing", server.base), &dest, None, &quiet()).unwrap_err();
        assert!(e.to_string().contains("404"), "{e}");

        // The official archive's MD5 does not match the fixture served from a "mirror".
        let mut opts = quiet();
        opts.base_url = Some(format!("{}/", server.base));
        let e = download_cifar(CifarArchive::Cifar10Binary, dir.path(), &opts).unwrap_err();
        assert!(matches!(e, DataError::Checksum { .. }), "{e}");
        assert!(
            e.to_string().contains("c32a1d4ab5d03f1284b67883e8d87530"),
            "{e}"
        );
        assert!(!dir.path().join("cifar-10-binary.tar.gz").exists());
    }

    #[test]
    fn offline_fails_fast_with_a_manual_hint() {
        // A port nobody listens on: bind, read the port, close.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let mut opts = quiet();
        opts.base_url = Some(format!("http://127.0.0.1:{port}"));
        let t = std::time::Instant::now();
        let e = download_cifar(CifarArchive::Cifar100Binary, dir.path(), &opts).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(5));
        let msg = e.to_string();
        assert!(msg.contains("cannot connect"), "{msg}");
        assert!(msg.contains("cifar-100-binary.tar.gz"), "{msg}");
        assert!(msg.contains("03b5dce01913d631647c71ecec9e9cb8"), "{msg}");
        assert_eq!(
            CifarArchive::Cifar100Python.url(),
            "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
        );
    }

    #[test]
    fn checksum_digests() {
        assert_eq!(
            Checksum::Md5(String::new()).digest(b"abc"),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            Checksum::Sha256(String::new()).digest(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
