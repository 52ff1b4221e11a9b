# Hearsay: `make run` starts a three-node demo cluster, `make test` runs every test.
SWIFT ?= swift
# iptables: the cluster tests partition loopback ports with DROP rules; prometheus (with
# promtool): the end-to-end test scrapes real agents and checks the rules and dashboard;
# mmdebstrap (base images when none can be pulled) and python3-venv (the deployment
# tests' tools): Tests/Deployment; faketime: an agent's wall clock stepped while it runs;
# iproute2: the fault harness's network namespaces. Docker is DOCKER_PACKAGES, apart.
APT_PACKAGES := libssl-dev zlib1g-dev pkg-config iptables prometheus mmdebstrap python3-venv faketime iproute2
# Debian's engine and client, without recommends (apparmor, needrestart). Not installed
# where an engine already is: Docker's own packages (docker-ce, containerd.io) conflict
# with Debian's, and apt-get -y would remove them.
DOCKER_PACKAGES := docker.io
BUILD_FLAGS ?=

.PHONY: run simulate test test-deployment test-faults soak bench-serf image build release release-unchecked order-file bench bench-idle bench-durability bench-watch fuzz fuzz-build deps format lint clean
FUZZ_SECONDS ?= 60
SERF_NODES ?= 16 64

# Installs the system libraries the build links (OpenSSL's libcrypto, zlib) when they
# are missing; a fresh Debian machine with only the Swift toolchain needs nothing else.
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	docker=""; if ! command -v dockerd >/dev/null && ! dpkg-query -W -f='$${Status}' docker-ce 2>/dev/null | grep -q "ok installed"; then \
	  for p in $(DOCKER_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || docker="$$docker $$p"; \
	  done; \
	fi; \
	if [ -n "$$missing$$docker" ]; then \
	  echo "installing:$$missing$$docker"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq || exit 1; \
	  if [ -n "$$missing" ]; then DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing || exit 1; fi; \
	  if [ -n "$$docker" ]; then \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$docker || exit 1; \
	  fi; \
	fi

build: deps
	$(SWIFT) build $(BUILD_FLAGS)

# The agent as it ships (release/build.sh says what its flags do; the Dockerfile uses the
# same script). The order file and the linker script are not inputs SwiftPM tracks:
# linking again every time (seconds) keeps the binary true to them. The link map, which
# `make order-file` reads, goes beside .build/release: that is a link SwiftPM makes only
# after its first build. release/order-check.sh then fails the build when the order file
# no longer fits the code (`make order-file` rewrites it).
release: release-unchecked
	release/order-check.sh .build/release/hearsay

release-unchecked: deps
	rm -f .build/release/hearsay
	mkdir -p .build
	SWIFT=$(SWIFT) release/build.sh --product hearsay -Xlinker -Map=$(CURDIR)/.build/hearsay.map $(BUILD_FLAGS)

# Rewrites release/hearsay.order from a traced run of the release agent (valgrind), then
# links again with it. Run it when the code an agent runs has changed much; names that no
# longer exist are skipped, new ones are left where they fall.
order-file: release-unchecked
	$(MAKE) deps APT_PACKAGES=valgrind
	Benchmarks/scripts/order-file.sh .build/release/hearsay
	$(MAKE) release

# Idle resident memory and CPU of 16 release agents on loopback.
bench-idle: release
	Benchmarks/scripts/idle-cluster.sh 16 30 60

# Three agents on loopback (gossip 7946/7956/7966, HTTP one port above), some metadata
# written, and where to look; Ctrl-C leaves gracefully.
run: deps
	$(SWIFT) run $(BUILD_FLAGS) hearsay demo

# A visible simulated cluster: joins, a kill, a partition and its healing.
simulate: deps
	$(SWIFT) run $(BUILD_FLAGS) hearsay simulate --nodes 8 --kill 1 --partition 20s --gossip-interval 5s --verbose

# The Swift suites, the short fault scenarios (agents in network namespaces: a partition,
# a crash, hostile input), then the deployment tests (image, containers, Compose,
# Kubernetes manifests), which start a Docker daemon when none runs and stop it afterwards.
test: deps
	$(SWIFT) build --build-tests $(BUILD_FLAGS)
	$(SWIFT) test --skip-build --disable-xctest $(BUILD_FLAGS)
	$(SWIFT) build --build-tests --package-path Examples/Embedding --scratch-path .build-example
	$(SWIFT) test --skip-build --disable-xctest --package-path Examples/Embedding --scratch-path .build-example
	Tests/Faults/run.sh
	Tests/Deployment/run.sh

# The short fault scenarios alone.
test-faults: deps
	$(SWIFT) build --product hearsay $(BUILD_FLAGS)
	Tests/Faults/run.sh

# Every fault scenario at full length on the release agent (about 20 minutes), then
# docs/reliability.md from what they measured.
soak: release
	$(CLANG) -shared -fPIC -O2 -o .build/slow-sync.so Benchmarks/scripts/slow-sync.c -ldl
	rm -f .build/faults-results.json
	HEARSAY_SOAK=1 HEARSAY_BINARY=$(CURDIR)/.build/release/hearsay Tests/Faults/run.sh
	python3 Tests/Faults/report.py

# The deployment tests alone (one check runs a Swift test, hence the build).
test-deployment: deps
	$(SWIFT) build --build-tests $(BUILD_FLAGS)
	Tests/Deployment/run.sh

# The container image, `hearsay:latest`; base images are built locally when they cannot
# be pulled (deploy/docker/base-images.sh).
image: deps
	deploy/docker/base-images.sh
	DOCKER_BUILDKIT=1 /usr/bin/docker build -t hearsay:latest .

# The same flags as `make release`, so the two share one build (`swift run` does not
# take --static-swift-stdlib, hence build, then run). DurabilityBenchmarks runs the
# release agent, and preloads .build/slow-sync.so into it for a disk that takes 200 ms
# per sync (built with the toolchain's clang).
BENCHMARKS := CoreBenchmarks WireBenchmarks NodeBenchmarks DurabilityBenchmarks WatchBenchmarks
CLANG ?= $(dir $(shell command -v $(SWIFT)))clang
bench: release
	$(CLANG) -shared -fPIC -O2 -o .build/slow-sync.so Benchmarks/scripts/slow-sync.c -ldl
	for b in $(BENCHMARKS); do SWIFT=$(SWIFT) release/build.sh --product $$b $(BUILD_FLAGS) || exit 1; done
	for b in $(BENCHMARKS); do .build/release/$$b || exit 1; done
	$(MAKE) bench-serf

# Hearsay against serf (Debian's package, installed when missing), side by side on
# loopback at N = 16 and 64 (Benchmarks/scripts/serf-compare.py says what it measures).
bench-serf: release
	@command -v serf >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq serf; }
	Benchmarks/scripts/serf-compare.py $(SERF_NODES)

