//! A small, safe interpreter for the subset of Python's pickle format that the CIFAR "python
//! version" files use.
//!
//! The official `cifar-10-batches-py/*` and `cifar-100-python/{train,test,meta}` files are
//! protocol-2 pickles written by Python 2's cPickle: a dict with byte-string keys whose `data`
//! value is a numpy `uint8` array, pickled as
//! `numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), b"b")` followed by a `BUILD` with the
//! state `(1, shape, numpy.dtype("u1", False, True), is_fortran, raw_bytes)`. `serde-pickle`
//! cannot decode the numpy globals, so this module interprets the opcodes itself.
//!
//! Safety properties:
//! - **Nothing is executed.** `GLOBAL` only records a name; `REDUCE` is accepted for exactly
//!   three callables (`numpy…multiarray._reconstruct`, `numpy.dtype`, `_codecs.encode`) and
//!   anything else is an error.
//! - **Never panics** on malformed input: every read is bounds-checked and every opcode checks
//!   its stack operands.
//! - **Bounded memory:** lengths are checked against the remaining input before anything is
//!   allocated, and containers are reference-counted, so `DUP`/`GET` never copy data. The
//!   decoded value holds at most a small constant times the input size.
//!
//! Protocols 0–5 framing (`PROTO`, `FRAME`, `MEMOIZE`, `STACK_GLOBAL`) is understood, so batches
//! re-saved by Python 3 + numpy (which writes bytes through `_codecs.encode` and numpy 2's
//! `numpy._core`) load too.

use std::collections::HashMap;
use std::rc::Rc;

/// A decoded pickle value (the subset CIFAR uses).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An integer that fits in `i64`.
    Int(i64),
    /// A float.
    Float(f64),
    /// A byte string (Python 2 `str`, Python 3 `bytes`).
    Bytes(Rc<[u8]>),
    /// A unicode string.
    Str(Rc<str>),
    /// A list.
    List(Rc<Vec<Value>>),
    /// A tuple.
    Tuple(Rc<Vec<Value>>),
    /// A dict, in insertion order.
    Dict(Rc<Vec<(Value, Value)>>),
    /// A `module.name` reference from `GLOBAL` / `STACK_GLOBAL` (never imported or called).
    Global(Rc<str>, Rc<str>),
    /// A numpy dtype, as its type string (`"u1"`, `"<i8"`, …).
    Dtype(Rc<str>),
    /// A numpy array.
    Array(Rc<NdArray>),
}

/// A numpy array decoded from `_reconstruct` + `BUILD`.
#[derive(Debug, Clone, PartialEq)]
pub struct NdArray {
    /// Shape.
    pub shape: Vec<usize>,
    /// Type string of the dtype (`"u1"`, `"<i8"`, …).
    pub dtype: String,
    /// Whether the data is in Fortran (column-major) order.
    pub fortran: bool,
    /// Raw element bytes.
    pub data: Rc<[u8]>,
}

impl NdArray {
    /// Element size in bytes of the dtype, if it is a plain integer / float type.
    pub fn item_size(&self) -> Option<usize> {
        let t = self.dtype.trim_start_matches(['<', '>', '|', '=']);
        match t {
            "u1" | "i1" | "b1" | "?" | "B" | "b" => Some(1),
            "u2" | "i2" | "f2" => Some(2),
            "u4" | "i4" | "f4" => Some(4),
            "u8" | "i8" | "f8" => Some(8),
            _ => None,
        }
    }

    /// The elements as `i64`, for integer dtypes stored little-endian (or 1-byte).
    pub fn to_i64(&self) -> Option<Vec<i64>> {
        if self.dtype.starts_with('>') {
            return None;
        }
        let t = self.dtype.trim_start_matches(['<', '|', '=']);
        let d = &self.data;
        Some(match t {
            "u1" | "B" => d.iter().map(|&v| v as i64).collect(),
            "i1" | "b" => d.iter().map(|&v| v as i8 as i64).collect(),
            "u2" => d
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]) as i64)
                .collect(),
            "i2" => d
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]) as i64)
                .collect(),
            "u4" => d
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                .collect(),
            "i4" => d
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64)
                .collect(),
            "i8" | "u8" => d
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
            _ => return None,
        })
    }
}

