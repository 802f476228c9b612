package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"time"

	"smsverify/adapters/internal/platform"
	"smsverify/core"
	"smsverify/core/dypnstest"
	"smsverify/function"
	"smsverify/function/limit"
	"smsverify/web"
)

// maxHeaderBytes bounds a request's header (net/http's default is 1 MiB):
// a connection trickling headers holds what it sent until ReadHeaderTimeout.
// The largest legitimate header here (an Authorization bearer key, cookies
// of a site on the same domain) is far below it.
const maxHeaderBytes = 64 << 10

// requestMargin is what a request may take beyond its upstream call
// (DYPNS_TIMEOUT): reading the body, the limit store, writing the answer.
const requestMargin = 10 * time.Second

// hooks are run's seams for tests; the zero value is what main uses.
type hooks struct {
	ready       func(addr string)                    // gets the listening address
	after       func(time.Duration) <-chan time.Time // the shutdown grace timer; default time.After
	reportAfter func(time.Duration, func())          // schedules the emulator's receipts; default time.AfterFunc
}

// run serves until ctx is done, then shuts down gracefully. Banners and
// emulator codes go to out, access logs (JSON) to logw.
func run(ctx context.Context, out, logw io.Writer, h hooks) error {
	mux := http.NewServeMux()
	var (
		log  *slog.Logger
		fake *dypnstest.Server // emulator mode: no credentials are set
		mem  *limit.Memory     // emulator mode with LIMIT_STORE=memory: reset clears it
		ln   net.Listener
	)
	svc, cfg, err := platform.NewService(logw, func(cfg *function.Config, o *function.Options) error {
		log = o.Logger
		var err error
		if ln, err = net.Listen("tcp", net.JoinHostPort(cfg.Host, cfg.Port)); err != nil {
			return err
		}
		if cfg.AccessKeyID != "" || cfg.AccessKeySecret != "" {
			return nil
		}
		if fake, err = dypnstest.Listen(dypnstest.Options{OnSend: printCode(out), Reports: emulatorReports(cfg, ln.Addr().String(), log, h.reportAfter)}); err != nil {
			return fmt.Errorf("emulator: %w", err)
		}
		cfg.Endpoint = fake.URL
		o.Credentials = core.StaticCredentials(dypnstest.TestCredentials())
		o.Emulator = true // allows CAPTCHA_PROVIDER=test
		if cfg.LimitStore == "memory" {
			mem = limit.NewMemoryWith(limit.MemoryOptions{MaxKeys: int(cfg.LimitMemoryMaxKeys)})
			o.Store = mem
		}
		if cfg.CaptchaProvider == "aliyun" && cfg.CaptchaEndpoint == "" {
			cfg.CaptchaEndpoint = fake.URL // the fake answers Captcha 2.0 too
		}
		return nil
	})
	if ln != nil {
		defer ln.Close() // after Serve, a no-op
	}
	if fake != nil {
		defer fake.Close()
	}
	if err != nil {
		return err
	}
	defer svc.Close()
	warmed := make(chan struct{})
	go func() { // the upstream connections, opened while the server starts
		defer close(warmed)
		_ = svc.Warm(ctx)
	}()
	defer func() { <-warmed }() // before svc.Close: deferred calls run last first
	mux.Handle("/", svc)
	if fake != nil {
		cors := emulatorCORS(svc, len(cfg.CORSAllowedOrigins) == 0)
		mux.Handle("GET /emulator/codes", cors(codesHandler(fake.Fake)))
		mux.Handle("POST /emulator/reset", cors(resetHandler(fake.Fake, mem)))
		mux.Handle("GET /emulator/attempts", cors(attemptsHandler(svc)))
		mux.Handle("GET /{$}", svc.Redirect("/demo/"))
	}
	demo := fake != nil || cfg.ServeDemo
	if demo {
		mux.Handle("GET /demo/", http.StripPrefix("/demo", web.Handler()))
		// The mux and the file server would redirect these bare.
		mux.Handle("GET /demo", svc.Redirect("/demo/"))
		mux.Handle("GET /demo/index.html", svc.Redirect("/demo/"))
	}

	addr := ln.Addr().String()
	printBanner(out, addr, cfg, fake, demo)
	if h.ready != nil {
		h.ready(addr)
	}

	srv := newServer(ctx, svc.Guard(mux), cfg) // unclean paths get the JSON 404, not the mux's redirect
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return shutdown(ctx, srv, errc, out, log, h.after)
}

