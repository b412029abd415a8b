package agent

import (
	"reflect"
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/internal/testenv"
)

// TestMinIO runs two agents whose destination is a real MinIO bucket,
// configured as the operator would (destination.type s3): every-N snapshots
// land in the bucket at epochs N and 2N, complete and decryptable.
// useS3 makes srv's bucket, under prefix, c's destination.
func useS3(c *config.Config, srv *testenv.Server, prefix string) {
	c.Destination.Type = config.DestinationS3
	c.Destination.Prefix = prefix
	c.Destination.S3 = config.S3Destination{
		Bucket: srv.Bucket, Region: srv.Region, Endpoint: srv.Endpoint, PathStyle: true,
		AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey,
		PartSizeMiB: 5, Concurrency: 2, MaxAttempts: 3,
	}
}

func TestMinIO(t *testing.T) {
	ctx := ctxT(t)
	srv := sharedMinIO.Server(t)
	s3cfg := func(prefix string) func(*config.Config) {
		return func(c *config.Config) { useS3(c, srv, prefix) }
	}
	alice := newTestAgent(t, agentOpts{fromConfig: true, identity: "alice", everyEpochs: 2, edit: s3cfg("alice")})
	bob := newTestAgent(t, agentOpts{fromConfig: true, identity: "bob", everyEpochs: 2, edit: s3cfg("bob")})
	gid := []byte("minio-group")
	twoMemberGroup(ctx, t, alice, bob, gid)
	for i := 0; i < 3; i++ { // epochs 2, 3, 4, alternating committers
		from, to := alice, bob
		if i%2 == 1 {
			from, to = bob, alice
		}
		up, err := from.c.Update(ctx, gid, UpdateRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := to.c.Receive(ctx, ReceiveRequest{Message: up.Commit}); err != nil {
			t.Fatal(err)
		}
	}
	alice.idle()
	bob.idle()
	for _, ta := range []*testAgent{alice, bob} {
		if got, want := ta.uploadedEpochs(gid), []uint64{2, 4}; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: uploaded epochs = %v, want %v", ta.cfg.ClientName, got, want)
		}
		ms, err := ta.backup().List(ctx, gid)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if err := ta.backup().Verify(ctx, m); err != nil {
				t.Errorf("%s: Verify %s: %v", ta.cfg.ClientName, m.Key, err)
			}
		}
	}
}
