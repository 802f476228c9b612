package dypnstest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"smsverify/core"
)

// Reports configure the delivery receipts a Fake pushes, as Alibaba's
// DypnsSmsVerifyReport HTTP batch push does (console: 短信认证服务 → 状态报告接收):
// a POST of a JSON array of receipts, here one per send, Delay after it.
type Reports struct {
	// URL is where receipts are POSTed, such as
	// "http://127.0.0.1:8080/reports?token=…".
	URL string
	// Delay is the time from a send to its receipt.
	Delay time.Duration
	// FailNumbers get a FAILED receipt with the carrier code FailCode; every
	// other number gets DELIVERED.
	FailNumbers []string
	// Client posts the receipts; default one with a 5 s timeout.
	Client *http.Client
	// AfterFunc schedules a push; default time.AfterFunc. Tests pass their
	// own to run pushes when they choose.
	AfterFunc func(d time.Duration, f func())
	// OnPush, if set, is told the outcome of each push: nil when it was
	// answered 200. Its error never holds the URL. A push due after Close
	// is dropped without a word.
	OnPush func(Receipt, error)
}

// Receipt is one element of a push, with Alibaba's field names. Times are
// China time (UTC+8), "2006-01-02 15:04:05".
type Receipt struct {
	PhoneNumber string `json:"phone_number"`
	SendTime    string `json:"send_time"`
	ReportTime  string `json:"report_time"`
	Success     bool   `json:"success"`
	ErrCode     string `json:"err_code"`
	ErrMsg      string `json:"err_msg"`
	SmsSize     string `json:"sms_size"`
	BizID       string `json:"biz_id"`
	OutID       string `json:"out_id"`
}

// Receipt codes: DELIVERED, and for FailNumbers a carrier status code of
// the kind operators report for a number that is off or out of service.
const (
	DeliveredCode = "DELIVERED"
	FailCode      = "MK:0001"
)

// reportTimeout bounds a push with the default client.
const reportTimeout = 5 * time.Second

// receiptFor builds the receipt of s, reported at at.
func (r *Reports) receiptFor(s Sent, at time.Time) Receipt {
	rc := Receipt{PhoneNumber: s.PhoneNumber, SendTime: s.At.In(core.ChinaTime).Format(time.DateTime),
		ReportTime: at.In(core.ChinaTime).Format(time.DateTime), Success: true, ErrCode: DeliveredCode,
		ErrMsg: "用户接收成功", SmsSize: "1", BizID: s.BizID, OutID: s.OutID}
	if slices.Contains(r.FailNumbers, s.PhoneNumber) {
		rc.Success, rc.ErrCode, rc.ErrMsg = false, FailCode, "用户停机或关机"
	}
	return rc
}

// schedule arranges the push of s's receipt.
func (f *Fake) schedule(s Sent) {
	r := f.reports
	after := r.AfterFunc
	if after == nil {
		after = func(d time.Duration, fn func()) { time.AfterFunc(d, fn) }
	}
	after(r.Delay, func() {
		select {
		case <-f.done: // closed meanwhile: no push, nothing to report
			return
		default:
		}
		rc := r.receiptFor(s, f.now())
		err := f.push(rc)
		if r.OnPush != nil {
			r.OnPush(rc, err)
		}
	})
}

// push POSTs one receipt; closing the fake cancels it.
func (f *Fake) push(rc Receipt) error {
	body, _ := json.Marshal([]Receipt{rc})
	ctx, cancel := context.WithTimeout(context.Background(), reportTimeout)
	defer cancel()
	go func() {
		select {
		case <-f.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.reports.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("dypnstest: receipt URL: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	c := f.reports.Client
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which holds the token
		}
		return fmt.Errorf("dypnstest: push: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return errors.New("dypnstest: push answered " + strconv.Itoa(res.StatusCode))
	}
	return nil
}
