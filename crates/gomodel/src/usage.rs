//! Per-request usage: one record and one set of metric updates per request on the usage
//! endpoints (chat completions, embeddings, responses), errors included.
//!
//! The flow: the front door (`front`) stamps a [`UsageCtx`] (start time, request id, key hash)
//! on the request; the handler fills a [`UsageInfo`] (provider, resolved model, tokens) and puts
//! it on the response; the front door then records. A streamed answer is recorded instead by its
//! [`StreamUsage`] when the stream ends (tokens from the usage event, time to first token from
//! the first content event), and the handler marks the response [`StreamRecorded`].
//!
//! Recording never waits: metrics are atomic updates and the usage record is `try_send` into the
//! [`UsageRecorder`]'s bounded buffer.

use crate::auth::presented_key;
use crate::error::ErrorSummary;
use crate::metrics as m;
use crate::telemetry::{RequestId, ServedModel};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;
use gomodel_core::chat::{BlockDelta, StreamEvent, Usage};
use gomodel_core::registry::Route;
use gomodel_core::{ErrorSource, GatewayError};
use gomodel_storage::{UsageRecord, UsageRecorder};
use metrics::SharedString;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where finished requests go: metrics always, the usage database when storage is on.
#[derive(Clone, Default)]
pub struct UsageSink {
    recorder: Option<UsageRecorder>,
    series: Arc<m::SeriesCache>,
}

impl UsageSink {
    pub fn new(recorder: Option<UsageRecorder>) -> Self {
        UsageSink {
            recorder,
            series: Arc::default(),
        }
    }

    pub fn recorder(&self) -> Option<&UsageRecorder> {
        self.recorder.as_ref()
    }
}

/// Stamped on the request by the front door on the usage endpoints. Cheap to clone (the
/// handler takes a copy for a stream's [`StreamUsage`]).
#[derive(Debug, Clone)]
pub struct UsageCtx(Arc<CtxInner>);

#[derive(Debug)]
struct CtxInner {
    start: Instant,
    started_at_ms: i64,
    request_id: HeaderValue,
    key_hash: Option<String>,
    endpoint: &'static str,
}

impl UsageCtx {
    /// Starts timing a request to `endpoint` (`chat.completions`, `embeddings`, `responses`).
    pub fn begin(endpoint: &'static str, headers: &HeaderMap, request_id: &HeaderValue) -> Self {
        UsageCtx(Arc::new(CtxInner {
            start: Instant::now(),
            started_at_ms: gomodel_storage::now_ms(),
            request_id: request_id.clone(),
            key_hash: presented_key(headers).map(gomodel_storage::key_hash),
            endpoint,
        }))
    }

    pub fn key_hash(&self) -> Option<&str> {
        self.0.key_hash.as_deref()
    }
}

/// What a handler learned about the request, put on the response for the front door.
#[derive(Debug, Clone, Default)]
pub struct UsageInfo {
    pub provider: String,
    pub resolved_model: String,
    pub stream: bool,
    pub usage: Option<Usage>,
    /// The provider call (streams: until the stream opened).
    pub upstream: Option<Duration>,
    pub user: Option<String>,
    pub metadata: BTreeMap<String, String>,
}

impl UsageInfo {
    pub fn new(
        stream: bool,
        user: Option<String>,
        metadata: Option<BTreeMap<String, String>>,
    ) -> Self {
        UsageInfo {
            stream,
            user,
            metadata: metadata.unwrap_or_default(),
            ..UsageInfo::default()
        }
    }

    pub fn set_route(&mut self, route: &Route) {
        self.provider = route.provider.name().to_owned();
        self.resolved_model = route.model.clone();
    }
}

/// Marks a response whose usage the stream records itself.
#[derive(Debug, Clone, Copy)]
pub struct StreamRecorded;

/// How a request ended, as far as usage is concerned.
struct Ending {
    status: u16,
    /// The error code (`ThrottlingException`) or type (`invalid_request_error`).
    error_type: Option<String>,
    /// The error came from the provider (counted in `gomodel_upstream_errors_total`).
    upstream_error: bool,
    ttft: Option<Duration>,
}

impl UsageSink {
    /// Records a finished non-streamed request from what the handler put on its response
    /// (a stream records itself when it ends, see [`StreamUsage`]).
    pub fn finish_response(&self, ctx: &UsageCtx, resp: &mut Response) {
        if resp.extensions().get::<StreamRecorded>().is_some() {
            return;
        }
        let info = resp
            .extensions_mut()
            .remove::<UsageInfo>()
            .unwrap_or_default();
        let model = resp
            .extensions()
            .get::<ServedModel>()
            .map(|m| m.0.clone())
            .unwrap_or_default();
        let err = resp.extensions().get::<ErrorSummary>();
        let ending = Ending {
            status: resp.status().as_u16(),
            error_type: err.map(|e| e.code.clone().unwrap_or_else(|| e.error_type.to_owned())),
            upstream_error: err.is_some_and(|e| e.upstream),
            ttft: None,
        };
        self.finish(ctx, model, info, ending);
    }
}

