// Package web holds the browser side of smsverify: smsverify.js, a
// dependency-free ES module client of the HTTP API, and index.html, a demo
// page using it. Both are embedded; Handler serves them (the local adapter
// mounts it at /demo/).
package web

import (
	"embed"
	"net/http"
	"strings"
)

// FS holds index.html, smsverify.js with its types (smsverify.d.ts) and
// the page's favicon.svg.
//
//go:embed index.html smsverify.js smsverify.d.ts favicon.svg
var FS embed.FS

// Handler serves FS: index.html for the directory, smsverify.js as
// text/javascript (module scripts need a JavaScript type), smsverify.d.ts
// as plain text (the system's MIME table may call .ts a video).
func Handler() http.Handler {
	files := http.FileServerFS(FS)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		h.Set("Referrer-Policy", "no-referrer")
		if strings.HasSuffix(r.URL.Path, ".ts") {
			h.Set("Content-Type", "text/plain; charset=utf-8")
		}
		files.ServeHTTP(w, r)
	})
}
