//go:build linux || darwin

package limit

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
)

// connAlive reports whether c, idle in the pool, is still open: a peek that
// does not wait finds nothing to read. End of stream means the server
// closed it; any byte waiting means it sent something unasked (an error
// before closing, a TLS alert), after which the connection cannot be
// trusted either. Lambda and Function Compute run Linux.
func connAlive(c net.Conn) bool {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true // not a socket (tests' pipes): nothing to peek at
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	err = rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// Only "nothing yet" is alive: no error means a byte or the end.
		alive = errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK)
		return true
	})
	return err == nil && alive
}
