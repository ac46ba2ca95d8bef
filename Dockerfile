# syntax=docker/dockerfile:1.7
# postern: build with the same toolchain CI uses, run as a non-root user.
#   docker build -t postern .
#   docker run -p 25:25 -p 587:587 -p 465:465 -p 993:993 -p 995:995 -p 8025:8025 \
#              -v postern-data:/data -v ./config:/config postern

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# Cache mounts keep the crates.io download and the compiled dependencies between builds,
# so a source change rebuilds only postern itself.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin postern \
    && install -D -m 0755 target/release/postern /out/postern

FROM debian:bookworm-slim
# ca-certificates: public roots for delivery.tls = "verify" and https webhooks.
# libcap2-bin only to grant the bind capability below, then removed.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libcap2-bin \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 postern \
    && useradd --system --uid 10001 --gid postern --home-dir /data --shell /usr/sbin/nologin postern \
    && install -d -o postern -g postern -m 0750 /data /config
COPY --from=build /out/postern /usr/local/bin/postern
COPY dist/container.toml /etc/postern/postern.toml
# Ports below 1024 without root: only CAP_NET_BIND_SERVICE, as a file capability.
RUN setcap cap_net_bind_service=+ep /usr/local/bin/postern \
    && ln -s /usr/local/bin/postern /usr/sbin/sendmail \
    && apt-get purge -y libcap2-bin && apt-get autoremove -y
USER 10001:10001
ENV POSTERN_CONFIG=/etc/postern/postern.toml
VOLUME ["/data", "/config"]
EXPOSE 25 465 587 110 143 993 995 8025
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["postern", "health"]
STOPSIGNAL SIGTERM
CMD ["postern", "serve"]
