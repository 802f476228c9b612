package limit

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// scriptedRedis is a RESP server on loopback that answers the commands it
// receives, in order, with replies: a reply is sent as is ("-LOADING …",
// ":1"), or "close" drops the connection after reading the command, as a
// server that dies mid-call does. It records the commands; HELLO, which
// the client sends on each new connection, it refuses as Redis 5 does.
type scriptedRedis struct {
	mu       sync.Mutex
	replies  []string
	commands []string
	slots    string // the CLUSTER SLOTS answer: every slot on this server
}

func startScripted(t *testing.T, replies ...string) (*scriptedRedis, string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	host, port, _ := net.SplitHostPort(l.Addr().String())
	s := &scriptedRedis{replies: replies,
		slots: fmt.Sprintf("*1\r\n*3\r\n:0\r\n:16383\r\n*2\r\n$%d\r\n%s\r\n:%s", len(host), host, port)}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s, l.Addr().String()
}

func (s *scriptedRedis) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		cmd, err := readCommand(r)
		if err != nil {
			return
		}
		if strings.HasPrefix(strings.ToLower(cmd), "hello ") {
			// As Redis before 6: the client then speaks RESP2 without it.
			if _, err := io.WriteString(c, "-ERR unknown command 'hello'\r\n"); err != nil {
				return
			}
			continue
		}
		switch strings.ToLower(cmd) {
		case "cluster shards": // as Redis 6: the client asks CLUSTER SLOTS instead
			if _, err := io.WriteString(c, "-ERR unknown subcommand 'shards'\r\n"); err != nil {
				return
			}
			continue
		case "cluster slots":
			if _, err := io.WriteString(c, s.slots+"\r\n"); err != nil {
				return
			}
			continue
		}
		s.mu.Lock()
		s.commands = append(s.commands, cmd)
		reply := "-ERR no more replies"
		if len(s.replies) > 0 {
			reply, s.replies = s.replies[0], s.replies[1:]
		}
		s.mu.Unlock()
		if reply == "close" {
			return
		}
		if _, err := io.WriteString(c, reply+"\r\n"); err != nil {
			return
		}
	}
}

// readCommand reads one RESP array of bulk strings and returns its words
// joined by spaces.
func readCommand(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "*")))
	if err != nil {
		return "", fmt.Errorf("not an array: %q", line)
	}
	words := make([]string, n)
	for i := range words {
		if line, err = r.ReadString('\n'); err != nil {
			return "", err
		}
		size, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "$")))
		if err != nil {
			return "", fmt.Errorf("not a bulk string: %q", line)
		}
		b := make([]byte, size+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", err
		}
		words[i] = string(b[:size])
	}
	return strings.Join(words, " "), nil
}

func (s *scriptedRedis) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.commands...)
}

// TestRedisRetriesRefusals: a command Redis refused to run (LOADING,
// READONLY, TRYAGAIN, MASTERDOWN, CLUSTERDOWN, and READONLY met by a script
// at its first write) is sent again until it runs; an error that is not a
// refusal is not retried; and a command whose answer was lost (the
// connection dropped after it was sent) is never sent again, since it may
// have run, in standalone mode and in cluster mode (whose client would
// otherwise send it again on a lost connection).
func TestRedisRetriesRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		replies []string
		sent    int  // EXISTS commands the server receives
		ok      bool // Used succeeds
	}{
		{"refusals, then the answer", []string{
			"-LOADING Redis is loading the dataset in memory",
			"-READONLY You can't write against a read only replica.",
			"-TRYAGAIN Multiple keys request during rehashing of slot",
			"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
			"-CLUSTERDOWN The cluster is down",
			"-ERR Error running script (call to f_1): @user_script:5: -READONLY You can't write against a read only replica.",
			":1",
		}, 7, true},
		{"another error", []string{"-ERR wrong number of arguments", ":1"}, 1, false},
		{"a lost answer", []string{"close", ":1"}, 1, false},
	} {
		for _, mode := range []string{ModeStandalone, ModeCluster} {
			t.Run(mode+"/"+tc.name, func(t *testing.T) {
				srv, addr := startScripted(t, tc.replies...)
				s := openRedis(t, RedisOptions{Mode: mode, URL: "redis://" + addr + "/0", Prefix: "{p}:"})
				used, err := s.Used(bg, "k")
				if (err == nil) != tc.ok || (tc.ok && !used) {
					t.Errorf("Used = %v, %v; want ok %v", used, err, tc.ok)
				}
				var exists int
				for _, c := range srv.received() {
					if strings.HasPrefix(strings.ToLower(c), "exists ") {
						exists++
					}
				}
				if exists != tc.sent {
					t.Errorf("the server received EXISTS %d times, want %d (all: %q)", exists, tc.sent, srv.received())
				}
			})
		}
	}
}
