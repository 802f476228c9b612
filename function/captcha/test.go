package captcha

import (
	"context"
	"strings"
)

// TestPassPrefix starts every token the test provider passes.
const TestPassPrefix = "pass"

// Test is the in-process provider for the local emulator and demos: a
// token starting with "pass" passes, anything else is refused. It calls
// nothing, so it proves nothing: the service accepts it only in emulator
// mode.
type Test struct{}

// Verify passes tokens that start with TestPassPrefix.
func (Test) Verify(ctx context.Context, token, _ string) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, &Error{Kind: KindUnavailable, Provider: ProviderTest, Reason: "canceled", Err: err}
	}
	if strings.HasPrefix(token, TestPassPrefix) {
		return Result{Code: "pass"}, nil
	}
	return Result{}, &Error{Kind: KindRefused, Provider: ProviderTest, Reason: "test-token-not-pass"}
}
