package keyschedule

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/suite"
)

func allSuites(t testing.TB) []*suite.Suite {
	t.Helper()
	var out []*suite.Suite
	for _, id := range suite.All() {
		s, err := suite.New(id)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func testEpoch(t testing.TB, s *suite.Suite) *Epoch {
	t.Helper()
	e, err := Next(s, bytes.Repeat([]byte{1}, s.Nh()), nil, nil, []byte("group context"))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestNextInputValidation(t *testing.T) {
	s := allSuites(t)[0]
	if _, err := Next(s, []byte{1}, nil, nil, nil); !errors.Is(err, ErrInput) {
		t.Errorf("Next(short init) = %v, want ErrInput", err)
	}
	if _, err := FromJoiner(s, make([]byte, s.Nh()), []byte{1}, nil); !errors.Is(err, ErrInput) {
		t.Errorf("FromJoiner(short psk) = %v, want ErrInput", err)
	}
}

func TestZeroDefaults(t *testing.T) {
	for _, s := range allSuites(t) {
		init := bytes.Repeat([]byte{3}, s.Nh())
		a, err := Next(s, init, nil, nil, []byte("gc"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := Next(s, init, make([]byte, s.Nh()), make([]byte, s.Nh()), []byte("gc"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.InitSecret, b.InitSecret) || !bytes.Equal(a.EpochAuthenticator, b.EpochAuthenticator) {
			t.Errorf("%v: empty commit/psk secrets differ from all-zero ones", s)
		}
		none, err := PSKSecret(s, nil)
		if err != nil || !bytes.Equal(none, make([]byte, s.Nh())) {
			t.Errorf("%v: PSKSecret(nil) = %x, %v; want zeros", s, none, err)
		}
	}
}

func TestWelcomeKeyNonce(t *testing.T) {
	for _, s := range allSuites(t) {
		e := testEpoch(t, s)
		key, nonce := WelcomeKeyNonce(s, e.WelcomeSecret)
		if len(key) != s.KeySize() || len(nonce) != s.NonceSize() {
			t.Errorf("%v: welcome key/nonce sizes %d/%d, want %d/%d", s, len(key), len(nonce), s.KeySize(), s.NonceSize())
		}
	}
}

func TestExportLengths(t *testing.T) {
	for _, s := range allSuites(t) {
		e := testEpoch(t, s)
		for _, n := range []int{0, 1, s.Nh(), MaxExportLength(s)} {
			got, err := e.Export(s, "label", []byte("ctx"), n)
			if err != nil || len(got) != n {
				t.Errorf("%v: Export(%d) = %d bytes, %v", s, n, len(got), err)
			}
		}
		for _, n := range []int{-1, MaxExportLength(s) + 1, 1 << 20} {
			if _, err := e.Export(s, "label", nil, n); !errors.Is(err, ErrLength) {
				t.Errorf("%v: Export(%d) = %v, want ErrLength", s, n, err)
			}
		}
		a, _ := e.Export(s, "a", nil, 16)
		b, _ := e.Export(s, "b", nil, 16)
		if bytes.Equal(a, b) {
			t.Errorf("%v: exporter ignores the label", s)
		}
	}
}

func TestExternalInit(t *testing.T) {
	for _, s := range allSuites(t) {
		e := testEpoch(t, s)
		priv, pub, err := e.ExternalKeyPair(s)
		if err != nil {
			t.Fatal(err)
		}
		kemOutput, initSecret, err := ExternalInit(s, pub)
		if err != nil {
			t.Fatalf("%v: ExternalInit: %v", s, err)
		}
		got, err := ExternalInitSecret(s, priv, kemOutput)
		if err != nil || !bytes.Equal(got, initSecret) || len(got) != s.Nh() {
			t.Errorf("%v: ExternalInitSecret = %x, %v; want %x", s, got, err, initSecret)
		}
		if _, _, err := ExternalInit(s, pub[:1]); err == nil {
			t.Errorf("%v: ExternalInit accepted a truncated key", s)
		}
	}
}

func TestForget(t *testing.T) {
	s := allSuites(t)[0]
	e := testEpoch(t, s)
	welcome := e.WelcomeSecret
	e.Forget()
	if e.JoinerSecret != nil || e.WelcomeSecret != nil || e.EncryptionSecret != nil {
		t.Error("Forget left transient secrets")
	}
	if !bytes.Equal(welcome, make([]byte, len(welcome))) {
		t.Error("Forget did not wipe the welcome secret")
	}
	if e.InitSecret == nil || e.ExporterSecret == nil {
		t.Error("Forget dropped persistent secrets")
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, s := range allSuites(t) {
		e := testEpoch(t, s)
		b, err := e.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got Epoch
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("%v: UnmarshalBinary: %v", s, err)
		}
		want := *e
		want.JoinerSecret, want.WelcomeSecret, want.EncryptionSecret = nil, nil, nil
		b2, _ := got.MarshalBinary()
		if !bytes.Equal(b, b2) || !bytes.Equal(got.InitSecret, want.InitSecret) || got.JoinerSecret != nil {
			t.Errorf("%v: round trip changed the epoch", s)
		}
	}
}

func TestUnmarshalRejects(t *testing.T) {
	s := allSuites(t)[0]
	good, _ := testEpoch(t, s).MarshalBinary()
	bad := map[string][]byte{
		"empty":     nil,
		"version":   append([]byte{2}, good[1:]...),
		"truncated": good[:len(good)-1],
		"trailing":  append(bytes.Clone(good), 0),
		"oddsize":   append([]byte{1, 1, 0}, good[34:]...),
	}
	for name, b := range bad {
		var e Epoch
		if err := e.UnmarshalBinary(b); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: UnmarshalBinary = %v, want ErrFormat", name, err)
		}
	}
}

func FuzzEpochUnmarshal(f *testing.F) {
	for _, s := range allSuites(f) {
		b, _ := testEpoch(f, s).MarshalBinary()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var e Epoch
		if err := e.UnmarshalBinary(data); err != nil {
			return
		}
		again, err := e.MarshalBinary()
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted input does not re-encode identically")
		}
	})
}

func TestNewGroupEpoch(t *testing.T) {
	for _, s := range allSuites(t) {
		seed := bytes.Repeat([]byte{9}, s.Nh())
		a, err := NewGroupEpoch(s, bytes.NewReader(seed))
		if err != nil {
			t.Fatal(err)
		}
		b, err := FromEpochSecret(s, seed)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.EpochAuthenticator, b.EpochAuthenticator) || !bytes.Equal(a.InitSecret, b.InitSecret) {
			t.Errorf("%v: NewGroupEpoch differs from FromEpochSecret on the same secret", s)
		}
		if a.JoinerSecret != nil || a.WelcomeSecret != nil || len(a.EncryptionSecret) != s.Nh() {
			t.Errorf("%v: epoch 0 has joiner/welcome secrets or lacks the encryption secret", s)
		}
		if _, err := NewGroupEpoch(s, bytes.NewReader(seed[1:])); err == nil {
			t.Errorf("%v: NewGroupEpoch with a short random source succeeded", s)
		}
		if _, err := FromEpochSecret(s, seed[1:]); !errors.Is(err, ErrInput) {
			t.Errorf("%v: FromEpochSecret(short) = %v, want ErrInput", s, err)
		}
	}
}
