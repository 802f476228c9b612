package function

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"smsverify/function/limit"
)

// testReportToken is REPORT_TOKEN in tests.
const testReportToken = "test-report-token-0123456789abcdef"

// withReports sets REPORT_TOKEN.
func withReports(c *Config, _ *Options) { c.ReportToken = testReportToken }

// push POSTs a receipt push to /reports with token.
func (e *env) push(token, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	r := newRequest(http.MethodPost, "/reports?token="+token, body)
	w := httptest.NewRecorder()
	e.svc.ServeHTTP(w, r)
	return w
}

// receiptJSON is one receipt as Alibaba pushes it.
func receiptJSON(bizID string, success bool, code string) string {
	return fmt.Sprintf(`{"phone_number":"1381111****","send_time":"2026-11-27 18:00:00","report_time":"2026-11-27 18:00:05",`+
		`"success":%t,"err_code":%q,"err_msg":"x","sms_size":"1","biz_id":%q,"out_id":"o"}`, success, code, bizID)
}

// attempts lists the attempts of phone as a trusted caller.
func (e *env) attempts(phone string, extra ...string) []map[string]any {
	e.t.Helper()
	w, m := e.do("GET", "/attempts?PhoneNumber="+phone+strings.Join(extra, ""), "", "Authorization", "Bearer "+testKey)
	if w.Code != 200 {
		e.t.Fatalf("GET /attempts: %d %s", w.Code, w.Body)
	}
	var out []map[string]any
	for _, a := range m["Attempts"].([]any) {
		out = append(out, a.(map[string]any))
	}
	return out
}

func TestReports(t *testing.T) {
	e := newEnv(t, withReports)
	_, m := e.do("POST", "/send", `{"PhoneNumber":"13800000001"}`)
	biz := m["Model"].(map[string]any)["BizId"].(string)

	// Wrong or missing token: 401, nothing stored.
	for _, tok := range []string{"", "wrong", testReportToken + "x", testReportToken[:31]} {
		if w := e.push(tok, "["+receiptJSON(biz, false, "MK:0001")+"]"); w.Code != 401 {
			t.Errorf("token %q: %d, want 401", tok, w.Code)
		}
	}
	// Garbage: 400, nothing stored, even for the good receipt beside it.
	for name, body := range map[string]string{
		"object":      receiptJSON(biz, false, "X"),
		"not JSON":    "[{",
		"null":        "null",
		"no biz_id":   `[{"success":true}]`,
		"no success":  `[{"biz_id":"1^0"}]`,
		"bad type":    `[{"biz_id":"1^0","success":"yes"}]`,
		"mixed":       "[" + receiptJSON(biz, false, "X") + `,{"biz_id":"","success":true}]`,
		"number item": "[" + receiptJSON(biz, false, "X") + ",1]",
		"too many":    "[" + strings.Repeat(receiptJSON("9^0", true, "DELIVERED")+",", maxReports) + receiptJSON("9^0", true, "DELIVERED") + "]",
		"oversize":    `[{"biz_id":"1^0","success":true,"err_msg":"` + strings.Repeat("x", maxReportBytes) + `"}]`,
	} {
		if w := e.push(testReportToken, body); w.Code != 400 {
			t.Errorf("%s: %d %s, want 400", name, w.Code, w.Body)
		}
	}
	if a := e.attempts("13800000001"); a[0]["Delivery"] != "PENDING" {
		t.Fatalf("after refused pushes: %v, want PENDING", a[0])
	}

	// A good push: exactly Alibaba's expected answer.
	w := e.push(testReportToken, "["+receiptJSON(biz, false, "MK:0001")+","+receiptJSON("other^0", true, "DELIVERED")+"]")
	if w.Code != 200 || w.Body.String() != `{"code":0,"msg":"接收成功"}` {
		t.Fatalf("push: %d %q", w.Code, w.Body)
	}
	a := e.attempts("13800000001")
	if a[0]["Delivery"] != "FAILED" || a[0]["DeliveryCode"] != "MK:0001" || a[0]["DeliveredAt"] != nil {
		t.Fatalf("after a FAILED receipt: %v", a[0])
	}
	// A repeated receipt, even one that says otherwise, changes nothing.
	w = e.push(testReportToken, "["+receiptJSON(biz, true, "DELIVERED")+"]")
	if w.Code != 200 {
		t.Fatalf("repeat: %d", w.Code)
	}
	if a := e.attempts("13800000001"); a[0]["Delivery"] != "FAILED" {
		t.Fatalf("a repeated receipt changed the attempt: %v", a[0])
	}
	// An empty push is fine.
	if w := e.push(testReportToken, "[]"); w.Code != 200 {
		t.Errorf("empty push: %d", w.Code)
	}
	// Only POST.
	if w, _ := e.do("GET", "/reports?token="+testReportToken, ""); w.Code != 405 {
		t.Errorf("GET /reports: %d, want 405", w.Code)
	}
	// No full number in the log, not even the receipts' masked ones.
	if strings.Contains(e.logs.String(), "13800000001") || strings.Contains(e.logs.String(), "1381111") {
		t.Errorf("the log holds a number:\n%s", e.logs)
	}
	if !strings.Contains(e.logs.String(), `"receipts_failed":1`) || !strings.Contains(e.logs.String(), `"receipts_repeated":1`) {
		t.Errorf("the access log does not count the receipts:\n%s", e.logs)
	}
}

