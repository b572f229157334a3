//! Images and documents inside content parts: `data:` URL parsing, format detection, and
//! Bedrock-safe document names.

use super::request::FileRef;
use crate::b64;
use bytes::Bytes;
use gomodel_core::chat::{ContentBlock, ImageFormat};
use gomodel_core::GatewayError;

/// Converse's document formats, with the MIME types and file extensions that identify them.
const DOCUMENT_FORMATS: &[(&str, &[&str], &[&str])] = &[
    ("pdf", &["application/pdf"], &["pdf"]),
    ("csv", &["text/csv"], &["csv"]),
    ("doc", &["application/msword"], &["doc"]),
    (
        "docx",
        &["application/vnd.openxmlformats-officedocument.wordprocessingml.document"],
        &["docx"],
    ),
    ("xls", &["application/vnd.ms-excel"], &["xls"]),
    (
        "xlsx",
        &["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"],
        &["xlsx"],
    ),
    ("html", &["text/html"], &["html", "htm"]),
    ("txt", &["text/plain"], &["txt", "text"]),
    (
        "md",
        &["text/markdown", "text/x-markdown"],
        &["md", "markdown"],
    ),
];

/// Bedrock's limit on document names.
const MAX_DOC_NAME: usize = 200;

/// A parsed `data:[<mime>][;params][;base64],<payload>` URL.
struct DataUrl<'a> {
    mime: &'a str,
    base64: bool,
    payload: &'a str,
}

fn parse_data_url(url: &str) -> Option<DataUrl<'_>> {
    let rest = strip_prefix_ignore_case(url, "data:")?;
    let (meta, payload) = rest.split_once(',')?;
    let mut params = meta.split(';');
    let mime = params.next().unwrap_or("").trim();
    let base64 = params.any(|p| p.trim().eq_ignore_ascii_case("base64"));
    Some(DataUrl {
        mime,
        base64,
        payload,
    })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Identifies an image by its magic bytes, which are more trustworthy than a client's MIME type.
fn decode_payload(payload: &str, param: &str, what: &str) -> Result<Vec<u8>, GatewayError> {
    let bytes = b64::decode(payload).map_err(|e| {
        GatewayError::invalid_param(
            param,
            format!("Invalid {what}: the base64 data could not be decoded ({e})."),
        )
    })?;
    if bytes.is_empty() {
        return Err(GatewayError::invalid_param(
            param,
            format!("Invalid {what}: the data is empty."),
        ));
    }
    Ok(bytes)
}

/// An `image_url` part: a `data:` URL is decoded here; an http(s) URL becomes
/// [`ContentBlock::ImageUrl`], fetched later by the provider (this layer does no I/O).
pub(crate) fn image_from_url(url: &str, param: &str) -> Result<ContentBlock, GatewayError> {
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Ok(ContentBlock::ImageUrl {
            url: url.to_owned(),
            param: param.to_owned(),
        });
    }
    let Some(data) = parse_data_url(url) else {
        return Err(GatewayError::invalid_param(
            param,
            "Invalid image URL: expected an http(s) URL or a data: URL such as data:image/png;base64,....",
        ));
    };
    if !data.base64 {
        return Err(GatewayError::invalid_param(
            param,
            "Invalid image data URL: the data must be base64-encoded (data:image/png;base64,...).",
        ));
    }
    image_block(data.mime, data.payload, param)
}

fn image_block(mime: &str, payload: &str, param: &str) -> Result<ContentBlock, GatewayError> {
    let declared = ImageFormat::from_mime(mime);
    // Reject an unsupported declared type before decoding a possibly large payload, unless the
    // client left the type generic (then only the bytes can tell).
    let generic = mime.is_empty() || mime.eq_ignore_ascii_case("application/octet-stream");
    if declared.is_none() && !generic {
        return Err(unsupported_image(mime, param));
    }
    let bytes = decode_payload(payload, param, "image data")?;
    // Bedrock validates the bytes against the format, so a mislabelled image (a JPEG sent as
    // image/png is common) is relabelled from its magic bytes rather than bounced upstream.
    let format = ImageFormat::sniff(&bytes)
        .or(declared)
        .ok_or_else(|| unsupported_image(mime, param))?;
    Ok(ContentBlock::Image {
        format,
        bytes: Bytes::from(bytes),
    })
}

fn unsupported_image(mime: &str, param: &str) -> GatewayError {
    let shown = if mime.is_empty() { "unknown" } else { mime };
    GatewayError::invalid_param(
        param,
        format!("Unsupported image type '{shown}'. Supported types are image/png, image/jpeg, image/gif and image/webp."),
    )
}

/// Keeps document names unique within one request, as Bedrock requires.
#[derive(Default)]
pub(crate) struct DocNames {
    used: Vec<String>,
}

