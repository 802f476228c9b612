package function

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"smsverify/core"
	"smsverify/function/limit"
)

// Delivery receipts: Alibaba's DypnsSmsVerifyReport batch push (console:
// 短信认证服务 → 状态报告接收, HTTP batch push) POSTs a JSON array of
// receipts to POST /reports?token=REPORT_TOKEN and retries after 1, 5 and
// 10 minutes unless answered 200 with reportsOK. The push carries no
// signature, so the token in the URL is the only proof of its origin. A
// receipt may come twice; the first one stored for a BizId stands.

// ActionDeliveryReport is the event action that feeds receipts in:
// {"Action":"DeliveryReport","Reports":[…receipts…]}.
const ActionDeliveryReport = "DeliveryReport"

// Bounds of one push.
const (
	maxReportBytes = 1 << 20
	maxReports     = 1000
	maxBizIDLen    = 64
)

// minReportTokenLen keeps REPORT_TOKEN out of reach of a search.
const minReportTokenLen = 32

// reportsOK is the answer Alibaba expects, to the byte.
var reportsOK = []byte(`{"code":0,"msg":"接收成功"}`)

// receipt is one element of a push. phone_number (perhaps masked) is
// neither kept nor logged: BizId is the join.
type receipt struct {
	BizID      string `json:"biz_id"`
	Success    *bool  `json:"success"`
	ErrCode    string `json:"err_code"`
	ErrMsg     string `json:"err_msg"`
	ReportTime string `json:"report_time"`
	SendTime   string `json:"send_time"`
	OutID      string `json:"out_id"`
}

// receiptRecord is what is kept of a receipt, by BizId.
type receiptRecord struct {
	Success bool   `json:"ok"`
	Code    string `json:"c,omitempty"`
	At      int64  `json:"t,omitempty"` // the report time, Unix ms
}

// receiptKey names a receipt in the store.
func receiptKey(bizID string) string { return "receipt:" + bizID }

// serveReports answers POST /reports?token=…: 404 unless REPORT_TOKEN is
// set, 401 for a wrong or missing token, 400 for anything but a JSON
// array of receipts (nothing is stored), 503 when the store fails (so
// Alibaba retries), else 200 with reportsOK.
func (s *Service) serveReports(ctx context.Context, w http.ResponseWriter, r *http.Request, al *accessLog) *apiError {
	if s.cfg.ReportToken == "" {
		return newError(CodeNotFound, "no such path; use POST /send or POST /check")
	}
	if r.Method != http.MethodPost {
		return s.methodNotAllowed(w.Header(), "POST")
	}
	if !s.reportTokenOK(r.URL.Query()["token"]) {
		return newError(CodeUnauthorized, "wrong or missing token")
	}
	body, e := readLimited(w, r, maxReportBytes, CodeInvalidParameters, "a push must be at most "+strconv.Itoa(maxReportBytes)+" bytes")
	if e != nil {
		return e
	}
	if e := s.storeReports(ctx, body, al); e != nil {
		return e
	}
	al.Code, al.Status = CodeOK, http.StatusOK
	writeJSON(w, http.StatusOK, reportsOK)
	return nil
}

// reportTokenOK compares the token in constant time: hashes of equal
// length, so neither the token's content nor its length leaks.
func (s *Service) reportTokenOK(vals []string) bool {
	if len(vals) != 1 {
		return false
	}
	got := sha256.Sum256([]byte(vals[0]))
	return subtle.ConstantTimeCompare(got[:], s.reportToken[:]) == 1
}

// invokeReports answers the DeliveryReport event.
func (s *Service) invokeReports(ctx context.Context, payload []byte, al *accessLog) (any, *apiError) {
	var env struct {
		Reports json.RawMessage `json:"Reports"`
	}
	if err := json.Unmarshal(payload, &env); err != nil || env.Reports == nil {
		return nil, newError(CodeInvalidParameters, "DeliveryReport takes Reports, a JSON array of receipts")
	}
	if e := s.storeReports(ctx, env.Reports, al); e != nil {
		return nil, e
	}
	return json.RawMessage(reportsOK), nil
}

// storeReports decodes a push and stores its receipts, all or none: a push
// with one bad receipt is refused whole.
func (s *Service) storeReports(ctx context.Context, body []byte, al *accessLog) *apiError {
	al.Action = ActionDeliveryReport
	rs, e := decodeReports(body)
	if e != nil {
		return e
	}
	if len(rs) == 0 {
		return nil
	}
	items := make([]limit.Item, len(rs))
	for i, rc := range rs {
		rec := receiptRecord{Success: *rc.Success, Code: rc.ErrCode}
		if t, err := time.ParseInLocation(time.DateTime, rc.ReportTime, core.ChinaTime); err == nil {
			rec.At = t.UnixMilli()
		}
		items[i] = limit.Item{Key: receiptKey(rc.BizID), Value: marshalRecord(rec)}
	}
	stored, err := s.store.PutNew(ctx, s.cfg.ReceiptTTL, items...)
	if err != nil {
		return storeDown(err)
	}
	for i, ok := range stored {
		switch {
		case !ok:
			al.ReceiptsRepeated++
		case *rs[i].Success:
			al.ReceiptsDelivered++
		default:
			al.ReceiptsFailed++
		}
	}
	return nil
}

// decodeReports decodes a push: a JSON array of at most maxReports
// receipts, each with a biz_id and a success.
func decodeReports(body []byte) ([]receipt, *apiError) {
	var rs []receipt
	if err := json.Unmarshal(body, &rs); err != nil || rs == nil {
		return nil, newError(CodeInvalidJSON, "a push must be a JSON array of receipt objects")
	}
	if len(rs) > maxReports {
		return nil, newError(CodeInvalidParameters, "a push must hold at most "+strconv.Itoa(maxReports)+" receipts")
	}
	for i, rc := range rs {
		n := strconv.Itoa(i + 1)
		if rc.BizID == "" || len(rc.BizID) > maxBizIDLen || strings.ContainsFunc(rc.BizID, func(r rune) bool { return r <= ' ' || r > '~' }) {
			return nil, newError(CodeInvalidParameters, "receipt "+n+": biz_id must be 1 to "+strconv.Itoa(maxBizIDLen)+" printable characters")
		}
		if rc.Success == nil {
			return nil, newError(CodeInvalidParameters, "receipt "+n+": success must be true or false")
		}
	}
	return rs, nil
}
