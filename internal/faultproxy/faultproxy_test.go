package faultproxy

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// echoServer echoes every connection back and records how many bytes it
// received in total.
func echoServer(t *testing.T) (addr string, received *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	received = new(atomic.Int64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					received.Add(int64(n))
					if n > 0 {
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), received
}

func startProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := Start(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// roundTrip writes data through a new connection and reads the echo.
func roundTrip(p *Proxy, data []byte) ([]byte, error) {
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		return nil, err
	}
	defer c.Close()
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(data)
		if err == nil {
			err = c.(*net.TCPConn).CloseWrite()
		}
		errc <- err
	}()
	got, rerr := io.ReadAll(c)
	if werr := <-errc; werr != nil && rerr == nil {
		rerr = werr
	}
	return got, rerr
}

func TestForwards(t *testing.T) {
	addr, _ := echoServer(t)
	p := startProxy(t, addr)
	p.SetLatency(5 * time.Millisecond)
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10)
	got, err := roundTrip(p, data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("echo of %d bytes came back as %d different bytes", len(data), len(got))
	}
	st := p.Stats()
	if st.Accepted != 1 || st.Bytes[Upstream] != int64(len(data)) || st.Bytes[Downstream] != int64(len(data)) {
		t.Fatalf("stats %+v, want 1 connection and %d bytes each way", st, len(data))
	}
}

func TestDropNext(t *testing.T) {
	addr, received := echoServer(t)
	p := startProxy(t, addr)
	p.DropNext(2)
	for i := range 2 {
		if _, err := roundTrip(p, []byte("hello")); err == nil {
			t.Fatalf("connection %d: no error, want a reset", i)
		}
	}
	got, err := roundTrip(p, []byte("hello"))
	if err != nil || string(got) != "hello" {
		t.Fatalf("third connection: got %q, %v; want the echo", got, err)
	}
	if st := p.Stats(); st.Dropped != 2 || st.Accepted != 3 {
		t.Fatalf("stats %+v, want 2 dropped of 3", st)
	}
	if got := received.Load(); got != 5 {
		t.Fatalf("server received %d bytes, want 5 (dropped connections never reach it)", got)
	}
}

func TestResetAfter(t *testing.T) {
	tests := []struct {
		name string
		dir  Direction
	}{
		{"upstream", Upstream},
		{"downstream", Downstream},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, _ := echoServer(t)
			p := startProxy(t, addr)
			p.ResetAfter(1, tc.dir, 1000)
			got, err := roundTrip(p, make([]byte, 100000))
			if err == nil {
				t.Fatalf("no error after %d bytes, want a reset", len(got))
			}
			if len(got) > 1000 {
				t.Fatalf("client got %d bytes back, want at most 1000", len(got))
			}
			if st := p.Stats(); st.Reset != 1 || st.Bytes[tc.dir] != 1000 {
				t.Fatalf("stats %+v, want 1 reset after 1000 bytes %s", st, tc.dir)
			}
			// The fault fired once; the next connection is clean.
			data := make([]byte, 100000)
			if got, err := roundTrip(p, data); err != nil || len(got) != len(data) {
				t.Fatalf("after the fault: %d bytes, %v", len(got), err)
			}
		})
	}
}

func TestLoseResponse(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		_, _ = io.WriteString(w, "done "+r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	p := startProxy(t, strings.TrimPrefix(srv.URL, "http://"))
	p.LoseResponse(1, "POST /commit")
	client := &http.Client{Transport: &http.Transport{}}
	// POST, which the HTTP client does not retry by itself.
	get := func(path string) (string, error) {
		resp, err := client.Post(p.URL()+path, "text/plain", strings.NewReader("body"))
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if got, err := get("/other"); err != nil || got != "done /other" {
		t.Fatalf("unmatched request: %q, %v", got, err)
	}
	if _, err := get("/commit"); err == nil {
		t.Fatal("matched request: no error, want a lost response")
	}
	if got := served.Load(); got != 2 {
		t.Fatalf("server handled %d requests, want 2 (the lost one included)", got)
	}
	if got, err := get("/commit"); err != nil || got != "done /commit" {
		t.Fatalf("second matching request: %q, %v", got, err)
	}
	if st := p.Stats(); st.Lost != 1 {
		t.Fatalf("stats %+v, want 1 lost response", st)
	}
}

func TestSetDown(t *testing.T) {
	addr, _ := echoServer(t)
	p := startProxy(t, addr)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	one := make([]byte, 1)
	if _, err := io.ReadFull(c, one); err != nil {
		t.Fatal(err)
	}
	p.SetDown(true)
	if _, err := c.Read(one); err == nil || errors.Is(err, io.EOF) {
		t.Fatalf("open connection after SetDown: got %v, want a reset", err)
	}
	if _, err := roundTrip(p, []byte("x")); err == nil {
		t.Fatal("new connection while down: no error")
	}
	p.SetDown(false)
	if got, err := roundTrip(p, []byte("back")); err != nil || string(got) != "back" {
		t.Fatalf("after SetDown(false): %q, %v", got, err)
	}
}
