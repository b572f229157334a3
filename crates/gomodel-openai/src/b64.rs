//! Base64 engines shared by the request decoders and the embedding encoder.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Standard alphabet, padding optional on decode: clients (and some SDKs) strip `=` padding from
/// data URLs, and rejecting them would buy nothing.
pub(crate) const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes standard base64, tolerating missing padding and embedded line breaks (MIME-style
/// wrapped base64 is common in hand-built data URLs).
pub(crate) fn decode(s: &str) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine as _;
    match LENIENT.decode(s) {
        Ok(v) => Ok(v),
        Err(e) => {
            if s.bytes().any(|b| b.is_ascii_whitespace()) {
                let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                LENIENT.decode(compact)
            } else {
                Err(e)
            }
        }
    }
}
