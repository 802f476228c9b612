package platform

import (
	"errors"

	"smsverify/function"
)

// ErrorTypeInvalidEvent is the error type of a platform event that is not
// what it claims to be: an HTTP event whose fields do not decode, a body
// that is not the base64 it says it is. Retrying it cannot help.
const ErrorTypeInvalidEvent = "InvalidEvent"

// ErrInvalidEvent marks the errors of ErrorTypeInvalidEvent; NewRequest's
// errors wrap it, and so must an adapter's decoding errors.
var ErrInvalidEvent = errors.New("invalid event")

// ErrorType is the stable error type an adapter reports for an error it
// returns as a function error: function.ErrorType's for the service's
// transient failures, ErrorTypeInvalidEvent for a malformed event, else "".
func ErrorType(err error) string {
	if t := function.ErrorType(err); t != "" {
		return t
	}
	if errors.Is(err, ErrInvalidEvent) {
		return ErrorTypeInvalidEvent
	}
	return ""
}
