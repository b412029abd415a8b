package engine

import (
	"bytes"
	"context"
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/framing"
	"github.com/mlsbackup/mlsbackup/engine/tree"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// Process handles one incoming MLSMessage (PublicMessage or PrivateMessage)
// and returns what it carried. A proposal is cached for the epoch; a commit
// is applied (discarding this member's pending commit, unless it is that
// very commit, which is then merged). On any error the group is unchanged,
// in memory and in storage, and the error wraps one of the package's
// sentinels (ErrMalformed, ErrWrongGroup, ErrWrongEpoch, ErrBadSignature,
// ErrBadMembershipTag, ErrDecrypt, ErrReplay, ErrTooLarge, ErrNotMember, ...).
// With an [Attach] (at most one), what the message carried is stored in the
// batch that consumes it.
func (g *Group) Process(ctx context.Context, msg []byte, attach ...Attach) (*Result, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.usable(); err != nil {
		return nil, err
	}
	g.call = newAttachCall(attach)
	defer func() { g.call = nil }()
	if len(msg) > g.opts.MaxMessageSize {
		return nil, fmt.Errorf("process: %d bytes > %d: %w", len(msg), g.opts.MaxMessageSize, ErrTooLarge)
	}
	m, err := wire.ParseMLSMessage(msg, 0)
	if err != nil {
		return nil, fmt.Errorf("process: %w", typed(err))
	}
	var res *Result
	switch m.WireFormat {
	case wire.WireFormatPublicMessage:
		res, err = g.processPublic(ctx, m.PublicMessage)
	case wire.WireFormatPrivateMessage:
		res, err = g.processPrivate(ctx, m.PrivateMessage)
	default:
		err = fmt.Errorf("wire format %d is not a group message: %w", m.WireFormat, ErrMalformed)
	}
	if err != nil {
		return nil, fmt.Errorf("process: %w", err)
	}
	return res, nil
}

func (g *Group) processPublic(ctx context.Context, pm *wire.PublicMessage) (*Result, error) {
	s := g.s
	if !bytes.Equal(pm.Content.GroupID, s.gc.GroupID) {
		return nil, fmt.Errorf("group %x: %w", pm.Content.GroupID, ErrWrongGroup)
	}
	if pm.Content.Epoch != s.gc.Epoch {
		return nil, fmt.Errorf("epoch %d, current %d: %w", pm.Content.Epoch, s.gc.Epoch, ErrWrongEpoch)
	}
	ac, err := framing.UnprotectPublic(s.cs, s.epoch.MembershipKey, pm, &s.gc)
	if err != nil {
		return nil, typed(err)
	}
	pub, err := s.senderKey(ac)
	if err != nil {
		return nil, err
	}
	if err := framing.VerifySignature(s.cs, pub, ac, &s.gc); err != nil {
		return nil, typed(err)
	}
	return g.handle(ctx, ac, s)
}

func (g *Group) processPrivate(ctx context.Context, pm *wire.PrivateMessage) (*Result, error) {
	s := g.s
	if !bytes.Equal(pm.GroupID, s.gc.GroupID) {
		return nil, fmt.Errorf("group %x: %w", pm.GroupID, ErrWrongGroup)
	}
	if pm.Epoch != s.gc.Epoch {
		return g.processLate(ctx, pm)
	}
	ac, sd, err := framing.UnprotectPrivate(s.cs, s.epoch.SenderDataSecret, pm, &s.gc, framing.TreeKeys(s.secrets))
	if err != nil {
		if ownPrivateCommit(s, pm) {
			return nil, ownCommitNotPending(s)
		}
		return nil, typed(err)
	}
	pub, err := s.senderKey(ac)
	if err != nil {
		return nil, err
	}
	// Verified before anything else, on this CPU: handing the key
	// consumption and batch to the other CPU meanwhile saved a few µs at
	// best on an idle machine and cost more whenever the CPUs were shared
	// (measured).
	if err := framing.VerifySignature(s.cs, pub, ac, &s.gc); err != nil {
		return nil, typed(err)
	}
	base := *s
	base.secrets = s.secrets.Clone()
	if err := base.secrets.Consume(sd.LeafIndex, framing.RatchetType(ac.Content.ContentType), sd.Generation); err != nil {
		return nil, typed(err)
	}
	return g.handle(ctx, ac, &base)
}

// processLate opens an application message of a retained earlier epoch.
func (g *Group) processLate(ctx context.Context, pm *wire.PrivateMessage) (*Result, error) {
	s := g.s
	idx := -1
	for i, p := range s.past {
		if p.gc.Epoch == pm.Epoch {
			idx = i
		}
	}
	if idx < 0 || pm.ContentType != wire.ContentTypeApplication {
		return nil, fmt.Errorf("epoch %d, current %d: %w", pm.Epoch, s.gc.Epoch, ErrWrongEpoch)
	}
	p := s.past[idx]
	ac, sd, err := framing.UnprotectPrivate(s.cs, p.epoch.SenderDataSecret, pm, &p.gc, framing.TreeKeys(p.secrets))
	if err != nil {
		return nil, typed(err)
	}
	// The sender's key is the one its leaf held in that epoch.
	pub, err := s.pastSenderKey(idx, ac)
	if err != nil {
		return nil, err
	}
	if err := framing.VerifySignature(s.cs, pub, ac, &p.gc); err != nil {
		return nil, typed(err)
	}
	np := p.clone()
	np.dirty = true
	if err := np.secrets.Consume(sd.LeafIndex, framing.RatchetType(ac.Content.ContentType), sd.Generation); err != nil {
		return nil, typed(err)
	}
	ns := *s
	ns.past = append([]*pastEpoch(nil), s.past...)
	ns.past[idx] = np
	res := resultOf(ac)
	res.Kind = ContentApplication
	res.ApplicationData = ac.Content.ApplicationData
	g.noteResult(res)
	if err := g.commitState(ctx, "ProcessLateMessage", &ns); err != nil {
		return nil, err
	}
	return res, nil
}

// pastSenderKey returns the signature public key the member sending ac had
// in the retained past epoch s.past[idx]: the key recorded when the first
// later commit changed its leaf, or the current tree's if none did.
func (s *groupState) pastSenderKey(idx int, ac *wire.AuthenticatedContent) ([]byte, error) {
	if snd := ac.Content.Sender; snd.SenderType == wire.SenderTypeMember {
		for _, p := range s.past[idx:] {
			if k, ok := p.retired[snd.LeafIndex]; ok {
				if len(k) == 0 {
					return nil, fmt.Errorf("sender leaf %d was blank in epoch %d: %w", snd.LeafIndex, s.past[idx].gc.Epoch, ErrNotMember)
				}
				return k, nil
			}
		}
	}
	return s.senderKey(ac)
}

// senderKey returns the signature public key of the message's sender.
func (s *groupState) senderKey(ac *wire.AuthenticatedContent) ([]byte, error) {
	snd := ac.Content.Sender
	switch snd.SenderType {
	case wire.SenderTypeMember:
		leaf := s.tree.Leaf(tree.LeafIndex(snd.LeafIndex))
		if leaf == nil {
			return nil, fmt.Errorf("sender leaf %d: %w", snd.LeafIndex, ErrNotMember)
		}
		return leaf.SignatureKey, nil
	case wire.SenderTypeExternal:
		es, err := externalSenders(s.gc.Extensions)
		if err != nil {
			return nil, err
		}
		if int(snd.SenderIndex) >= len(es) {
			return nil, fmt.Errorf("external sender %d: %w", snd.SenderIndex, ErrNotMember)
		}
		return es[snd.SenderIndex].SignatureKey, nil
	case wire.SenderTypeNewMemberProposal:
		p := ac.Content.Proposal
		if p == nil || p.Add == nil {
			return nil, fmt.Errorf("new member proposal is not an add: %w", ErrInvalidProposal)
		}
		return p.Add.KeyPackage.LeafNode.SignatureKey, nil
	case wire.SenderTypeNewMemberCommit:
		c := ac.Content.Commit
		if c == nil || c.Path == nil {
			return nil, fmt.Errorf("external commit without path: %w", ErrInvalidCommit)
		}
		return c.Path.LeafNode.SignatureKey, nil
	}
	return nil, fmt.Errorf("sender type %d: %w", snd.SenderType, ErrMalformed)
}

func resultOf(ac *wire.AuthenticatedContent) *Result {
	snd := ac.Content.Sender
	r := &Result{Epoch: ac.Content.Epoch, SenderType: uint8(snd.SenderType), AuthenticatedData: ac.Content.AuthenticatedData}
	switch snd.SenderType {
	case wire.SenderTypeMember:
		r.Sender = snd.LeafIndex
	case wire.SenderTypeExternal:
		r.Sender = snd.SenderIndex
	}
	return r
}

// handle acts on authenticated content; base is the state to build on
// (the current state, with the message's ratchet key consumed if any).
func (g *Group) handle(ctx context.Context, ac *wire.AuthenticatedContent, base *groupState) (*Result, error) {
	res := resultOf(ac)
	switch ac.Content.ContentType {
	case wire.ContentTypeApplication:
		res.Kind = ContentApplication
		res.ApplicationData = ac.Content.ApplicationData
		g.noteResult(res)
		if err := g.commitEpoch(ctx, "ProcessApplication", base); err != nil {
			return nil, err
		}
		return res, nil
	case wire.ContentTypeProposal:
		p := ac.Content.Proposal
		if err := base.checkProposal(ctx, -1, p, ac.Content.Sender, g.opts); err != nil {
			return nil, err
		}
		ref := base.proposalRef(ac)
		res.Kind = ContentProposal
		res.Proposal = &ProposalInfo{Type: uint16(p.ProposalType), Ref: ref}
		ns := *base
		if _, ok := base.findProposal(ref); !ok {
			ns.proposals = append(append([]cachedProposal(nil), base.proposals...), cachedProposal{Ref: ref, Proposal: *p, Sender: ac.Content.Sender})
		}
		g.noteResult(res)
		if err := g.commitState(ctx, "ProcessProposal", &ns); err != nil {
			return nil, err
		}
		return res, nil
	case wire.ContentTypeCommit:
		snd := ac.Content.Sender
		var st *staged
		var err error
		if snd.SenderType == wire.SenderTypeMember && snd.LeafIndex == uint32(base.me()) {
			if base.pending == nil || !bytes.Equal(base.pending.Digest, base.cs.Hash(codec.Marshal(*ac))) {
				return nil, ownCommitNotPending(base)
			}
			if st, err = base.mergeOwn(ctx, base.pending, g.opts); err == nil {
				st.mergeOwnRestored(base.pending)
			}
		} else {
			st, err = base.processCommit(ctx, ac, g.opts)
		}
		if err != nil {
			return nil, err
		}
		res.Kind = ContentCommit
		res.Commit = st.info()
		g.noteResult(res)
		if err := g.enter(ctx, "ProcessCommit", st); err != nil {
			return nil, err
		}
		return res, nil
	}
	return nil, fmt.Errorf("content type %d: %w", ac.Content.ContentType, ErrMalformed)
}

// commitState persists the transition from g.s to ns and swaps it in.
func (g *Group) commitState(ctx context.Context, op string, ns *groupState) error {
	b, err := stateBatch(op, g.s, ns)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := g.call.extend(b, ns, false); err != nil {
		return err
	}
	if !b.Empty() {
		if err := g.st.Apply(ctx, b); err != nil {
			return fmt.Errorf("%s: store: %w", op, err)
		}
	}
	ns.committed()
	g.s = ns
	return nil
}

// commitEpoch persists a transition that changed only the current epoch's
// secret tree or leases (application messages) and swaps it in: the
// fast path of commitState, writing just the epoch record.
func (g *Group) commitEpoch(ctx context.Context, op string, ns *groupState) error {
	b, err := epochBatch(op, g.s, ns)
	if err != nil {
		return err
	}
	return g.applyEpoch(ctx, b, ns)
}

// epochBatch is the batch of commitEpoch: the current epoch's records that
// changed from old to ns. It takes the change set of ns's secret tree.
func epochBatch(op string, old, ns *groupState) (*Batch, error) {
	header, leaves := ns.secrets.TakeChanges()
	// The batch and room for its usual single put (the record of the
	// ratchet a message used) come in one allocation.
	a := &struct {
		b    Batch
		puts [1]Put
	}{b: Batch{Op: op, Group: ns.gc.GroupID}}
	b := &a.b
	b.Puts = a.puts[:0]
	put := func(kind Kind, name string, v []byte) {
		b.Puts = append(b.Puts, Put{Key: Key{Group: ns.gc.GroupID, Kind: kind, Name: name}, Value: v})
	}
	if err := epochPuts(put, ns.gc, ns.epoch, ns.secrets, ns.lease, nil, ns.cs.Nh(), false, header || ns.lease != old.lease, leaves); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return b, nil
}

// applyEpoch stores b (unless empty) and swaps ns in.
func (g *Group) applyEpoch(ctx context.Context, b *Batch, ns *groupState) error {
	if err := g.call.extend(b, ns, false); err != nil {
		return err
	}
	if !b.Empty() {
		if err := g.st.Apply(ctx, b); err != nil {
			return fmt.Errorf("%s: store: %w", b.Op, err)
		}
	}
	g.s = ns
	return nil
}

// enter makes a staged commit's new epoch the group's state, or closes the
// group if the commit removed this member or reinitializes the group.
func (g *Group) enter(ctx context.Context, op string, st *staged) error {
	if st.ep != nil {
		st.ep.Forget()
	}
	if st.selfRemoved || st.reinit != nil {
		b, err := deleteGroupBatch(ctx, g.st, op, g.id)
		if err != nil {
			return err
		}
		if err := g.call.extend(b, st.ns, true); err != nil {
			return err
		}
		if err := g.st.Apply(ctx, b); err != nil {
			return fmt.Errorf("%s: store: %w", op, err)
		}
		g.closed = true
		return nil
	}
	return g.commitState(ctx, op, st.ns)
}

// deleteGroupBatch deletes every stored component of the group.
func deleteGroupBatch(ctx context.Context, st Storage, op string, gid []byte) (*Batch, error) {
	b := &Batch{Op: op, Group: gid}
	for _, k := range []Kind{KindState, KindKeys, KindEpochSecrets} {
		names, err := st.List(ctx, gid, k)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", k, err)
		}
		for _, n := range names {
			b.Deletes = append(b.Deletes, Key{Group: gid, Kind: k, Name: n})
		}
	}
	return b, nil
}
