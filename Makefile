# One build entry point for both platforms (GNU make).
#
#   make build   dist/lambda/bootstrap  AWS Lambda, runtime provided.al2023 (template.yaml),
#                                       GOARCH=$(ARCH): amd64, or arm64 with make ARCH=arm64
#                dist/aliyunfc/main     Function Compute 3.0, runtime go1 (s.yaml)
#                and dist/lambda.zip, dist/aliyunfc.zip when `zip` is installed
#   make test    go test -race ./...
#   make run     the local adapter (emulator mode when no credentials are set)
#   make clean   remove dist/
#
# `sam build` (template.yaml, BuildMethod: makefile) runs build-SmsVerifyFunction;
# `s deploy` (s.yaml, pre-deploy action) runs `make build`.
# deploy/deploy_test.go reads this file: keep the output paths in LAMBDA_BIN and
# FC_BIN and the go build commands on one line each.

GO ?= go
# Lambda architecture: amd64 (template.yaml parameter Architecture=x86_64, the
# default) or arm64 (Architecture=arm64: Graviton, about 20% cheaper per GB-s).
# sam build does not tell make the parameter, so pass both:
#   ARCH=arm64 sam build --parameter-overrides Architecture=arm64
# Function Compute's go1 runtime is x86_64 only: the FC binary is always amd64.
ARCH ?= amd64

LAMBDA_BIN := dist/lambda/bootstrap
FC_BIN := dist/aliyunfc/main

ifeq ($(filter $(ARCH),amd64 arm64),)
$(error ARCH must be amd64 or arm64, not "$(ARCH)")
endif

.DEFAULT_GOAL := build
.PHONY: build lambda aliyunfc zip test run clean build-SmsVerifyFunction

build: lambda aliyunfc zip

# Phony on purpose: go's build cache makes a rebuild cheap, and make's file
# timestamps cannot see changes in imported packages.
lambda:
	GOOS=linux GOARCH=$(ARCH) CGO_ENABLED=0 $(GO) build -trimpath -tags lambda.norpc -ldflags='-s -w' -o $(LAMBDA_BIN) ./adapters/lambda

aliyunfc:
	GOOS=linux GOARCH=amd64 CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o $(FC_BIN) ./adapters/aliyunfc

# Optional archives for uploading by hand; neither `s deploy` nor `sam` needs them.
zip: lambda aliyunfc
	@if command -v zip >/dev/null 2>&1; then \
		rm -f dist/lambda.zip dist/aliyunfc.zip; \
		(cd $(dir $(LAMBDA_BIN)) && zip -q ../lambda.zip $(notdir $(LAMBDA_BIN))) && \
		(cd $(dir $(FC_BIN)) && zip -q ../aliyunfc.zip $(notdir $(FC_BIN))) && \
		echo "dist/lambda.zip dist/aliyunfc.zip"; \
	else \
		echo "zip not installed: skipped dist/*.zip"; \
	fi

# Called by `sam build` in its copy of the project, with ARTIFACTS_DIR set.
build-SmsVerifyFunction: lambda
	$(if $(ARTIFACTS_DIR),,$(error ARTIFACTS_DIR is not set: this target is run by sam build))
	cp $(LAMBDA_BIN) "$(ARTIFACTS_DIR)/bootstrap"

test:
	$(GO) test -race ./...

run:
	$(GO) run ./adapters/local

clean:
	rm -rf dist
