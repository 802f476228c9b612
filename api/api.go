// Package api holds the OpenAPI 3.1 document of smsverify's HTTP API
// (openapi.json): the one machine-readable statement of the routes, request
// fields, answers, statuses, error codes and headers. Every platform serves
// it at GET /openapi.json, and function's contract test validates real
// answers against it.
package api

import _ "embed"

//go:embed openapi.json
var document []byte

// OpenAPI returns the OpenAPI document (JSON). The caller must not modify
// the slice.
func OpenAPI() []byte { return document }
