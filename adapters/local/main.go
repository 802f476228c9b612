// Command local runs smsverify as a plain net/http server: the default way
// to run it (`go run ./adapters/local`).
//
// With no ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET it runs in emulator mode: an
// in-process core/dypnstest endpoint stands in for Alibaba, no SMS is sent,
// each code is printed to the console, and GET /emulator/codes?PhoneNumber=…
// lists the codes sent. With credentials it calls DYPNS_ENDPOINT.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout, os.Stderr, hooks{}); err != nil {
		fmt.Fprintln(os.Stderr, "smsverify:", err)
		os.Exit(1)
	}
}
