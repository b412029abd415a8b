package s3store

import (
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mlsbackup/mlsbackup/uploader/storetest"
)

// partRecorder records the size of every UploadPart request by part
// number.
type partRecorder struct {
	mu    sync.Mutex
	sizes map[int]int64
	next  s3.HTTPClient
}

func (p *partRecorder) Do(r *http.Request) (*http.Response, error) {
	if n, err := strconv.Atoi(r.URL.Query().Get("partNumber")); err == nil {
		p.mu.Lock()
		p.sizes[n] = r.ContentLength
		p.mu.Unlock()
	}
	return p.next.Do(r)
}

// TestMultipartPartSizes: a Put of known size starts with a MinPartSize
// part (so that the server gets work early), then PartSize parts; one of
// unknown size reads a whole PartSize first. Both store the exact bytes.
func TestMultipartPartSizes(t *testing.T) {
	const partSize = 2 * MinPartSize
	const size = 3*MinPartSize + 777
	tests := []struct {
		name     string
		announce int64
		want     []int64
	}{
		{"known size", size, []int64{MinPartSize, partSize, size - MinPartSize - partSize}},
		{"unknown size", -1, []int64{partSize, size - partSize}},
	}
	for _, sv := range servers() {
		for _, tt := range tests {
			t.Run(sv.name+"/"+tt.name, func(t *testing.T) {
				srv := sv.shared.Server(t)
				rec := &partRecorder{sizes: map[int]int64{}}
				s := newTestStore(t, srv, func(c *Config) {
					c.PartSize = partSize
					c.wrapHTTP = func(next s3.HTTPClient) s3.HTTPClient { rec.next = next; return rec }
				})
				src := storetest.NewStream(21, size)
				if err := s.Put(t.Context(), "mp/sizes", src, tt.announce, true); err != nil {
					t.Fatal(err)
				}
				var got []int64
				for n := 1; n <= len(rec.sizes); n++ {
					got = append(got, rec.sizes[n])
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("part sizes %v, want %v", got, tt.want)
				}
				assertContent(t, s, "mp/sizes", src.Sum(), size)
				assertNoUploads(t, srv, "mp/sizes")
			})
		}
	}
}
