// Package main is the AWS Lambda adapter of smsverify, built as bootstrap for
// the provided.al2023 runtime:
//
//	GOOS=linux CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap ./adapters/lambda
//
// One binary serves API Gateway HTTP API (payload 2.0), REST API (1.0 proxy),
// Lambda function URLs, ALB targets, SQS batches and direct invocations (the
// event API). It translates events to and from package function and holds no
// business rules; see
// https://docs.aws.amazon.com/lambda/latest/dg/lambda-golang.html.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	h, err := newHandlerFromEnv(os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Open the upstream connections during Lambda's init phase, in
	// parallel with the runtime's start and the first invocation, not on
	// its path (function.Service.Warm).
	go func() { _ = h.svc.Warm(context.Background()) }()
	lambda.Start(h.handle)
}
