package framing

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

func newSuite(t testing.TB, id uint16) *suite.Suite {
	t.Helper()
	s, err := suite.New(suite.ID(id))
	if err != nil {
		t.Fatalf("suite %d: %v", id, err)
	}
	return s
}

func TestTranscriptHashVectors(t *testing.T) {
	var cases []struct {
		CipherSuite                  uint16      `json:"cipher_suite"`
		ConfirmationKey              vectors.Hex `json:"confirmation_key"`
		AuthenticatedContent         vectors.Hex `json:"authenticated_content"`
		InterimTranscriptHashBefore  vectors.Hex `json:"interim_transcript_hash_before"`
		ConfirmedTranscriptHashAfter vectors.Hex `json:"confirmed_transcript_hash_after"`
		InterimTranscriptHashAfter   vectors.Hex `json:"interim_transcript_hash_after"`
	}
	if err := vectors.Load("transcript-hashes", &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("transcript-hashes.json has no cases")
	}
	passed := 0
	for i, c := range cases {
		s := newSuite(t, c.CipherSuite)
		var ac wire.AuthenticatedContent
		if err := codec.Unmarshal(c.AuthenticatedContent, &ac); err != nil {
			t.Errorf("case %d: decode authenticated content: %v", i, err)
			continue
		}
		if ac.Content.ContentType != wire.ContentTypeCommit {
			t.Errorf("case %d: content type %d, want commit", i, ac.Content.ContentType)
			continue
		}
		if err := VerifyConfirmationTag(s, c.ConfirmationKey, c.ConfirmedTranscriptHashAfter, ac.Auth.ConfirmationTag); err != nil {
			t.Errorf("case %d: confirmation tag: %v", i, err)
			continue
		}
		if got := ConfirmationTag(s, c.ConfirmationKey, c.ConfirmedTranscriptHashAfter); !bytes.Equal(got, ac.Auth.ConfirmationTag) {
			t.Errorf("case %d: ConfirmationTag = %x, want %x", i, got, ac.Auth.ConfirmationTag)
			continue
		}
		confirmed, interim, err := TranscriptHashes(s, c.InterimTranscriptHashBefore, &ac)
		if err != nil {
			t.Errorf("case %d: %v", i, err)
			continue
		}
		if !bytes.Equal(confirmed, c.ConfirmedTranscriptHashAfter) {
			t.Errorf("case %d: confirmed transcript hash\n got %x\nwant %x", i, confirmed, []byte(c.ConfirmedTranscriptHashAfter))
			continue
		}
		if !bytes.Equal(interim, c.InterimTranscriptHashAfter) {
			t.Errorf("case %d: interim transcript hash\n got %x\nwant %x", i, interim, []byte(c.InterimTranscriptHashAfter))
			continue
		}
		wrongKey := append([]byte{1}, c.ConfirmationKey...)
		if err := VerifyConfirmationTag(s, wrongKey, confirmed, ac.Auth.ConfirmationTag); !errors.Is(err, ErrBadConfirmationTag) {
			t.Errorf("case %d: wrong confirmation key: got %v, want ErrBadConfirmationTag", i, err)
			continue
		}
		passed++
	}
	t.Logf("transcript-hashes: %d/%d cases passed", passed, len(cases))
}

func TestConfirmedTranscriptHashRejectsNonCommit(t *testing.T) {
	s := newSuite(t, 1)
	ac := &wire.AuthenticatedContent{WireFormat: wire.WireFormatPublicMessage,
		Content: wire.FramedContent{ContentType: wire.ContentTypeProposal}}
	if _, err := ConfirmedTranscriptHash(s, nil, ac); !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v, want ErrMalformed", err)
	}
}
