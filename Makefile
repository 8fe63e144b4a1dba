# meshbone — see README.md. Two commands set everything up on a fresh
# machine: `make dev` runs the mesh, `make test` runs the tests.

SHELL     := /bin/bash
GO        ?= go
KAFKA     := scripts/kafka.sh
REGISTRY  := scripts/registry.sh
# gotest: go test -v into a log; fails when a test skips (see the script).
GOTEST    := env GO=$(GO) scripts/gotest.sh
# Packages whose suites run against a real broker and registry in test-kafka
# (the browser and cluster suites have targets of their own).
KAFKA_PKGS ?= $(shell $(GO) list ./... | grep -v -e /internal/uitest -e /internal/clustertest)
# The cluster fault tests; bench-cluster runs those that measure.
CLUSTER_PKG := ./internal/clustertest/
CLUSTER_RUN ?= .
CLUSTER_TAGS ?= cluster
BENCH_CLUSTER_RUN := TestPublishThroughLeaderKill|TestServicesThroughBrokerOutage

.PHONY: dev test test-kafka test-cluster test-cluster-pending bench-cluster test-ui bench fuzz vet build clean up down

## dev: run the whole mesh in one process (embedded broker and registry)
dev:
	$(GO) run ./cmd/meshctl dev

## test: the hermetic suite (in-process kfake broker and srfake registry; needs only Go)
test:
	$(GO) vet ./...
	$(GO) test -race -timeout 15m ./...

## test-kafka: the same integration suites against a real Apache Kafka broker and a real schema registry (Apicurio
## Registry), installed from Maven Central by scripts/kafka.sh and scripts/registry.sh; fails if a test skips
test-kafka:
	$(KAFKA) install
	$(REGISTRY) install
	$(KAFKA) run -- $(REGISTRY) run -- $(GOTEST) artifacts/test-kafka.log -p 1 -count=1 -timeout 30m $(KAFKA_PKGS)

## test-cluster: the fault tests on a three-node cluster with the registry (kill -9 of a leader, a broker down
## 70 s, the registry stopped); prints the cluster figures last; fails if a test skips or the cluster is absent
test-cluster:
	$(GO) vet -tags '$(CLUSTER_TAGS)' $(CLUSTER_PKG)
	$(KAFKA) install
	$(REGISTRY) install
	$(KAFKA) cluster run 3 -- $(REGISTRY) run -- \
		$(GOTEST) artifacts/test-cluster.log -tags '$(CLUSTER_TAGS)' -count=1 -timeout 30m -run '$(CLUSTER_RUN)' $(CLUSTER_PKG)
	@grep -hE '^cluster\.[a-z_.]+: ' artifacts/test-cluster.log || true

## test-cluster-pending: the cluster tests that fail today (tag clusterpending; not in .ci/run): the registrar losing its quorum after provisioning with a broker dead
test-cluster-pending:
	$(MAKE) --no-print-directory test-cluster CLUSTER_TAGS='cluster clusterpending' CLUSTER_RUN=TestRegistrarLosesQuorumAfterProvisioning

## bench-cluster: only the fault tests that measure, on a fresh cluster; the figures print as the last lines
bench-cluster:
	$(MAKE) --no-print-directory test-cluster CLUSTER_RUN='$(BENCH_CLUSTER_RUN)'

## test-ui: the marketplace in a real headless Chromium (installed by scripts/chromium.sh); screenshots go to artifacts/
test-ui:
	@chromium=$$(scripts/chromium.sh) && \
	MESH_TEST_CHROMIUM=$$chromium $(GO) test -count=1 -v -timeout 10m ./internal/uitest/ | tee artifacts-ui.log; \
	status=$${PIPESTATUS[0]}; \
	if grep -q -- '--- SKIP' artifacts-ui.log; then echo "test-ui: a browser test skipped"; status=1; fi; \
	rm -f artifacts-ui.log; exit $$status

## bench: performance figures, measured on a real broker (each printed as a last line "name: value")
bench:
	$(KAFKA) run -- $(GO) run ./internal/bench

## fuzz: run each fuzz target for FUZZTIME: the descriptor parser, the record decoder, the policy loader, the search query path
FUZZTIME ?= 60s
FUZZ_TARGETS := FuzzParse:./pkg/product FuzzDecode:./pkg/events FuzzLoadFiles:./internal/policy FuzzSearch:./internal/store
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "=== $${t%%:*} ($${t#*:}, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$${t%%:*}$$" -fuzztime $(FUZZTIME) "$${t#*:}"; \
	done

## up / down: the docker-compose stack on real Kafka (needs a Docker engine; not run on the CI machine, which has none)
COMPOSE := docker compose -f deploy/compose/docker-compose.yml
up:
	$(COMPOSE) up -d --build

down:
	$(COMPOSE) down

build:
	$(GO) build ./...

clean:
	$(KAFKA) stop
