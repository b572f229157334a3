# syntax=docker/dockerfile:1
# gomodel: OpenAI-compatible gateway for Amazon Bedrock.
#   docker build -t gomodel .
#   docker run --rm -p 8080:8080 --env-file .env gomodel

FROM rust:1.95-bookworm AS builder
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY crates ./crates
COPY spec ./spec
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p gomodel \
 && install -D -m 0755 target/release/gomodel /out/gomodel

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /app --create-home gomodel
COPY --from=builder /out/gomodel /usr/local/bin/gomodel
WORKDIR /app
USER 10001:10001
ENV PORT=8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/gomodel"]