impl Value {
    /// The bytes of a `Bytes` value, or the UTF-8 bytes of a `Str`.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            Value::Str(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// Look `key` up in a dict whose keys are byte strings or strings.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) => items
                .iter()
                .find(|(k, _)| k.as_bytes() == Some(key.as_bytes()))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// The items of a list or tuple.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// A short name of the value's type, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Bytes(_) => "bytes",
            Value::Str(_) => "str",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Dict(_) => "dict",
            Value::Global(..) => "global",
            Value::Dtype(_) => "numpy.dtype",
            Value::Array(_) => "numpy.ndarray",
        }
    }
}

/// Why a pickle could not be decoded: the byte offset and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pickle byte {offset}: {message}")]
pub struct PickleError {
    /// Offset of the offending opcode.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// The deepest container nesting accepted.
pub const MAX_DEPTH: usize = 32;

/// Marker for `MARK` on the stack.
enum Slot {
    Mark,
    Val(Value),
}

struct Machine<'a> {
    data: &'a [u8],
    pos: usize,
    op_pos: usize,
    stack: Vec<Slot>,
    memo: HashMap<u32, Value>,
    /// Elements that copy-on-write clones may still copy (bounds memory to O(input size)).
    copy_budget: usize,
}

impl<'a> Machine<'a> {
    fn err<T>(&self, message: impl Into<String>) -> Result<T, PickleError> {
        Err(PickleError {
            offset: self.op_pos,
            message: message.into(),
        })
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PickleError> {
        match self.pos.checked_add(n) {
            Some(end) if end <= self.data.len() => {
                let s = &self.data[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            _ => self.err(format!(
                "needs {n} more bytes but only {} remain (truncated file?)",
                self.data.len() - self.pos
            )),
        }
    }

    fn u8(&mut self) -> Result<u8, PickleError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, PickleError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, PickleError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, PickleError> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes([
            b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
        ]))
    }

    fn line(&mut self) -> Result<&'a str, PickleError> {
        let rest = &self.data[self.pos..];
        let Some(n) = rest.iter().position(|&b| b == b'\n') else {
            return self.err("unterminated text argument");
        };
        let s = &rest[..n];
        self.pos += n + 1;
        match std::str::from_utf8(s) {
            Ok(s) => Ok(s),
            Err(_) => self.err("text argument is not UTF-8"),
        }
    }

    fn push(&mut self, v: Value) {
        self.stack.push(Slot::Val(v));
    }

    fn pop(&mut self) -> Result<Value, PickleError> {
        match self.stack.pop() {
            Some(Slot::Val(v)) => Ok(v),
            Some(Slot::Mark) => self.err("unexpected MARK on the stack"),
            None => self.err("stack underflow"),
        }
    }

    fn top(&mut self) -> Result<&mut Value, PickleError> {
        match self.stack.last_mut() {
            Some(Slot::Val(v)) => Ok(v),
            _ => Err(PickleError {
                offset: self.op_pos,
                message: "stack underflow (expected a value on top)".into(),
            }),
        }
    }

    /// Pop everything down to and including the topmost MARK.
    fn pop_mark(&mut self) -> Result<Vec<Value>, PickleError> {
        let Some(m) = self.stack.iter().rposition(|s| matches!(s, Slot::Mark)) else {
            return self.err("no MARK on the stack");
        };
        let items = self
            .stack
            .drain(m..)
            .skip(1)
            .map(|s| match s {
                Slot::Val(v) => v,
                Slot::Mark => Value::None, // unreachable: m is the topmost mark
            })
            .collect();
        Ok(items)
    }

    fn bytes(&mut self, n: usize) -> Result<Value, PickleError> {
        let b = self.take(n)?;
        Ok(Value::Bytes(Rc::from(b)))
    }

    fn unicode(&mut self, n: usize) -> Result<Value, PickleError> {
        let b = self.take(n)?;
        match std::str::from_utf8(b) {
            Ok(s) => Ok(Value::Str(Rc::from(s))),
            Err(_) => self.err("unicode string is not valid UTF-8"),
        }
    }

    fn memo_get(&self, k: u32) -> Result<Value, PickleError> {
        match self.memo.get(&k) {
            Some(v) => Ok(v.clone()),
            None => self.err(format!("memo key {k} was never stored")),
        }
    }

    fn memo_put(&mut self, k: u32) -> Result<(), PickleError> {
        let v = match self.stack.last() {
            Some(Slot::Val(v)) => v.clone(),
            _ => return self.err("nothing to memoize"),
        };
        self.memo.insert(k, v);
        Ok(())
    }