func TestReportsDisabledWithoutToken(t *testing.T) {
	e := newEnv(t, nil)
	if w := e.push("", "[]"); w.Code != 404 {
		t.Fatalf("without REPORT_TOKEN: %d, want 404", w.Code)
	}
	if w := e.push(testReportToken, "[]"); w.Code != 404 {
		t.Fatalf("without REPORT_TOKEN, with a token: %d, want 404", w.Code)
	}
}

func TestReportsEvent(t *testing.T) {
	e := newEnv(t, withReports)
	_, m := e.do("POST", "/send", `{"PhoneNumber":"13800000001"}`)
	biz := m["Model"].(map[string]any)["BizId"].(string)
	out := e.event(t, `{"Action":"DeliveryReport","Reports":[`+receiptJSON(biz, true, "DELIVERED")+`]}`)
	if out["code"] != 0.0 || out["msg"] != "接收成功" {
		t.Fatalf("event answer %v", out)
	}
	a := e.attempts("13800000001")
	if a[0]["Delivery"] != "DELIVERED" || a[0]["DeliveredAt"] != "2026-11-27T10:00:05Z" {
		t.Fatalf("after a DELIVERED receipt: %v", a[0])
	}
	if m := e.event(t, `{"Action":"DeliveryReport","Reports":{}}`); m["Code"] != CodeInvalidJSON {
		t.Errorf("bad Reports: %v", m)
	}
	// A large push is an event too.
	big := `{"Action":"DeliveryReport","Reports":[` + strings.Repeat(receiptJSON("8^0", true, "DELIVERED")+",", 200) + receiptJSON("8^0", true, "DELIVERED") + "]}"
	if len(big) <= MaxBodyBytes {
		t.Fatalf("the large push is only %d bytes", len(big))
	}
	if m := e.event(t, big); m["code"] != 0.0 {
		t.Errorf("large push event: %v", m)
	}
	// Other events stay within MaxBodyBytes.
	if m := e.event(t, `{"Action":"ListAttempts","PhoneNumber":"13800000001","BizId":"`+strings.Repeat("x", MaxBodyBytes)+`"}`); m["Code"] != CodeBodyTooLarge {
		t.Errorf("large ListAttempts: %v", m)
	}
}

// failingRecords is a memory store whose records (receipts, attempts) fail.
type failingRecords struct{ *limit.Memory }

var errRecords = errors.New("records down")

func (failingRecords) PutNew(context.Context, time.Duration, ...limit.Item) ([]bool, error) {
	return nil, errRecords
}
func (failingRecords) Push(context.Context, string, []byte, int, time.Duration) error {
	return errRecords
}
func (failingRecords) List(context.Context, string) ([][]byte, error) { return nil, errRecords }

// silentLimits is a memory store whose allowed decisions do not say what is
// left (Decision.Left), as another Store might not.
type silentLimits struct{ *limit.Memory }

func (s silentLimits) Allow(ctx context.Context, now time.Time, reqs ...limit.Request) (limit.Decision, error) {
	d, err := s.Memory.Allow(ctx, now, reqs...)
	d.Left = nil
	return d, err
}

