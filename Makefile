# meshbone — see README.md. Two commands set everything up on a fresh
# machine: `make dev` runs the mesh, `make test` runs the tests.

SHELL     := /bin/bash
GO        ?= go
KAFKA     := scripts/kafka.sh
# Packages whose suites run against a real broker in test-kafka.
KAFKA_PKGS ?= ./...

.PHONY: dev test test-kafka test-ui bench fuzz vet build clean up down

## dev: run the whole mesh in one process (embedded broker and registry)
dev:
	$(GO) run ./cmd/meshctl dev

## test: the hermetic suite (in-process kfake broker and srfake registry; needs only Go)
test:
	$(GO) vet ./...
	$(GO) test -race -timeout 15m ./...

## test-kafka: the same integration suites against a real Apache Kafka broker (installed from Maven Central by scripts/kafka.sh)
test-kafka:
	$(KAFKA) run -- $(GO) test -p 1 -count=1 -timeout 30m $(KAFKA_PKGS)

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

## fuzz: run the descriptor parser fuzzer for a minute
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./pkg/product

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
