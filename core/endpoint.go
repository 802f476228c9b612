package core

import (
	"fmt"
	"net"
	"net/url"
)

// CheckEndpoint is the one rule for where signed requests and secrets may
// go (Dypnsapi, Captcha 2.0, Turnstile, hCaptcha): an absolute URL without
// credentials, query or fragment, over https, or over plain http to
// localhost or a loopback IP address, which is a local fake or emulator.
// An API's base URL (base: Options.Endpoint) is scheme://host[:port] with
// no path; a whole address (a siteverify URL) may have one.
func CheckEndpoint(raw string, base bool) error {
	_, err := parseEndpoint(raw, base)
	return err
}

// parseEndpoint applies CheckEndpoint's rule and returns the parsed URL.
func parseEndpoint(raw string, base bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return nil, fmt.Errorf("endpoint %q must be an absolute URL without credentials, query or fragment", raw)
	}
	if base && u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("endpoint %q must be scheme://host[:port]", raw)
	}
	if u.Scheme != "https" && (u.Scheme != "http" || !isLoopback(u.Hostname())) {
		return nil, fmt.Errorf("endpoint %q must use https (http only for loopback)", raw)
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
