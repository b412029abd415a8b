package agent

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"io"

	"filippo.io/age"

	"github.com/mlsbackup/mlsbackup/engine"
)

// The snapshot's other uses (issue 17): an application exports a group's
// snapshot for its own storage (GET /v1/groups/{id}/snapshot) and takes it
// back with POST /v1/import; it derives keys of its own from the epoch
// with the MLS exporter (POST /v1/groups/{id}/exporter); and anyone may
// see what a snapshot holds without a secret (GET /v1/groups/{id}/inspect).

// MaxExporterLength bounds the length of one exporter output.
const MaxExporterLength = 1024

// MaxExporterLabel bounds the exporter label in bytes.
const MaxExporterLabel = 255

// ExporterRequest asks for MLS-Exporter(label, context, length) of the
// group's current epoch (RFC 9420 §8.5).
type ExporterRequest struct {
	Label   string `json:"label"`
	Context []byte `json:"context,omitempty"`
	Length  int    `json:"length"`
}

// ExporterResponse is the exported secret and the epoch it belongs to.
type ExporterResponse struct {
	GroupID string `json:"group_id"`
	Epoch   uint64 `json:"epoch"`
	Secret  []byte `json:"secret"`
}

// Exporter returns MLS-Exporter(label, context, length) of the group's
// current epoch, with the epoch it belongs to (the two are read together).
func (a *Agent) Exporter(ctx context.Context, id []byte, req ExporterRequest) (ExporterResponse, error) {
	if req.Length < 1 || req.Length > MaxExporterLength {
		return ExporterResponse{}, fmt.Errorf("exporter: %w: length %d is not from 1 to %d", ErrInvalidArgument, req.Length, MaxExporterLength)
	}
	if len(req.Label) > MaxExporterLabel {
		return ExporterResponse{}, fmt.Errorf("exporter: %w: label longer than %d bytes", ErrInvalidArgument, MaxExporterLabel)
	}
	if req.Context == nil {
		req.Context = []byte{}
	}
	resp := ExporterResponse{GroupID: hex.EncodeToString(id)}
	err := a.workOnGroup(ctx, id, func(e *groupEntry) error {
		secret, err := e.g.Export(req.Label, req.Context, req.Length)
		if err != nil {
			return fmt.Errorf("exporter: %w", err)
		}
		resp.Epoch, resp.Secret = e.g.Epoch(), secret
		return nil
	})
	return resp, err
}

// ExportedSnapshot is a group's snapshot as exported to the application.
type ExportedSnapshot struct {
	Info engine.SnapshotInfo
	// Encrypted says Data is an age file (to the request's recipients);
	// otherwise Data is the plaintext GroupSnapshot.
	Encrypted bool
	Data      []byte
}

// ExportSnapshot cuts the group's snapshot with its mutex held, so it is
// exactly the epoch it reports. With recipients the snapshot is
// age-encrypted to them; without, it is the plaintext (the caller decides
// who may receive that: the API gives it only over the unix socket).
// POST /v1/import takes either form's plaintext back.
func (a *Agent) ExportSnapshot(ctx context.Context, id []byte, recipients []age.Recipient) (ExportedSnapshot, error) {
	var out ExportedSnapshot
	err := a.workOnGroup(ctx, id, func(e *groupEntry) error {
		data, info, err := e.g.Snapshot(ctx)
		if err != nil {
			return fmt.Errorf("export snapshot: %w", err)
		}
		out.Info, out.Data = info, data
		return nil
	})
	if err != nil || len(recipients) == 0 {
		return out, err
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, recipients...)
	if err != nil {
		return ExportedSnapshot{}, fmt.Errorf("export snapshot: encrypt: %w", err)
	}
	if _, err := io.Copy(w, bytes.NewReader(out.Data)); err != nil {
		return ExportedSnapshot{}, fmt.Errorf("export snapshot: encrypt: %w", err)
	}
	if err := w.Close(); err != nil {
		return ExportedSnapshot{}, fmt.Errorf("export snapshot: encrypt: %w", err)
	}
	clear(out.Data)
	out.Data, out.Encrypted = buf.Bytes(), true
	return out, nil
}

// InspectReport is what GET /v1/groups/{id}/inspect and `mlsbackup
// snapshot inspect` print: what a snapshot holds, without a secret.
type InspectReport struct {
	FormatVersion      int                `json:"format_version"`
	GroupID            string             `json:"group_id"`
	Epoch              uint64             `json:"epoch"`
	CipherSuite        uint16             `json:"cipher_suite"`
	OwnIndex           uint32             `json:"own_index"`
	Members            []InspectMember    `json:"members"`
	TreeHash           string             `json:"tree_hash"`
	EpochAuthenticator string             `json:"epoch_authenticator"`
	SecretEpochs       []uint64           `json:"secret_epochs"`
	Restored           bool               `json:"restored"`
	Size               int                `json:"size"`
	SHA256             string             `json:"sha256"`
	Components         []InspectComponent `json:"components"`
}

// InspectMember is one member of an inspected snapshot.
type InspectMember struct {
	Index    uint32 `json:"index"`
	Identity string `json:"identity"`
	// SignatureKeySHA256 fingerprints the member's signature public key.
	SignatureKeySHA256 string `json:"signature_key_sha256"`
}

// InspectComponent is one stored component and its size.
type InspectComponent struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	Size int    `json:"size"`
}

// NewInspectReport verifies the plaintext GroupSnapshot data and describes
// it (engine.InspectSnapshot).
func NewInspectReport(ctx context.Context, data []byte) (InspectReport, error) {
	rep, err := engine.InspectSnapshot(ctx, data)
	if err != nil {
		return InspectReport{}, err
	}
	out := InspectReport{FormatVersion: rep.Version, GroupID: hex.EncodeToString(rep.GroupID), Epoch: rep.Epoch,
		CipherSuite: rep.CipherSuite, OwnIndex: rep.OwnIndex, TreeHash: hex.EncodeToString(rep.TreeHash),
		EpochAuthenticator: hex.EncodeToString(rep.EpochAuthenticator), SecretEpochs: rep.SecretEpochs,
		Restored: rep.Restored, Size: rep.Size, SHA256: hex.EncodeToString(rep.SHA256),
		Members: []InspectMember{}, Components: []InspectComponent{}}
	if out.SecretEpochs == nil {
		out.SecretEpochs = []uint64{}
	}
	for _, m := range rep.Members {
		out.Members = append(out.Members, InspectMember{Index: m.Index, Identity: printableIdentity(m.Identity),
			SignatureKeySHA256: hex.EncodeToString(m.SignatureKeySHA256)})
	}
	for _, c := range rep.Components {
		out.Components = append(out.Components, InspectComponent{Kind: string(c.Kind), Name: c.Name, Size: c.Size})
	}
	return out, nil
}

// Inspect describes the group's current state as a snapshot of it would
// hold it.
func (a *Agent) Inspect(ctx context.Context, id []byte) (InspectReport, error) {
	snap, err := a.ExportSnapshot(ctx, id, nil)
	if err != nil {
		return InspectReport{}, err
	}
	defer clear(snap.Data)
	return NewInspectReport(ctx, snap.Data)
}

// printableIdentity returns id as text if it is printable UTF-8, else as
// "hex:<hex>": identities are bytes, not necessarily text.
func printableIdentity(id []byte) string {
	for _, r := range string(id) {
		if r == 0xfffd || r < 0x20 || r == 0x7f {
			return "hex:" + hex.EncodeToString(id)
		}
	}
	return string(id)
}