func TestRecordsStoreDown(t *testing.T) {
	e := newEnv(t, func(c *Config, o *Options) {
		withReports(c, o)
		o.Store = failingRecords{limit.NewMemory()}
	})
	// A push is 503, so Alibaba retries; as an event it is raised.
	if w := e.push(testReportToken, "["+receiptJSON("1^0", true, "DELIVERED")+"]"); w.Code != 503 {
		t.Fatalf("push with the store down: %d, want 503", w.Code)
	}
	if _, err := e.svc.Invoke(context.Background(), []byte(`{"Action":"DeliveryReport","Reports":[]}`)); err != nil {
		t.Fatalf("an empty push needs no store: %v", err)
	}
	if _, err := e.svc.Invoke(context.Background(), []byte(`{"Action":"DeliveryReport","Reports":[`+receiptJSON("1^0", true, "DELIVERED")+`]}`)); ErrorType(err) != ErrorTypeLimitStoreUnavailable {
		t.Fatalf("push event with the store down: %v", err)
	}
	// A send and a check still answer: the SMS went out, the code was
	// judged (AttemptsLeft comes from the limits, which answered); the
	// access log says what was not recorded.
	_, m := e.do("POST", "/send", `{"PhoneNumber":"13800000001"}`)
	if m["Code"] != CodeOK {
		t.Fatalf("send: %v", m)
	}
	_, m = e.do("POST", "/check", `{"PhoneNumber":"13800000001","VerifyCode":"`+e.lastCode("13800000001")+`"}`)
	if mod := m["Model"].(map[string]any); mod["VerifyResult"] != "PASS" || mod["AttemptsLeft"] != float64(e.svc.cfg.CheckLimitPerPhone.N-1) {
		t.Fatalf("check: %v", m)
	}
	if !strings.Contains(e.logs.String(), "attempts log: records down") {
		t.Errorf("the log does not say the attempts log failed:\n%s", e.logs)
	}
	if w, _ := e.do("GET", "/attempts?PhoneNumber=13800000001", "", "Authorization", "Bearer "+testKey); w.Code != 503 {
		t.Errorf("GET /attempts with the store down: %d, want 503", w.Code)
	}
}

// unlistable is a memory store whose lists can be pushed to but not read.
type unlistable struct{ *limit.Memory }

func (unlistable) List(context.Context, string) ([][]byte, error) { return nil, errRecords }

// TestFrequencyRetryAfterStoreDown: when the attempts log cannot be read,
// Alibaba's FREQUENCY_FAIL keeps the whole Interval as its Retry-After
// (the bound), and the access log says why.
func TestFrequencyRetryAfterStoreDown(t *testing.T) {
	e := newEnv(t, func(c *Config, o *Options) { o.Store = unlistable{limit.NewMemory()} })
	p := phone(1)
	w, m := e.from(ipA, "/send", sendJSON(p))
	ok(t, "send", w, m)
	e.advance(5 * time.Second)
	w, m = e.from(ipA, "/send", sendJSON(p))
	if got := refused(t, "5 s into the Interval", w, m, "FREQUENCY_FAIL"); got != 60 {
		t.Fatalf("Retry-After %d, want 60", got)
	}
	if !strings.Contains(e.logs.String(), "records down") {
		t.Errorf("the log does not say the attempts log failed:\n%s", e.logs)
	}
}

// TestAttemptsLeftUnknown: a store whose decisions do not say what is left
// gives a check answer without AttemptsLeft.
func TestAttemptsLeftUnknown(t *testing.T) {
	e := newEnv(t, func(c *Config, o *Options) { o.Store = silentLimits{limit.NewMemory()} })
	w, m := e.do("POST", "/check", `{"PhoneNumber":"13800000001","VerifyCode":"0000"}`)
	if mod, _ := m["Model"].(map[string]any); w.Code != 200 || mod == nil || mod["VerifyResult"] != "UNKNOWN" {
		t.Fatalf("check: %d %v", w.Code, m)
	} else if left, ok := mod["AttemptsLeft"]; ok {
		t.Errorf("AttemptsLeft %v, want none", left)
	}
}

