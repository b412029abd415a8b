package killcampaign

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binary is mlsbackup built with the killpoint tag, once, by TestMain.
var binary string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mlsbackup-kc-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "killcampaign:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "mlsbackup")
	out, err := exec.Command("go", "build", "-tags", "killpoint", "-o", binary, "github.com/mlsbackup/mlsbackup/cmd/mlsbackup").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "killcampaign: go build -tags killpoint: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}
