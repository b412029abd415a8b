package uploader

import (
	"bytes"
	"crypto/sha256"
	"io"
	"testing"

	"filippo.io/age"
)

func TestAgePayloadSizeMatchesAge(t *testing.T) {
	k := newTestKeys(t)
	for _, n := range []int{0, 1, ageChunkSize - 1, ageChunkSize, ageChunkSize + 1, 2 * ageChunkSize, 5*ageChunkSize + 7} {
		var hdr, full bytes.Buffer
		if _, err := age.Encrypt(&hdr, k.rec); err != nil {
			t.Fatal(err)
		}
		w, err := age.Encrypt(&full, k.rec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if got, want := int64(hdr.Len())+agePayloadSize(int64(n)), int64(full.Len()); got != want {
			t.Errorf("n=%d: computed ciphertext size %d, age wrote %d", n, got, want)
		}
		e, err := newEncryptor(bytes.NewReader(make([]byte, n)), int64(n), []age.Recipient{k.rec}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ct, err := io.ReadAll(e)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 && int64(len(ct)) != e.size() {
			t.Errorf("n=%d: encryptor promised %d bytes, produced %d", n, e.size(), len(ct))
		}
	}
}

// TestEncryptorReadSizes checks that the ciphertext and its digests are
// the same whatever the sizes of the reads, that a read never writes
// past len(p) (a store reads into slices of a larger part buffer), and
// that the output decrypts to the input.
func TestEncryptorReadSizes(t *testing.T) {
	k := newTestKeys(t)
	plain := make([]byte, 3*ageChunkSize+123)
	for i := range plain {
		plain[i] = byte(i * 7)
	}
	for _, size := range []int{1, 100, ageChunkSize - 1, ageChunkSize + ageTagSize, 3 * ageChunkSize, 1 << 20} {
		e, err := newEncryptor(bytes.NewReader(plain), int64(len(plain)), []age.Recipient{k.rec}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		buf := make([]byte, size+16)
		for {
			for i := range buf {
				buf[i] = 0xa5
			}
			n, err := e.Read(buf[:size])
			got = append(got, buf[:n]...)
			for i := size; i < len(buf); i++ {
				if buf[i] != 0xa5 {
					t.Fatalf("read of %d bytes wrote at offset %d", size, i)
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if int64(len(got)) != e.size() || e.ctN != e.size() {
			t.Fatalf("reads of %d: %d bytes (counted %d), want %d", size, len(got), e.ctN, e.size())
		}
		pt, ct := e.sums()
		if pt != sha256.Sum256(plain) || ct != sha256.Sum256(got) {
			t.Fatalf("reads of %d: digests do not match the bytes", size)
		}
		r, err := age.Decrypt(bytes.NewReader(got), k.id)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(dec, plain) {
			t.Fatalf("reads of %d: decrypts to %d bytes, %v; want the plaintext", size, len(dec), err)
		}
	}
}
