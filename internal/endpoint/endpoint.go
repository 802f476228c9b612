// Package endpoint holds the one rule for where this module sends signed
// requests and secrets (Dypnsapi, Captcha 2.0, Turnstile and hCaptcha):
// over https, or over plain http to a loopback host only, which is a local
// fake or emulator.
package endpoint

import (
	"net"
	"net/url"
)

// Allowed reports whether requests may go to u: https, or http to
// localhost or a loopback IP address.
func Allowed(u *url.URL) bool {
	switch u.Scheme {
	case "https":
		return true
	case "http":
		return isLoopback(u.Hostname())
	}
	return false
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