impl DocNames {
    fn claim(&mut self, base: String) -> String {
        let mut name = base.clone();
        let mut n = 2u32;
        while self.used.iter().any(|u| u.eq_ignore_ascii_case(&name)) {
            let suffix = format!(" ({n})");
            let keep = MAX_DOC_NAME.saturating_sub(suffix.len());
            name = format!("{}{suffix}", truncate(&base, keep).trim_end());
            n = n.saturating_add(1);
        }
        self.used.push(name.clone());
        name
    }
}

/// A `file` part → a document block (or an image block when the file is an image).
pub(crate) fn file_block(
    file: &FileRef,
    param: &str,
    names: &mut DocNames,
) -> Result<ContentBlock, GatewayError> {
    if file.file_id.is_some() && file.file_data.is_none() {
        return Err(GatewayError::invalid_param(
            format!("{param}.file_id"),
            "Uploaded file ids are not supported; send the file inline in 'file_data' (a data: URL or base64).",
        ));
    }
    let data_param = format!("{param}.file_data");
    let Some(file_data) = file.file_data.as_deref() else {
        return Err(GatewayError::invalid_param(
            data_param.clone(),
            format!("Missing required parameter: '{data_param}'."),
        ));
    };
    let (mime, payload) = match parse_data_url(file_data) {
        Some(d) if !d.base64 => {
            return Err(GatewayError::invalid_param(
                data_param,
                "Invalid file data URL: the data must be base64-encoded.",
            ))
        }
        Some(d) => (d.mime, d.payload),
        None => ("", file_data),
    };
    if mime.to_ascii_lowercase().starts_with("image/") {
        return image_block(mime, payload, &data_param);
    }
    let filename = file.filename.as_deref().unwrap_or("");
    let by_mime = format_from_mime(mime);
    let by_name = format_from_filename(filename);
    if by_mime.is_none()
        && !mime.is_empty()
        && !mime.eq_ignore_ascii_case("application/octet-stream")
        && by_name.is_none()
    {
        return Err(GatewayError::invalid_param(
            data_param,
            format!("Unsupported file type '{mime}'. Supported document types are pdf, csv, doc, docx, xls, xlsx, html, txt and md."),
        ));
    }
    let bytes = decode_payload(payload, &data_param, "file data")?;
    let format = by_mime
        .or(by_name)
        .or_else(|| bytes.starts_with(b"%PDF-").then_some("pdf"))
        .ok_or_else(|| {
            GatewayError::invalid_param(
                data_param.clone(),
                "Cannot tell the document's format: send a data: URL with its MIME type or a filename with an extension (pdf, csv, doc, docx, xls, xlsx, html, txt, md).",
            )
        })?;
    Ok(ContentBlock::Document {
        format: format.to_owned(),
        name: names.claim(document_name(filename)),
        bytes: Bytes::from(bytes),
    })
}

fn format_from_mime(mime: &str) -> Option<&'static str> {
    let mime = mime.trim();
    DOCUMENT_FORMATS
        .iter()
        .find(|(_, mimes, _)| mimes.iter().any(|m| m.eq_ignore_ascii_case(mime)))
        .map(|(f, _, _)| *f)
}

fn format_from_filename(filename: &str) -> Option<&'static str> {
    let (_, ext) = filename.rsplit_once('.')?;
    DOCUMENT_FORMATS
        .iter()
        .find(|(_, _, exts)| exts.iter().any(|e| e.eq_ignore_ascii_case(ext)))
        .map(|(f, _, _)| *f)
}

/// Bedrock document names may hold only alphanumerics, single spaces, hyphens, parentheses and
/// square brackets (1–200 chars). A short extension (up to 5 alphanumerics with a letter, so
/// `v1.5` keeps its digits) is dropped since the format carries it; every other
/// character becomes a space, and runs of spaces collapse.
pub(super) fn document_name(filename: &str) -> String {
    let stem = match filename.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && ext.len() <= 5
                && ext.bytes().all(|b| b.is_ascii_alphanumeric())
                && ext.bytes().any(|b| b.is_ascii_alphabetic()) =>
        {
            stem
        }
        _ => filename,
    };
    let mut name = String::with_capacity(stem.len());
    let mut pending_space = false;
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '(' | ')' | '[' | ']') {
            if pending_space && !name.is_empty() {
                name.push(' ');
            }
            pending_space = false;
            name.push(c);
        } else {
            pending_space = true;
        }
    }
    let name = truncate(&name, MAX_DOC_NAME).trim_end().to_owned();
    if name.is_empty() {
        "document".to_owned()
    } else {
        name
    }
}

/// The longest prefix of `s` of at most `max` bytes (names are ASCII after sanitizing, but
/// truncation stays char-safe regardless).
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
