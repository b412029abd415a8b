package mlscrash

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/framing"
	"github.com/mlsbackup/mlsbackup/engine/keyschedule"
	"github.com/mlsbackup/mlsbackup/engine/secrettree"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// ErrReuse is returned by [NonceLog.Observe] when a PrivateMessage uses a
// sender generation or a key and nonce that an earlier one used.
var ErrReuse = errors.New("mlscrash: key or nonce reused")

// NonceLog records, for every PrivateMessage of one group it observes,
// the sender's leaf and generation and the AEAD key and nonce (the
// ratchet nonce with the reuse guard applied, RFC 9420 §6.3.1), and
// reports any repeat. It learns each epoch's sender-data secret and secret
// tree from a receiving member's stored epoch record, read when that
// member enters the epoch (before it consumes any key of it).
type NonceLog struct {
	epochs map[uint64]*epochKeys
	gens   map[senderGen]bool
	keys   map[string]bool
	// Messages is the number of messages observed.
	Messages int
}

type senderGen struct {
	epoch   uint64
	leaf    uint32
	ratchet secrettree.ContentType
	gen     uint32
}

type epochKeys struct {
	cs         *suite.Suite
	senderData []byte
	tree       *secrettree.Tree
}

// NewNonceLog returns an empty log.
func NewNonceLog() *NonceLog {
	return &NonceLog{epochs: map[uint64]*epochKeys{}, gens: map[senderGen]bool{}, keys: map[string]bool{}}
}

// epochName is the engine's name of an epoch record (see package engine,
// "Stored components").
func epochName(e uint64) string { return fmt.Sprintf("epoch_%020d.bin", e) }

// Enter reads epoch's record of group gid from a receiver's store st. Call
// it when the receiver has just entered the epoch.
func (l *NonceLog) Enter(ctx context.Context, st engine.Storage, gid []byte, epoch uint64) error {
	if _, ok := l.epochs[epoch]; ok {
		return nil
	}
	b, err := st.Get(ctx, engine.Key{Group: gid, Kind: engine.KindEpochSecrets, Name: epochName(epoch)})
	if err != nil {
		return fmt.Errorf("nonce log: epoch %d: %w", epoch, err)
	}
	// version, GroupContext, secrets, secret tree, leases (and, from
	// version 2, retired signature keys): only the first fields are read.
	r := codec.NewReader(b)
	if v := r.Uint8(); r.Err() == nil && v != 1 && v != 2 {
		return fmt.Errorf("nonce log: epoch record version %d", v)
	}
	var gc wire.GroupContext
	gc.UnmarshalTLS(r)
	secrets, treeBytes := r.Opaque(), r.Opaque()
	if err := r.Err(); err != nil {
		return fmt.Errorf("nonce log: epoch record: %w", err)
	}
	var ep keyschedule.Epoch
	if err := ep.UnmarshalBinary(secrets); err != nil {
		return fmt.Errorf("nonce log: epoch secrets: %w", err)
	}
	tree, err := loadSecretTree(ctx, st, gid, epoch, treeBytes)
	if err != nil {
		return err
	}
	cfg := tree.Config()
	cfg.MaxForward = 1 << 20
	if err := tree.SetConfig(cfg); err != nil {
		return fmt.Errorf("nonce log: %w", err)
	}
	cs, err := suite.New(suite.ID(gc.CipherSuite))
	if err != nil {
		return fmt.Errorf("nonce log: %w", err)
	}
	l.epochs[epoch] = &epochKeys{cs: cs, senderData: ep.SenderDataSecret, tree: tree}
	return nil
}

// Observe records the PrivateMessage msg (an MLSMessage) and fails with
// ErrReuse if its sender generation, or its key and nonce, were seen.
func (l *NonceLog) Observe(msg []byte) (leaf, generation uint32, err error) {
	m, err := wire.ParseMLSMessage(msg, engine.DefaultMaxMessageSize)
	if err != nil {
		return 0, 0, fmt.Errorf("nonce log: %w", err)
	}
	pm := m.PrivateMessage
	if pm == nil {
		return 0, 0, fmt.Errorf("nonce log: not a PrivateMessage")
	}
	ek, ok := l.epochs[pm.Epoch]
	if !ok {
		return 0, 0, fmt.Errorf("nonce log: epoch %d was never entered", pm.Epoch)
	}
	sd, err := framing.OpenSenderData(ek.cs, ek.senderData, pm)
	if err != nil {
		return 0, 0, fmt.Errorf("nonce log: sender data: %w", err)
	}
	key, nonce, err := ek.tree.Peek(sd.LeafIndex, framing.RatchetType(pm.ContentType), sd.Generation)
	if err != nil {
		return 0, 0, fmt.Errorf("nonce log: key of leaf %d generation %d: %w", sd.LeafIndex, sd.Generation, err)
	}
	nonce = append([]byte(nil), nonce...)
	for i := range sd.ReuseGuard {
		nonce[i] ^= sd.ReuseGuard[i]
	}
	l.Messages++
	sg := senderGen{epoch: pm.Epoch, leaf: sd.LeafIndex, ratchet: framing.RatchetType(pm.ContentType), gen: sd.Generation}
	if l.gens[sg] {
		return sd.LeafIndex, sd.Generation, fmt.Errorf("%w: epoch %d leaf %d generation %d", ErrReuse, sg.epoch, sg.leaf, sg.gen)
	}
	l.gens[sg] = true
	kn := hex.EncodeToString(key) + "/" + hex.EncodeToString(nonce)
	if l.keys[kn] {
		return sd.LeafIndex, sd.Generation, fmt.Errorf("%w: key and nonce of epoch %d leaf %d generation %d", ErrReuse, sg.epoch, sg.leaf, sg.gen)
	}
	l.keys[kn] = true
	return sd.LeafIndex, sd.Generation, nil
}

// loadSecretTree decodes an epoch's secret tree: the whole tree in the
// epoch record, or its header there and one ratchet_<N>_<leaf>.bin record
// per leaf with ratchets.
func loadSecretTree(ctx context.Context, st engine.Storage, gid []byte, epoch uint64, tree []byte) (*secrettree.Tree, error) {
	var t secrettree.Tree
	if err := t.UnmarshalBinary(tree); err == nil {
		return &t, nil
	}
	names, err := st.List(ctx, gid, engine.KindEpochSecrets)
	if err != nil {
		return nil, fmt.Errorf("nonce log: %w", err)
	}
	prefix := fmt.Sprintf("ratchet_%020d_", epoch)
	var leaves [][]byte
	for _, n := range names {
		if !strings.HasPrefix(n, prefix) {
			continue
		}
		b, err := st.Get(ctx, engine.Key{Group: gid, Kind: engine.KindEpochSecrets, Name: n})
		if err != nil {
			return nil, fmt.Errorf("nonce log: %w", err)
		}
		leaves = append(leaves, b)
	}
	if err := t.UnmarshalParts(tree, leaves); err != nil {
		return nil, fmt.Errorf("nonce log: secret tree of epoch %d: %w", epoch, err)
	}
	return &t, nil
}
