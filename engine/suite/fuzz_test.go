package suite

import (
	"testing"
)

// FuzzUntrustedInputs feeds arbitrary public keys, signatures, KEM outputs
// and ciphertexts, as they arrive from the network, to every suite's
// verification and decryption paths: they must return errors, never panic.
func FuzzUntrustedInputs(f *testing.F) {
	suites := mustSuites(f)
	for _, s := range suites {
		priv, pub, err := s.GenerateKeyPair()
		if err != nil {
			f.Fatal(err)
		}
		kemOut, ct, err := s.EncryptWithLabel(pub, "l", []byte("c"), []byte("p"))
		if err != nil {
			f.Fatal(err)
		}
		sigPriv, sigPub, err := s.GenerateSignatureKey()
		if err != nil {
			f.Fatal(err)
		}
		sig, err := s.SignWithLabel(sigPriv, "l", []byte("c"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(s.ID()), pub, kemOut, ct, sigPub, sig, priv)
	}
	f.Fuzz(func(t *testing.T, which uint8, pub, kemOut, ct, sigPub, sig, priv []byte) {
		s := suites[int(which)%len(suites)]
		s.ValidatePublicKey(pub)
		s.EncryptWithLabel(pub, "l", nil, []byte("p"))
		s.ExportSender(pub, nil, nil, 32)
		s.DecryptWithLabel(priv, "l", []byte("c"), kemOut, ct)
		s.ExportReceiver(priv, kemOut, nil, nil, 32)
		s.PublicKeyFromPrivate(priv)
		s.VerifyWithLabel(sigPub, "l", []byte("c"), sig)
		s.SignaturePublicKey(priv)
		s.SignWithLabel(priv, "l", []byte("c"))
		s.Open(priv, kemOut, nil, ct)
		s.Seal(priv, kemOut, nil, ct)
	})
}
