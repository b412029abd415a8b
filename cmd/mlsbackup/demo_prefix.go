package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/mlsbackup/mlsbackup/uploader"
)

// demoPrefix returns a prefix of the demo's own beside the configured one
// ("<prefix>-demo-<random>"), never inside a prefix an agent uses, and
// checks that nothing is stored under it yet.
func demoPrefix(ctx context.Context, store uploader.ObjectStore, configured string) (string, error) {
	var r [6]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	base := strings.TrimSuffix(configured, "/")
	if base == "" {
		base = "mlsbackup"
	}
	prefix := base + "-demo-" + hex.EncodeToString(r[:])
	objs, err := store.List(ctx, prefix+"/")
	if err != nil {
		return "", fmt.Errorf("demo: list %s: %w", store, err)
	}
	if len(objs) > 0 {
		return "", fmt.Errorf("demo: %s/ of %s is not empty", prefix, store)
	}
	return prefix, nil
}

// removePrefix deletes every object under prefix/ and returns how many.
func removePrefix(ctx context.Context, store uploader.ObjectStore, prefix string) (int, error) {
	objs, err := store.List(ctx, prefix+"/")
	if err != nil {
		return 0, err
	}
	for _, o := range objs {
		if err := store.Delete(ctx, o.Key); err != nil {
			return 0, err
		}
	}
	return len(objs), nil
}
