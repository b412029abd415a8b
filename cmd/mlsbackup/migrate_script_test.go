package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/mlsbackup/mlsbackup/engine"
	"github.com/mlsbackup/mlsbackup/engine/suite"
	"github.com/mlsbackup/mlsbackup/internal/agent"
	"github.com/mlsbackup/mlsbackup/internal/config"
	"github.com/mlsbackup/mlsbackup/internal/fsx"
	"github.com/mlsbackup/mlsbackup/internal/testenv"
	"github.com/mlsbackup/mlsbackup/uploader"
)

// TestMigrateScripts runs the copy and rekey scenarios of
// testdata/migrate against a local directory and a MinIO started for
// them (S3_ENDPOINT, S3_BUCKET, S3_ACCESS, S3_SECRET, S3_REGION), with two
// commands of their own: "newkeys NAME" writes NAME.id (an identity that
// trusts NAME.sk's signer), NAME.rcp and NAME.sk; "fill CONFIG GROUPS
// EPOCHS" uploads real group snapshots as the agent of CONFIG would.
func TestMigrateScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO")
	}
	testscript.Run(t, testscript.Params{
		Dir:   "testdata/migrate",
		Setup: minioScriptEnv(testenv.MinIO(t)),
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"newkeys": cmdNewKeys,
			"fill":    cmdFill,
		},
	})
}

// minioScriptEnv sets the environment of a testscript that uses srv:
// S3_ENDPOINT, S3_BUCKET, S3_ACCESS, S3_SECRET, S3_REGION and a fresh
// S3_PREFIX; MLSBACKUP_CONFIG is cleared.
func minioScriptEnv(srv *testenv.Server) func(*testscript.Env) error {
	return func(e *testscript.Env) error {
		e.Setenv("MLSBACKUP_CONFIG", "")
		e.Setenv("S3_ENDPOINT", srv.Endpoint)
		e.Setenv("S3_BUCKET", srv.Bucket)
		e.Setenv("S3_ACCESS", srv.AccessKey)
		e.Setenv("S3_SECRET", srv.SecretKey)
		e.Setenv("S3_REGION", srv.Region)
		e.Setenv("S3_PREFIX", fmt.Sprintf("t%d", time.Now().UnixNano()))
		return nil
	}
}

func cmdNewKeys(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: newkeys NAME")
	}
	_, err := newKeyFiles(ts.MkAbs(args[0]))
	ts.Check(err)
}

// newKeyFiles writes name.id (an identity that trusts name.sk's signer),
// name.rcp and name.sk, and returns the signer.
func newKeyFiles(name string) (uploader.Signer, error) {
	signer, err := uploader.GenerateSigningKeyFile(fsx.OS{}, name+".sk", time.Now())
	if err != nil {
		return signer, err
	}
	content, recipient, err := uploader.NewIdentityFile(time.Now(), signer)
	if err != nil {
		return signer, err
	}
	if err := os.WriteFile(name+".id", content, 0o600); err != nil {
		return signer, err
	}
	return signer, os.WriteFile(name+".rcp", []byte(recipient+"\n"), 0o600)
}

func cmdFill(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: fill CONFIG GROUPS EPOCHS")
	}
	groups, err1 := strconv.Atoi(args[1])
	epochs, err2 := strconv.Atoi(args[2])
	if err1 != nil || err2 != nil {
		ts.Fatalf("fill: GROUPS and EPOCHS are numbers")
	}
	f, err := os.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	defer f.Close()
	cfg, err := config.ParseEnv(f, func(name string) (string, bool) { v := ts.Getenv(name); return v, v != "" })
	ts.Check(err)
	ts.Check(fill(context.Background(), cfg, groups, epochs))
}

// fill uploads, as the agent of cfg would, snapshots of groups real MLS
// groups at epochs epochs each (epochs 1 to epochs), and a head; the
// prefix's lease is left to the agent (cfg.ClientName).
func fill(ctx context.Context, cfg *config.Config, groups, epochs int) error {
	rcp, err := agent.Recipients(cfg)
	if err != nil {
		return err
	}
	key, err := agent.LoadSigningKey(cfg, nil)
	if err != nil {
		return err
	}
	st, err := agent.OpenDestination(ctx, cfg)
	if err != nil {
		return err
	}
	b, err := uploader.New(st, uploader.Options{Prefix: cfg.Destination.Prefix, InlineMax: cfg.Destination.InlineMax,
		Recipients: rcp, SigningKey: key, AgentID: cfg.ClientName})
	if err != nil {
		return err
	}
	for g := range groups {
		mem := engine.NewMemStorage()
		grp, err := engine.NewClient(mem, []byte("alice"), engine.Options{}).CreateGroup(ctx, suite.X25519AES128GCMSHA256Ed25519, []byte{'g', byte('a' + g)})
		if err != nil {
			return err
		}
		for range epochs {
			if _, err := grp.Commit(ctx, engine.CommitOptions{SelfUpdate: true}); err != nil {
				return err
			}
			if _, err := grp.MergePendingCommit(ctx); err != nil {
				return err
			}
			if _, err := uploadSnapshot(ctx, b, mem, grp.GroupID()); err != nil {
				return err
			}
		}
	}
	_, err = b.WriteHead(ctx)
	return err
}

// uploadSnapshot exports group gid's snapshot from st and uploads it as
// the agent does; it returns the snapshot.
func uploadSnapshot(ctx context.Context, b *uploader.Backup, st engine.Storage, gid []byte) ([]byte, error) {
	data, info, err := engine.ExportSnapshot(ctx, st, gid)
	if err != nil {
		return nil, err
	}
	_, err = b.Upload(ctx, uploader.SnapshotMeta{GroupID: info.GroupID, Epoch: info.Epoch, Size: int64(len(data)),
		Format: agent.SnapshotFormat, EpochAuthenticator: info.EpochAuthenticator}, bytes.NewReader(data))
	return data, err
}
