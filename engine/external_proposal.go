package engine

import (
	"fmt"

	"github.com/mlsbackup/mlsbackup/engine/codec"
	"github.com/mlsbackup/mlsbackup/engine/framing"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/engine/wire"
)

// ExternalProposeRemove creates, for an external sender listed at
// senderIndex of a group's external_senders extension, a Remove proposal
// of leaf in epoch of group groupID, signed with sigPriv (RFC 9420
// §12.1.8.1). It returns the MLSMessage (PublicMessage) to deliver to the
// members.
func ExternalProposeRemove(id suite.ID, sigPriv, groupID []byte, epoch uint64, senderIndex, leaf uint32) ([]byte, error) {
	return externalProposal(id, sigPriv, groupID, epoch, senderIndex, wire.Proposal{ProposalType: wire.ProposalTypeRemove, Remove: &wire.Remove{Removed: leaf}})
}

// ExternalProposeAdd is [ExternalProposeRemove] for an Add of keyPackage.
func ExternalProposeAdd(id suite.ID, sigPriv, groupID []byte, epoch uint64, senderIndex uint32, keyPackage []byte) ([]byte, error) {
	kp, _, err := decodeKeyPackage(keyPackage)
	if err != nil {
		return nil, fmt.Errorf("external proposal: %w", err)
	}
	return externalProposal(id, sigPriv, groupID, epoch, senderIndex, wire.Proposal{ProposalType: wire.ProposalTypeAdd, Add: &wire.Add{KeyPackage: *kp}})
}

func externalProposal(id suite.ID, sigPriv, groupID []byte, epoch uint64, senderIndex uint32, p wire.Proposal) ([]byte, error) {
	cs, err := suite.New(id)
	if err != nil {
		return nil, fmt.Errorf("external proposal: %w", typed(err))
	}
	content := &wire.FramedContent{GroupID: groupID, Epoch: epoch, Sender: wire.Sender{SenderType: wire.SenderTypeExternal, SenderIndex: senderIndex},
		AuthenticatedData: []byte{}, ContentType: wire.ContentTypeProposal, Proposal: &p}
	ac, err := framing.Sign(cs, sigPriv, wire.WireFormatPublicMessage, content, nil)
	if err != nil {
		return nil, fmt.Errorf("external proposal: sign: %w", err)
	}
	pm, err := framing.ProtectPublic(cs, nil, ac, nil)
	if err != nil {
		return nil, fmt.Errorf("external proposal: protect: %w", err)
	}
	return codec.Marshal(wire.MLSMessage{Version: wire.ProtocolVersionMLS10, WireFormat: wire.WireFormatPublicMessage, PublicMessage: pm}), nil
}
