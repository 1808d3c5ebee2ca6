# syntax=docker/dockerfile:1
# Roundtable container image: `docker build -t roundtable .`
# The image runs `roundtable serve` (web server plus background worker);
# pass another subcommand to run e.g. `migrate` or `admin ...`.

FROM rust:1-bookworm AS builder
WORKDIR /src
# The whole context (see .dockerignore), so new directories such as
# templates/ or static/ are picked up without editing this file.
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin roundtable \
 && install -D -m 0755 target/release/roundtable /out/roundtable \
 && mkdir -p config templates static

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system roundtable \
 && useradd --system --gid roundtable --home-dir /app --no-create-home --shell /usr/sbin/nologin roundtable
WORKDIR /app
COPY --from=builder /out/roundtable /usr/local/bin/roundtable
COPY --from=builder /src/config ./config
COPY --from=builder /src/templates ./templates
COPY --from=builder /src/static ./static
# Outgoing email goes here when the file transport is used.
RUN mkdir -p /app/outbox && chown roundtable:roundtable /app/outbox
USER roundtable
ENV ROUNDTABLE_HTTP__BIND=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/roundtable"]
CMD ["serve"]
