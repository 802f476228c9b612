package platform

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
)

// ResponseWriter buffers what a handler writes. Like net/http, the header
// is fixed at the first WriteHeader or Write.
type ResponseWriter struct {
	header http.Header
	sent   http.Header // the header as of WriteHeader
	status int
	body   bytes.Buffer
}

// NewResponseWriter returns an empty ResponseWriter.
func NewResponseWriter() *ResponseWriter { return &ResponseWriter{header: http.Header{}} }

// Header implements http.ResponseWriter.
func (w *ResponseWriter) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter; only the first call counts.
func (w *ResponseWriter) WriteHeader(status int) {
	if w.status != 0 {
		return
	}
	w.status, w.sent = status, w.header.Clone()
}

// Write implements http.ResponseWriter.
func (w *ResponseWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// Response is a finished HTTP answer, ready for any platform's shape.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// Result finishes the response to a request with method; an answer to
// HEAD has no body, as in net/http.
func (w *ResponseWriter) Result(method string) *Response {
	w.WriteHeader(http.StatusOK)
	r := &Response{Status: w.status, Header: w.sent, Body: w.body.String()}
	if method == http.MethodHead {
		r.Body = ""
	}
	return r
}

// Serve runs r through h and returns the buffered answer.
func Serve(h http.Handler, r *http.Request) *Response {
	w := NewResponseWriter()
	h.ServeHTTP(w, r)
	return w.Result(r.Method)
}

// JoinedHeader is the header with each name's values joined by ", ", for
// platforms whose response headers are a map of strings; the names in omit
// are left out (Set-Cookie cannot be joined).
func (r *Response) JoinedHeader(omit ...string) map[string]string {
	m := make(map[string]string, len(r.Header))
	for k, vs := range r.Header {
		if !slices.Contains(omit, k) {
			m[k] = strings.Join(vs, ", ")
		}
	}
	return m
}
