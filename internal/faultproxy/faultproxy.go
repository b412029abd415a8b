// Package faultproxy is a small TCP proxy on loopback that injects
// network faults between a client and a server, for tests: it refuses
// connections, resets them after a number of bytes, loses responses
// after the server has acted on a request, adds latency, or takes the
// whole link down.
//
// Faults are armed with methods on [Proxy] and apply from then on; each
// one-shot fault fires a set number of times. [Proxy.Stats] tells a test
// that its faults really fired.
package faultproxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Direction is the way bytes flow through the proxy.
type Direction int

const (
	// Upstream is client to server (requests).
	Upstream Direction = iota
	// Downstream is server to client (responses).
	Downstream
)

func (d Direction) String() string {
	if d == Upstream {
		return "upstream"
	}
	return "downstream"
}

// Stats counts what the proxy did.
type Stats struct {
	// Accepted counts client connections.
	Accepted int
	// Dropped counts connections refused at accept (DropNext, SetDown).
	Dropped int
	// Reset counts connections reset mid-stream (ResetAfter, SetDown).
	Reset int
	// Lost counts responses lost after a matching request (LoseResponse).
	Lost int
	// Bytes counts bytes forwarded, per Direction.
	Bytes [2]int64
}

// resetRule resets the connection that carries the byte after the
// first `after` bytes in dir since the rule was armed, n times.
type resetRule struct {
	dir   Direction
	after int64
	seen  int64
	n     int
}

// loseRule resets the connection of a request containing pattern as
// soon as the server starts answering, n times.
type loseRule struct {
	pattern []byte
	n       int
}

// Proxy forwards connections from a loopback port to a target address.
type Proxy struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	dropNext int
	resets   []*resetRule
	loses    []*loseRule
	latency  time.Duration
	down     bool
	links    map[*link]struct{}
	stats    Stats
	closed   bool

	wg sync.WaitGroup
}

// Start listens on a free 127.0.0.1 port and forwards to target
// (host:port).
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	p := &Proxy{ln: ln, target: target, links: map[*link]struct{}{}}
	p.wg.Go(p.acceptLoop)
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is http://Addr.
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// DropNext resets the next n client connections as soon as they are
// accepted, without contacting the target.
func (p *Proxy) DropNext(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropNext += n
}

// ResetAfter arms a fault that fires n times: once `after` more bytes
// have flowed in dir (over any connections), the connection carrying the
// next byte is reset (RST to the client) and the count starts again.
func (p *Proxy) ResetAfter(n int, dir Direction, after int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.resets = append(p.resets, &resetRule{dir: dir, after: after, n: n})
}

// LoseResponse arms a fault that fires n times: a request whose bytes
// contain pattern reaches the server in full, and its connection is reset
// when the response begins, so the client cannot know whether the server
// acted on it.
func (p *Proxy) LoseResponse(n int, pattern string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.loses = append(p.loses, &loseRule{pattern: []byte(pattern), n: n})
}

// SetLatency delays every new connection and the start of every
// response by d.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
}

// SetDown takes the link down (every open connection is reset, new ones
// are refused) or brings it back up.
func (p *Proxy) SetDown(down bool) {
	p.mu.Lock()
	p.down = down
	var victims []*link
	if down {
		for l := range p.links {
			victims = append(victims, l)
		}
	}
	p.mu.Unlock()
	for _, l := range victims {
		if l.reset() {
			p.count(func(s *Stats) { s.Reset++ })
		}
	}
}

// Stats returns what the proxy has done so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Close stops listening, closes every connection and waits for the
// forwarding goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	var open []*link
	for l := range p.links {
		open = append(open, l)
	}
	p.mu.Unlock()
	err := p.ln.Close()
	for _, l := range open {
		l.close()
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) count(f func(*Stats)) {
	p.mu.Lock()
	f(&p.stats)
	p.mu.Unlock()
}

