package function

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"smsverify/core"
)

// Test numbers (SMS_TEST_NUMBERS): numbers for app-store reviewers and
// staging that never reach Alibaba. A send to one answers like Alibaba with
// a BizId starting "test-"; a check with its fixed code passes, every time
// (a reviewer logs in more than once, and a code used up for a day would
// lock them out), and any other code is UNKNOWN. Limits apply as usual.

// testBizIDPrefix starts the BizId of a send to a test number.
const testBizIDPrefix = "test-"

// parseTestNumbers parses SMS_TEST_NUMBERS entries "phone:code" into a map
// from number to code. Errors name the entry by position, never quoting a
// number or a code.
func parseTestNumbers(entries []string) (map[string]string, error) {
	out := make(map[string]string, len(entries))
	for i, e := range entries {
		phone, code, ok := strings.Cut(e, ":")
		phone, code = strings.TrimSpace(phone), strings.TrimSpace(code)
		if !ok {
			return nil, fmt.Errorf("entry %d must be number:code: a number you own and a code you made up", i+1)
		}
		// The number and the code must pass the API's own rules.
		if err := (&core.CheckRequest{PhoneNumber: phone, VerifyCode: code}).Validate(); err != nil {
			var pe *core.ParamError
			if errors.As(err, &pe) && pe.Field == "VerifyCode" {
				return nil, fmt.Errorf("entry %d: the code must be 4 to 8 letters or digits", i+1)
			}
			return nil, fmt.Errorf("entry %d: the number must be an 11-digit mainland China mobile number", i+1)
		}
		if _, dup := out[phone]; dup {
			return nil, fmt.Errorf("entry %d repeats a number", i+1)
		}
		out[phone] = code
	}
	return out, nil
}

// validateTestNumbers checks SMS_TEST_NUMBERS.
func (c *Config) validateTestNumbers(p *problems) {
	if _, err := parseTestNumbers(c.TestNumbers); err != nil {
		p.add("SMS_TEST_NUMBERS", "%v", err)
	}
}

// logTestNumbers logs, once at start, the test numbers in force, masked.
// With real credentials (not the emulator) the warning says so: every
// check of those numbers with their codes passes in production, for
// whoever knows them.
func (s *Service) logTestNumbers(emulator bool) {
	if len(s.testNumbers) == 0 {
		return
	}
	masked := make([]string, 0, len(s.testNumbers))
	for phone := range s.testNumbers {
		masked = append(masked, MaskedPhone(phone).String())
	}
	slices.Sort(masked)
	msg := "SMS_TEST_NUMBERS is set: sends to these numbers reach no phone and their fixed codes pass"
	if !emulator {
		msg = "SMS_TEST_NUMBERS is set with real Alibaba Cloud credentials: anyone who knows one of these numbers " +
			"and its fixed code passes a check, in production; keep them for an app-store review and remove them after"
	}
	s.log.LogAttrs(context.Background(), slog.LevelWarn, msg,
		slog.Any("test_numbers", masked), slog.Bool("real_credentials", !emulator))
}

// testNumber reports whether phone is one of SMS_TEST_NUMBERS, marking the
// access log when it is.
func (s *Service) testNumber(phone string, al *accessLog) bool {
	_, ok := s.testNumbers[phone]
	if ok {
		al.TestNumber = true
	}
	return ok
}

// sendTest answers a send to a test number without calling Alibaba.
func (s *Service) sendTest(ctx context.Context, c caller, req *core.SendRequest, al *accessLog) (*SendAnswer, *apiError) {
	id := RequestID(ctx)
	m := core.SendModel{BizID: testBizIDPrefix + randomID(), OutID: req.OutID, RequestID: id}
	if returnsCode(c, req) {
		m.VerifyCode = s.testNumbers[req.PhoneNumber]
	}
	al.BizID = m.BizID
	return &SendAnswer{Code: CodeOK, Message: messageOK, RequestID: id, Success: true,
		Model: m, ResendAfter: intervalOf(req), ExpiresIn: validTimeOf(req)}, nil
}

// checkTest answers a check of a test number without calling Alibaba:
// PASS (with a verification token) for its fixed code, else UNKNOWN. The
// comparison ignores case unless CaseAuthPolicy is 2, as Alibaba's does.
func (s *Service) checkTest(ctx context.Context, req *core.CheckRequest, al *accessLog) (*CheckAnswer, *apiError) {
	ans := &CheckAnswer{Code: CodeOK, Message: messageOK, RequestID: RequestID(ctx), Success: true,
		Model: CheckModel{VerifyResult: core.VerifyUnknown, OutID: req.OutID}}
	code := s.testNumbers[req.PhoneNumber]
	pass := strings.EqualFold(req.VerifyCode, code)
	if req.CaseAuthPolicy != nil && *req.CaseAuthPolicy == 2 {
		pass = req.VerifyCode == code
	}
	if pass {
		ans.Model.VerifyResult = core.VerifyPass
		if e := s.issueToken(req, ans); e != nil {
			return nil, e
		}
	}
	al.Result = ans.Model.VerifyResult
	return ans, nil
}
