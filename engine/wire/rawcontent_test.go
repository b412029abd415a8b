package wire

import (
	"bytes"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
)

// publicMessages returns every encoded MLSMessage of the interop vectors
// (the corpus plus the public messages of message-protection.json).
func publicMessages(t testing.TB) [][]byte {
	t.Helper()
	msgs := append([][]byte(nil), loadCorpus(t).mlsMessages...)
	var protection []struct {
		ProposalPub vectors.Hex `json:"proposal_pub"`
		CommitPub   vectors.Hex `json:"commit_pub"`
	}
	if err := vectors.Load("message-protection", &protection); err != nil {
		t.Fatal(err)
	}
	for _, p := range protection {
		msgs = append(msgs, p.ProposalPub, p.CommitPub)
	}
	return msgs
}

// checkRawContent fails unless the RawContent that ParseMLSMessage kept
// for the public message in msg is the slice of msg right after the
// version and wire format, equal to the re-encoding of the decoded content.
// The signature, membership tag and transcript hash inputs are built from
// RawContent instead of that re-encoding, so the two must never differ.
func checkRawContent(t *testing.T, msg []byte, pm *PublicMessage) {
	t.Helper()
	want := codec.Marshal(pm.Content)
	if !bytes.Equal(pm.RawContent, want) {
		t.Fatalf("RawContent differs from the re-encoded content:\n raw %x\n enc %x", pm.RawContent, want)
	}
	if len(msg) < 4+len(want) || &pm.RawContent[0] != &msg[4] {
		t.Fatal("RawContent is not the content's place in the message")
	}
	if cap(pm.RawContent) != len(pm.RawContent) {
		t.Fatal("RawContent can be appended to over the rest of the message")
	}
	if ac := pm.AuthenticatedContent(); !bytes.Equal(ac.RawContent, want) {
		t.Fatal("AuthenticatedContent dropped RawContent")
	}
}

// TestRawContentIsTheEncoding checks checkRawContent for every public
// message in the interop vectors, and that UnmarshalTLS, which does not
// keep the span, leaves RawContent nil.
func TestRawContentIsTheEncoding(t *testing.T) {
	n := 0
	for i, b := range publicMessages(t) {
		m, err := ParseMLSMessage(b, 0)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if m.PublicMessage == nil {
			continue
		}
		checkRawContent(t, b, m.PublicMessage)
		var again MLSMessage
		if err := codec.Unmarshal(b, &again); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if again.PublicMessage.RawContent != nil {
			t.Fatalf("message %d: UnmarshalTLS set RawContent", i)
		}
		n++
	}
	if n < 10 {
		t.Fatalf("only %d public messages in the vectors", n)
	}
	t.Logf("%d public messages", n)
}

// TestRawContentRejectsNonMinimal shows why RawContent may stand for the
// content: a content whose group_id length is written in two bytes instead
// of one would re-encode differently, and ParseMLSMessage refuses it
// (RFC 9420 §2.1.2: "values using more bits than necessary MUST be treated
// as malformed").
func TestRawContentRejectsNonMinimal(t *testing.T) {
	for i, b := range publicMessages(t) {
		m, err := ParseMLSMessage(b, 0)
		if err != nil || m.PublicMessage == nil {
			continue
		}
		gid := m.PublicMessage.Content.GroupID
		if len(gid) >= 64 || b[4] != byte(len(gid)) {
			continue
		}
		bad := append(append(append([]byte(nil), b[:4]...), 0x40, byte(len(gid))), b[5:]...)
		if _, err := ParseMLSMessage(bad, 0); err == nil {
			t.Fatalf("message %d: a non-minimal group_id length was accepted", i)
		}
		return
	}
	t.Fatal("no public message with a short group id in the vectors")
}

// FuzzParseMLSMessageRawContent checks checkRawContent for every input
// ParseMLSMessage accepts.
func FuzzParseMLSMessageRawContent(f *testing.F) {
	for _, s := range loadCorpus(f).mlsMessages {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMLSMessage(data, 0)
		if err != nil || m.PublicMessage == nil {
			return
		}
		checkRawContent(t, data, m.PublicMessage)
	})
}
