# Two commands a newcomer needs: `make run` and `make test`.
GO ?= go
BIN := bin

.PHONY: run test build images bench vet fmt unit

build:
	$(GO) build -o $(BIN)/ ./cmd/...

run:
	hack/run.sh

test:
	hack/test.sh

unit:
	$(GO) test ./pkg/... ./cmd/...

images:
	hack/images.sh

bench:
	hack/bench.sh

vet:
	$(GO) vet ./...

fmt:
	gofmt -l -w $$(git ls-files '*.go')
