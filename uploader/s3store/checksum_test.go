package s3store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/storetest"
)

func TestCRC32CBase64(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		// CRC32C check value of "123456789" is 0xE3069283.
		{"123456789", "4waSgw=="},
		{"", "AAAAAA=="},
	}
	for _, tc := range tests {
		if got := crc32cBase64([]byte(tc.in)); got != tc.want {
			t.Errorf("crc32cBase64(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// corrupter is an HTTP client that flips one byte in the body of the
// requests it is armed for, after the SDK has signed them and set their
// checksum headers: corruption in transit.
type corrupter struct {
	next s3.HTTPClient

	mu      sync.Mutex
	match   string // substring of "METHOD path?query" to corrupt
	left    int    // how many more matching requests to corrupt
	flipped int    // requests corrupted so far
	// statuses of the corrupted requests' responses, and their S3 error
	// codes as the server put them in the body.
	statuses []int
	bodies   []string
	// payload hashes (X-Amz-Content-Sha256) and CRC32C headers of the
	// corrupted requests.
	payloads, crcs []string
}

func (c *corrupter) Do(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	arm := c.left > 0 && r.Body != nil && r.ContentLength > 0 &&
		strings.Contains(r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery, c.match)
	if arm {
		c.left--
		c.flipped++
		r.Body = &flipReader{r: r.Body, at: r.ContentLength / 2}
		c.payloads = append(c.payloads, r.Header.Get("X-Amz-Content-Sha256"))
		c.crcs = append(c.crcs, r.Header.Get("X-Amz-Checksum-Crc32c"))
	}
	c.mu.Unlock()
	resp, err := c.next.Do(r)
	if arm && err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		c.mu.Lock()
		c.statuses = append(c.statuses, resp.StatusCode)
		c.bodies = append(c.bodies, string(body))
		c.mu.Unlock()
	}
	return resp, err
}

// flipReader inverts the byte at offset at of r.
type flipReader struct {
	r   io.ReadCloser
	at  int64
	off int64
}

func (f *flipReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if f.at >= f.off && f.at < f.off+int64(n) {
		p[f.at-f.off] ^= 0xff
	}
	f.off += int64(n)
	return n, err
}

func (f *flipReader) Close() error { return f.r.Close() }

// TestCorruptedBodyRejected checks that the server refuses a body
// corrupted in transit — a part or a large PutObject (UNSIGNED-PAYLOAD,
// checked by CRC32C) and a small PutObject (checked by the signed
// SHA-256) — that the refusal is retried with the intact bytes, and
// that corruption on every attempt stores nothing.
func TestCorruptedBodyRejected(t *testing.T) {
	tests := []struct {
		name     string
		key      string
		size     int64
		match    string
		unsigned bool // UNSIGNED-PAYLOAD and a CRC32C header
	}{
		{"multipart part 2", "large", multipartSize, "partNumber=2&", true},
		{"large PutObject", "single", MinPartSize - 1000, "x-id=PutObject", true},
		{"small PutObject", "small", 1000, "x-id=PutObject", false},
	}
	for _, sv := range servers() {
		t.Run(sv.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					srv := sv.shared.Server(t)
					for _, always := range []bool{false, true} {
						c := &corrupter{match: tc.match, left: 1}
						if always {
							c.left = 1 << 30
						}
						s := newTestStore(t, srv, func(cfg *Config) {
							cfg.wrapHTTP = func(next s3.HTTPClient) s3.HTTPClient { c.next = next; return c }
						})
						key := tc.key
						if always {
							key += "-always"
						}
						src := storetest.NewStream(11, tc.size)
						err := s.Put(t.Context(), key, src, tc.size, true)
						c.mu.Lock()
						flipped, statuses, bodies := c.flipped, c.statuses, c.bodies
						payloads, crcs := c.payloads, c.crcs
						c.mu.Unlock()
						if flipped == 0 {
							t.Fatal("no request was corrupted")
						}
						payload, crc := payloads[0], crcs[0]
						if got := payload == "UNSIGNED-PAYLOAD" && crc != ""; got != tc.unsigned {
							t.Fatalf("payload hash %q, CRC32C %q; want unsigned with CRC32C: %v", payload, crc, tc.unsigned)
						}
						if code := firstCode(bodies); !checksumMismatch(code) {
							t.Fatalf("server answered %q, want a checksum mismatch", code)
						}
						for i, st := range statuses {
							if st != http.StatusBadRequest {
								t.Fatalf("corrupted request %d: status %d, want 400 (body %q)", i, st, bodies[i])
							}
						}
						if len(statuses) != flipped {
							t.Fatalf("%d corrupted requests, %d answered", flipped, len(statuses))
						}
						t.Logf("always=%v: %d corrupted, server said %q", always, flipped, firstCode(bodies))
						if !always {
							if err != nil {
								t.Fatalf("one corrupted attempt: %v, want the retry to succeed", err)
							}
							assertContent(t, s, key, src.Sum(), tc.size)
							continue
						}
						if err == nil {
							t.Fatal("every attempt corrupted, yet Put succeeded")
						}
						if flipped != s.cfg.MaxAttempts {
							t.Fatalf("%d attempts corrupted, want MaxAttempts=%d", flipped, s.cfg.MaxAttempts)
						}
						if _, err := s.Stat(t.Context(), key); !errors.Is(err, uploader.ErrNotFound) {
							t.Fatalf("stat after failed put: %v, want ErrNotFound", err)
						}
					}
					assertNoUploads(t, srv, tc.key, tc.key+"-always")
				})
			}
		})
	}
}

