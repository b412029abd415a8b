package uploader

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// codec writes and reads the manifest objects of one prefix: signed
// envelopes (version 3), or, with allowUnsigned, the unsigned manifests
// of versions 1 and 2.
type codec struct {
	layout layout
	// key signs what is written; nil writes unsigned manifests.
	key *SigningKey
	// trusted are the signers whose objects are accepted.
	trusted []Signer
	// allowUnsigned accepts unsigned manifests when reading.
	allowUnsigned bool
}

// newCodec returns the codec of opts: the writer's own key is trusted.
func newCodec(l layout, opts Options) codec {
	c := codec{layout: l, key: opts.SigningKey, allowUnsigned: opts.AllowUnsigned}
	c.trusted = append(c.trusted, opts.TrustedSigners...)
	if opts.SigningKey != nil {
		c.trusted = append(c.trusted, opts.SigningKey.Public())
	}
	return c
}

// encode returns the object that stores m (for an inline snapshot, with
// the age file ct inside). With a signing key it signs the payload and
// sets m's Signer and PayloadSHA256 (m's Sequence, Prev and Head are
// signed as given); without one it writes the unsigned manifest.
func (c codec) encode(m *Manifest, ct []byte) ([]byte, error) {
	if c.key == nil {
		return encodeManifest(*m, ct)
	}
	p := m.payload(c.layout)
	payload, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	m.Signer = c.key.Public()
	m.PayloadSHA256 = sha256.Sum256(payload)
	return seal(c.key, payload, ct)
}

// payload returns the signed statement of m, stored under l.
func (m Manifest) payload(l layout) wirePayload {
	p := wirePayload{wireManifest: m.wire(), Prefix: l.prefix, Key: l.rel(m.Key), Sequence: m.Sequence, Head: m.Head}
	p.Version = ManifestVersionSigned
	if m.Inline() {
		p.Object = objectInline
	}
	if m.Prev != nil {
		p.Prev = &wireLink{Sequence: m.Prev.Sequence, SHA256: hex.EncodeToString(m.Prev.SHA256[:])}
	}
	return p
}

// decode parses and checks a manifest object read from ref's key and
// returns it with the age file inside if the snapshot is inline. Errors
// are [*CheckError]s naming the check that failed.
func (c codec) decode(data []byte, ref Ref) (Manifest, []byte, error) {
	return c.decodeUnder(data, ref, nil)
}

// decodeUnder is decode, given the newest head that verified (nil: none):
// if it names this manifest's payload as the group's newest, the head's
// signature vouches for the payload (its SHA-256 is in the signed head)
// and the manifest's own signature is not verified again.
func (c codec) decodeUnder(data []byte, ref Ref, h *Head) (Manifest, []byte, error) {
	w, err := decodeObject(data)
	if err != nil {
		return Manifest{}, nil, err
	}
	if !w.signed() {
		if w.Format == ManifestFormat && !c.allowUnsigned {
			return Manifest{}, nil, checkErr(CheckSigned, ErrUnsigned,
				"an unsigned manifest of version %d (pass --allow-unsigned to read the format of earlier versions)", w.Version)
		}
		m, err := w.unsigned(ref)
		return m, w.Inline, err
	}
	sum := sha256.Sum256(w.Payload)
	var vouched func([32]byte) bool
	if h != nil {
		if e, ok := h.Groups[ref.GroupHex()]; ok {
			vouched = func(s [32]byte) bool { return s == e.SHA256 }
		}
	}
	signer, payload, err := w.open(c.trusted, sum, vouched)
	if err != nil {
		return Manifest{}, nil, err
	}
	m, err := c.decodePayload(payload, ref, w.Inline != nil)
	if err != nil {
		return Manifest{}, nil, err
	}
	m.Signer = signer
	m.PayloadSHA256 = sum
	return m, w.Inline, nil
}

// decodePayload checks a verified payload against ref, the key it was
// read from; hasInline says whether the envelope carries an age file.
func (c codec) decodePayload(payload []byte, ref Ref, hasInline bool) (Manifest, error) {
	var p wirePayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return Manifest{}, checkErr(CheckPayload, ErrBadManifest, "not JSON: %v", err)
	}
	switch {
	case p.Format != ManifestFormat || p.Version != ManifestVersionSigned:
		return Manifest{}, checkErr(CheckPayload, ErrBadManifest, "payload is %q version %d, want %q version %d",
			p.Format, p.Version, ManifestFormat, ManifestVersionSigned)
	case p.Inline != nil:
		return Manifest{}, checkErr(CheckPayload, ErrBadManifest, "the payload carries an inline snapshot")
	case p.Prefix != c.layout.prefix || p.Key != c.layout.rel(ref.Key):
		return Manifest{}, checkErr(CheckLocation, ErrCorrupt, "signed for %q in prefix %q, found at %q in prefix %q (moved or replayed)",
			p.Key, p.Prefix, c.layout.rel(ref.Key), c.layout.prefix)
	}
	wantObject := dataName
	if ref.Inline() {
		wantObject = objectInline
	}
	if p.Object != wantObject || hasInline != ref.Inline() {
		return Manifest{}, checkErr(CheckLocation, ErrCorrupt, "object %q (inline data present: %v), want %q", p.Object, hasInline, wantObject)
	}
	m, err := p.wireManifest.manifest(ref)
	if err != nil {
		return Manifest{}, err
	}
	m.Sequence, m.Head = p.Sequence, p.Head
	if p.Sequence == 0 {
		return Manifest{}, checkErr(CheckPayload, ErrBadManifest, "sequence 0")
	}
	if p.Prev != nil {
		m.Prev = &Link{Sequence: p.Prev.Sequence}
		if err := decodeDigest(p.Prev.SHA256, &m.Prev.SHA256); err != nil {
			return Manifest{}, checkErr(CheckPayload, ErrBadManifest, "prev sha256: %v", err)
		}
		if m.Prev.Sequence >= m.Sequence {
			return Manifest{}, checkErr(CheckPayload, ErrBadManifest, "prev sequence %d is not before %d", m.Prev.Sequence, m.Sequence)
		}
	}
	return m, nil
}

// inlineOf returns the age file inside an inline snapshot's object
// without checking the signature again: the caller holds the verified
// manifest, whose ciphertext digest judges it.
func inlineOf(data []byte) ([]byte, error) {
	w, err := decodeObject(data)
	if err != nil {
		return nil, err
	}
	if w.Inline == nil {
		return nil, checkErr(CheckEnvelope, ErrBadManifest, "the inline snapshot object holds no snapshot")
	}
	return w.Inline, nil
}
