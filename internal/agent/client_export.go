package agent

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/mlsbackup/mlsbackup/engine"
)

// Exporter returns MLS-Exporter(label, context, length) of the group's
// current epoch.
func (c *Client) Exporter(ctx context.Context, id []byte, req ExporterRequest) (ExporterResponse, error) {
	var r ExporterResponse
	err := c.do(ctx, http.MethodPost, groupPath(id, "exporter"), req, &r)
	return r, err
}

// Inspect describes what a snapshot of the group holds, without a secret.
func (c *Client) Inspect(ctx context.Context, id []byte) (InspectReport, error) {
	var r InspectReport
	err := c.do(ctx, http.MethodGet, groupPath(id, "inspect"), nil, &r)
	return r, err
}

// ExportSnapshot returns the group's snapshot, cut with the epoch it
// reports: age-encrypted to recipients (age1… or ssh- public keys), or the
// plaintext GroupSnapshot without any (the agent gives that only over its
// unix socket). Info carries the epoch and epoch authenticator.
func (c *Client) ExportSnapshot(ctx context.Context, id []byte, recipients ...string) (ExportedSnapshot, error) {
	q := url.Values{}
	for _, r := range recipients {
		q.Add("recipient", r)
	}
	path := groupPath(id, "snapshot")
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	data, h, err := c.roundTrip(ctx, http.MethodGet, path, nil)
	if err != nil {
		return ExportedSnapshot{}, err
	}
	epoch, err1 := strconv.ParseUint(h.Get(HeaderSnapshotEpoch), 10, 64)
	ea, err2 := hex.DecodeString(h.Get(HeaderSnapshotAuthenticator))
	if err1 != nil || err2 != nil {
		return ExportedSnapshot{}, fmt.Errorf("export snapshot: the answer lacks its epoch headers")
	}
	return ExportedSnapshot{Info: engine.SnapshotInfo{GroupID: id, Epoch: epoch, EpochAuthenticator: ea, Size: len(data)},
		Encrypted: h.Get(HeaderSnapshotEncrypted) == "true", Data: data}, nil
}