    fn len_arg(&mut self, n: u64) -> Result<usize, PickleError> {
        usize::try_from(n).or_else(|_| self.err(format!("length {n} too large")))
    }

    fn reduce(&mut self, func: Value, args: Value) -> Result<Value, PickleError> {
        let Value::Global(module, name) = &func else {
            return self.err(format!("REDUCE on a {}, not a global", func.kind()));
        };
        let args = match &args {
            Value::Tuple(a) => a.clone(),
            other => return self.err(format!("REDUCE arguments are a {}", other.kind())),
        };
        match (&**module, &**name) {
            ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => {
                Ok(Value::Array(Rc::new(NdArray {
                    shape: vec![0],
                    dtype: "u1".into(),
                    fortran: false,
                    data: Rc::from(&[][..]),
                })))
            }
            ("numpy", "dtype") => match args.first().and_then(Value::as_bytes) {
                Some(t) => Ok(Value::Dtype(Rc::from(String::from_utf8_lossy(t).as_ref()))),
                None => self.err("numpy.dtype without a type string"),
            },
            ("_codecs", "encode") => {
                let (Some(Value::Str(s)), enc) = (args.first(), args.get(1)) else {
                    return self.err("_codecs.encode without a string argument");
                };
                let enc = enc.and_then(Value::as_bytes).unwrap_or(b"utf-8");
                match enc {
                    b"latin1" | b"latin-1" | b"iso-8859-1" => {
                        let mut out = Vec::with_capacity(s.len());
                        for ch in s.chars() {
                            match u8::try_from(u32::from(ch)) {
                                Ok(b) => out.push(b),
                                Err(_) => {
                                    return self.err(format!(
                                        "character U+{:04X} is not latin-1",
                                        u32::from(ch)
                                    ));
                                }
                            }
                        }
                        Ok(Value::Bytes(Rc::from(out)))
                    }
                    b"utf-8" | b"utf8" => Ok(Value::Bytes(Rc::from(s.as_bytes()))),
                    other => self.err(format!(
                        "_codecs.encode with unsupported encoding {:?}",
                        String::from_utf8_lossy(other)
                    )),
                }
            }
            (m, n) => self.err(format!(
                "refusing to call {m}.{n} (only numpy arrays, dtypes and _codecs.encode are \
                 supported)"
            )),
        }
    }

    fn build(&mut self, obj: Value, state: Value) -> Result<Value, PickleError> {
        match obj {
            Value::Dtype(_) => Ok(obj),
            Value::Array(_) => {
                let Some(st) = state.as_seq() else {
                    return self.err(format!("ndarray state is a {}", state.kind()));
                };
                // (version, shape, dtype, is_fortran, data) or without the version.
                let st = if st.len() == 5 { &st[1..] } else { st };
                let [shape, dtype, fortran, raw] = st else {
                    return self.err(format!("ndarray state has {} items", st.len()));
                };
                let shape: Vec<usize> = match shape.as_seq() {
                    Some(s) => s
                        .iter()
                        .map(|d| match d {
                            Value::Int(v) if *v >= 0 => Ok(*v as usize),
                            other => self.err(format!("bad ndarray dimension {other:?}")),
                        })
                        .collect::<Result<_, _>>()?,
                    None => return self.err("ndarray shape is not a tuple"),
                };
                let Value::Dtype(dtype) = dtype else {
                    return self.err(format!("ndarray dtype is a {}", dtype.kind()));
                };
                let fortran = matches!(fortran, Value::Bool(true) | Value::Int(1));
                let Value::Bytes(data) = raw else {
                    return self.err(format!(
                        "ndarray data is a {} (object arrays are not supported)",
                        raw.kind()
                    ));
                };
                let arr = NdArray {
                    shape,
                    dtype: dtype.to_string(),
                    fortran,
                    data: data.clone(),
                };
                let Some(size) = arr.item_size() else {
                    return self.err(format!("unsupported ndarray dtype {dtype:?}"));
                };
                let n = arr
                    .shape
                    .iter()
                    .try_fold(size, |a, &d| a.checked_mul(d))
                    .unwrap_or(usize::MAX);
                if n != arr.data.len() {
                    return self.err(format!(
                        "ndarray of shape {:?} and dtype {} needs {n} bytes, has {}",
                        arr.shape,
                        arr.dtype,
                        arr.data.len()
                    ));
                }
                Ok(Value::Array(Rc::new(arr)))
            }
            other => self.err(format!("BUILD on a {} is not supported", other.kind())),
        }
    }

