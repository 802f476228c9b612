package dypnstest_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"smsverify/core/dypnstest"
)

// TestWarmUp: only the first request that is not a POST is reported, and
// every request is still served by the wrapped handler.
func TestWarmUp(t *testing.T) {
	served := 0
	h, first := dypnstest.WarmUp(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served++ }))
	for _, r := range []*http.Request{
		httptest.NewRequest(http.MethodPost, "/", nil),
		httptest.NewRequest(http.MethodHead, "/", nil),
		httptest.NewRequest(http.MethodGet, "/later", nil),
	} {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if got := <-first; got != "HEAD /" || served != 3 {
		t.Errorf("first warm-up %q, %d served; want HEAD / and 3", got, served)
	}
	select {
	case got := <-first:
		t.Errorf("a second warm-up reported: %q", got)
	default:
	}
}