// printBanner tells the console where the service listens and, in
// emulator mode, that no SMS is sent and where the codes are.
func printBanner(out io.Writer, addr string, cfg function.Config, fake *dypnstest.Server, demo bool) {
	if fake != nil {
		fmt.Fprintf(out, "smsverify EMULATOR MODE: no Alibaba Cloud credentials are set, so no SMS is sent.\n"+
			"  Codes are printed here and listed at GET http://%s/emulator/codes?PhoneNumber=...\n"+
			"  POST /emulator/reset forgets codes, limits, idempotency records, receipts and attempts.\n"+
			"  Set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET to send real SMS.\n"+
			"  Delivery receipts reach POST /reports %s after each send (FAILED for EMULATOR_FAIL_NUMBERS);\n"+
			"  attempts are listed at GET http://%s/emulator/attempts?PhoneNumber=...\n", addr, cfg.EmulatorReportDelay, addr)
		switch {
		case cfg.CaptchaProvider == "test":
			fmt.Fprintf(out, "  Captcha: CAPTCHA_PROVIDER=test: a CaptchaVerifyParam starting with \"pass\" passes.\n")
		case cfg.CaptchaProvider == "aliyun" && cfg.CaptchaEndpoint == fake.URL:
			fmt.Fprintf(out, "  Captcha: Captcha 2.0 is emulated too: a CaptchaVerifyParam starting with \"pass\" passes once.\n")
		}
	}
	fmt.Fprintf(out, "smsverify listening on http://%s (POST /send, POST /check, GET /healthz, GET /readyz, GET /openapi.json)\n", addr)
	if demo {
		fmt.Fprintf(out, "  Demo page: http://%s/demo/\n", addr)
	}
}

// newServer is the HTTP server of handler: bounded headers and timeouts,
// and requests that outlive ctx's cancellation (shutdown lets them finish).
func newServer(ctx context.Context, handler http.Handler, cfg function.Config) *http.Server {
	return &http.Server{
		Handler:           handler,
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      cfg.Timeout + requestMargin,
		IdleTimeout:       60 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
}

// shutdown stops srv gracefully: no new connections, and every request in
// flight gets its answer. The grace is the server's WriteTimeout, the
// longest a request read before the signal can still answer (its upstream
// call, DYPNS_TIMEOUT, plus requestMargin). Should it expire all the same,
// the connections left are closed, and that is logged.
func shutdown(ctx context.Context, srv *http.Server, errc <-chan error, out io.Writer, log *slog.Logger, after func(time.Duration) <-chan time.Time) error {
	if after == nil {
		after = time.After
	}
	grace := srv.WriteTimeout
	fmt.Fprintf(out, "smsverify shutting down: waiting up to %s for requests in flight\n", grace)
	expired := after(grace)
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	go func() {
		select {
		case <-expired:
			cancel()
		case <-sctx.Done():
		}
	}()
	if err := srv.Shutdown(sctx); err != nil {
		log.ErrorContext(ctx, "shutdown grace expired: closing connections with requests in flight", "grace", grace.String())
		_ = srv.Close()
		<-errc
		return fmt.Errorf("shutdown: requests still in flight after %s", grace)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// printCode prints each emulated SMS: the code is the point of the
// emulator; the number stays masked like everywhere else.
func printCode(out io.Writer) func(dypnstest.Sent) {
	return func(s dypnstest.Sent) {
		fmt.Fprintf(out, "emulator: SMS to %s (template %s, scheme %q): code %s, valid until %s\n",
			function.MaskedPhone(s.PhoneNumber), s.TemplateCode, s.SchemeName, s.VerifyCode, s.Expires.Format(time.TimeOnly))
	}
}

// emulatedCode is one entry of GET /emulator/codes.
type emulatedCode struct {
	VerifyCode   string    `json:"VerifyCode"`
	SchemeName   string    `json:"SchemeName"`
	TemplateCode string    `json:"TemplateCode"`
	BizID        string    `json:"BizId"`
	OutID        string    `json:"OutId,omitempty"`
	SentAt       time.Time `json:"SentAt"`
	ExpiresAt    time.Time `json:"ExpiresAt"`
	Verifiable   bool      `json:"Verifiable"`
}

// codesHandler lists the codes the emulator sent to ?PhoneNumber=, newest
// last (like the Firebase Auth Emulator's verification codes endpoint).
func codesHandler(f *dypnstest.Fake) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		phone := r.URL.Query().Get("PhoneNumber")
		if phone == "" {
			emulatorJSON(w, http.StatusBadRequest, map[string]any{"Code": function.CodeInvalidParameters,
				"Message": "PhoneNumber is required", "Success": false})
			return
		}
		codes := []emulatedCode{}
		for _, s := range f.Codes(phone) {
			codes = append(codes, emulatedCode{VerifyCode: s.VerifyCode, SchemeName: s.SchemeName, TemplateCode: s.TemplateCode,
				BizID: s.BizID, OutID: s.OutID, SentAt: s.At, ExpiresAt: s.Expires, Verifiable: s.Verifiable})
		}
		emulatorJSON(w, http.StatusOK, map[string]any{"PhoneNumber": phone, "Codes": codes})
	})
}

