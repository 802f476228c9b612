package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"smsverify/adapters/internal/platform"
	"smsverify/core/dypnstest"
	"smsverify/function"
)

// rieModule is the official AWS Lambda Runtime Interface Emulator.
const rieModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// TestRIE builds the bootstrap and runs it under the Lambda Runtime
// Interface Emulator against an in-test dypnstest fake: an HTTP API v2 send,
// then a direct check with the code the fake sent, then a transient failure.
// The RIE is $AWS_LAMBDA_RIE, or else built with go install from the local
// module cache (skipped when it is not there: tests never download). Invocations are strictly
// sequential: the RIE crashes on concurrent ones.
func TestRIE(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries and runs the Lambda RIE")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the Lambda RIE runs on linux only")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()

	bootstrap := filepath.Join(dir, "bootstrap")
	build := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", bootstrap, ".")
	build.Env = append(os.Environ(), "GOOS=linux", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build bootstrap: %v\n%s", err, out)
	}
	rie := findRIE(ctx, t, dir)

	fake := dypnstest.NewServer(dypnstest.Options{})
	t.Cleanup(fake.Close) // runs after the RIE is stopped

	watched, warmed := dypnstest.WarmUp(fake)
	upstream := httptest.NewServer(watched)
	t.Cleanup(upstream.Close)
	base, logPath := startRIE(ctx, t, rie, bootstrap, dir, upstream.URL)
	client := &http.Client{Timeout: 30 * time.Second}

	// 1. HTTP API v2: POST /send.
	e := fixture[events.APIGatewayV2HTTPRequest](t, "apigw-v2-request-no-authorizer.json")
	e.RequestContext.HTTP.Method, e.RawPath, e.Body = http.MethodPost, "/send", sendBody
	e.Headers["content-type"], e.Headers["content-length"] = "application/json", fmt.Sprint(len(sendBody))
	var v2 events.APIGatewayV2HTTPResponse
	invokeRIE(ctx, t, client, base, "rie-send-1", mustJSON(t, e), false, &v2)
	if v2.StatusCode != http.StatusOK || !strings.Contains(v2.Body, `"Code":"OK"`) {
		t.Fatalf("send: statusCode %d, body %s", v2.StatusCode, v2.Body)
	}
	if v2.Headers["X-Request-Id"] != "rie-send-1" {
		t.Errorf("X-Request-Id = %q, want the invocation's request id", v2.Headers["X-Request-Id"])
	}
	if n := fake.SendCount(); n != 1 {
		t.Fatalf("fake SendCount = %d, want 1", n)
	}
	codes := fake.Codes(testPhone)
	if len(codes) != 1 || codes[0].VerifyCode == "" {
		t.Fatalf("fake codes = %+v, want one", codes)
	}

	// 2. Direct invocation: check the code.
	var check struct {
		Code  string
		Model struct{ VerifyResult string }
	}
	invokeRIE(ctx, t, client, base, "rie-check-1",
		[]byte(`{"Action":"CheckSmsVerifyCode","PhoneNumber":"`+testPhone+`","VerifyCode":"`+codes[0].VerifyCode+`"}`), false, &check)
	if check.Code != "OK" || check.Model.VerifyResult != "PASS" {
		t.Fatalf("check = %+v, want OK PASS", check)
	}

	// 3. A transient upstream failure is a function error.
	fake.FailNext(1, dypnstest.FaultUnavailable)
	var fnErr struct{ ErrorMessage, ErrorType string }
	invokeRIE(ctx, t, client, base, "rie-send-2", []byte(`{"Action":"SendSmsVerifyCode","PhoneNumber":"13900000000"}`), true, &fnErr)
	if fnErr.ErrorType != function.ErrorTypeUpstreamUnavailable || fnErr.ErrorMessage == "" {
		t.Fatalf("transient failure: got %+v, want a function error of type %s", fnErr, function.ErrorTypeUpstreamUnavailable)
	}

	// 4. A malformed HTTP event is a function error too, of its own type.
	e.Body, e.IsBase64Encoded = "not base64!", true
	fnErr.ErrorType = ""
	invokeRIE(ctx, t, client, base, "rie-bad-1", mustJSON(t, e), true, &fnErr)
	if fnErr.ErrorType != platform.ErrorTypeInvalidEvent {
		t.Fatalf("malformed event: got %+v, want a function error of type %s", fnErr, platform.ErrorTypeInvalidEvent)
	}

	// 5. The init phase opened the Dypnsapi connection (function.Service.Warm).
	select {
	case got := <-warmed:
		if got != "HEAD /" {
			t.Errorf("warm-up request: %s, want HEAD /", got)
		}
	case <-time.After(30 * time.Second): // a guard against a hang, not a timing assertion
		t.Error("the bootstrap sent no warm-up request")
	}

	// 6. METRICS=emf: each access line on stdout carries its metrics in
	// CloudWatch's Embedded Metric Format.
	checkEMF(t, logPath, map[string]string{"rie-send-1": "Sends", "rie-check-1": "Checks", "rie-send-2": "UpstreamErrors"})
}

