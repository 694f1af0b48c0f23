# syntax=docker/dockerfile:1
# Builds the `sinergi` binary and runs `sinergi serve` as a non-root user.

FROM rust:1-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Cache mounts keep the registry and build artefacts between image builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin sinergi \
    && cp target/release/sinergi /usr/local/bin/sinergi

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpq5 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /app --uid 10001 sinergi
COPY --from=build /usr/local/bin/sinergi /usr/local/bin/sinergi
USER sinergi
WORKDIR /app
ENV SINERGI_BIND=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["sinergi"]
CMD ["serve"]