// resetHandler forgets what the emulator and the service remember, as a
// fresh start would: the codes sent, and with the memory store the limits,
// used codes, idempotency records, receipts and attempts. A Redis store is
// shared and kept.
func resetHandler(f *dypnstest.Fake, mem *limit.Memory) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.Reset()
		forgotten := []string{"codes"}
		msg := "forgotten: codes, limits, idempotency records, receipts and attempts"
		if mem != nil {
			mem.Reset()
			forgotten = append(forgotten, "limits", "idempotency", "receipts", "attempts")
		} else {
			msg = "forgotten: codes; LIMIT_STORE=redis keeps its limits, idempotency records, receipts and attempts"
		}
		emulatorJSON(w, http.StatusOK, map[string]any{"Code": function.CodeOK, "Message": msg, "Success": true, "Forgotten": forgotten})
	})
}

// emulatorJSON writes an emulator answer with a request id, in the body
// and in X-Request-Id, like every answer of the service.
func emulatorJSON(w http.ResponseWriter, status int, body map[string]any) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	if _, ok := body["Code"]; ok {
		body["RequestId"] = id
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Request-Id", id)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// emulatorCORS lets pages on other origins use the emulator routes: the
// origins CORS_ALLOWED_ORIGINS allows, or any origin when it is empty (the
// routes exist only in emulator mode, where nothing is secret).
func emulatorCORS(svc *function.Service, anyOrigin bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if origin := r.Header.Get("Origin"); origin != "" {
				allow := svc.AllowOrigin(origin)
				if anyOrigin {
					allow = "*"
				}
				h := w.Header()
				h.Add("Vary", "Origin")
				if allow != "" {
					h.Set("Access-Control-Allow-Origin", allow)
					h.Set("Access-Control-Expose-Headers", "X-Request-Id")
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// emulatorReports makes the emulator push a delivery receipt for each send
// to the service's own POST /reports, as Alibaba would, so attempts work
// with no configuration: REPORT_TOKEN, when not set, is a random one for
// this process. A failed push is logged.
func emulatorReports(cfg *function.Config, addr string, log *slog.Logger, after func(time.Duration, func())) *dypnstest.Reports {
	if cfg.ReportToken == "" {
		var b [32]byte
		_, _ = rand.Read(b[:])
		cfg.ReportToken = hex.EncodeToString(b[:])
	}
	return &dypnstest.Reports{
		URL:         "http://" + addr + "/reports?token=" + url.QueryEscape(cfg.ReportToken),
		Delay:       cfg.EmulatorReportDelay,
		FailNumbers: cfg.EmulatorFailNumbers,
		AfterFunc:   after,
		OnPush: func(rc dypnstest.Receipt, err error) {
			if err != nil {
				log.Error("emulator: delivery receipt push failed", "biz_id", rc.BizID, "error", err.Error())
			}
		},
	}
}

// attemptsHandler serves GET /emulator/attempts?PhoneNumber=…: the
// service's ListAttempts event, which is trusted, so that the demo page
// can show what became of a send. Only the emulator has it: it lists
// nothing the emulator's codes list does not give away already.
func attemptsHandler(svc *function.Service) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		ev, _ := json.Marshal(map[string]string{"Action": function.ActionListAttempts, "PhoneNumber": q.Get("PhoneNumber"), "CountryCode": q.Get("CountryCode")})
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		ans, err := svc.Invoke(r.Context(), ev)
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"Code":"`+function.CodeLimitStoreDown+`","Message":"try again later","Success":false}`+"\n")
			return
		}
		var probe struct{ Success *bool }
		if json.Unmarshal(ans, &probe) == nil && probe.Success != nil && !*probe.Success {
			w.WriteHeader(http.StatusBadRequest)
		}
		_, _ = w.Write(ans)
	})
}
