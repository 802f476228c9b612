//go:build !linux && !darwin

package limit

import "net"

// connAlive cannot peek at a socket on this platform: the idle PING alone
// vets pooled connections.
func connAlive(net.Conn) bool { return true }