// checkEMF reads the function's access lines from the RIE log and checks
// that the line of each request id declares, in the _aws object, the
// metric named for it in namespace smsverify-rie, with a value, and that
// every declared dimension and metric is a member of the line.
func checkEMF(t *testing.T, logPath string, want map[string]string) {
	t.Helper()
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for line := range strings.Lines(string(b)) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["msg"] != "access" {
			continue
		}
		if strings.Contains(line, testPhone) {
			t.Errorf("an access line holds the full number: %s", line)
		}
		metric, ok := want[fmt.Sprint(m["request_id"])]
		if !ok {
			continue
		}
		aws, _ := m["_aws"].(map[string]any)
		if aws == nil {
			t.Errorf("no _aws object in %s", line)
			continue
		}
		if _, ok := aws["Timestamp"].(float64); !ok {
			t.Errorf("_aws.Timestamp missing in %s", line)
		}
		for _, d := range aws["CloudWatchMetrics"].([]any) {
			d := d.(map[string]any)
			if d["Namespace"] != "smsverify-rie" {
				t.Errorf("namespace %v in %s", d["Namespace"], line)
			}
			for _, set := range d["Dimensions"].([]any) {
				for _, dim := range set.([]any) {
					if _, ok := m[dim.(string)].(string); !ok {
						t.Errorf("dimension %v is not a member of %s", dim, line)
					}
				}
			}
			for _, mt := range d["Metrics"].([]any) {
				name := mt.(map[string]any)["Name"].(string)
				if _, ok := m[name].(float64); !ok {
					t.Errorf("metric %s has no value in %s", name, line)
				}
				if name == metric {
					seen[metric] = true
				}
			}
		}
	}
	for id, metric := range want {
		if !seen[metric] {
			t.Errorf("no EMF metric %s on the line of %s", metric, id)
		}
	}
}

// findRIE returns $AWS_LAMBDA_RIE, or builds the RIE into dir.
func findRIE(ctx context.Context, t *testing.T, dir string) string {
	t.Helper()
	if p := os.Getenv("AWS_LAMBDA_RIE"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("AWS_LAMBDA_RIE: %v", err)
		}
		return p
	}
	// Tests stay off the network: build only from the local module cache,
	// served as a file proxy (its modules were verified when downloaded).
	// .ci/run downloads and builds the RIE before the tests.
	modcache, err := exec.CommandContext(ctx, "go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatalf("go env GOMODCACHE: %v", err)
	}
	gobin := filepath.Join(dir, "bin")
	cmd := exec.CommandContext(ctx, "go", "install", rieModule)
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOSUMDB=off",
		"GOPROXY=file://"+filepath.ToSlash(filepath.Join(strings.TrimSpace(string(modcache)), "cache", "download")))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("AWS_LAMBDA_RIE is unset and the Lambda RIE is not in the module cache; run .ci/run, or "+
			"GOBIN=/tmp/rie go install %s and set AWS_LAMBDA_RIE=/tmp/rie/aws-lambda-rie: %v\n%s", rieModule, err, out)
	}
	return filepath.Join(gobin, "aws-lambda-rie")
}

// startRIE starts the RIE on two free loopback ports and waits until it
// accepts connections. It retries when a port was taken in the meantime. The
// RIE (and the bootstrap it started) is stopped in t.Cleanup.
func startRIE(ctx context.Context, t *testing.T, rie, bootstrap, dir, endpoint string) (base, logPath string) {
	t.Helper()
	creds := dypnstest.TestCredentials()
	env := []string{ // a clean environment: the RIE passes all of it to the function
		"PATH=" + os.Getenv("PATH"),
		"ALIBABA_CLOUD_ACCESS_KEY_ID=" + creds.AccessKeyID,
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + creds.AccessKeySecret,
		"DYPNS_ENDPOINT=" + endpoint,
		"LIMIT_STORE=memory",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=30",
		"METRICS=emf",
		"METRICS_NAMESPACE=smsverify-rie",
	}
	var lastErr error
	for attempt := range 3 {
		invokeAddr, apiAddr := freeAddr(t), freeAddr(t)
		logPath := filepath.Join(dir, fmt.Sprintf("rie-%d.log", attempt))
		logFile, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(rie, "--runtime-interface-emulator-address", invokeAddr, "--runtime-api-address", apiAddr, bootstrap)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, logFile, logFile
		if err := cmd.Start(); err != nil {
			t.Fatalf("start RIE: %v", err)
		}
		_ = logFile.Close()
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		stop := func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}
		if lastErr = waitListening(ctx, invokeAddr, exited); lastErr == nil {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					b, _ := os.ReadFile(logPath)
					t.Logf("RIE log:\n%s", b)
				}
			})
			return "http://" + invokeAddr, logPath
		}
		stop()
		b, _ := os.ReadFile(logPath)
		lastErr = fmt.Errorf("%w\nRIE log:\n%s", lastErr, b)
	}
	t.Fatalf("RIE did not start: %v", lastErr)
	return "", ""
}

// waitListening polls addr until it accepts a connection, the process
// exits or ctx ends (bounded: at most 15 s).
func waitListening(ctx context.Context, addr string, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		var d net.Dialer
		if c, err := d.DialContext(ctx, "tcp", addr); err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("RIE exited: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("RIE not listening on %s: %w", addr, ctx.Err())
		case <-tick.C:
		}
	}
}

// freeAddr returns a loopback address with a port that was free just now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// invokeRIE invokes the function once through the RIE's invoke API and
// decodes its JSON answer into out; the answer must be a function error
// iff wantFnErr.
func invokeRIE(ctx context.Context, t *testing.T, c *http.Client, base, requestID string, payload []byte, wantFnErr bool, out any) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/2015-03-31/functions/function/invocations", bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amzn-RequestID", requestID)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("invoke %s: %v", requestID, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("invoke %s: HTTP %d %v: %s", requestID, resp.StatusCode, err, b)
	}
	t.Logf("invoke %s: %s", requestID, b)
	// The RIE answers a function error with HTTP 200 too.
	var fnErr struct {
		ErrorType *string `json:"errorType"`
	}
	if err := json.Unmarshal(b, &fnErr); err != nil || (fnErr.ErrorType != nil) != wantFnErr {
		t.Fatalf("invoke %s: function error %v, want %v (%v)", requestID, fnErr.ErrorType != nil, wantFnErr, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("invoke %s: %v", requestID, err)
	}
}