    fn run(&mut self) -> Result<Value, PickleError> {
        loop {
            self.op_pos = self.pos;
            let op = self.u8()?;
            match op {
                0x80 => {
                    let p = self.u8()?;
                    if p > 5 {
                        return self.err(format!("unsupported pickle protocol {p}"));
                    }
                }
                0x95 => {
                    self.u64()?; // FRAME: a length hint; the data follows inline.
                }
                b'.' => {
                    let v = self.pop()?;
                    return Ok(v);
                }
                b'(' => self.stack.push(Slot::Mark),
                b'}' => self.push(Value::Dict(Rc::new(Vec::new()))),
                b']' => self.push(Value::List(Rc::new(Vec::new()))),
                b')' => self.push(Value::Tuple(Rc::new(Vec::new()))),
                b't' => {
                    let items = self.pop_mark()?;
                    self.check_nesting(&items)?;
                    self.push(Value::Tuple(Rc::new(items)));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < n {
                        return self.err("stack underflow in TUPLEn");
                    }
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.pop()?);
                    }
                    items.reverse();
                    self.check_nesting(&items)?;
                    self.push(Value::Tuple(Rc::new(items)));
                }
                b'l' => {
                    let items = self.pop_mark()?;
                    self.check_nesting(&items)?;
                    self.push(Value::List(Rc::new(items)));
                }
                b'd' => {
                    let items = self.pop_mark()?;
                    self.check_nesting(&items)?;
                    let pairs = self.pairs(items)?;
                    self.push(Value::Dict(Rc::new(pairs)));
                }
                b'a' => {
                    let v = self.pop()?;
                    self.append(vec![v])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.append(items)?;
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.set_items(vec![(k, v)])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    let pairs = self.pairs(items)?;
                    self.set_items(pairs)?;
                }
                b'J' => {
                    let v = self.u32()? as i32;
                    self.push(Value::Int(v as i64));
                }
                b'K' => {
                    let v = self.u8()?;
                    self.push(Value::Int(v as i64));
                }
                b'M' => {
                    let v = self.u16()?;
                    self.push(Value::Int(v as i64));
                }
                0x8a => {
                    let n = self.u8()? as usize;
                    let b = self.take(n)?;
                    if n > 8 {
                        return self.err(format!("{n}-byte integer does not fit in 64 bits"));
                    }
                    let mut buf = if b.last().is_some_and(|&x| x & 0x80 != 0) {
                        [0xff; 8]
                    } else {
                        [0; 8]
                    };
                    buf[..n].copy_from_slice(b);
                    self.push(Value::Int(i64::from_le_bytes(buf)));
                }
                b'I' => {
                    let s = self.line()?;
                    let v = match s {
                        "00" => Value::Bool(false),
                        "01" => Value::Bool(true),
                        s => match s.parse::<i64>() {
                            Ok(v) => Value::Int(v),
                            Err(_) => return self.err(format!("bad INT {s:?}")),
                        },
                    };
                    self.push(v);
                }
                b'N' => self.push(Value::None),
                0x88 => self.push(Value::Bool(true)),
                0x89 => self.push(Value::Bool(false)),
                b'G' => {
                    let b = self.take(8)?;
                    let mut buf = [0u8; 8];
                    buf.copy_from_slice(b);
                    self.push(Value::Float(f64::from_be_bytes(buf)));
                }
                b'U' | b'C' => {
                    let n = self.u8()? as usize;
                    let v = self.bytes(n)?;
                    self.push(v);
                }
                b'T' | b'B' => {
                    let n = self.u32()? as usize;
                    let v = self.bytes(n)?;
                    self.push(v);
                }
                0x8e => {
                    let n = self.u64()?;
                    let n = self.len_arg(n)?;
                    let v = self.bytes(n)?;
                    self.push(v);
                }
                0x8c => {
                    let n = self.u8()? as usize;
                    let v = self.unicode(n)?;
                    self.push(v);
                }
                b'X' => {
                    let n = self.u32()? as usize;
                    let v = self.unicode(n)?;
                    self.push(v);
                }
                0x8d => {
                    let n = self.u64()?;
                    let n = self.len_arg(n)?;
                    let v = self.unicode(n)?;
                    self.push(v);
                }
                b'q' => {
                    let k = self.u8()? as u32;
                    self.memo_put(k)?;
                }
                b'r' => {
                    let k = self.u32()?;
                    self.memo_put(k)?;
                }
                0x94 => {
                    let k = u32::try_from(self.memo.len()).unwrap_or(u32::MAX);
                    self.memo_put(k)?;
                }
                b'p' => {
                    let s = self.line()?;
                    let Ok(k) = s.parse::<u32>() else {
                        return self.err(format!("bad PUT key {s:?}"));
                    };
                    self.memo_put(k)?;
                }
                b'h' => {
                    let k = self.u8()? as u32;
                    let v = self.memo_get(k)?;
                    self.push(v);
                }
                b'j' => {
                    let k = self.u32()?;
                    let v = self.memo_get(k)?;
                    self.push(v);
                }
                b'g' => {
                    let s = self.line()?;
                    let Ok(k) = s.parse::<u32>() else {
                        return self.err(format!("bad GET key {s:?}"));
                    };
                    let v = self.memo_get(k)?;
                    self.push(v);
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    self.push(Value::Global(Rc::from(module), Rc::from(name)));
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (&module, &name) {
                        (Value::Str(m), Value::Str(n)) => {
                            self.push(Value::Global(m.clone(), n.clone()))
                        }
                        _ => return self.err("STACK_GLOBAL needs two strings"),
                    }
                }
                b'R' => {
                    let args = self.pop()?;
                    let func = self.pop()?;
                    let v = self.reduce(func, args)?;
                    self.push(v);
                }
                b'b' => {
                    let state = self.pop()?;
                    let obj = self.pop()?;
                    let v = self.build(obj, state)?;
                    self.push(v);
                }
                b'0' => {
                    if self.stack.pop().is_none() {
                        return self.err("POP on an empty stack");
                    }
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.push(v);
                }
                other => {
                    return self.err(format!(
                        "unsupported opcode {other:#04x} ({:?})",
                        other as char
                    ));
                }
            }
        }
    }

    fn pairs(&self, items: Vec<Value>) -> Result<Vec<(Value, Value)>, PickleError> {
        if !items.len().is_multiple_of(2) {
            return self.err("odd number of items for a dict");
        }
        let mut out = Vec::with_capacity(items.len() / 2);
        let mut it = items.into_iter();
        while let (Some(k), Some(v)) = (it.next(), it.next()) {
            out.push((k, v));
        }
        Ok(out)
    }

    /// Check that `items` nest at most [`MAX_DEPTH`] deep (so that dropping, printing or
    /// comparing a value never recurses deeply), charging the walk against the budget.
    fn check_nesting(&mut self, items: &[Value]) -> Result<(), PickleError> {
        fn walk(v: &Value, depth: usize, visited: &mut usize) -> bool {
            match v {
                Value::List(x) | Value::Tuple(x) => {
                    *visited += x.len();
                    depth < MAX_DEPTH && x.iter().all(|c| walk(c, depth + 1, visited))
                }
                Value::Dict(x) => {
                    *visited += 2 * x.len();
                    depth < MAX_DEPTH
                        && x.iter().all(|(k, v)| {
                            walk(k, depth + 1, visited) && walk(v, depth + 1, visited)
                        })
                }
                _ => true,
            }
        }
        let mut visited = 0;
        let ok = items.iter().all(|v| walk(v, 1, &mut visited));
        self.charge(visited)?;
        if !ok {
            return self.err(format!("containers nest deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    /// Charge a copy-on-write clone of `n` elements against the budget.
    fn charge(&mut self, n: usize) -> Result<(), PickleError> {
        self.copy_budget = self.copy_budget.saturating_sub(n);
        if self.copy_budget == 0 {
            return self.err("too many copies of shared containers (malicious pickle?)");
        }
        Ok(())
    }

    fn append(&mut self, items: Vec<Value>) -> Result<(), PickleError> {
        self.check_nesting(&items)?;
        let shared = match self.top()? {
            Value::List(l) if Rc::strong_count(l) > 1 => l.len(),
            _ => 0,
        };
        self.charge(shared)?;
        match self.top()? {
            Value::List(l) => {
                Rc::make_mut(l).extend(items);
                Ok(())
            }
            other => {
                let k = other.kind();
                self.err(format!("APPEND to a {k}"))
            }
        }
    }

    fn set_items(&mut self, pairs: Vec<(Value, Value)>) -> Result<(), PickleError> {
        for (k, v) in &pairs {
            self.check_nesting(std::slice::from_ref(k))?;
            self.check_nesting(std::slice::from_ref(v))?;
        }
        let shared = match self.top()? {
            Value::Dict(d) if Rc::strong_count(d) > 1 => d.len(),
            _ => 0,
        };
        self.charge(shared)?;
        match self.top()? {
            Value::Dict(d) => {
                Rc::make_mut(d).extend(pairs);
                Ok(())
            }
            other => {
                let k = other.kind();
                self.err(format!("SETITEM on a {k}"))
            }
        }
    }
}

/// Decode a pickle held in memory.
///
/// # Errors
/// A [`PickleError`] with the byte offset for truncated input, unknown opcodes, malformed
/// stacks, and any callable other than the numpy array / dtype constructors and
/// `_codecs.encode`.
pub fn parse(data: &[u8]) -> Result<Value, PickleError> {
    Machine {
        data,
        pos: 0,
        op_pos: 0,
        stack: Vec::new(),
        memo: HashMap::new(),
        copy_budget: data.len().saturating_mul(4).saturating_add(1 << 16),
    }
    .run()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fixture(rel: &str) -> Vec<u8> {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(rel),
        )
        .unwrap()
    }

    fn pixel(k: usize, c: usize, p: usize) -> u8 {
        ((7 * k + 3 * c + p) % 256) as u8
    }

    #[test]
    fn python2_style_cifar100_batch() {
        let v = parse(&fixture("cifar-100-python/train")).unwrap();
        let fine: Vec<i64> = v
            .get("fine_labels")
            .unwrap()
            .as_seq()
            .unwrap()
            .iter()
            .map(|x| match x {
                Value::Int(i) => *i,
                _ => panic!(),
            })
            .collect();
        assert_eq!(fine, vec![0, 3, 6, 9, 12]);
        let Value::Array(a) = v.get("data").unwrap() else {
            panic!()
        };
        assert_eq!(a.shape, vec![5, 3072]);
        assert_eq!(a.dtype, "u1");
        assert_eq!(a.data[3072 + 1024 + 5], pixel(1, 1, 5));
        assert_eq!(
            v.get("filenames").unwrap().as_seq().unwrap()[4].as_bytes(),
            Some(&b"img_s_000004.png"[..])
        );
    }

    #[test]
    fn python3_numpy_pickles_protocol_2_and_4() {
        for name in ["py3/data_batch_protocol2", "py3/data_batch_protocol4"] {
            let v = parse(&fixture(name)).unwrap();
            let labels: Vec<&Value> = v.get("labels").unwrap().as_seq().unwrap().iter().collect();
            assert_eq!(
                labels,
                vec![&Value::Int(9), &Value::Int(0), &Value::Int(4)],
                "{name}"
            );
            let Value::Array(a) = v.get("data").unwrap() else {
                panic!("{name}")
            };
            assert_eq!(a.shape, vec![3, 3072]);
            assert_eq!(a.data[2 * 3072 + 2048 + 17], pixel(3, 2, 17), "{name}");
            assert_eq!(
                v.get("batch_label").unwrap().as_bytes(),
                Some(&b"training batch 1 of 5"[..])
            );
        }
    }

    #[test]
    fn refuses_arbitrary_callables_and_bad_input() {
        let evil = b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00ls\x85R.";
        let e = parse(evil).unwrap_err();
        assert!(e.message.contains("refusing to call os.system"), "{e}");
        let e = parse(b"\x80\x02T\xff\xff\xff\x7fabc").unwrap_err();
        assert!(e.message.contains("truncated"), "{e}");
        assert!(parse(b"").is_err());
        assert!(parse(b"\x80\x02a.").is_err());
        assert!(parse(b"\x80\x02h\x05.").is_err());
        assert!(parse(b"\x80\x09.").is_err());
        let deep = [&b"\x80\x02"[..], &[b']'; 100], &[b'a'; 99], b"."].concat();
        let e = parse(&deep).unwrap_err();
        assert!(e.message.contains("nest deeper"), "{e}");
    }

    #[test]
    fn every_truncation_of_a_real_batch_is_an_error() {
        let data = fixture("cifar-100-python/meta");
        for n in 0..data.len() {
            assert!(parse(&data[..n]).is_err(), "prefix {n}");
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn never_panics_on_corrupted_fixture(pos in 0usize..1380, val in any::<u8>()) {
            let mut data = fixture("cifar-100-python/meta");
            let p = pos % data.len();
            data[p] = val;
            let _ = parse(&data);
        }
    }
}