impl UsageSink {
    fn finish(&self, ctx: &UsageCtx, model: String, info: UsageInfo, end: Ending) {
        let ctx = &*ctx.0;
        let latency = ctx.start.elapsed();
        let series = self.series.get(
            ctx.endpoint,
            &info.provider,
            &info.resolved_model,
            end.status,
        );
        series.requests.increment(1);
        series.duration.record(latency.as_secs_f64());
        if let Some(ttft) = end.ttft {
            series.ttft.record(ttft.as_secs_f64());
        }
        if let Some(upstream) = info.upstream {
            series.upstream.record(upstream.as_secs_f64());
        }
        if end.upstream_error {
            // Errors only: per-call registration is fine here.
            let provider = SharedString::from(Arc::<str>::from(info.provider.as_str()));
            let code = end.error_type.clone().unwrap_or_default();
            metrics::counter!(m::UPSTREAM_ERRORS, "provider" => provider, "code" => code)
                .increment(1);
        }
        let usage = info.usage.unwrap_or_default();
        let cached = usage.cache_read_tokens.unwrap_or(0);
        let reasoning = usage.reasoning_tokens.unwrap_or(0);
        let counts = [usage.input_tokens, usage.output_tokens, cached, reasoning];
        for (counter, n) in series.tokens.iter().zip(counts) {
            if n > 0 {
                counter.increment(n);
            }
        }
        let Some(recorder) = &self.recorder else {
            return;
        };
        recorder.record(UsageRecord {
            created_at_ms: ctx.started_at_ms,
            request_id: RequestId::str_of(&ctx.request_id).to_owned(),
            provider: info.provider,
            model,
            resolved_model: info.resolved_model,
            endpoint: ctx.endpoint.to_owned(),
            stream: info.stream,
            status: end.status,
            error_type: end.error_type,
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cached_tokens: cached,
            reasoning_tokens: reasoning,
            latency_ms: millis(latency),
            ttft_ms: end.ttft.map(millis),
            key_hash: ctx.key_hash.clone(),
            user: info.user,
            metadata: info.metadata,
        });
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Follows one streamed answer and records it exactly once: when it ends, fails, or is dropped
/// because the client went away (status 499).
pub struct StreamUsage {
    sink: UsageSink,
    ctx: UsageCtx,
    model: String,
    info: UsageInfo,
    ttft: Option<Duration>,
    /// `Some` once the stream ended (200) or failed (its error's status).
    ending: Option<Ending>,
}

/// The status recorded for a stream the client abandoned (nginx's "client closed request").
const CLIENT_CLOSED: u16 = 499;

impl StreamUsage {
    /// `ctx` is `None` only off the usage endpoints (then nothing is recorded).
    pub fn new(
        sink: UsageSink,
        ctx: Option<UsageCtx>,
        model: String,
        info: UsageInfo,
    ) -> Option<Self> {
        let ctx = ctx?;
        metrics::gauge!(m::STREAMS_IN_FLIGHT).increment(1.0);
        Some(StreamUsage {
            sink,
            ctx,
            model,
            info,
            ttft: None,
            ending: None,
        })
    }

    /// Call with every provider event, before encoding it.
    pub fn on_event(&mut self, ev: &StreamEvent) {
        match ev {
            StreamEvent::BlockDelta { delta, .. } if self.ttft.is_none() => {
                let content = match delta {
                    BlockDelta::Text(t)
                    | BlockDelta::ToolInput(t)
                    | BlockDelta::ReasoningText(t) => !t.is_empty(),
                    BlockDelta::ReasoningSignature(_) | BlockDelta::RedactedReasoning(_) => false,
                };
                if content {
                    self.ttft = Some(self.ctx.0.start.elapsed());
                }
            }
            StreamEvent::BlockStart { .. } if self.ttft.is_none() => {
                self.ttft = Some(self.ctx.0.start.elapsed());
            }
            StreamEvent::Usage(u) => self.info.usage = Some(*u),
            _ => {}
        }
    }

    /// The stream ended normally.
    pub fn on_finish(&mut self) {
        if self.ending.is_none() {
            self.ending = Some(Ending {
                status: 200,
                error_type: None,
                upstream_error: false,
                ttft: None,
            });
        }
    }

    /// The stream failed after it started.
    pub fn on_error(&mut self, e: &GatewayError) {
        if self.ending.is_none() {
            self.ending = Some(Ending {
                status: e.status(),
                error_type: Some(
                    e.code
                        .clone()
                        .unwrap_or_else(|| e.kind.openai_type().to_owned()),
                ),
                upstream_error: e.source == ErrorSource::Upstream,
                ttft: None,
            });
        }
    }
}

impl Drop for StreamUsage {
    fn drop(&mut self) {
        metrics::gauge!(m::STREAMS_IN_FLIGHT).decrement(1.0);
        let mut ending = self.ending.take().unwrap_or(Ending {
            status: CLIENT_CLOSED,
            error_type: Some("client_closed".to_owned()),
            upstream_error: false,
            ttft: None,
        });
        ending.ttft = self.ttft;
        let info = std::mem::take(&mut self.info);
        let model = std::mem::take(&mut self.model);
        self.sink.finish(&self.ctx, model, info, ending);
    }
}
