package s3store

import (
	"testing"

	"github.com/mlsbackup/mlsbackup/internal/testenv"
	"github.com/mlsbackup/mlsbackup/uploader"
	"github.com/mlsbackup/mlsbackup/uploader/storetest"
)

func TestContract(t *testing.T) {
	servers := []struct {
		name   string
		shared *testenv.Shared
		prefix string
	}{
		{"minio", sharedMinIO, ""},
		{"versitygw", sharedVersity, "backups/host-1"},
	}
	for _, sv := range servers {
		t.Run(sv.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) uploader.ObjectStore {
				srv := sv.shared.Server(t)
				return newTestStore(t, srv, func(c *Config) { c.Prefix = sv.prefix })
			})
		})
	}
}
