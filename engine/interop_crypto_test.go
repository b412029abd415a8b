package engine

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/framing"
	"github.com/mlsbackup/mlsbackup/engine/internal/vectors"
	"github.com/mlsbackup/mlsbackup/engine/keyschedule"
	"github.com/mlsbackup/mlsbackup/engine/secrettree"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// runCases loads file name into a slice of T and checks every case,
// reporting failures on t. It returns passed and total counts.
func runCases[T any](t *testing.T, name string, check func(*T) error) (int, int) {
	t.Helper()
	var vs []T
	if err := vectors.Load(name, &vs); err != nil {
		t.Fatal(err)
	}
	passed, refused := 0, 0
	for i := range vs {
		if err := check(&vs[i]); err != nil {
			if fipsRefused(err) {
				passed++
				refused++
				continue
			}
			t.Errorf("case %d: %v", i, err)
			continue
		}
		passed++
	}
	if refused > 0 {
		t.Logf("%s: %d cases refused as FIPS 140-only mode requires", name, refused)
	}
	return passed, len(vs)
}

func eq(what string, got, want []byte) error {
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s: got %x, want %x", what, got, want)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

type deserializationVector struct {
	Header vectors.Hex `json:"vlbytes_header"`
	Length int         `json:"length"`
}

func checkDeserialization(v *deserializationVector) error {
	r := codec.NewReader(v.Header)
	got := r.Varint()
	if err := r.Finish(); err != nil {
		return err
	}
	if got != v.Length {
		return fmt.Errorf("length %d, want %d", got, v.Length)
	}
	var w codec.Writer
	w.Varint(got)
	return eq("re-encoded header", w.Bytes(), v.Header)
}

type cryptoBasicsVector struct {
	CipherSuite uint16 `json:"cipher_suite"`
	RefHash     struct {
		Label string      `json:"label"`
		Value vectors.Hex `json:"value"`
		Out   vectors.Hex `json:"out"`
	} `json:"ref_hash"`
	ExpandWithLabel struct {
		Secret  vectors.Hex `json:"secret"`
		Label   string      `json:"label"`
		Context vectors.Hex `json:"context"`
		Length  int         `json:"length"`
		Out     vectors.Hex `json:"out"`
	} `json:"expand_with_label"`
	DeriveSecret struct {
		Secret vectors.Hex `json:"secret"`
		Label  string      `json:"label"`
		Out    vectors.Hex `json:"out"`
	} `json:"derive_secret"`
	DeriveTreeSecret struct {
		Secret     vectors.Hex `json:"secret"`
		Label      string      `json:"label"`
		Generation uint32      `json:"generation"`
		Length     int         `json:"length"`
		Out        vectors.Hex `json:"out"`
	} `json:"derive_tree_secret"`
	SignWithLabel struct {
		Priv      vectors.Hex `json:"priv"`
		Pub       vectors.Hex `json:"pub"`
		Content   vectors.Hex `json:"content"`
		Label     string      `json:"label"`
		Signature vectors.Hex `json:"signature"`
	} `json:"sign_with_label"`
	EncryptWithLabel struct {
		Priv       vectors.Hex `json:"priv"`
		Pub        vectors.Hex `json:"pub"`
		Label      string      `json:"label"`
		Context    vectors.Hex `json:"context"`
		Plaintext  vectors.Hex `json:"plaintext"`
		KEMOutput  vectors.Hex `json:"kem_output"`
		Ciphertext vectors.Hex `json:"ciphertext"`
	} `json:"encrypt_with_label"`
}

func checkCryptoBasics(v *cryptoBasicsVector) error {
	cs, err := suite.New(suite.ID(v.CipherSuite))
	if err != nil {
		return err
	}
	e, d, s := &v.ExpandWithLabel, &v.DeriveSecret, &v.DeriveTreeSecret
	if err := firstErr(
		eq("ref_hash", cs.RefHash(v.RefHash.Label, v.RefHash.Value), v.RefHash.Out),
		eq("expand_with_label", cs.ExpandWithLabel(e.Secret, e.Label, e.Context, e.Length), e.Out),
		eq("derive_secret", cs.DeriveSecret(d.Secret, d.Label), d.Out),
		eq("derive_tree_secret", cs.DeriveTreeSecret(s.Secret, s.Label, s.Generation, s.Length), s.Out),
	); err != nil {
		return err
	}
	sg := &v.SignWithLabel
	if err := cs.VerifyWithLabel(sg.Pub, sg.Label, sg.Content, sg.Signature); err != nil {
		return fmt.Errorf("verify vector signature: %w", err)
	}
	sig, err := cs.SignWithLabel(sg.Priv, sg.Label, sg.Content)
	if err != nil {
		return err
	}
	if err := cs.VerifyWithLabel(sg.Pub, sg.Label, sg.Content, sig); err != nil {
		return fmt.Errorf("verify own signature: %w", err)
	}
	en := &v.EncryptWithLabel
	pt, err := cs.DecryptWithLabel(en.Priv, en.Label, en.Context, en.KEMOutput, en.Ciphertext)
	if err != nil {
		return fmt.Errorf("decrypt vector: %w", err)
	}
	if err := eq("decrypted plaintext", pt, en.Plaintext); err != nil {
		return err
	}
	kem, ct, err := cs.EncryptWithLabel(en.Pub, en.Label, en.Context, en.Plaintext)
	if err != nil {
		return err
	}
	pt, err = cs.DecryptWithLabel(en.Priv, en.Label, en.Context, kem, ct)
	if err != nil {
		return fmt.Errorf("decrypt own ciphertext: %w", err)
	}
	return eq("round-trip plaintext", pt, en.Plaintext)
}

type secretTreeVector struct {
	CipherSuite uint16 `json:"cipher_suite"`
	SenderData  struct {
		SenderDataSecret vectors.Hex `json:"sender_data_secret"`
		Ciphertext       vectors.Hex `json:"ciphertext"`
		Key              vectors.Hex `json:"key"`
		Nonce            vectors.Hex `json:"nonce"`
	} `json:"sender_data"`
	EncryptionSecret vectors.Hex `json:"encryption_secret"`
	Leaves           [][]struct {
		Generation       uint32      `json:"generation"`
		HandshakeKey     vectors.Hex `json:"handshake_key"`
		HandshakeNonce   vectors.Hex `json:"handshake_nonce"`
		ApplicationKey   vectors.Hex `json:"application_key"`
		ApplicationNonce vectors.Hex `json:"application_nonce"`
	} `json:"leaves"`
}

func checkSecretTree(v *secretTreeVector) error {
	cs, err := suite.New(suite.ID(v.CipherSuite))
	if err != nil {
		return err
	}
	sd := &v.SenderData
	key, nonce := framing.SenderDataKeyNonce(cs, sd.SenderDataSecret, sd.Ciphertext)
	if err := firstErr(eq("sender data key", key, sd.Key), eq("sender data nonce", nonce, sd.Nonce)); err != nil {
		return err
	}
	st, err := secrettree.New(cs, v.EncryptionSecret, uint32(len(v.Leaves)), secrettree.DefaultConfig())
	if err != nil {
		return err
	}
	for leaf, gens := range v.Leaves {
		for _, g := range gens {
			hk, hn, err := st.KeyNonce(uint32(leaf), secrettree.Handshake, g.Generation)
			if err != nil {
				return fmt.Errorf("leaf %d handshake generation %d: %w", leaf, g.Generation, err)
			}
			ak, an, err := st.KeyNonce(uint32(leaf), secrettree.Application, g.Generation)
			if err != nil {
				return fmt.Errorf("leaf %d application generation %d: %w", leaf, g.Generation, err)
			}
			if err := firstErr(eq("handshake key", hk, g.HandshakeKey), eq("handshake nonce", hn, g.HandshakeNonce),
				eq("application key", ak, g.ApplicationKey), eq("application nonce", an, g.ApplicationNonce)); err != nil {
				return fmt.Errorf("leaf %d generation %d: %w", leaf, g.Generation, err)
			}
		}
	}
	return nil
}

type keyScheduleVector struct {
	CipherSuite       uint16      `json:"cipher_suite"`
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

func checkKeySchedule(v *keyScheduleVector) error {
	cs, err := suite.New(suite.ID(v.CipherSuite))
	if err != nil {
		return err
	}
	initSecret := []byte(v.InitialInitSecret)
	for i, e := range v.Epochs {
		gc := codec.Marshal(wire.GroupContext{Version: wire.ProtocolVersionMLS10, CipherSuite: wire.CipherSuite(v.CipherSuite),
			GroupID: v.GroupID, Epoch: uint64(i), TreeHash: e.TreeHash, ConfirmedTranscriptHash: e.ConfirmedTranscriptHash, Extensions: wire.Extensions{}})
		if err := eq("group context", gc, e.GroupContext); err != nil {
			return fmt.Errorf("epoch %d: %w", i, err)
		}
		ep, err := keyschedule.Next(cs, initSecret, e.CommitSecret, e.PSKSecret, gc)
		if err != nil {
			return fmt.Errorf("epoch %d: %w", i, err)
		}
		_, pub, err := ep.ExternalKeyPair(cs)
		if err != nil {
			return fmt.Errorf("epoch %d: %w", i, err)
		}
		exp, err := ep.Export(cs, e.Exporter.Label, e.Exporter.Context, e.Exporter.Length)
		if err != nil {
			return fmt.Errorf("epoch %d: %w", i, err)
		}
		if err := firstErr(
			eq("joiner_secret", ep.JoinerSecret, e.JoinerSecret), eq("welcome_secret", ep.WelcomeSecret, e.WelcomeSecret),
			eq("init_secret", ep.InitSecret, e.InitSecret), eq("sender_data_secret", ep.SenderDataSecret, e.SenderDataSecret),
			eq("encryption_secret", ep.EncryptionSecret, e.EncryptionSecret), eq("exporter_secret", ep.ExporterSecret, e.ExporterSecret),
			eq("epoch_authenticator", ep.EpochAuthenticator, e.EpochAuthenticator), eq("external_secret", ep.ExternalSecret, e.ExternalSecret),
			eq("confirmation_key", ep.ConfirmationKey, e.ConfirmationKey), eq("membership_key", ep.MembershipKey, e.MembershipKey),
			eq("resumption_psk", ep.ResumptionPSK, e.ResumptionPSK), eq("external_pub", pub, e.ExternalPub),
			eq("exporter", exp, e.Exporter.Secret),
		); err != nil {
			return fmt.Errorf("epoch %d: %w", i, err)
		}
		initSecret = ep.InitSecret
	}
	return nil
}

type pskSecretVector struct {
	CipherSuite uint16 `json:"cipher_suite"`
	PSKs        []struct {
		PSKID    vectors.Hex `json:"psk_id"`
		PSK      vectors.Hex `json:"psk"`
		PSKNonce vectors.Hex `json:"psk_nonce"`
	} `json:"psks"`
	PSKSecret vectors.Hex `json:"psk_secret"`
}

func checkPSKSecret(v *pskSecretVector) error {
	cs, err := suite.New(suite.ID(v.CipherSuite))
	if err != nil {
		return err
	}
	var psks []keyschedule.PSK
	for _, p := range v.PSKs {
		id := wire.PreSharedKeyID{PSKType: wire.PSKTypeExternal, PSKID: p.PSKID, PSKNonce: p.PSKNonce}
		psks = append(psks, keyschedule.PSK{ID: codec.Marshal(id), Secret: p.PSK})
	}
	got, err := keyschedule.PSKSecret(cs, psks)
	if err != nil {
		return err
	}
	return eq("psk_secret", got, v.PSKSecret)
}