# Blocking queries and event streams: latency beside a polling client, and 10,000 idle
# watchers (part of `make bench`).
bench-watch: release
	SWIFT=$(SWIFT) release/build.sh --product WatchBenchmarks $(BUILD_FLAGS)
	.build/release/WatchBenchmarks

# Durable PUTs alone (part of `make bench`).
bench-durability: release
	$(CLANG) -shared -fPIC -O2 -o .build/slow-sync.so Benchmarks/scripts/slow-sync.c -ldl
	SWIFT=$(SWIFT) release/build.sh --product DurabilityBenchmarks $(BUILD_FLAGS)
	.build/release/DurabilityBenchmarks

# libFuzzer on the frame decoder for FUZZ_SECONDS (default 60), starting from the
# committed corpus. New inputs land in .build-fuzz/corpus; a crash is written to
# Fuzz/crashes/, where `make test` replays it from then on (commit it with the fix).
fuzz-build: deps
	$(SWIFT) build -c debug --scratch-path .build-fuzz --sanitize=fuzzer \
	  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING --product FrameFuzzer

fuzz: fuzz-build
	mkdir -p .build-fuzz/corpus Fuzz/crashes
	.build-fuzz/debug/FrameFuzzer .build-fuzz/corpus Fuzz/corpus -max_total_time=$(FUZZ_SECONDS) \
	  -artifact_prefix=Fuzz/crashes/ -print_final_stats=1

format:
	$(SWIFT) format -i -r Sources Tests Benchmarks Examples Fuzz Package.swift

lint:
	$(SWIFT) format lint -r Sources Tests Benchmarks Examples Fuzz

clean:
	rm -rf .build .build-example
