// Command aliyunfc runs smsverify on Alibaba Cloud Function Compute 3.0 (the
// go1 runtime, handler "main"), built with
//
//	GOOS=linux GOARCH=amd64 CGO_ENABLED=0 go build -o main ./adapters/aliyunfc
//
// One function serves both HTTP-trigger events (the HTTP API) and plain JSON
// events (the event API). With no ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET set, it
// signs with the per-invocation STS credentials of the function's role. See
// https://www.alibabacloud.com/help/en/functioncompute/fc-3-0/user-guide/http-trigger-invoking-function
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aliyun/fc-runtime-go-sdk/fc"
)

func main() {
	h, err := newHandler(os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "smsverify:", err)
		os.Exit(1)
	}
	// Open the upstream connections while the runtime starts, in parallel
	// with the first invocation and not on its path
	// (function.Service.Warm). An initializer (fc.RegisterInitializerFunction)
	// would run before the first invocation and hold it back until done.
	go func() { _ = h.svc.Warm(context.Background()) }()
	fc.Start(h.invoke)
}