func TestAttempts(t *testing.T) {
	e := newEnv(t, func(c *Config, o *Options) {
		withReports(c, o)
		c.TestNumbers = []string{"13900000009:123456"}
		c.CheckLimitPerPhone = rate(t, "3/15m")
		c.SchemeNames = []string{"other"}
	})
	const phone = "13800000001"
	_, m := e.do("POST", "/send", `{"PhoneNumber":"`+phone+`","OutId":"first","TemplateCode":"100002"}`)
	first := m["Model"].(map[string]any)["BizId"].(string)
	check := func(code string) map[string]any {
		t.Helper()
		w, m := e.do("POST", "/check", `{"PhoneNumber":"`+phone+`","VerifyCode":"`+code+`"}`)
		if w.Code != 200 {
			t.Fatalf("check: %d %v", w.Code, m)
		}
		return m["Model"].(map[string]any)
	}
	// AttemptsLeft counts down with each judged check.
	if mod := check("0000"); mod["VerifyResult"] != "UNKNOWN" || mod["AttemptsLeft"] != 2.0 {
		t.Fatalf("first wrong check: %v", mod)
	}
	e.advance(10 * time.Second)
	code := e.lastCode(phone)
	if mod := check(code); mod["VerifyResult"] != "PASS" || mod["AttemptsLeft"] != 1.0 {
		t.Fatalf("right check: %v", mod)
	}
	e.advance(time.Minute)
	_, m = e.do("POST", "/send", `{"PhoneNumber":"`+phone+`"}`)
	second := m["Model"].(map[string]any)["BizId"].(string)
	e.advance(time.Second)
	if mod := check("0000"); mod["AttemptsLeft"] != 0.0 {
		t.Fatalf("third check: %v", mod)
	}
	if w, m := e.do("POST", "/check", `{"PhoneNumber":"`+phone+`","VerifyCode":"0000"}`); w.Code != 429 {
		t.Fatalf("fourth check: %d %v, want 429", w.Code, m)
	}
	// A send with another scheme does not take the first scheme's checks.
	e.advance(61 * time.Second)
	_, m = e.do("POST", "/send", `{"PhoneNumber":"`+phone+`","SchemeName":"other"}`)
	third := m["Model"].(map[string]any)["BizId"].(string)
	// The window frees up: the first check has left it.
	e.advance(15 * time.Minute)
	if mod := check("0000"); mod["AttemptsLeft"] != 2.0 {
		t.Fatalf("check in a new window: %v", mod)
	}
	e.push(testReportToken, "["+receiptJSON(first, true, "DELIVERED")+"]")

	a := e.attempts(phone)
	if len(a) != 3 || a[0]["BizId"] != third || a[1]["BizId"] != second || a[2]["BizId"] != first {
		t.Fatalf("attempts, newest first: %v", a)
	}
	t0 := e.clk.Now().Add(-15*time.Minute - 132*time.Second)
	want := map[string]any{"BizId": first, "SentAt": t0.Format(time.RFC3339), "TemplateCode": "100002", "OutId": "first",
		"Delivery": "DELIVERED", "DeliveryCode": "DELIVERED", "DeliveredAt": "2026-11-27T10:00:05Z",
		"Checks": 2.0, "PassedAt": t0.Add(10 * time.Second).Format(time.RFC3339)}
	if fmt.Sprint(a[2]) != fmt.Sprint(want) {
		t.Errorf("first attempt:\n got %v\nwant %v", a[2], want)
	}
	// The second send took the third check and the one in the new window
	// (same scheme); the other scheme's send took none.
	if a[1]["Checks"] != 2.0 || a[1]["PassedAt"] != nil || a[1]["Delivery"] != "PENDING" {
		t.Errorf("second attempt: %v", a[1])
	}
	if a[0]["Checks"] != 0.0 || a[0]["SchemeName"] != "other" {
		t.Errorf("third attempt: %v", a[0])
	}
	if b := e.attempts(phone, "&BizId="+second); len(b) != 1 || b[0]["BizId"] != second {
		t.Errorf("?BizId= narrows to one: %v", b)
	}

	// A test number's sends are listed, marked, with no delivery.
	e.do("POST", "/send", `{"PhoneNumber":"13900000009"}`)
	if a := e.attempts("13900000009"); len(a) != 1 || a[0]["TestNumber"] != true || a[0]["Delivery"] != nil {
		t.Errorf("test number: %v", a)
	}
	// The event gives the same answer.
	m = e.event(t, `{"Action":"ListAttempts","PhoneNumber":"`+phone+`","BizId":"`+first+`"}`)
	if got := m["Attempts"].([]any); len(got) != 1 || fmt.Sprint(got[0]) != fmt.Sprint(want) {
		t.Errorf("ListAttempts event: %v", m)
	}
	if m := e.event(t, `{"Action":"ListAttempts","PhoneNumber":"123"}`); m["Code"] != CodeMobileNumberIllegal {
		t.Errorf("ListAttempts of a bad number: %v", m)
	}
	if m := e.event(t, `{"Action":"ListAttempts","Phone":"13800000001"}`); m["Code"] != CodeInvalidParameters {
		t.Errorf("ListAttempts with an unknown field: %v", m)
	}

	// Public callers may not list; bad queries are 400.
	if w, m := e.do("GET", "/attempts?PhoneNumber="+phone, ""); w.Code != 401 || m["Code"] != CodeUnauthorized {
		t.Errorf("public GET /attempts: %d %v", w.Code, m)
	}
	for _, q := range []string{"", "?PhoneNumber=123", "?PhoneNumber=" + phone + "&Phone=1", "?PhoneNumber=" + phone + "&PhoneNumber=" + phone} {
		if w, _ := e.do("GET", "/attempts"+q, "", "Authorization", "Bearer "+testKey); w.Code != 400 {
			t.Errorf("GET /attempts%s: %d, want 400", q, w.Code)
		}
	}
	if strings.Contains(e.logs.String(), phone) {
		t.Errorf("the log holds a full number")
	}
}

