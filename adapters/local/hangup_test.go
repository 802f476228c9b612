package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"smsverify/core/dypnstest"
)

// lineWriter sends each access-log line written to it on lines.
type lineWriter struct{ lines chan string }

func (w lineWriter) Write(p []byte) (int, error) {
	for l := range strings.SplitSeq(strings.TrimSpace(string(p)), "\n") {
		w.lines <- l
	}
	return len(p), nil
}

// TestHangUpDoesNotCancelSend (issue 15, D11): a client that hangs up
// while its keyed send is at Alibaba does not cancel the send: the real
// answer is stored under the key, and the client's retry gets it, not a
// timeout, with no second SMS.
func TestHangUpDoesNotCancelSend(t *testing.T) {
	clearCredentials(t)
	up := &gatedUpstream{fake: dypnstest.NewHandler(dypnstest.Options{}), arrived: make(chan struct{}, 2), release: make(chan struct{})}
	upstream := httptest.NewServer(up)
	t.Cleanup(upstream.Close)
	setCredentials(t, upstream.URL)
	t.Setenv("HOST", "127.0.0.1")
	t.Setenv("PORT", "0")
	logs := lineWriter{lines: make(chan string, 16)}
	ctx, stop := context.WithCancel(context.Background())
	addrc, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- run(ctx, &bytes.Buffer{}, logs, hooks{ready: func(a string) { addrc <- a }}) }()
	t.Cleanup(func() { stop(); wait(t, done, "shutdown") })
	addr := wait(t, addrc, "listening address")

	const key = "5d0c3b1a-2e4f-4a6b-9c8d-7e6f5a4b3c2d"
	body := `{"PhoneNumber":"13800000000"}`
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/send", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	wait(t, up.arrived, "the send at the upstream")
	conn.Close() // the client hangs up
	// A round trip of its own gives the server time to see the hang-up
	// before the upstream answers.
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
	}
	close(up.release)
	// The send's access-log line is written once its request is done.
	for !strings.Contains(wait(t, logs.lines, "access log"), `"SendSmsVerifyCode"`) {
	}

	req, _ = http.NewRequest(http.MethodPost, "http://"+addr+"/send", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(bufio.NewReader(resp.Body)).Decode(&m)
	if resp.StatusCode != http.StatusOK || m["Code"] != "OK" || resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry after the hang-up: %d %v (replayed %q), want the replayed 200", resp.StatusCode, m, resp.Header.Get("Idempotent-Replayed"))
	}
	if n := up.fake.SendCount(); n != 1 {
		t.Fatalf("%d sends, want 1", n)
	}
}
