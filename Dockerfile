# Hearsay's image: `docker build -t hearsay .` (docs/deployment.md). On a host that
# cannot pull the two base images, deploy/docker/base-images.sh builds them locally
# under these names first.

# The build stage: the release binary exactly as `make release` links it.
FROM swift:6.3-bookworm AS build
# Package versions are not pinned: a point release of Debian replaces them in the
# archive, and a pinned build would then fail instead of taking the security fixes.
# hadolint ignore=DL3008
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libssl-dev zlib1g-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# The manifest then leaves out the tests, benchmarks and fuzzer, whose directories the
# context does not hold (.dockerignore).
ENV HEARSAY_PRODUCTS_ONLY=1
# Dependencies resolved in a layer of their own, so a change to the sources alone
# does not fetch them again.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY release ./release
# --static-swift-stdlib and the rest of release/build.sh: the runtime stage then needs
# no Swift libraries. Symbols and debug information go (`install --strip`), which takes
# the binary from 52 MB to 18 MB; a crash report then names addresses, not functions.
# Before that, release/order-check.sh fails the build if the order file is stale.
RUN release/build.sh --product hearsay \
 && release/order-check.sh .build/release/hearsay \
 && install -D --strip .build/release/hearsay /out/usr/local/bin/hearsay \
 && /out/usr/local/bin/hearsay --version

# The image that runs: Debian's slim base and nothing added but the binary and its
# user. The binary has libcrypto and zlib linked in (release/build.sh), so it needs
# glibc alone; ca-certificates stays out too: the agent opens no TLS connection.
FROM debian:bookworm-slim
RUN groupadd --system --gid 10001 hearsay \
 && useradd --system --uid 10001 --gid hearsay --home-dir /var/lib/hearsay --no-create-home \
      --shell /usr/sbin/nologin hearsay \
 && install -d -o hearsay -g root -m 0770 /var/lib/hearsay
# The data directory is the user's, and writable by group root too, so that an image
# run under an arbitrary uid with gid 0 (OpenShift's restricted policy) can use it.
COPY --from=build /out/ /
# Every setting is also a HEARSAY_* variable (docs/operations.md); these three are what
# a container needs to differ from the defaults. The key (HEARSAY_KEY or
# HEARSAY_KEYRING) has no default: the agent refuses to start without one.
ENV HEARSAY_DATA_DIR=/var/lib/hearsay \
    HEARSAY_BIND=0.0.0.0:7946 \
    HEARSAY_HTTP=0.0.0.0:7947
VOLUME ["/var/lib/hearsay"]
# Gossip (UDP probes and broadcasts, TCP for anti-entropy and large frames), then the
# HTTP API with /metrics.
EXPOSE 7946/udp 7946/tcp 7947/tcp
USER 10001:10001
WORKDIR /var/lib/hearsay
# SIGTERM is a graceful leave: peers mark the node `left` within 5 s and it exits 0.
STOPSIGNAL SIGTERM
# Healthy means ready: joined (or the first member) and not leaving, which also needs
# the event loop to answer; an agent that cannot join (a wrong key) shows as unhealthy.
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 CMD ["hearsay", "health", "--ready"]
ENTRYPOINT ["hearsay"]
CMD ["agent"]
