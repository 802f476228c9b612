package function

import (
	"context"
	"strings"
	"time"

	"smsverify/core"
	"smsverify/function/verifytoken"
)

// check runs CheckSmsVerifyCode for c with the parameters in body, in the
// same steps as send: decode and validate, take the limits, then answer a
// used code locally or ask Alibaba.
func (s *Service) check(ctx context.Context, c caller, body []byte, al *accessLog) (any, *apiError) {
	al.Action = core.ActionCheck
	p, e := s.decodeCheck(c, body, al)
	if e != nil {
		return nil, e
	}
	req := &p.CheckRequest
	num := s.phoneHash(req.CountryCode, req.PhoneNumber) // names the number in the store
	test := s.testNumber(req.PhoneNumber, al)
	// judge is what a check costs before it is answered: the captcha (when
	// asked for) and the check limits, which it leaves in l.
	var l limitSet
	judge := func(withCaptcha bool) *apiError {
		if withCaptcha {
			if e := s.checkCaptcha(ctx, c, captchaActionCheck, p.CaptchaVerifyParam, al); e != nil {
				return e
			}
		}
		l = s.checkLimits(c, num)
		return s.allow(ctx, &l)
	}
	ir := idemRequest{action: core.ActionCheck, params: req, cc: countryOf(req.CountryCode), phone: req.PhoneNumber}
	if !c.trusted() {
		ir.judge = judge
	}
	return s.idempotent(ctx, c, ir, al, func() (any, *apiError) {
		if e := judge(true); e != nil {
			return nil, e
		}
		ctx, cancel := committed(ctx)
		defer cancel()
		var (
			ans *CheckAnswer
			e   *apiError
		)
		if test {
			ans, e = s.checkTest(ctx, req, al)
		} else {
			ans, e = s.checkUpstream(ctx, req, al)
		}
		if e != nil {
			return nil, e
		}
		s.recordCheck(ctx, num, req, ans, al)
		if left, ok := l.leftOf(CodeCheckLimitPhone); ok {
			ans.Model.AttemptsLeft = &left
		}
		return ans, nil
	})
}

// usedTTL is how long a code that passed is remembered as used: longer
// than any code lives at Alibaba unless a trusted caller sets ValidTime
// beyond a day.
const usedTTL = 24 * time.Hour

// usedKey names one code of a number and scheme in the store once it has
// passed. It holds a hash, never the number or the code; the code is
// upper-cased so that a case-insensitive check cannot replay it in another
// case.
func (s *Service) usedKey(cc, phone, scheme, code string) string {
	return s.secureHash(cc, phone, scheme, strings.ToUpper(code))
}

// checkUpstream answers a code already used up with UNKNOWN and no upstream
// call; otherwise it asks Alibaba and, on PASS, uses the code up.
func (s *Service) checkUpstream(ctx context.Context, req *core.CheckRequest, al *accessLog) (*CheckAnswer, *apiError) {
	key := s.usedKey(countryOf(req.CountryCode), req.PhoneNumber, req.SchemeName, req.VerifyCode)
	used, err := s.store.Used(ctx, key)
	if err != nil {
		return nil, storeDown(err)
	}
	ans := &CheckAnswer{Code: CodeOK, Message: messageOK, RequestID: RequestID(ctx), Success: true,
		Model: CheckModel{VerifyResult: core.VerifyUnknown, OutID: req.OutID}}
	if used {
		// This code was used up by a PASS: no upstream call.
		al.Result = ans.Model.VerifyResult
		return ans, nil
	}
	uctx, cancel := upstreamContext(ctx)
	defer cancel()
	start := time.Now()
	res, err := s.client.Check(uctx, req)
	al.upstreamDone(start, err)
	if err != nil {
		return nil, fromCore(err)
	}
	al.UpstreamID = res.RequestID
	ans.RequestID = res.RequestID // Code and Message stay OK: one Message per outcome, whoever answered
	ans.Model.VerifyResult, ans.Model.OutID = res.Model.VerifyResult, res.Model.OutID
	if res.Passed() {
		if e := s.usePass(ctx, req, key, ans); e != nil {
			return nil, e
		}
	}
	al.Result = ans.Model.VerifyResult
	return ans, nil
}

// usePass marks a code that passed as used; the first use gets a
// verification token (when configured), a replayed one becomes UNKNOWN.
func (s *Service) usePass(ctx context.Context, req *core.CheckRequest, key string, ans *CheckAnswer) *apiError {
	first, err := s.store.MarkUsed(ctx, key, usedTTL)
	if err != nil {
		return storeDown(err)
	}
	if !first {
		ans.Model.VerifyResult = core.VerifyUnknown // a replayed code
		return nil
	}
	return s.issueToken(req, ans)
}

// issueToken adds a verification token to a PASS answer, when configured.
func (s *Service) issueToken(req *core.CheckRequest, ans *CheckAnswer) *apiError {
	if s.tokens == nil {
		return nil
	}
	tok, exp, err := s.tokens.Issue(verifytoken.Claims{PhoneNumber: req.PhoneNumber, CountryCode: countryOf(req.CountryCode), Scheme: req.SchemeName})
	if err != nil {
		e := newError(CodeInternal, "could not issue a verification token")
		e.cause = err
		return e
	}
	ans.Model.VerifyToken, ans.Model.VerifyTokenExpiresAt = tok, exp.Unix()
	return nil
}
