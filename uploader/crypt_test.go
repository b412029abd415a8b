package uploader

import (
	"bytes"
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
