//! Command-line surface. Every loop the tool runs is bounded by a count *and* a time, so the
//! defaults here are the bounds a careless invocation gets.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "gomodel-bench",
    about = "Load generator for the gomodel benchmark harness (loopback only)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Keep a fixed concurrency against one target and write a JSON result.
    Load(Box<LoadArgs>),
    /// Print one /proc sample (RSS, HWM, CPU ticks) of a process tree as JSON.
    Proc(ProcArgs),
    /// Spawn a command and time process start → first 200 on a health URL → first completion.
    ColdStart(Box<ColdStartArgs>),
    /// Run a zero-work relay in front of an upstream (the floor of any proxy on this machine).
    Relay(RelayArgs),
}

/// What kind of endpoint is driven, which decides how requests are built and answers read.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    /// `POST /v1/chat/completions` (OpenAI shape; `--stream` switches to SSE).
    OpenaiChat,
    /// `POST /v1/embeddings` (OpenAI shape).
    OpenaiEmbeddings,
    /// Bedrock `POST /model/{id}/converse`, SigV4-signed per request.
    Converse,
    /// Bedrock `POST /model/{id}/converse-stream`, SigV4-signed, event-stream answer.
    ConverseStream,
    /// Bedrock `POST /model/{id}/invoke` with a Cohere-style embedding batch, SigV4-signed.
    InvokeEmbeddings,
}

#[derive(Args, Debug, Clone)]
pub struct TargetArgs {
    #[arg(long, value_enum)]
    pub target: TargetKind,
    /// Base URL of the contender, e.g. `http://127.0.0.1:8080` (loopback only).
    #[arg(long)]
    pub url: String,
    /// Model id sent in the body (OpenAI targets) or in the path (Bedrock targets).
    #[arg(long, default_value = "anthropic.claude-3-5-sonnet-20240620-v1:0")]
    pub model: String,
    /// Stream the chat completion (OpenAI chat target only).
    #[arg(long)]
    pub stream: bool,
    /// Last user message text (emulator directives such as `[[emu:words=N]]` go here).
    #[arg(long, default_value = "Hello from the benchmark")]
    pub prompt: String,
    /// Number of inputs in one embeddings request.
    #[arg(long, default_value_t = 16)]
    pub embed_inputs: usize,
    /// JSON object merged into the OpenAI-shaped body (e.g. `{"input_type":"search_document"}`
    /// for Cohere embeddings, which a peer does not default).
    #[arg(long)]
    pub extra_body: Option<String>,
    /// Extra request header `name: value` (repeatable), e.g. auth or Portkey routing headers.
    #[arg(long = "header", short = 'H')]
    pub headers: Vec<String>,
    /// SigV4 region for the Bedrock targets.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    #[arg(long, default_value = "AKIDEMULATOR")]
    pub access_key: String,
    #[arg(long, default_value = "emulator-secret")]
    pub secret_key: String,
    /// Per-request timeout (whole answer, stream included), seconds.
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
}

#[derive(Args, Debug)]
pub struct LoadArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Scenario name written into the result (e.g. `chat_c10`).
    #[arg(long, default_value = "adhoc")]
    pub scenario: String,
    /// Contender name written into the result (e.g. `gomodel`).
    #[arg(long, default_value = "adhoc")]
    pub contender: String,
    /// Concurrent workers; each owns one keep-alive connection.
    #[arg(long, short = 'c', default_value_t = 10)]
    pub concurrency: usize,
    /// Measured requests (upper bound; `--duration` may stop earlier).
    #[arg(long, short = 'n', default_value_t = 10_000)]
    pub requests: u64,
    /// Upper bound on the measured phase, seconds.
    #[arg(long, short = 'd', default_value_t = 10.0)]
    pub duration: f64,
    /// Warm-up requests (not recorded). Default: 10 per worker, at least 100.
    #[arg(long)]
    pub warmup_requests: Option<u64>,
    /// Upper bound on the warm-up phase, seconds.
    #[arg(long, default_value_t = 3.0)]
    pub warmup_duration: f64,
    /// Runtime worker threads of the load generator (1 leaves the other core to the system under test).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Process to sample before/after/during the run, as `label=PID` (repeatable); its whole
    /// process tree is summed so multi-worker peers are measured fairly.
    #[arg(long = "pid")]
    pub pids: Vec<String>,
    /// Interval between RSS samples during the run, milliseconds.
    #[arg(long, default_value_t = 250)]
    pub sample_interval_ms: u64,
    /// Where to write the JSON result (stdout when absent).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ProcArgs {
    #[arg(long)]
    pub pid: u32,
}

#[derive(Args, Debug)]
pub struct ColdStartArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Contender name written into the result.
    #[arg(long, default_value = "adhoc")]
    pub contender: String,
    /// URL polled until it answers 200 (e.g. `http://127.0.0.1:8080/health`).
    #[arg(long)]
    pub health_url: String,
    /// Also time the first successful request against `--target` after health is up.
    #[arg(long)]
    pub completion: bool,
    /// Repetitions (each spawns a fresh process and kills it afterwards).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Give up on one repetition after this many seconds.
    #[arg(long, default_value_t = 60.0)]
    pub max_wait: f64,
    /// Where to write the JSON result (stdout when absent).
    #[arg(long, short = 'o')]
    pub out: Option<PathBuf>,
    /// The command to spawn (after `--`); it inherits this process's environment.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// How much of a proxy the relay is.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelayMode {
    /// Bytes copied both ways; no HTTP parsing.
    Tcp,
    /// hyper HTTP/1.1 server in front of hyper's pooled client; bodies streamed untouched.
    Http,
}

#[derive(Args, Debug)]
pub struct RelayArgs {
    #[arg(long, value_enum)]
    pub mode: RelayMode,
    /// Address to listen on; port 0 picks one, printed as `listening on ADDR`.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    /// The upstream, `IP:PORT` on loopback.
    #[arg(long)]
    pub upstream: String,
    /// Runtime worker threads (default: one per core, as gomodel).
    #[arg(long)]
    pub threads: Option<usize>,
}
