package s3store

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mlsbackup/mlsbackup/internal/faultproxy"
	"github.com/mlsbackup/mlsbackup/internal/testenv"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/storetest"
)

func TestKillMidUpload(t *testing.T) {
	srv := testenv.MinIO(t)
	s := newTestStore(t, srv, func(c *Config) { c.MaxAttempts = 2 })
	ctx := t.Context()
	const key = "snapshots/g1/epoch-7"
	var once sync.Once
	src := storetest.NewStream(5, storetest.LargeSize)
	src.OnRead(func(total int64) {
		if total >= 3*MinPartSize {
			once.Do(func() {
				if err := srv.Kill(); err != nil {
					t.Error(err)
				}
			})
		}
	})
	err := s.Put(ctx, key, src, storetest.LargeSize, true)
	if err == nil {
		t.Fatal("put survived the server's death")
	}
	if !strings.Contains(err.Error(), key) {
		t.Fatalf("error %q does not name the key", err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, key); !errors.Is(err, uploader.ErrNotFound) {
		t.Fatalf("stat after restart: got %v, want ErrNotFound", err)
	}
	if got, err := s.List(ctx, ""); err != nil || len(got) != 0 {
		t.Fatalf("list after restart: %+v, %v; want nothing", got, err)
	}
	// The abort could not reach the dead server; the parts wait,
	// invisible, for AbortUploads. (MinIO lists uploads by exact key
	// only, hence the key.)
	if n, err := s.AbortUploads(ctx, 0, key); err != nil || n != 1 {
		t.Fatalf("AbortUploads: %d, %v; want 1 upload aborted", n, err)
	}
	assertNoUploads(t, srv, key)
	again := storetest.NewStream(6, storetest.LargeSize)
	if err := s.Put(ctx, key, again, storetest.LargeSize, true); err != nil {
		t.Fatalf("next attempt: %v", err)
	}
	assertContent(t, s, key, again.Sum(), storetest.LargeSize)
}

// proxied returns a store on srv that talks through a fault proxy.
func proxied(t *testing.T, srv *testenv.Server, edit func(*Config)) (*Store, *faultproxy.Proxy) {
	t.Helper()
	p, err := faultproxy.Start(strings.TrimPrefix(srv.Endpoint, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	s := newTestStore(t, srv, func(c *Config) {
		c.Endpoint = p.URL()
		if edit != nil {
			edit(c)
		}
	})
	return s, p
}

func TestProxyFaultsRetried(t *testing.T) {
	tests := []struct {
		name  string
		arm   func(p *faultproxy.Proxy, bucket string)
		check func(st faultproxy.Stats) bool
	}{
		{"dropped connections", func(p *faultproxy.Proxy, _ string) { p.DropNext(3) },
			func(st faultproxy.Stats) bool { return st.Dropped == 3 }},
		{"reset while sending", func(p *faultproxy.Proxy, _ string) {
			p.ResetAfter(3, faultproxy.Upstream, 3<<20)
		}, func(st faultproxy.Stats) bool { return st.Reset == 3 }},
		{"reset while receiving", func(p *faultproxy.Proxy, _ string) {
			p.ResetAfter(2, faultproxy.Downstream, 2<<20)
		}, func(st faultproxy.Stats) bool { return st.Reset == 2 }},
		{"latency and drops", func(p *faultproxy.Proxy, _ string) {
			p.SetLatency(20 * time.Millisecond)
			p.DropNext(1)
		}, func(st faultproxy.Stats) bool { return st.Dropped == 1 }},
		{"lost PutObject response", func(p *faultproxy.Proxy, bucket string) {
			p.LoseResponse(1, "PUT /"+bucket+"/small?x-id=PutObject ")
		}, func(st faultproxy.Stats) bool { return st.Lost == 1 }},
		{"lost CompleteMultipartUpload response", func(p *faultproxy.Proxy, bucket string) {
			p.LoseResponse(1, "POST /"+bucket+"/large?uploadId=")
		}, func(st faultproxy.Stats) bool { return st.Lost == 1 }},
	}
	for _, sv := range servers() {
		t.Run(sv.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					srv := sv.shared.Server(t)
					s, p := proxied(t, srv, nil)
					ctx := t.Context()
					tc.arm(p, srv.Bucket)
					// Conditional writes: a retry after a lost
					// response must not report a conflict.
					small := []byte("a small object")
					if err := s.Put(ctx, "small", bytes.NewReader(small), int64(len(small)), true); err != nil {
						t.Fatalf("small put: %v", err)
					}
					large := storetest.NewStream(7, multipartSize)
					if err := s.Put(ctx, "large", large, -1, true); err != nil {
						t.Fatalf("multipart put: %v", err)
					}
					assertContent(t, s, "large", large.Sum(), multipartSize)
					got, err := s.List(ctx, "")
					if err != nil || len(got) != 2 {
						t.Fatalf("list: %+v, %v; want 2 objects", got, err)
					}
					if st := p.Stats(); !tc.check(st) {
						t.Fatalf("the fault did not fire as armed: %+v", st)
					}
					assertNoUploads(t, srv, "small", "large")
				})
			}
		})
	}
}

func TestProxyDownGivesUp(t *testing.T) {
	srv := sharedMinIO.Server(t)
	var requests atomic.Int64
	s, p := proxied(t, srv, func(c *Config) {
		c.MaxAttempts = 3
		c.wrapHTTP = func(next s3.HTTPClient) s3.HTTPClient { return countingClient{&requests, next} }
	})
	direct := newTestStore(t, srv, nil)
	ctx := t.Context()
	p.SetDown(true)
	err := s.Put(ctx, "k", strings.NewReader("data"), 4, false)
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") || !strings.Contains(err.Error(), "k") {
		t.Fatalf("got %v, want giving up after 3 attempts, naming the key", err)
	}
	if got := requests.Load(); got != 3 {
		t.Fatalf("%d requests, want 3", got)
	}
	if _, err := direct.Stat(ctx, "k"); !errors.Is(err, uploader.ErrNotFound) {
		t.Fatalf("stat: got %v, want ErrNotFound", err)
	}
	p.SetDown(false)
	if err := s.Put(ctx, "k", strings.NewReader("data"), 4, false); err != nil {
		t.Fatalf("after the link is back: %v", err)
	}
}

// countingClient counts the HTTP requests it sends.
type countingClient struct {
	n    *atomic.Int64
	next s3.HTTPClient
}

func (c countingClient) Do(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.Do(r)
}

func TestGetResumesAfterReset(t *testing.T) {
	srv := sharedMinIO.Server(t)
	var requests atomic.Int64
	s, p := proxied(t, srv, func(c *Config) {
		c.wrapHTTP = func(next s3.HTTPClient) s3.HTTPClient { return countingClient{&requests, next} }
	})
	ctx := t.Context()
	src := storetest.NewStream(9, multipartSize)
	if err := s.Put(ctx, "obj", src, multipartSize, false); err != nil {
		t.Fatal(err)
	}
	before := requests.Load()
	p.ResetAfter(2, faultproxy.Downstream, 3<<20)
	assertContent(t, s, "obj", src.Sum(), multipartSize)
	if st := p.Stats(); st.Reset != 2 {
		t.Fatalf("stats %+v, want 2 resets", st)
	}
	// One GET and two ranged GETs that resume where the stream broke.
	if got := requests.Load() - before; got != 3 {
		t.Fatalf("%d requests, want 3", got)
	}
}