func (p *Proxy) acceptLoop() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.mu.Lock()
		p.stats.Accepted++
		drop := p.down || p.dropNext > 0
		if drop {
			if p.dropNext > 0 {
				p.dropNext--
			}
			p.stats.Dropped++
		}
		latency := p.latency
		p.mu.Unlock()
		if drop {
			resetConn(c)
			continue
		}
		p.wg.Go(func() { p.serve(c, latency) })
	}
}

// serve dials the target and forwards both ways until either side ends.
func (p *Proxy) serve(c net.Conn, latency time.Duration) {
	if latency > 0 {
		time.Sleep(latency)
	}
	s, err := net.DialTimeout("tcp", p.target, 10*time.Second)
	if err != nil {
		resetConn(c)
		return
	}
	l := &link{client: c, server: s}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		l.close()
		return
	}
	p.links[l] = struct{}{}
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.links, l)
		p.mu.Unlock()
	}()
	var wg sync.WaitGroup
	wg.Go(func() { p.pipe(l, Upstream) })
	wg.Go(func() { p.pipe(l, Downstream) })
	wg.Wait()
	l.close()
}

// pipe copies one direction of a link, applying the armed faults.
func (p *Proxy) pipe(l *link, dir Direction) {
	src, dst := l.client, l.server
	if dir == Downstream {
		src, dst = l.server, l.client
	}
	buf := make([]byte, 32<<10)
	var tail []byte // end of the previous chunk, for patterns across chunks
	for {
		n, err := src.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			fwd, reset, wait := p.plan(l, dir, chunk, &tail)
			if wait > 0 {
				time.Sleep(wait)
			}
			if fwd > 0 {
				if _, werr := dst.Write(chunk[:fwd]); werr != nil {
					l.close()
					return
				}
				p.count(func(s *Stats) { s.Bytes[dir] += int64(fwd) })
			}
			if reset {
				l.reset()
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				// Half-close: pass the end of stream on.
				if tc, ok := dst.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
					return
				}
			}
			l.close()
			return
		}
	}
}

// plan decides for one chunk how many bytes to forward, whether to reset
// the link afterwards and how long to wait first.
func (p *Proxy) plan(l *link, dir Direction, chunk []byte, tail *[]byte) (fwd int, reset bool, wait time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fwd = len(chunk)
	if dir == Upstream {
		l.requestPending = true
		if len(p.loses) > 0 {
			hay := append(append([]byte{}, *tail...), chunk...)
			for _, r := range p.loses {
				if r.n > 0 && bytes.Contains(hay, r.pattern) {
					r.n--
					l.loseResponse = true
					break
				}
			}
			keep := 256
			if len(hay) < keep {
				keep = len(hay)
			}
			*tail = append((*tail)[:0], hay[len(hay)-keep:]...)
		}
	} else {
		if l.loseResponse {
			l.loseResponse = false
			p.stats.Lost++
			p.stats.Reset++
			return 0, true, 0
		}
		if l.requestPending && p.latency > 0 {
			wait = p.latency
		}
		l.requestPending = false
	}
	for _, r := range p.resets {
		if r.n == 0 || r.dir != dir {
			continue
		}
		if left := r.after - r.seen; int64(fwd) > left {
			fwd = int(left)
			r.seen = 0
			r.n--
			p.stats.Reset++
			return fwd, true, wait
		}
		r.seen += int64(fwd)
	}
	return fwd, false, wait
}

// link is one proxied connection.
type link struct {
	client, server net.Conn

	// Guarded by Proxy.mu.
	requestPending bool // request bytes seen since the last response bytes
	loseResponse   bool

	once sync.Once
}

// reset closes the link with a RST towards the client; it reports
// whether this call closed it.
func (l *link) reset() bool {
	did := false
	l.once.Do(func() {
		did = true
		resetConn(l.client)
		_ = l.server.Close()
	})
	return did
}

// close closes both sides normally.
func (l *link) close() {
	l.once.Do(func() {
		_ = l.client.Close()
		_ = l.server.Close()
	})
}

// resetConn closes c with a TCP RST instead of a FIN.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
