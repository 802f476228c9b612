package function

import (
	"context"
	"errors"
	"time"

	"smsverify/core"
)

// send runs SendSmsVerifyCode for c with the parameters in body, in steps:
// decode and validate, take the limits, call Alibaba. A step that must run
// before any limit is taken (a replay, a captcha) goes between the first two.
func (s *Service) send(ctx context.Context, c caller, body []byte, al *accessLog) (any, *apiError) {
	al.Action = core.ActionSend
	p, e := s.decodeSend(c, body, al)
	if e != nil {
		return nil, e
	}
	req := &p.SendRequest
	num := s.phoneHash(req.CountryCode, req.PhoneNumber) // names the number in the store
	test := s.testNumber(req.PhoneNumber, al)
	ir := idemRequest{action: core.ActionSend, params: req, cc: countryOf(req.CountryCode), phone: req.PhoneNumber}
	return s.idempotent(ctx, c, ir, al, func() (any, *apiError) {
		if e := s.checkCaptcha(ctx, c, captchaActionSend, p.CaptchaVerifyParam, al); e != nil {
			return nil, e
		}
		l := s.sendLimits(c, num)
		if e := s.allow(ctx, &l); e != nil {
			return nil, e
		}
		ctx, cancel := committed(ctx)
		defer cancel()
		var (
			ans *SendAnswer
			e   *apiError
		)
		if test {
			ans, e = s.sendTest(ctx, c, req, al)
		} else if ans, e = s.sendUpstream(ctx, c, req, al); e != nil {
			s.refundSend(ctx, &l, e)
			s.intervalLeft(ctx, num, req, e)
		}
		if e != nil {
			return nil, e
		}
		s.recordSend(ctx, num, req, ans.Model.BizID, test, al)
		return ans, nil
	})
}

// sendUpstream calls SendSmsVerifyCode and builds the answer.
func (s *Service) sendUpstream(ctx context.Context, c caller, req *core.SendRequest, al *accessLog) (*SendAnswer, *apiError) {
	uctx, cancel := upstreamContext(ctx)
	defer cancel()
	start := time.Now()
	res, err := s.client.Send(uctx, req)
	al.upstreamDone(start, err)
	if err != nil {
		return nil, fromCore(err)
	}
	al.UpstreamID, al.BizID = res.RequestID, res.Model.BizID
	ans := &SendAnswer{Code: CodeOK, Message: messageOK, RequestID: res.RequestID, Success: true,
		Model: res.Model, ResendAfter: intervalOf(req), ExpiresIn: validTimeOf(req)}
	if !returnsCode(c, req) {
		ans.Model.VerifyCode = ""
	}
	return ans, nil
}

// refundSend gives back the limit slots of a send that cost nothing. A send
// that certainly never reached Alibaba (no connection, no credentials, a
// gateway rejection before any business processing) gives back every slot:
// otherwise an outage or a bad AccessKey would spend the day's global budget
// with no SMS sent. A business refusal (FREQUENCY_FAIL, BUSINESS_LIMIT_CONTROL,
// …) sent no SMS and is not charged, so it gives back the global slot, which
// is a cost budget; it still counts against the per-number and per-address
// limits, which are about abuse. Anything else (a timeout, a garbage answer)
// may have sent an SMS and keeps every slot. A failed refund is logged with
// the request; the slots then expire with their window.
func (s *Service) refundSend(ctx context.Context, l *limitSet, e *apiError) {
	var give limitSet
	switch {
	case core.NeverReached(e.cause):
		give = *l
	case businessRefusal(e.cause):
		give = l.only(CodeSendLimitGlobal)
	default:
		return
	}
	if err := s.refund(ctx, &give); err != nil {
		e.cause = errors.Join(e.cause, err)
	}
}

// intervalLeft makes the Retry-After of Alibaba's FREQUENCY_FAIL the time
// left of the Interval rather than all of it, when this service (or its
// shared store) sent the number's last code: the attempts log holds the
// time of every send Alibaba accepted (recordSend; a test number's sends
// never reached it and do not count). Otherwise (no send within the
// Interval there: it was elsewhere, or the log forgot it) the whole
// Interval stays, an upper bound. A store failure keeps the Interval too.
func (s *Service) intervalLeft(ctx context.Context, num string, req *core.SendRequest, e *apiError) {
	if !core.IsFrequencyFail(e.cause) {
		return
	}
	raw, err := s.store.List(ctx, sendsKey(num))
	if err != nil {
		e.cause = errors.Join(e.cause, err)
		return
	}
	interval := time.Duration(intervalOf(req)) * time.Second
	var last int64 // the newest send Alibaba accepted, Unix ms
	for _, sr := range decodeRecords[sendRecord](raw) {
		if !sr.Test {
			last = max(last, sr.At)
		}
	}
	if left := time.UnixMilli(last).Add(interval).Sub(s.now()); left > 0 {
		e.RetryAfter = min(left, interval)
	}
}

// businessRefusal reports whether err is Alibaba's business answer refusing
// the request (HTTP 2xx, Success false): no SMS was sent.
func businessRefusal(err error) bool {
	var ce *core.Error
	return errors.As(err, &ce) && ce.StatusCode >= 200 && ce.StatusCode < 300 && ce.Code != core.CodeBadResponse
}

// validTimeOf is the code's validity in seconds.
func validTimeOf(req *core.SendRequest) int64 {
	if req.ValidTime != nil {
		return *req.ValidTime
	}
	return alibabaValidTime
}

// intervalOf is the time in seconds until the next code may be sent.
func intervalOf(req *core.SendRequest) int64 {
	if req.Interval != nil {
		return *req.Interval
	}
	return int64(core.DefaultInterval / time.Second)
}

// returnsCode reports whether a send's answer may carry the code: only
// when a trusted caller asked for it with ReturnVerifyCode.
func returnsCode(c caller, req *core.SendRequest) bool {
	return c.trusted() && req.ReturnVerifyCode != nil && *req.ReturnVerifyCode
}

// alibabaValidTime is the validity Alibaba gives a code when the request
// sets no ValidTime, in seconds.
const alibabaValidTime = 300