func TestAttemptsKeepTheNewest(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) { setLimits(c) })
	var bizIDs []string
	for range maxAttempts + 2 {
		_, m := e.do("POST", "/send", `{"PhoneNumber":"13800000001"}`, "Authorization", "Bearer "+testKey)
		bizIDs = append(bizIDs, m["Model"].(map[string]any)["BizId"].(string))
		e.advance(61 * time.Second)
	}
	a := e.attempts("13800000001")
	if len(a) != maxAttempts || a[0]["BizId"] != bizIDs[len(bizIDs)-1] || a[maxAttempts-1]["BizId"] != bizIDs[2] {
		t.Fatalf("got %d attempts, want the %d newest", len(a), maxAttempts)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, withReports)
	e.do("POST", "/send", `{"PhoneNumber":"13800000001"}`)
	e.do("POST", "/check", `{"PhoneNumber":"13800000001","VerifyCode":"0000"}`)
	e.do("POST", "/check", `{"PhoneNumber":"13800000001","VerifyCode":"`+e.lastCode("13800000001")+`"}`)
	e.push(testReportToken, "["+receiptJSON("1^0", true, "DELIVERED")+","+receiptJSON("2^0", false, "MK:0001")+"]")
	e.push(testReportToken, "["+receiptJSON("1^0", true, "DELIVERED")+"]") // a repeat: not counted

	if w, _ := e.do("GET", "/metrics", ""); w.Code != 401 {
		t.Fatalf("public GET /metrics: %d, want 401", w.Code)
	}
	w := httptest.NewRecorder()
	e.svc.ServeHTTP(w, newRequest("GET", "/metrics", "", "Authorization", "Bearer "+testKey))
	if w.Code != 200 {
		t.Fatalf("GET /metrics: %d", w.Code)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, w.Body)
	}
	value := func(name, label, val string) float64 {
		t.Helper()
		f := fams[name]
		if f == nil {
			t.Fatalf("no %s in\n%s", name, w.Body)
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == val {
					if m.GetCounter() != nil {
						return m.GetCounter().GetValue()
					}
					return float64(m.GetHistogram().GetSampleCount())
				}
			}
		}
		return 0
	}
	for _, c := range []struct {
		name, label, val string
		want             float64
	}{
		{"smsverify_sends_total", "code", "OK", 1},
		{"smsverify_checks_total", "result", "UNKNOWN", 1},
		{"smsverify_checks_total", "result", "PASS", 1},
		{"smsverify_receipts_total", "status", "DELIVERED", 1},
		{"smsverify_receipts_total", "status", "FAILED", 1},
		{"smsverify_upstream_duration_seconds", "action", "SendSmsVerifyCode", 1},
		{"smsverify_upstream_duration_seconds", "action", "CheckSmsVerifyCode", 2},
	} {
		if got := value(c.name, c.label, c.val); got != c.want {
			t.Errorf("%s{%s=%q} = %v, want %v", c.name, c.label, c.val, got, c.want)
		}
	}
	if strings.Contains(w.Body.String(), "13800000001") {
		t.Error("a metric holds a number")
	}
	// The access log has what SLS queries need (docs/deploying.md).
	for _, field := range []string{`"upstream_ms":`, `"verify_result":"PASS"`, `"receipts_delivered":1`, `"receipts_failed":1`} {
		if !strings.Contains(e.logs.String(), field) {
			t.Errorf("the access log has no %s", field)
		}
	}
}

