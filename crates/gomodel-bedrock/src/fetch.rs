//! Fetches the http(s) image URLs of a request: Converse takes image bytes only, so the
//! gateway downloads them (on the shared HTTP client) before the pure translation runs. Every
//! failure is a 400 naming the request field, since the URL is the client's input.

use bytes::BytesMut;
use gomodel_core::chat::{ChatRequest, ContentBlock, ImageFormat};
use gomodel_core::GatewayError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// Whole-fetch deadline (connect, headers and body): a slow image host must not hold the
/// request for the model's full timeout.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Bedrock's per-image limit in Converse (3.75 MB); a larger image would be refused upstream
/// after the download, so the download stops here with a clearer error.
pub const MAX_IMAGE_BYTES: usize = 3_750_000;

/// Converse accepts at most 20 images per request; more URLs than that is refused before any
/// download.
pub const MAX_REMOTE_IMAGES: usize = 20;

/// The client image downloads go through, shared (clones share it) and built on first use.
/// Building it loads the OS trust store (about 150 files here: milliseconds and memory at every
/// start), and most deployments never send image URLs, so only those that do pay for it; the
/// build runs on the blocking pool, off the async workers.
#[derive(Clone, Default)]
pub struct FetchClient(Arc<OnceCell<reqwest::Client>>);

impl FetchClient {
    async fn get(&self) -> Result<&reqwest::Client, GatewayError> {
        self.0
            .get_or_try_init(|| async {
                tokio::task::spawn_blocking(build_client)
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|built| built.map_err(|e| e.to_string()))
                    .map_err(|e| {
                        GatewayError::internal(format!(
                            "could not build the image download client: {e}"
                        ))
                    })
            })
            .await
    }
}

