// Package apitest validates real HTTP answers against the OpenAPI document
// in package api, with github.com/getkin/kin-openapi. It is imported by
// tests only, so the validator stays out of every production binary.
package apitest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"smsverify/api"
)

// Doc is the loaded, validated OpenAPI document.
type Doc struct {
	T      *openapi3.T
	router routers.Router
	// fallback answers requests for paths or methods the document has no
	// operation for: its only answers are the 404 and 405 components.
	fallback *routers.Route
}

// Load parses and validates api.OpenAPI().
func Load() (*Doc, error) {
	loader := openapi3.NewLoader()
	t, err := loader.LoadFromData(api.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if err := t.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	// Match requests to any host: tests serve on loopback ports.
	t.Servers = nil
	r, err := legacy.NewRouter(t)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	rs := openapi3.NewResponses()
	rs.Set("404", t.Components.Responses["NotFound"])
	rs.Set("405", t.Components.Responses["MethodNotAllowed"])
	op := &openapi3.Operation{Responses: rs}
	return &Doc{T: t, router: r, fallback: &routers.Route{Spec: t, Operation: op, PathItem: &openapi3.PathItem{}}}, nil
}

// ErrUndocumentedRoute reports a request whose path and method the
// document does not describe, answered with something other than the
// documented 404 or 405.
var ErrUndocumentedRoute = errors.New("apitest: undocumented route")

// ValidateResponse checks one real answer to req: its status must be one
// the operation documents, and its headers and body must match that
// status's description. A request for a path or method the document has no
// operation for may only get the documented 404 or 405 answer.
func (d *Doc) ValidateResponse(req *http.Request, status int, h http.Header, body []byte) error {
	route, params, err := d.router.FindRoute(req)
	if err != nil {
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			return fmt.Errorf("%w: %s %s answered %d", ErrUndocumentedRoute, req.Method, req.URL.Path, status)
		}
		route, params = d.fallback, nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 h,
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	in.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s → %d: %w", req.Method, req.URL.Path, status, err)
	}
	return nil
}

// ValidateRequest checks a request (with its body) against the document.
// API keys are not checked: the handler does that.
func (d *Doc) ValidateRequest(req *http.Request, body []byte) error {
	route, params, err := d.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("%w: %s %s", ErrUndocumentedRoute, req.Method, req.URL.Path)
	}
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.RequestValidationInput{
		Request: r, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	return openapi3filter.ValidateRequest(context.Background(), in)
}

// Codes returns the error codes the document lists by name for each
// status (the enums of the components' CodeNNN schemas), sorted.
func (d *Doc) Codes() map[int][]string {
	out := map[int][]string{}
	for name, ref := range d.T.Components.Schemas {
		var st int
		if _, err := fmt.Sscanf(name, "Code%d", &st); err != nil || strconv.Itoa(st) != name[4:] {
			continue
		}
		s := ref.Value
		for _, v := range s.Enum {
			out[st] = append(out[st], v.(string))
		}
		for _, alt := range s.AnyOf {
			for _, v := range alt.Value.Enum {
				out[st] = append(out[st], v.(string))
			}
		}
		sort.Strings(out[st])
	}
	return out
}

// CodeAllowed reports whether the document allows code with status: by
// name or by one of the status's patterns (Alibaba's code families).
func (d *Doc) CodeAllowed(status int, code string) bool {
	ref := d.T.Components.Schemas["Code"+strconv.Itoa(status)]
	if ref == nil {
		return false
	}
	alts := []*openapi3.Schema{ref.Value}
	for _, a := range ref.Value.AnyOf {
		alts = append(alts, a.Value)
	}
	for _, s := range alts {
		for _, v := range s.Enum {
			if v == code {
				return true
			}
		}
		if s.Pattern != "" && regexp.MustCompile(s.Pattern).MatchString(code) {
			return true
		}
	}
	return false
}

// Route names the documented operation req matches, like "POST /send".
func (d *Doc) Route(req *http.Request) (string, error) {
	route, _, err := d.router.FindRoute(req)
	if err != nil {
		return "", err
	}
	return route.Method + " " + route.Path, nil
}

// Operations lists every documented operation, like "POST /send", sorted.
func (d *Doc) Operations() []string {
	var out []string
	for path, item := range d.T.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

// CodeFamilies returns the code prefixes the document's patterns name
// (Alibaba's families such as Throttling), sorted. Catch-all patterns are
// left out.
func (d *Doc) CodeFamilies() []string {
	family := regexp.MustCompile(`^\^\(?([A-Za-z|]+)\)?$`)
	var out []string
	for name, ref := range d.T.Components.Schemas {
		if !strings.HasPrefix(name, "Code") {
			continue
		}
		for _, a := range ref.Value.AnyOf {
			if m := family.FindStringSubmatch(a.Value.Pattern); m != nil {
				out = append(out, strings.Split(m[1], "|")...)
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}