func TestMetricsLimitsAndCaptcha(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) { c.SendLimitPerPhone = rate(t, "1/1h") })
	e.do("POST", "/send", `{"PhoneNumber":"13800000001"}`)
	e.do("POST", "/send", `{"PhoneNumber":"13800000001"}`)
	var buf bytes.Buffer
	w := httptest.NewRecorder()
	e.svc.ServeHTTP(w, newRequest("GET", "/metrics", "", "Authorization", "Bearer "+testKey))
	buf.Write(w.Body.Bytes())
	if !strings.Contains(buf.String(), `smsverify_limit_refusals_total{limit="SEND_LIMIT_PHONE"} 1`) ||
		!strings.Contains(buf.String(), `smsverify_sends_total{code="SEND_LIMIT_PHONE"} 1`) {
		t.Errorf("metrics:\n%s", buf.String())
	}
}

// TestEMF: with METRICS=emf each access line carries its metrics in
// CloudWatch's Embedded Metric Format.
func TestEMF(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) { c.Metrics, c.MetricsNamespace = "emf", "smsverify-test" })
	e.do("POST", "/send", `{"PhoneNumber":"13800000001"}`)
	e.do("GET", "/healthz", "")
	lines := strings.Split(strings.TrimSpace(e.logs.String()), "\n")
	var send map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-2]), &send); err != nil {
		t.Fatal(err)
	}
	aws, _ := send["_aws"].(map[string]any)
	if aws == nil || send["Sends"] != 1.0 || send["UpstreamLatency"] == nil {
		t.Fatalf("send line: %v", send)
	}
	dirs := aws["CloudWatchMetrics"].([]any)
	d0 := dirs[0].(map[string]any)
	if d0["Namespace"] != "smsverify-test" || fmt.Sprint(d0["Dimensions"]) != "[[] [code]]" || fmt.Sprint(d0["Metrics"]) != "[map[Name:Sends Unit:Count]]" {
		t.Errorf("directive %v", d0)
	}
	// Every dimension names a string member of the line, every metric a
	// number.
	for _, d := range dirs {
		d := d.(map[string]any)
		for _, set := range d["Dimensions"].([]any) {
			for _, dim := range set.([]any) {
				if _, ok := send[dim.(string)].(string); !ok {
					t.Errorf("dimension %v is not a string member", dim)
				}
			}
		}
		for _, m := range d["Metrics"].([]any) {
			if _, ok := send[m.(map[string]any)["Name"].(string)].(float64); !ok {
				t.Errorf("metric %v is not a number member", m)
			}
		}
	}
	if strings.Contains(lines[len(lines)-1], "_aws") {
		t.Errorf("a line with no metric has an _aws object: %s", lines[len(lines)-1])
	}
}

