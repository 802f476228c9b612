package core

import (
	"errors"
	"testing"
	"time"
)

// FuzzParseResponse: any answer either succeeds with Code OK or becomes an
// *Error with a non-empty Code; a Check never turns garbage into a verdict.
func FuzzParseResponse(f *testing.F) {
	f.Add(200, `{"Code":"OK","Success":true,"RequestId":"R","Model":{"VerifyResult":"PASS"}}`)
	f.Add(200, `{"Code":"FREQUENCY_FAIL","Success":false}`)
	f.Add(400, `{"Code":"SignatureDoesNotMatch","HostId":"h","Recommend":"r"}`)
	f.Add(200, `{"Code":"OK","AccessDeniedDetail":{"a":1},"Model":[]}`)
	f.Add(503, `<html>`)
	f.Add(200, ``)
	f.Fuzz(func(t *testing.T, status int, body string) {
		now := time.Unix(0, 0)
		isError := func(err error) {
			t.Helper()
			e, ok := err.(*Error)
			if !ok || e.Code == "" || e.Code == "OK" {
				t.Fatalf("error %#v", err)
			}
			_ = e.Kind()
			_ = IsTransient(err)
		}
		chk, err := checkResult(status, []byte(body), now)
		switch {
		case err != nil:
			isError(err)
		case chk.Code != "OK" || chk.Model.VerifyResult == "":
			t.Fatalf("check verdict from %q: %+v", body, chk)
		}
		snd, err := sendResult(status, []byte(body), now, time.Minute)
		switch {
		case err != nil:
			isError(err)
		case snd.Code != "OK":
			t.Fatalf("send success with Code %q", snd.Code)
		}
	})
}

// plainAnswers are answers as Alibaba writes them: Send's documented
// example (its Chinese page), a business error, Check's answer.
var plainAnswers = []string{
	`{
  "AccessDeniedDetail": "无",
  "Message": "成功 ",
  "RequestId": "CC3BB6D2-2FDF-4321-9DCE-B38165CE4C47",
  "Model": {
    "VerifyCode": "4232",
    "RequestId": "a3671ccf-0102-4c8e-8797-a3678e091d09",
    "OutId": "1231231313",
    "BizId": "112231421412414124123^4"
  },
  "Code": "OK",
  "Success": true
}`,
	`{"Code":"FREQUENCY_FAIL","Message":"check frequency failed","RequestId":"R","Success":false}`,
	`{"Code":"OK","Message":"成功","RequestId":"R","Success":true,"Model":{"VerifyResult":"PASS","OutId":""}}`,
	`{"RequestId":"R","HostId":"dypnsapi.aliyuncs.com","Code":"SignatureDoesNotMatch","Message":"m","Recommend":"https://api.aliyun.com/troubleshoot?q=SignatureDoesNotMatch"}`,
}

// TestPlainAnswersDecode: Alibaba's answers as it writes them decode to
// their fields.
func TestPlainAnswersDecode(t *testing.T) {
	snd, err := sendResult(200, []byte(plainAnswers[0]), time.Now(), DefaultInterval)
	if err != nil || snd.Model.BizID != "112231421412414124123^4" || snd.Model.VerifyCode != "4232" ||
		snd.AccessDeniedDetail != "无" || snd.Message != "成功 " || snd.RequestID != "CC3BB6D2-2FDF-4321-9DCE-B38165CE4C47" {
		t.Errorf("documented answer decoded as %+v, %v", snd, err)
	}
	var e *Error
	if _, err := sendResult(200, []byte(plainAnswers[1]), time.Now(), DefaultInterval); !errors.As(err, &e) || e.Code != "FREQUENCY_FAIL" || e.RequestID != "R" {
		t.Errorf("business error decoded as %v", err)
	}
	chk, err := checkResult(200, []byte(plainAnswers[2]), time.Now())
	if err != nil || !chk.Passed() || chk.Message != "成功" {
		t.Errorf("check answer decoded as %+v, %v", chk, err)
	}
	if _, err := sendResult(400, []byte(plainAnswers[3]), time.Now(), DefaultInterval); !errors.As(err, &e) ||
		e.HostID != "dypnsapi.aliyuncs.com" || e.Recommend == "" || e.Kind() != KindMisconfigured {
		t.Errorf("gateway error decoded as %v", err)
	}
}
