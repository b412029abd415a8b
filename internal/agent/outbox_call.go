package agent

import (
	"context"
	"encoding/hex"
	"errors"

	"github.com/mlsbackup/mlsbackup/engine"
)

// errReplayed ends a call answered from the outbox.
var errReplayed = errors.New("answered from the outbox")

// outboxed runs one mutating call through the outbox: a call whose key
// (see [outbox.begin]) already has a stored answer gets that answer and
// changes nothing; otherwise run makes the transition, storing its answer
// with c.attach.
func outboxed[Resp any](ctx context.Context, o *outbox, op, key string, message []byte, request string, run func(c *outboxCall) (Resp, error)) (Resp, error) {
	var zero Resp
	c, err := o.begin(ctx, op, key, message, request)
	if err != nil {
		return zero, err
	}
	var resp Resp
	ok, err := c.replay(ctx, &resp)
	if ok || err != nil {
		c.end(ctx, errReplayed)
		return resp, err
	}
	resp, err = run(c)
	c.end(ctx, err)
	return resp, err
}

// u16 and flag encode request parts for requestHash.
func u16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }

func flag(b bool) []byte {
	if b {
		return []byte{1}
	}
	return []byte{0}
}

// groupInfoOf describes the group a transition left, as [Agent.describe]
// does for a loaded group (without the last upload, which a new group
// does not have).
func groupInfoOf(o *engine.Outcome) GroupInfo {
	return GroupInfo{
		GroupID:            hex.EncodeToString(o.GroupID),
		Epoch:              o.Epoch,
		CipherSuite:        o.CipherSuite,
		OwnIndex:           o.OwnIndex,
		Members:            members(o.Members),
		EpochAuthenticator: hex.EncodeToString(o.EpochAuthenticator),
	}
}