// TestRecordsAcrossInstancesRedis: a send on one instance, its receipt
// pushed to another and a check on a third, all sharing one Redis: any of
// them lists the whole attempt, and a repeated receipt on yet another
// instance changes nothing.
func TestRecordsAcrossInstancesRedis(t *testing.T) {
	url := redisURL(t)
	prefix := redisPrefix(t, url)
	shared := func(c *Config, o *Options) {
		withReports(c, o)
		o.Store = redisStore(t, url, prefix)
	}
	e := newEnv(t, shared)
	b, c := e.instance(shared), e.instance(shared)
	_, m := e.do("POST", "/send", `{"PhoneNumber":"13800000001"}`)
	biz := m["Model"].(map[string]any)["BizId"].(string)
	for i, svc := range []*Service{b, c} {
		r := newRequest(http.MethodPost, "/reports?token="+testReportToken, "["+receiptJSON(biz, i == 0, "DELIVERED")+"]")
		w := httptest.NewRecorder()
		svc.ServeHTTP(w, r)
		if w.Code != 200 || w.Body.String() != string(reportsOK) {
			t.Fatalf("push %d: %d %s", i, w.Code, w.Body)
		}
	}
	if _, m := call(c, ipA, "/check", `{"PhoneNumber":"13800000001","VerifyCode":"`+e.lastCode("13800000001")+`"}`); m["Model"].(map[string]any)["AttemptsLeft"] != 4.0 {
		t.Fatalf("check on a third instance: %v", m)
	}
	for _, svc := range []*Service{e.svc, b, c} {
		out, err := svc.Invoke(context.Background(), []byte(`{"Action":"ListAttempts","PhoneNumber":"13800000001"}`))
		if err != nil {
			t.Fatal(err)
		}
		var ans AttemptsAnswer
		if err := json.Unmarshal(out, &ans); err != nil {
			t.Fatal(err)
		}
		if len(ans.Attempts) != 1 || ans.Attempts[0].Delivery != "DELIVERED" || ans.Attempts[0].Checks != 1 || ans.Attempts[0].PassedAt == "" {
			t.Errorf("attempts: %s", out)
		}
	}
}

// TestRecordsConfig: each new variable is validated by name, never
// echoing REPORT_TOKEN.
func TestRecordsConfig(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		ok          bool
	}{
		{"REPORT_TOKEN", "short-report-token", false},
		{"REPORT_TOKEN", strings.Repeat("t", 32), true},
		{"RECEIPT_TTL", "30s", false},
		{"RECEIPT_TTL", "1h", true},
		{"ATTEMPTS_TTL", "0s", false},
		{"ATTEMPTS_TTL", "1m", true},
		{"EMULATOR_REPORT_DELAY", "-1s", false},
		{"EMULATOR_REPORT_DELAY", "0s", true},
		{"EMULATOR_FAIL_NUMBERS", "13900000000, 12345", false},
		{"EMULATOR_FAIL_NUMBERS", "13900000000,13800000000", true},
		{"METRICS", "prometheus", false},
		{"METRICS", "emf", true},
		{"METRICS_NAMESPACE", "", false},
		{"METRICS_NAMESPACE", "my app", false},
		{"METRICS_NAMESPACE", "Company/SMS-verify_1", true},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			unsetConfigEnv(t)
			t.Setenv(tc.name, tc.value)
			_, err := LoadConfig()
			if tc.ok != (err == nil) {
				t.Fatalf("LoadConfig: %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), tc.name) {
				t.Errorf("error does not name %s: %v", tc.name, err)
			}
			if err != nil && tc.name == "REPORT_TOKEN" && strings.Contains(err.Error(), tc.value) {
				t.Errorf("error echoes the token: %v", err)
			}
		})
	}
}

// TestMetricsSkipReplays: a send answered from its idempotency record sent
// no SMS and is not counted again (nor in EMF).
func TestMetricsSkipReplays(t *testing.T) {
	e := newEnv(t, func(c *Config, _ *Options) { c.Metrics = "emf" })
	for range 2 {
		if w, m := e.do("POST", "/send", `{"PhoneNumber":"13800000001"}`, HeaderIdempotencyKey, "6f1c3c1e-8a4e-4b7e-9d3a-2f5b8c9d0e1f"); w.Code != 200 {
			t.Fatalf("send: %d %v", w.Code, m)
		}
	}
	w := httptest.NewRecorder()
	e.svc.ServeHTTP(w, newRequest("GET", "/metrics", "", "Authorization", "Bearer "+testKey))
	if !strings.Contains(w.Body.String(), `smsverify_sends_total{code="OK"} 1`+"\n") {
		t.Errorf("a replay was counted:\n%s", w.Body)
	}
	if n := strings.Count(e.logs.String(), `"Sends":1`); n != 1 {
		t.Errorf("%d EMF Sends, want 1:\n%s", n, e.logs)
	}
}