fn build_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .tcp_nodelay(true)
        .connect_timeout(FETCH_TIMEOUT)
        .tcp_keepalive(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(64)
        .user_agent(concat!("gomodel/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Replaces every [`ContentBlock::ImageUrl`] with the fetched [`ContentBlock::Image`].
/// Downloads run concurrently; the first failure wins.
pub async fn resolve_image_urls(
    req: &mut ChatRequest,
    client: &FetchClient,
) -> Result<(), GatewayError> {
    let mut slots = Vec::new();
    for (i, m) in req.messages.iter().enumerate() {
        for (j, b) in m.content.iter().enumerate() {
            if let ContentBlock::ImageUrl { url, param } = b {
                slots.push((i, j, url.as_str(), param.as_str()));
            }
        }
    }
    if slots.is_empty() {
        return Ok(());
    }
    if slots.len() > MAX_REMOTE_IMAGES {
        return Err(GatewayError::invalid_param(
            slots[MAX_REMOTE_IMAGES].3,
            format!("At most {MAX_REMOTE_IMAGES} images can be sent by URL in one request."),
        ));
    }
    let http = client.get().await?;
    let fetched = futures::future::try_join_all(
        slots
            .iter()
            .map(|(_, _, url, param)| fetch_image(http, url, param)),
    )
    .await?;
    let places: Vec<(usize, usize)> = slots.iter().map(|(i, j, _, _)| (*i, *j)).collect();
    for ((i, j), block) in places.into_iter().zip(fetched) {
        if let Some(slot) = req.messages.get_mut(i).and_then(|m| m.content.get_mut(j)) {
            *slot = block;
        }
    }
    Ok(())
}

/// Downloads one image and checks it is one Bedrock takes: the declared type must be an image
/// (or generic), the size within the limit, and the magic bytes those of png/jpeg/gif/webp
/// (they win over a mislabelled `Content-Type`, as for data URLs).
async fn fetch_image(
    http: &reqwest::Client,
    url: &str,
    param: &str,
) -> Result<ContentBlock, GatewayError> {
    let fail = |why: String| {
        GatewayError::invalid_param(param, format!("Could not use the image at '{url}': {why}."))
    };
    let mut resp = http
        .get(url)
        .timeout(FETCH_TIMEOUT)
        .send()
        .await
        .map_err(|e| fail(describe(&e)))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(fail(format!(
            "the server answered HTTP {}",
            status.as_u16()
        )));
    }
    let mime = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let generic = matches!(
        mime.as_str(),
        "" | "application/octet-stream" | "binary/octet-stream"
    );
    if !generic && ImageFormat::from_mime(&mime).is_none() {
        return Err(fail(format!(
            "its type is '{mime}', not a PNG, JPEG, GIF or WebP image"
        )));
    }
    let too_big = || {
        fail(format!(
            "it is larger than the {MAX_IMAGE_BYTES}-byte limit for images"
        ))
    };
    if resp
        .content_length()
        .is_some_and(|n| n > MAX_IMAGE_BYTES as u64)
    {
        return Err(too_big());
    }
    let mut buf = BytesMut::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| fail(describe(&e)))? {
        // Checked per chunk: a missing or lying Content-Length must not let a huge body in.
        if buf.len() + chunk.len() > MAX_IMAGE_BYTES {
            return Err(too_big());
        }
        buf.extend_from_slice(&chunk);
    }
    let format = ImageFormat::sniff(&buf)
        .ok_or_else(|| fail("its content is not a PNG, JPEG, GIF or WebP image".to_owned()))?;
    Ok(ContentBlock::Image {
        format,
        bytes: buf.freeze(),
    })
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!(
            "the download did not finish within {}s",
            FETCH_TIMEOUT.as_secs()
        )
    } else if e.is_connect() {
        "the server could not be reached".to_owned()
    } else if e.is_builder() {
        "the URL is not valid".to_owned()
    } else {
        "the download failed".to_owned()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use gomodel_core::chat::{Message, Role};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n-rest-of-image";

    /// Serves `(path, content type, body)` routes over plain HTTP/1.1; other paths are 404.
    async fn serve(routes: Vec<(&'static str, &'static str, Vec<u8>)>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let mut buf = vec![0u8; 4096];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let (status, kind, body) = match routes.iter().find(|(p, _, _)| *p == path) {
                    Some((_, kind, body)) => ("200 OK", *kind, body.clone()),
                    None => ("404 Not Found", "text/plain", b"no".to_vec()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
            }
        });
        format!("http://{addr}")
    }

    fn request(urls: &[String]) -> ChatRequest {
        ChatRequest {
            messages: vec![Message {
                role: Role::User,
                content: urls
                    .iter()
                    .enumerate()
                    .map(|(i, url)| ContentBlock::ImageUrl {
                        url: url.clone(),
                        param: format!("p{i}"),
                    })
                    .collect(),
            }],
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn fetch_table() {
        let base = serve(vec![
            ("/a.png", "image/png", PNG.to_vec()),
            ("/bin", "application/octet-stream", PNG.to_vec()),
            ("/page", "text/html; charset=utf-8", b"<html>".to_vec()),
            ("/fake.png", "image/png", b"not png".to_vec()),
            (
                "/big.png",
                "image/png",
                [PNG, &vec![0u8; MAX_IMAGE_BYTES]].concat(),
            ),
        ])
        .await;
        // Built on first use, as in the gateway.
        let http = FetchClient::default();
        let cases: Vec<(&str, Result<(), &str>)> = vec![
            ("/a.png", Ok(())),
            ("/bin", Ok(())),
            ("/missing", Err("HTTP 404")),
            ("/page", Err("its type is 'text/html'")),
            ("/fake.png", Err("content is not a PNG")),
            ("/big.png", Err("larger than the 3750000-byte limit")),
        ];
        for (path, want) in cases {
            let mut req = request(&[format!("{base}{path}")]);
            let got = resolve_image_urls(&mut req, &http).await;
            match want {
                Ok(()) => {
                    assert!(got.is_ok(), "{path}: {got:?}");
                    assert_eq!(
                        req.messages[0].content[0],
                        ContentBlock::Image {
                            format: ImageFormat::Png,
                            bytes: bytes::Bytes::from_static(PNG)
                        }
                    );
                }
                Err(fragment) => {
                    let e = got.unwrap_err();
                    assert_eq!(e.param.as_deref(), Some("p0"), "{path}");
                    assert!(e.message.contains(fragment), "{path}: {}", e.message);
                }
            }
        }
        let unreachable = request(&["http://127.0.0.1:1/x.png".to_owned()]);
        let e = resolve_image_urls(&mut unreachable.clone(), &http)
            .await
            .unwrap_err();
        assert!(e.message.contains("could not be reached"), "{}", e.message);
        let many: Vec<String> = (0..=MAX_REMOTE_IMAGES)
            .map(|i| format!("{base}/{i}"))
            .collect();
        let e = resolve_image_urls(&mut request(&many), &http)
            .await
            .unwrap_err();
        assert_eq!(e.param, Some(format!("p{MAX_REMOTE_IMAGES}")));
    }
}
