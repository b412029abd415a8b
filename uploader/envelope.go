package uploader

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// The signed envelope; see doc.go, "Signed envelope".
const (
	// EnvelopeFormat is the "format" of every signed object.
	EnvelopeFormat = "mlsbackup-signed"
	// EnvelopeVersion is the remote format version of signed objects.
	EnvelopeVersion = 3
)

// wireEnvelope is a signed object: the payload (JSON) and its Ed25519
// signature, both base64; an inline snapshot's age file rides outside the
// signature, bound to it by the payload's ciphertext digest.
type wireEnvelope struct {
	Format    string `json:"format"`
	Version   int    `json:"version"`
	Signer    string `json:"signer"`
	Payload   []byte `json:"payload"`
	Signature []byte `json:"signature"`
	Inline    []byte `json:"inline,omitempty"`
}

// wireObject is what a manifest object may hold: a signed envelope, or
// (the same "format" field telling them apart) an unsigned manifest of
// version 1 or 2. One decoding serves both.
type wireObject struct {
	wireManifest
	Signer    string `json:"signer"`
	Payload   []byte `json:"payload"`
	Signature []byte `json:"signature"`
}

// seal signs payload with k and returns the envelope's JSON (compact:
// most of it is base64), newline-terminated.
func seal(k *SigningKey, payload, inline []byte) ([]byte, error) {
	b, err := json.Marshal(wireEnvelope{
		Format:    EnvelopeFormat,
		Version:   EnvelopeVersion,
		Signer:    k.Public().String(),
		Payload:   payload,
		Signature: k.sign(payload),
		Inline:    inline,
	})
	if err != nil {
		return nil, fmt.Errorf("encode envelope: %w", err)
	}
	return append(b, '\n'), nil
}

// decodeObject parses an object's JSON. A parse error is a failure of
// [CheckEnvelope].
func decodeObject(data []byte) (*wireObject, error) {
	var w wireObject
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&w); err != nil {
		return nil, checkErr(CheckEnvelope, ErrBadManifest, "not JSON: %v", err)
	}
	return &w, nil
}

// signed reports whether w is a signed envelope (of any version).
func (w *wireObject) signed() bool { return w.Format == EnvelopeFormat }

// open checks the envelope w: its version, that its signer is among
// trusted, and its signature, unless vouched reports that a verified head
// names this payload (by its SHA-256, sum). It returns the signer and the
// payload. Errors are [*CheckError]s of the check that failed.
func (w *wireObject) open(trusted []Signer, sum [32]byte, vouched func([32]byte) bool) (Signer, []byte, error) {
	switch {
	case w.Format != EnvelopeFormat:
		return Signer{}, nil, checkErr(CheckEnvelope, ErrBadManifest, "format %q, want %q", w.Format, EnvelopeFormat)
	case w.Version != EnvelopeVersion:
		return Signer{}, nil, checkErr(CheckEnvelope, ErrBadManifest, "unsupported version %d of a signed object (this build reads %d)", w.Version, EnvelopeVersion)
	}
	signer, err := ParseSigner(w.Signer)
	if err != nil {
		return Signer{}, nil, checkErr(CheckEnvelope, ErrBadManifest, "signer: %v", err)
	}
	if !trustedSigner(trusted, signer) {
		return Signer{}, nil, checkErr(CheckSigner, ErrUntrustedSigner, "%s is not a trusted signer (encryption.trusted_signers, or the identity file's trusted-signer lines)", signer)
	}
	if (vouched == nil || !vouched(sum)) && !signer.verify(w.Payload, w.Signature) {
		return Signer{}, nil, checkErr(CheckSignature, ErrBadSignature, "by %s", signer)
	}
	return signer, w.Payload, nil
}

func trustedSigner(trusted []Signer, s Signer) bool {
	for _, t := range trusted {
		if t == s {
			return true
		}
	}
	return false
}
