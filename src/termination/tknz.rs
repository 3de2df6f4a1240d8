//! Tekton's compressed termination message, `tknz:` and the base64 (Go's
//! `RawStdEncoding`) of the JSON array's raw DEFLATE at the best compression,
//! as tektoncd/pipeline's `pkg/termination` writes and reads it. Only in the
//! build with the `tekton` feature (docs/decisions.md); the termination
//! message (the parent module) decides when it is used.

use anyhow::{Context, Result};
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

use super::{COMPRESSED_PREFIX, MAX_INFLATED};

/// `tknz:` and the base64 of `json`'s raw DEFLATE, if that is shorter.
pub fn compress(json: &str) -> Option<String> {
    let deflated = deflate(json.as_bytes());
    let shorter = base64::encoded_len(deflated.len(), false)
        .is_some_and(|len| COMPRESSED_PREFIX.len() + len < json.len());
    shorter.then(|| {
        let mut text = String::from(COMPRESSED_PREFIX);
        GO_RAW_STD.encode_string(deflated, &mut text);
        text
    })
}

/// Go's `base64.RawStdEncoding`, as Tekton writes and reads it: no padding
/// (a `=` is not base64 there), lenient about the unused bits of the last
/// symbol.
const GO_RAW_STD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(true),
);

/// Raw DEFLATE (no zlib header) at the best compression, as Go's
/// `flate.BestCompression`.
pub fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    encoder
        .write_all(data)
        .and_then(|()| encoder.finish())
        .expect("deflating into memory")
}

/// The JSON a compressed message holds, the prefix removed: base64 as Go
/// decodes it (line breaks skipped), then raw DEFLATE, at most
/// `MAX_INFLATED` bytes of it. Bytes after the last block are ignored, as
/// Go's reader does; a stream cut short is an error.
pub fn inflate(encoded: &[u8]) -> Result<Vec<u8>> {
    let text: Vec<u8> = encoded
        .iter()
        .copied()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect();
    let deflated = GO_RAW_STD
        .decode(text)
        .map_err(|err| anyhow::anyhow!("base64: {err}"))?;
    let json = inflate_raw(&deflated)?;
    anyhow::ensure!(
        json.len() <= MAX_INFLATED,
        "it inflates to over {MAX_INFLATED} bytes"
    );
    Ok(json)
}

/// Raw DEFLATE inflated, at most one byte past `MAX_INFLATED`.
fn inflate_raw(deflated: &[u8]) -> Result<Vec<u8>> {
    use std::io::Read as _;
    let mut json = Vec::new();
    flate2::bufread::DeflateDecoder::new(deflated)
        .take(MAX_INFLATED as u64 + 1)
        .read_to_end(&mut json)
        .context("inflating")?;
    Ok(json)
}
