package dypnstest

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is a Fake served over HTTP on a loopback port, like
// httptest.Server. The embedded *Fake gives access to Codes, FailNext and
// the rest.
type Server struct {
	*Fake
	URL      string // base URL, "http://127.0.0.1:PORT", for core.Options.Endpoint
	Listener net.Listener

	srv       *http.Server
	served    chan struct{}
	mu        sync.Mutex
	closed    bool
	inFlight  sync.WaitGroup
	closeOnce sync.Once
}

// NewServer starts a Fake configured by o on 127.0.0.1 with a random port.
// Like httptest.NewServer it panics if it cannot listen; see Listen. The
// caller should Close it when done.
func NewServer(o Options) *Server {
	s, err := Listen(o)
	if err != nil {
		panic(err)
	}
	return s
}

// Listen is NewServer returning the error instead of panicking, for
// programs such as the local emulator.
func Listen(o Options) (*Server, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("dypnstest: listen on loopback: %w", err)
	}
	s := &Server{Fake: NewHandler(o), URL: "http://" + l.Addr().String(), Listener: l, served: make(chan struct{})}
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serve),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // never log
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(l) // returns http.ErrServerClosed on Close
	}()
	return s, nil
}

// serve passes a request to the Fake unless the server is closing.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		panic(http.ErrAbortHandler)
	}
	s.inFlight.Add(1)
	s.mu.Unlock()
	defer s.inFlight.Done()
	s.Fake.ServeHTTP(w, r)
}

// Close releases waiting requests (see Fake.Close), closes the listener and
// every connection, and waits until no request is being served.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.Fake.Close()
		_ = s.srv.Close()
		<-s.served
		s.inFlight.Wait()
	})
}

// WarmUp wraps h so that the method and path of the first request that is
// not a POST (a client opening its connection ahead of the calls, as
// function.Service.Warm does with HEAD /) arrive on the returned channel;
// later ones are served without a word.
func WarmUp(h http.Handler) (http.Handler, <-chan string) {
	first := make(chan string, 1)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			select {
			case first <- r.Method + " " + r.URL.Path:
			default:
			}
		}
		h.ServeHTTP(w, r)
	}), first
}
