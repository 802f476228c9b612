package limit

import (
	"context"
	"io"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestRedisDownWritesNothing: with Redis unreachable, calls fail with
// errors and the client library writes nothing to stderr (the function's
// logs are its own JSON lines; some Redis clients print dial failures).
// It catches writes to file descriptor 2 itself, which a logger made at
// init (holding the old os.Stderr) would still reach.
func TestRedisDownWritesNothing(t *testing.T) {
	s := openRedis(t, RedisOptions{URL: "redis://" + closedPort(t) + "/0", Prefix: "smsverify:"})
	got := captureFD2(t, func() {
		ctx := context.Background()
		if _, err := s.Allow(ctx, at(0), req("k", "1/1h")); err == nil {
			t.Error("Allow succeeded")
		}
		if _, err := s.MarkUsed(ctx, "k", time.Minute); err == nil {
			t.Error("MarkUsed succeeded")
		}
		if _, err := s.Claim(ctx, "k", "fp", time.Minute); err == nil {
			t.Error("Claim succeeded")
		}
	})
	if got != "" {
		t.Errorf("stderr got %q, want nothing", got)
	}
}

// captureFD2 runs f with file descriptor 2 on a pipe and returns what was
// written to it.
func captureFD2(t *testing.T, f func()) string {
	t.Helper()
	saved, err := syscall.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(saved)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(r)
		out <- string(b)
	}()
	if err := syscall.Dup3(int(w.Fd()), 2, 0); err != nil {
		t.Fatal(err)
	}
	f()
	if err := syscall.Dup3(saved, 2, 0); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return <-out
}