// checksumMismatch reports whether code is one of the checksum
// mismatches the servers answer.
func checksumMismatch(code string) bool {
	switch code {
	case "BadDigest", "XAmzContentChecksumMismatch", "XAmzContentSHA256Mismatch":
		return true
	}
	return false
}

// firstCode returns the <Code> of the first S3 error body.
func firstCode(bodies []string) string {
	for _, b := range bodies {
		if _, rest, ok := strings.Cut(b, "<Code>"); ok {
			code, _, _ := strings.Cut(rest, "</Code>")
			return code
		}
	}
	return ""
}

// TestReadFullCRC checks that readFullCRC reads like io.ReadFull and
// checksums exactly the bytes it read.
func TestReadFullCRC(t *testing.T) {
	data := make([]byte, 3*crcChunk+5)
	for i := range data {
		data[i] = byte(i * 31)
	}
	boom := errors.New("boom")
	tests := []struct {
		name string
		r    func() io.Reader
		buf  int
	}{
		{"exact", func() io.Reader { return bytes.NewReader(data) }, len(data)},
		{"longer source", func() io.Reader { return bytes.NewReader(data) }, len(data) - 7},
		{"short source", func() io.Reader { return bytes.NewReader(data[:100]) }, len(data)},
		{"empty source", func() io.Reader { return bytes.NewReader(nil) }, 10},
		{"one byte at a time", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data[:1000])) }, 1000},
		{"data with EOF", func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) }, len(data)},
		{"error midway", func() io.Reader { return io.MultiReader(bytes.NewReader(data[:crcChunk+3]), iotest.ErrReader(boom)) }, len(data)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := make([]byte, tc.buf)
			wantN, wantErr := io.ReadFull(tc.r(), want)
			got := make([]byte, tc.buf)
			n, crc, err := readFullCRC(tc.r(), got)
			if n != wantN || !errors.Is(err, wantErr) || (wantErr == nil) != (err == nil) {
				t.Fatalf("got %d, %v; want %d, %v", n, err, wantN, wantErr)
			}
			if !bytes.Equal(got[:n], want[:n]) {
				t.Fatal("bytes differ from io.ReadFull's")
			}
			if gotSum, wantSum := encodeCRC(crc), crc32cBase64(want[:wantN]); gotSum != wantSum {
				t.Fatalf("crc %s, want %s", gotSum, wantSum)
			}
		})
	}
}

// TestCompleteChecksPartCRC pins what checksum.go relies on: an upload
// created with CRC32C needs each part's CRC32C, and the server refuses
// to assemble a part whose CRC32C in CompleteMultipartUpload is not
// that of the bytes it stored.
func TestCompleteChecksPartCRC(t *testing.T) {
	for _, sv := range servers() {
		t.Run(sv.name, func(t *testing.T) {
			srv := sv.shared.Server(t)
			s := newTestStore(t, srv, nil)
			ctx := t.Context()
			create := func(key string) string {
				out, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
					Bucket: aws.String(srv.Bucket), Key: aws.String(key), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
				})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = s.abort(context.Background(), key, aws.ToString(out.UploadId)) })
				return aws.ToString(out.UploadId)
			}
			data := bytes.Repeat([]byte("crc"), MinPartSize/3+1)

			id := create("wrong-crc")
			p, err := s.uploadPart(ctx, "wrong-crc", id, part{num: 1, data: data})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := aws.ToString(p.ChecksumCRC32C), crc32cBase64(data); got != want {
				t.Fatalf("completed part lists CRC32C %q, want %q", got, want)
			}
			p.ChecksumCRC32C = aws.String(crc32cBase64([]byte("other bytes")))
			err = s.complete(ctx, "wrong-crc", id, []types.CompletedPart{p}, true)
			if err == nil {
				t.Fatal("complete with a wrong part CRC32C succeeded")
			}
			if _, err := s.Stat(ctx, "wrong-crc"); !errors.Is(err, uploader.ErrNotFound) {
				t.Fatalf("stat: %v, want ErrNotFound", err)
			}

			id = create("no-crc")
			_, err = s.client.UploadPart(ctx, &s3.UploadPartInput{
				Bucket: aws.String(srv.Bucket), Key: aws.String("no-crc"), UploadId: aws.String(id),
				PartNumber: aws.Int32(1), Body: bytes.NewReader(data),
			})
			if err == nil {
				t.Fatal("a part without its CRC32C was accepted into a CRC32C upload")
			}
		})
	}
}
