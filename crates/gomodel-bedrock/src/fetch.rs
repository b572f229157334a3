//! Fetches the http(s) image URLs of a request: Converse takes image bytes only, so the
//! gateway downloads them before the pure translation runs. Every failure is a 400 naming the
//! request field, since the URL is the client's input.
//!
//! Downloads go through a sibling of the provider's pooled [`HttpClient`] (same HTTP stack and
//! TLS setup, its own pool, see [`HttpClient::with_egress_policy`]): a second, general-purpose
//! client (reqwest before) meant a second HTTP stack in the binary and a second load of the OS
//! trust store. The one thing such a client did that matters for images on arbitrary hosts,
//! following redirects, is done here ([`get_following`]). Which hosts may be fetched at all is
//! the client's [`crate::egress::EgressPolicy`], checked on every connection, so on every
//! redirect hop too.

use crate::client::GOMODEL_AGENT;
use crate::egress::Refused;
use crate::errors;
use crate::transport::{Body, HttpClient};
use bytes::{Bytes, BytesMut};
use gomodel_core::chat::{ChatRequest, ContentBlock, ImageFormat};
use gomodel_core::GatewayError;
use http::header::{HeaderValue, ACCEPT, CONTENT_TYPE, LOCATION, USER_AGENT};
use http::{HeaderMap, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Body as _;
use hyper::body::Incoming;
use std::time::Duration;
use url::Url;

/// Whole-fetch deadline (connect, redirects, headers and body): a slow image host must not hold
/// the request for the model's full timeout.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Bedrock's per-image limit in Converse (3.75 MB); a larger image would be refused upstream
/// after the download, so the download stops here with a clearer error.
pub const MAX_IMAGE_BYTES: usize = 3_750_000;

/// Converse accepts at most 20 images per request; more URLs than that is refused before any
/// download.
pub const MAX_REMOTE_IMAGES: usize = 20;

/// Redirects followed per image, as many as reqwest (the client used before) followed.
pub const MAX_REDIRECTS: usize = 10;

/// Image hosts that negotiate the format (CDNs) should pick one Bedrock takes.
const IMAGES_PREFERRED: HeaderValue = HeaderValue::from_static("image/*,*/*;q=0.8");

const INVALID_URL: &str = "the URL is not valid";

/// The failure, as the end of the sentence "Could not use the image at '...': ...".
type Why = String;

/// Replaces every [`ContentBlock::ImageUrl`] with the fetched [`ContentBlock::Image`], downloaded
/// on `http` (the provider's image client). Downloads run concurrently; the first failure wins.
pub async fn resolve_image_urls(
    req: &mut ChatRequest,
    http: &HttpClient,
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

/// Downloads one image and checks it is one Bedrock takes: the magic bytes must be those of
/// png/jpeg/gif/webp (they win over a mislabelled `Content-Type`, as for data URLs).
async fn fetch_image(
    http: &HttpClient,
    url: &str,
    param: &str,
) -> Result<ContentBlock, GatewayError> {
    let fail = |why: Why| {
        GatewayError::invalid_param(param, format!("Could not use the image at '{url}': {why}."))
    };
    let bytes = tokio::time::timeout(FETCH_TIMEOUT, download(http, url))
        .await
        .unwrap_or_else(|_| Err(timed_out()))
        .map_err(fail)?;
    let format = ImageFormat::sniff(&bytes)
        .ok_or_else(|| fail("its content is not a PNG, JPEG, GIF or WebP image".to_owned()))?;
    Ok(ContentBlock::Image { format, bytes })
}

/// The body at `url`, provided the answer is a success, declares an image (or generic) type and
/// stays within [`MAX_IMAGE_BYTES`]. Read frame by frame, so an oversized body is cut off
/// rather than buffered.
async fn download(http: &HttpClient, url: &str) -> Result<Bytes, Why> {
    let resp = get_following(http, url).await?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("the server answered HTTP {}", status.as_u16()));
    }
    check_type(resp.headers())?;
    let too_big = || format!("it is larger than the {MAX_IMAGE_BYTES}-byte limit for images");
    let mut body = resp.into_body();
    if body
        .size_hint()
        .exact()
        .is_some_and(|n| n > MAX_IMAGE_BYTES as u64)
    {
        return Err(too_big());
    }
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        // Trailers (not data) carry nothing we use.
        let Ok(chunk) = frame.map_err(|e| describe(&e))?.into_data() else {
            continue;
        };
        // Checked per frame: a missing Content-Length must not let a huge body in.
        if buf.len() + chunk.len() > MAX_IMAGE_BYTES {
            return Err(too_big());
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Refuses a declared type that is neither an image Bedrock takes nor generic: the sniffing
/// that follows only decides between the image formats.
fn check_type(headers: &HeaderMap) -> Result<(), Why> {
    let mime = headers
        .get(CONTENT_TYPE)
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
    if generic || ImageFormat::from_mime(&mime).is_some() {
        Ok(())
    } else {
        Err(format!(
            "its type is '{mime}', not a PNG, JPEG, GIF or WebP image"
        ))
    }
}

/// GETs `raw`, following up to [`MAX_REDIRECTS`] redirects: image links often point at a
/// shortener or a CDN that redirects. Only http(s) is ever requested, so a redirect cannot
/// turn the gateway to another scheme (`file:`, `ftp:`, ...).
async fn get_following(http: &HttpClient, raw: &str) -> Result<Response<Incoming>, Why> {
    let mut url = Url::parse(raw)
        .ok()
        .filter(is_web)
        .ok_or_else(|| INVALID_URL.to_owned())?;
    // The first request plus one per redirect.
    for _ in 0..=MAX_REDIRECTS {
        let resp = http.request(get(&url)?).await.map_err(|e| describe(&e))?;
        match redirect_target(&url, &resp) {
            None => return Ok(resp),
            Some(next) if is_web(&next) => url = next,
            Some(next) => {
                return Err(format!(
                    "it redirects to a '{}' URL, and only http and https are followed",
                    next.scheme()
                ))
            }
        }
    }
    Err(format!("too many redirects (more than {MAX_REDIRECTS})"))
}

fn is_web(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

/// Where a redirect points, resolved against the URL that answered it. Anything else (another
/// status, no or an unusable `Location`) is the final answer, which then fails on its status,
/// as with reqwest. Every redirect is followed with a GET: the download is one already.
fn redirect_target<B>(from: &Url, resp: &Response<B>) -> Option<Url> {
    let redirect = matches!(
        resp.status(),
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    );
    if !redirect {
        return None;
    }
    let location = resp.headers().get(LOCATION)?.to_str().ok()?;
    from.join(location).ok()
}

/// The request for `url`: a GET with the gateway's user agent and nothing that identifies the
/// client or the previous hop (no cookies, no `Referer`).
fn get(url: &Url) -> Result<Request<Body>, Why> {
    let uri = Uri::try_from(url.as_str()).map_err(|_| INVALID_URL.to_owned())?;
    let mut req = Request::new(Full::new(Bytes::new()));
    *req.uri_mut() = uri;
    req.headers_mut().insert(USER_AGENT, GOMODEL_AGENT);
    req.headers_mut().insert(ACCEPT, IMAGES_PREFERRED);
    Ok(req)
}

/// A transport failure in the client's words, without the internals of the gateway's side
/// (resolver, TLS, pool); a destination the egress policy refused says why.
fn describe(e: &(dyn std::error::Error + 'static)) -> Why {
    if let Some(refused) = refusal_in(e) {
        refused.to_string()
    } else if errors::timed_out_in(e) {
        timed_out()
    } else if errors::is_connect(e) {
        "the server could not be reached".to_owned()
    } else {
        "the download failed".to_owned()
    }
}

/// The egress policy's refusal somewhere in `e`'s source chain (the connector wraps it).
fn refusal_in<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
    std::iter::successors(Some(e), |e| e.source()).find_map(|e| e.downcast_ref::<Refused>())
}

fn timed_out() -> Why {
    format!(
        "the download did not finish within {}s",
        FETCH_TIMEOUT.as_secs()
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::egress::EgressPolicy;
    use gomodel_core::chat::{Message, Role};
    use hyper_util::client::proxy::matcher::Matcher;
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n-rest-of-image";

    /// What a test route answers.
    enum Reply {
        /// 200 with this content type and body.
        Ok(&'static str, Vec<u8>),
        /// This status, with this `Location` if any (`{base}` becomes the server's own URL,
        /// `{port}` its port).
        Redirect(u16, Option<String>),
        /// Reads the request and never answers.
        Hang,
    }

    /// Request targets (`/path?query`) the test server saw, in order.
    type Seen = Arc<Mutex<Vec<String>>>;

    /// Serves `routes` (matched on the path, query ignored) over plain HTTP/1.1, one
    /// connection each; other paths are 404. Returns the base URL and the request heads seen.
    async fn serve(routes: Vec<(String, Reply)>) -> (String, Seen) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let routes = Arc::new(routes);
        let heads: Seen = Arc::default();
        let (origin, seen) = (base.clone(), Arc::clone(&heads));
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let (routes, seen, origin) =
                    (Arc::clone(&routes), Arc::clone(&seen), origin.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).to_string();
                    seen.lock().unwrap().push(head.clone());
                    let target = head.split_whitespace().nth(1).unwrap_or("/");
                    let path = target.split('?').next().unwrap_or_default();
                    let (status, extra, body) = match routes.iter().find(|(p, _)| p == path) {
                        Some((_, Reply::Ok(kind, body))) => (
                            "200 OK".to_owned(),
                            format!("content-type: {kind}\r\n"),
                            body.clone(),
                        ),
                        Some((_, Reply::Redirect(code, location))) => {
                            let port = origin.rsplit(':').next().unwrap_or_default();
                            let location = location.as_ref().map_or(String::new(), |l| {
                                let l = l.replace("{base}", &origin).replace("{port}", port);
                                format!("location: {l}\r\n")
                            });
                            (format!("{code} Redirect"), location, Vec::new())
                        }
                        Some((_, Reply::Hang)) => return std::future::pending().await,
                        None => ("404 Not Found".to_owned(), String::new(), b"no".to_vec()),
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(&body).await;
                });
            }
        });
        (base, heads)
    }

    /// An image client without proxies, whatever the environment says, allowed to fetch from
    /// the local test server; its connect timeout is longer than the fetch deadline, which must
    /// be what stops a hung download.
    fn client() -> HttpClient {
        client_with(EgressPolicy {
            allow_private: true,
            ..EgressPolicy::default()
        })
    }

    fn client_with(policy: EgressPolicy) -> HttpClient {
        HttpClient::with_proxies(FETCH_TIMEOUT * 6, Matcher::builder().build())
            .unwrap()
            .with_egress_policy(policy)
    }

    fn route(path: &str, reply: Reply) -> (String, Reply) {
        (path.to_owned(), reply)
    }

    fn redirect(path: &str, code: u16, location: &str) -> (String, Reply) {
        route(path, Reply::Redirect(code, Some(location.to_owned())))
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

    /// Fetches `url` as the only image of a request: Ok when it became the test PNG.
    async fn fetch(http: &HttpClient, url: &str) -> Result<(), GatewayError> {
        let mut req = request(&[url.to_owned()]);
        resolve_image_urls(&mut req, http).await?;
        let png = ContentBlock::Image {
            format: ImageFormat::Png,
            bytes: Bytes::from_static(PNG),
        };
        assert_eq!(req.messages[0].content[0], png, "{url}");
        Ok(())
    }

    fn assert_fails(got: Result<(), GatewayError>, fragment: &str, case: &str) {
        let e = got.unwrap_err();
        assert_eq!(e.param.as_deref(), Some("p0"), "{case}");
        assert!(e.message.contains(fragment), "{case}: {}", e.message);
    }

    #[tokio::test]
    async fn fetch_table() {
        let (base, seen) = serve(vec![
            route("/a.png", Reply::Ok("image/png", PNG.to_vec())),
            route("/bin", Reply::Ok("application/octet-stream", PNG.to_vec())),
            route(
                "/page",
                Reply::Ok("text/html; charset=utf-8", b"<html>".to_vec()),
            ),
            route("/fake.png", Reply::Ok("image/png", b"not png".to_vec())),
            route(
                "/big.png",
                Reply::Ok("image/png", [PNG, &vec![0u8; MAX_IMAGE_BYTES]].concat()),
            ),
        ])
        .await;
        let http = client();
        let cases: Vec<(&str, Result<(), &str>)> = vec![
            ("/a.png", Ok(())),
            ("/bin", Ok(())),
            ("/missing", Err("HTTP 404")),
            ("/page", Err("its type is 'text/html'")),
            ("/fake.png", Err("content is not a PNG")),
            ("/big.png", Err("larger than the 3750000-byte limit")),
        ];
        for (path, want) in cases {
            let got = fetch(&http, &format!("{base}{path}")).await;
            match want {
                Ok(()) => assert!(got.is_ok(), "{path}: {got:?}"),
                Err(fragment) => assert_fails(got, fragment, path),
            }
        }
        let broken = [
            (
                "http://127.0.0.1:1/x.png",
                "the server could not be reached",
            ),
            ("not a url", "the URL is not valid"),
            ("ftp://127.0.0.1/a.png", "the URL is not valid"),
        ];
        for (url, fragment) in broken {
            assert_fails(fetch(&http, url).await, fragment, url);
        }
        // More URLs than allowed: refused before any download.
        seen.lock().unwrap().clear();
        let many: Vec<String> = (0..=MAX_REMOTE_IMAGES)
            .map(|_| format!("{base}/a.png"))
            .collect();
        let e = resolve_image_urls(&mut request(&many), &http)
            .await
            .unwrap_err();
        assert_eq!(e.param, Some(format!("p{MAX_REMOTE_IMAGES}")));
        assert!(seen.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn sends_a_plain_get_with_the_gateway_user_agent() {
        let (base, seen) = serve(vec![route("/a.png", Reply::Ok("image/png", PNG.to_vec()))]).await;
        fetch(&client(), &format!("{base}/a.png")).await.unwrap();
        let head = seen.lock().unwrap()[0].to_ascii_lowercase();
        let mut lines = head.lines().filter(|l| !l.is_empty());
        assert_eq!(lines.next(), Some("get /a.png http/1.1"));
        let mut names: Vec<&str> = lines.filter_map(|l| l.split(':').next()).collect();
        names.sort_unstable();
        assert_eq!(names, ["accept", "host", "user-agent"], "{head}");
        let agent = concat!("user-agent: gomodel/", env!("CARGO_PKG_VERSION"));
        assert!(head.contains(agent), "{head}");
    }

    #[tokio::test]
    async fn redirect_table() {
        // `/hopN` is N redirects away from the image.
        let mut routes: Vec<(String, Reply)> = (1..=MAX_REDIRECTS + 1)
            .map(|n| redirect(&format!("/hop{n}"), 302, &format!("/hop{}", n - 1)))
            .collect();
        routes.extend([
            route("/hop0", Reply::Ok("image/png", PNG.to_vec())),
            route("/a.png", Reply::Ok("image/png", PNG.to_vec())),
            redirect("/moved", 301, "{base}/a.png"),
            redirect("/dir/found", 302, "../a.png"),
            redirect("/see-other", 303, "/a.png?size=1#top"),
            redirect("/temporary", 307, "a.png"),
            redirect("/permanent", 308, "/see-other"),
            redirect("/loop", 302, "/loop"),
            redirect("/to-ftp", 302, "ftp://127.0.0.1/a.png"),
            redirect("/to-data", 301, "data:image/png;base64,iVBORw0KGgo="),
            redirect("/to-missing", 302, "/missing"),
            redirect("/choices", 300, "/a.png"),
            route("/no-location", Reply::Redirect(302, None)),
        ]);
        let (base, seen) = serve(routes).await;
        let http = client();
        let too_many = "too many redirects (more than 10)";
        let not_web = "only http and https are followed";
        // (start, outcome, request targets the server saw)
        let cases: Vec<(&str, Result<(), &str>, Vec<&str>)> = vec![
            ("/moved", Ok(()), vec!["/moved", "/a.png"]),
            ("/dir/found", Ok(()), vec!["/dir/found", "/a.png"]),
            ("/see-other", Ok(()), vec!["/see-other", "/a.png?size=1"]),
            ("/temporary", Ok(()), vec!["/temporary", "/a.png"]),
            (
                "/permanent",
                Ok(()),
                vec!["/permanent", "/see-other", "/a.png?size=1"],
            ),
            (
                "/to-ftp",
                Err("a 'ftp' URL, and only http"),
                vec!["/to-ftp"],
            ),
            ("/to-data", Err(not_web), vec!["/to-data"]),
            (
                "/to-missing",
                Err("HTTP 404"),
                vec!["/to-missing", "/missing"],
            ),
            ("/choices", Err("HTTP 300"), vec!["/choices"]),
            ("/no-location", Err("HTTP 302"), vec!["/no-location"]),
            ("/loop", Err(too_many), vec!["/loop"; MAX_REDIRECTS + 1]),
        ];
        for (start, want, path) in cases {
            seen.lock().unwrap().clear();
            let got = fetch(&http, &format!("{base}{start}")).await;
            match want {
                Ok(()) => assert!(got.is_ok(), "{start}: {got:?}"),
                Err(fragment) => assert_fails(got, fragment, start),
            }
            assert_eq!(targets(&seen), path, "{start}");
        }
        // The limit is reqwest's: ten redirects are followed, the eleventh is refused.
        let hops = |n: usize| format!("{base}/hop{n}");
        fetch(&http, &hops(MAX_REDIRECTS)).await.unwrap();
        assert_fails(
            fetch(&http, &hops(MAX_REDIRECTS + 1)).await,
            too_many,
            "hop11",
        );
    }

    /// The request targets the test server saw.
    fn targets(seen: &Seen) -> Vec<String> {
        seen.lock()
            .unwrap()
            .iter()
            .map(|h| h.split_whitespace().nth(1).unwrap_or_default().to_owned())
            .collect()
    }

    #[tokio::test]
    async fn local_hosts_are_refused_unless_allowed() {
        let (base, seen) = serve(vec![route("/x.png", Reply::Ok("image/png", PNG.to_vec()))]).await;
        let port = base.rsplit(':').next().unwrap();
        let strict = client_with(EgressPolicy::default());
        let is = |ip: &str| {
            format!(
                "the host is a private or local address ({ip}), which the gateway does not fetch."
            )
        };
        // (URL, the end of the message)
        let cases = [
            (format!("{base}/x.png"), is("127.0.0.1")),
            (
                format!("http://[::ffff:127.0.0.1]:{port}/x.png"),
                is("::ffff:127.0.0.1"),
            ),
            // WHATWG parsing turns the decimal form into 127.0.0.1 before anything connects.
            (format!("http://2130706433:{port}/x.png"), is("127.0.0.1")),
            (
                "http://169.254.169.254/latest/meta-data/".to_owned(),
                is("169.254.169.254"),
            ),
            ("https://10.0.0.1/a.png".to_owned(), is("10.0.0.1")),
            // Resolved by the connector's resolver; 127.0.0.1 or ::1 may come first.
            (
                format!("http://localhost:{port}/x.png"),
                "the host resolves to a private or local address (".to_owned(),
            ),
        ];
        for (url, why) in &cases {
            let e = fetch(&strict, url).await.unwrap_err();
            assert_eq!(e.param.as_deref(), Some("p0"), "{url}");
            let lead = format!("Could not use the image at '{url}': {why}");
            assert!(e.message.starts_with(&lead), "{url}: {}", e.message);
        }
        assert!(
            seen.lock().unwrap().is_empty(),
            "nothing reached the server"
        );
        fetch(&client(), &format!("{base}/x.png")).await.unwrap();
        let trusted = client_with(EgressPolicy {
            trusted: vec!["127.0.0.1".parse().unwrap()],
            ..EgressPolicy::default()
        });
        fetch(&trusted, &format!("{base}/x.png")).await.unwrap();
    }

    #[tokio::test]
    async fn a_redirect_to_a_local_host_is_refused() {
        let (base, seen) = serve(vec![
            route("/a.png", Reply::Ok("image/png", PNG.to_vec())),
            redirect("/to-self", 302, "{base}/a.png"),
            redirect(
                "/to-metadata",
                302,
                "http://169.254.169.254/latest/meta-data/",
            ),
            redirect("/to-other-loopback", 301, "http://127.0.0.2:{port}/a.png"),
            redirect("/to-mapped", 307, "http://[::ffff:10.0.0.1]/a.png"),
            redirect("/to-nat64", 308, "http://[64:ff9b::7f00:1]:{port}/a.png"),
        ])
        .await;
        // The test server's address is trusted as if it were a public host; nothing else is.
        let http = client_with(EgressPolicy {
            trusted: vec!["127.0.0.1".parse().unwrap()],
            ..EgressPolicy::default()
        });
        fetch(&http, &format!("{base}/to-self")).await.unwrap();
        let cases = [
            ("/to-metadata", "169.254.169.254"),
            ("/to-other-loopback", "127.0.0.2"),
            ("/to-mapped", "::ffff:10.0.0.1"),
            ("/to-nat64", "64:ff9b::7f00:1"),
        ];
        for (start, ip) in cases {
            seen.lock().unwrap().clear();
            let got = fetch(&http, &format!("{base}{start}")).await;
            let why = format!("the host is a private or local address ({ip})");
            assert_fails(got, &why, start);
            assert_eq!(targets(&seen), [start], "only the first hop was requested");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_hung_server_is_given_up_on_at_the_deadline() {
        let (base, _) = serve(vec![route("/slow.png", Reply::Hang)]).await;
        let got = fetch(&client(), &format!("{base}/slow.png")).await;
        assert_fails(got, "the download did not finish within 10s", "hang");
    }
}
