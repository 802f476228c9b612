package function

import (
	"net/http"
	"testing"
)

func TestSmokeSendCheck(t *testing.T) {
	e := newEnv(t, nil)
	w, m := e.do("POST", "/send", `{"PhoneNumber":"13800000000"}`)
	if w.Code != 200 {
		t.Fatalf("send: %d %v", w.Code, m)
	}
	code := e.lastCode("13800000000")
	w, m = e.do("POST", "/check", `{"PhoneNumber":"13800000000","VerifyCode":"`+code+`"}`)
	if w.Code != http.StatusOK || m["Model"].(map[string]any)["VerifyResult"] != "PASS" {
		t.Fatalf("check: %d %v", w.Code, m)
	}
	t.Log(e.logs.String())
}
