package keyschedule

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
	"github.com/mlsbackup/mlsbackup/engine/suite"
)

type keyScheduleCase struct {
	CipherSuite       suite.ID    `json:"cipher_suite"`
	GroupID           vectors.Hex `json:"group_id"`
	InitialInitSecret vectors.Hex `json:"initial_init_secret"`
	Epochs            []struct {
		TreeHash                vectors.Hex `json:"tree_hash"`
		CommitSecret            vectors.Hex `json:"commit_secret"`
		PSKSecret               vectors.Hex `json:"psk_secret"`
		ConfirmedTranscriptHash vectors.Hex `json:"confirmed_transcript_hash"`
		GroupContext            vectors.Hex `json:"group_context"`
		JoinerSecret            vectors.Hex `json:"joiner_secret"`
		WelcomeSecret           vectors.Hex `json:"welcome_secret"`
		InitSecret              vectors.Hex `json:"init_secret"`
		SenderDataSecret        vectors.Hex `json:"sender_data_secret"`
		EncryptionSecret        vectors.Hex `json:"encryption_secret"`
		ExporterSecret          vectors.Hex `json:"exporter_secret"`
		EpochAuthenticator      vectors.Hex `json:"epoch_authenticator"`
		ExternalSecret          vectors.Hex `json:"external_secret"`
		ConfirmationKey         vectors.Hex `json:"confirmation_key"`
		MembershipKey           vectors.Hex `json:"membership_key"`
		ResumptionPSK           vectors.Hex `json:"resumption_psk"`
		ExternalPub             vectors.Hex `json:"external_pub"`
		Exporter                struct {
			Label   string      `json:"label"`
			Context vectors.Hex `json:"context"`
			Length  int         `json:"length"`
			Secret  vectors.Hex `json:"secret"`
		} `json:"exporter"`
	} `json:"epochs"`
}

// groupContext serializes a GroupContext with empty extensions (RFC 9420
// §8.1) for the vector checks.
func groupContext(id suite.ID, groupID []byte, epoch uint64, treeHash, cth []byte) []byte {
	w := codec.NewWriter(nil)
	w.Uint16(1) // mls10
	w.Uint16(uint16(id))
	w.Opaque(groupID)
	w.Uint64(epoch)
	w.Opaque(treeHash)
	w.Opaque(cth)
	w.Opaque(nil)
	return w.Bytes()
}

// TestKeyScheduleVectors checks every epoch of every case of
// key-schedule.json.
func TestKeyScheduleVectors(t *testing.T) {
	var cases []keyScheduleCase
	if err := vectors.Load("key-schedule", &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("key-schedule: no cases")
	}
	passed, epochs := 0, 0
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d/%v", i, c.CipherSuite), func(t *testing.T) {
			s, err := suite.New(c.CipherSuite)
			if err != nil {
				t.Fatal(err)
			}
			init := []byte(c.InitialInitSecret)
			for n, ep := range c.Epochs {
				epochs++
				gc := groupContext(c.CipherSuite, c.GroupID, uint64(n), ep.TreeHash, ep.ConfirmedTranscriptHash)
				if !bytes.Equal(gc, ep.GroupContext) {
					t.Fatalf("epoch %d: group context = %x, want %x", n, gc, ep.GroupContext)
				}
				e, err := Next(s, init, ep.CommitSecret, ep.PSKSecret, gc)
				if err != nil {
					t.Fatalf("epoch %d: %v", n, err)
				}
				checks := []struct {
					name      string
					got, want []byte
				}{
					{"joiner_secret", e.JoinerSecret, ep.JoinerSecret},
					{"welcome_secret", e.WelcomeSecret, ep.WelcomeSecret},
					{"welcome_secret (helper)", WelcomeSecret(s, e.JoinerSecret, ep.PSKSecret), ep.WelcomeSecret},
					{"init_secret", e.InitSecret, ep.InitSecret},
					{"sender_data_secret", e.SenderDataSecret, ep.SenderDataSecret},
					{"encryption_secret", e.EncryptionSecret, ep.EncryptionSecret},
					{"exporter_secret", e.ExporterSecret, ep.ExporterSecret},
					{"epoch_authenticator", e.EpochAuthenticator, ep.EpochAuthenticator},
					{"external_secret", e.ExternalSecret, ep.ExternalSecret},
					{"confirmation_key", e.ConfirmationKey, ep.ConfirmationKey},
					{"membership_key", e.MembershipKey, ep.MembershipKey},
					{"resumption_psk", e.ResumptionPSK, ep.ResumptionPSK},
				}
				for _, ck := range checks {
					if !bytes.Equal(ck.got, ck.want) {
						t.Errorf("epoch %d: %s = %x, want %x", n, ck.name, ck.got, ck.want)
					}
				}
				_, pub, err := e.ExternalKeyPair(s)
				if err != nil || !bytes.Equal(pub, ep.ExternalPub) {
					t.Errorf("epoch %d: external_pub = %x, %v; want %x", n, pub, err, ep.ExternalPub)
				}
				x := ep.Exporter
				got, err := e.Export(s, x.Label, x.Context, x.Length)
				if err != nil || !bytes.Equal(got, x.Secret) {
					t.Errorf("epoch %d: exporter = %x, %v; want %x", n, got, err, x.Secret)
				}
				init = e.InitSecret
			}
			if !t.Failed() {
				passed++
			}
		})
	}
	t.Logf("key-schedule: %d/%d cases (%d epochs) passed", passed, len(cases), epochs)
}

type pskCase struct {
	CipherSuite suite.ID `json:"cipher_suite"`
	PSKs        []struct {
		PSKID    vectors.Hex `json:"psk_id"`
		PSK      vectors.Hex `json:"psk"`
		PSKNonce vectors.Hex `json:"psk_nonce"`
	} `json:"psks"`
	PSKSecret vectors.Hex `json:"psk_secret"`
}

// externalPSKID serializes a PreSharedKeyID of type external (RFC 9420 §8.4).
func externalPSKID(id, nonce []byte) []byte {
	w := codec.NewWriter(nil)
	w.Uint8(1) // external
	w.Opaque(id)
	w.Opaque(nonce)
	return w.Bytes()
}

// TestPSKSecretVectors checks every case of psk_secret.json.
func TestPSKSecretVectors(t *testing.T) {
	var cases []pskCase
	if err := vectors.Load("psk_secret", &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("psk_secret: no cases")
	}
	passed := 0
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d/%v/n=%d", i, c.CipherSuite, len(c.PSKs)), func(t *testing.T) {
			s, err := suite.New(c.CipherSuite)
			if err != nil {
				t.Fatal(err)
			}
			var psks []PSK
			for _, p := range c.PSKs {
				psks = append(psks, PSK{ID: externalPSKID(p.PSKID, p.PSKNonce), Secret: p.PSK})
			}
			got, err := PSKSecret(s, psks)
			if err != nil || !bytes.Equal(got, c.PSKSecret) {
				t.Fatalf("psk_secret = %x, %v; want %x", got, err, c.PSKSecret)
			}
			passed++
		})
	}
	t.Logf("psk_secret: %d/%d cases passed", passed, len(cases))
}
