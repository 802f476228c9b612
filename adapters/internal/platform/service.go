package platform

import (
	"io"
	"log/slog"

	"smsverify/function"
)

// NewService builds the service from the environment (function.LoadConfig),
// with its JSON access log on logw. prepare, when not nil, may adjust the
// configuration and options first (Function Compute adds the invocation's
// STS credentials; the local adapter points the endpoint at its emulator).
// It returns the configuration the service runs with.
func NewService(logw io.Writer, prepare func(*function.Config, *function.Options) error) (*function.Service, function.Config, error) {
	cfg, err := function.LoadConfig()
	if err != nil {
		return nil, cfg, err
	}
	o := function.Options{Logger: slog.New(slog.NewJSONHandler(logw, nil))}
	if prepare != nil {
		if err := prepare(&cfg, &o); err != nil {
			return nil, cfg, err
		}
	}
	svc, err := function.New(cfg, o)
	return svc, cfg, err
}
