package s3store

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// stubS3 is an HTTP server that accepts every PutObject without storing
// it, answering with the body's MD5 as ETag, so that a benchmark measures
// the client's own cost per request: the SDK's middleware, signing,
// checksums and HTTP.
func stubS3(tb testing.TB) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := md5.New()
		if _, err := io.Copy(h, r.Body); err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		if r.Method != http.MethodPut {
			w.WriteHeader(http.StatusNotImplemented)
			return
		}
		w.Header().Set("ETag", `"`+hex.EncodeToString(h.Sum(nil))+`"`)
		w.WriteHeader(http.StatusOK)
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// BenchmarkClientPut measures the client side of one Put of a small
// object (one PutObject) and of a 16 MiB part-sized one, against a stub
// server that does little work: cpu-us/op is the CPU time of this
// process (client and stub) per request, allocs/op a load-independent
// count.
//
//	go test ./uploader/s3store -run '^$' -bench ClientPut -benchmem
func BenchmarkClientPut(b *testing.B) {
	srv := stubS3(b)
	s, err := New(b.Context(), Config{
		Bucket: "bench", Endpoint: srv.URL, PathStyle: true, Region: "us-east-1",
		AccessKeyID: "AKBENCH", SecretAccessKey: "bench-secret",
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{2 << 10, DefaultPartSize} {
		data := randomBytes(n)
		b.Run(fmt.Sprintf("size=%d", n), func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			i := 0
			cpu0 := processCPU()
			defer func() {
				b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-us/op")
			}()
			for b.Loop() {
				i++
				if err := s.Put(b.Context(), fmt.Sprintf("k/%d", i), bytes.NewReader(data), int64(n), true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
