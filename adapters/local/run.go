package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"smsverify/core"
	"smsverify/core/dypnstest"
	"smsverify/function"
)

// maxHeaderBytes bounds a request's header (net/http's default is 1 MiB):
// a connection trickling headers holds what it sent until ReadHeaderTimeout.
// The largest legitimate header here (an Authorization bearer key, cookies
// of a site on the same domain) is far below it.
const maxHeaderBytes = 64 << 10

// run serves until ctx is done, then shuts down gracefully. Banners and
// emulator codes go to out, access logs (JSON) to logw. ready, if set, gets
// the listening address.
func run(ctx context.Context, out, logw io.Writer, ready func(addr string)) error {
	cfg, err := function.LoadConfig()
	if err != nil {
		return err
	}
	opts := function.Options{Logger: slog.New(slog.NewJSONHandler(logw, nil))}
	mux := http.NewServeMux()

	emulate := cfg.AccessKeyID == "" && cfg.AccessKeySecret == ""
	if emulate {
		fake, err := dypnstest.Listen(dypnstest.Options{OnSend: printCode(out)})
		if err != nil {
			return fmt.Errorf("emulator: %w", err)
		}
		defer fake.Close()
		cfg.Endpoint = fake.URL
		opts.Credentials = core.StaticCredentials(dypnstest.TestCredentials())
		mux.Handle("GET /emulator/codes", codesHandler(fake.Fake))
	}

	svc, err := function.New(cfg, opts)
	if err != nil {
		return err
	}
	defer svc.Close()
	mux.Handle("/", svc)

	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, cfg.Port))
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	if emulate {
		fmt.Fprintf(out, "smsverify EMULATOR MODE: no Alibaba Cloud credentials are set, so no SMS is sent.\n"+
			"  Codes are printed here and listed at GET http://%s/emulator/codes?PhoneNumber=...\n"+
			"  Set ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET to send real SMS.\n", addr)
	}
	fmt.Fprintf(out, "smsverify listening on http://%s (POST /send, POST /check, GET /healthz)\n", addr)
	if ready != nil {
		ready(addr)
	}

	srv := &http.Server{
		Handler:           mux,
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      cfg.Timeout + 10*time.Second,
		IdleTimeout:       60 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(out, "smsverify shutting down")
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return err
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
	BizId        string    `json:"BizId"`
	OutId        string    `json:"OutId,omitempty"`
	SentAt       time.Time `json:"SentAt"`
	ExpiresAt    time.Time `json:"ExpiresAt"`
	Verifiable   bool      `json:"Verifiable"`
}

// codesHandler lists the codes the emulator sent to ?PhoneNumber=, newest
// last (like the Firebase Auth Emulator's verification codes endpoint).
func codesHandler(f *dypnstest.Fake) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		phone := r.URL.Query().Get("PhoneNumber")
		if phone == "" {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"Code":"INVALID_PARAMETERS","Message":"PhoneNumber is required","Success":false}`+"\n")
			return
		}
		codes := []emulatedCode{}
		for _, s := range f.Codes(phone) {
			codes = append(codes, emulatedCode{VerifyCode: s.VerifyCode, SchemeName: s.SchemeName, TemplateCode: s.TemplateCode,
				BizId: s.BizId, OutId: s.OutId, SentAt: s.At, ExpiresAt: s.Expires, Verifiable: s.Verifiable})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"PhoneNumber": phone, "Codes": codes})
	})
}
