package uploader

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"filippo.io/age"
)

// BenchmarkEncryptor measures the streaming encryption alone (age
// ChaCha20-Poly1305 plus both SHA-256 digests), without a store: read
// 8 KiB at a time (io.Copy to io.Discard), or into 16 MiB part buffers
// as s3store reads it.
func BenchmarkEncryptor(b *testing.B) {
	k := newTestKeys(b)
	part := make([]byte, 16<<20)
	for _, n := range []int{1 << 10, 256 << 10, 64 << 20} {
		data := make([]byte, n)
		for _, into := range []string{"discard", "part"} {
			b.Run(fmt.Sprintf("size=%d/into=%s", n, into), func(b *testing.B) {
				b.SetBytes(int64(n))
				for b.Loop() {
					e, err := newEncryptor(bytes.NewReader(data), int64(n), []age.Recipient{k.rec}, nil)
					if err != nil {
						b.Fatal(err)
					}
					if into == "discard" {
						_, err = io.Copy(io.Discard, e)
					} else {
						for err == nil {
							_, err = io.ReadFull(e, part)
						}
						if err == io.EOF || err == io.ErrUnexpectedEOF {
							err = nil
						}
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkUploadSmallPipeline measures everything Upload does for a
// 2 KiB snapshot except the network: encryption, digests, the inline
// manifest, into an in-memory store.
func BenchmarkUploadSmallPipeline(b *testing.B) {
	data := make([]byte, 2<<10)
	for _, inline := range []int64{0, DefaultInlineMax} {
		b.Run(fmt.Sprintf("inline=%d", inline), func(b *testing.B) {
			bk := newTestBackup(b, newMemStore(), newTestKeys(b), func(o *Options) { o.InlineMax = inline })
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				_, err := bk.Upload(b.Context(), SnapshotMeta{GroupID: []byte("g"), Epoch: uint64(i), Size: int64(len(data))}, bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
