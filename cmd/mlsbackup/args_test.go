package main

import (
	"strings"
	"testing"
)

func TestInterspersed(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mlsbackup group add ID --key-package B64 --json", "mlsbackup group add --key-package B64 --json ID"},
		{"mlsbackup --config c.yaml group add ID --key-package=B64", "mlsbackup --config c.yaml group add --key-package=B64 ID"},
		{"mlsbackup -c c.yaml group send ID --data hello --json", "mlsbackup -c c.yaml group send --data hello --json ID"},
		{"mlsbackup group send ID --data --json", "mlsbackup group send --data --json ID"},
		{"mlsbackup group send ID -- --data", "mlsbackup group send ID -- --data"},
		{"mlsbackup list --group ab --json", "mlsbackup list --group ab --json"},
		{"mlsbackup completion bash", "mlsbackup completion bash"},
		{"mlsbackup group", "mlsbackup group"},
		{"mlsbackup group frob --x", "mlsbackup group frob --x"},
		{"mlsbackup frob ID --x", "mlsbackup frob ID --x"},
		{"mlsbackup group add ID --generate-bash-completion", "mlsbackup group add ID --generate-bash-completion"},
		{"mlsbackup", "mlsbackup"},
		// Issue 15: global flags after the command were refused.
		{"mlsbackup list -c x.yaml --json", "mlsbackup -c x.yaml list --json"},
		{"mlsbackup group send ID --data hi --config=x.yaml", "mlsbackup --config=x.yaml group send --data hi ID"},
		{"mlsbackup restore --all --data-dir /d --identity id.txt", "mlsbackup --data-dir /d restore --all --identity id.txt"},
		{"mlsbackup snapshot inspect f.snap --log-level debug", "mlsbackup --log-level debug snapshot inspect f.snap"},
	}
	a := &app{}
	for _, tt := range tests {
		got := strings.Join(interspersed(a.cli(), strings.Fields(tt.in)), " ")
		if got != tt.want {
			t.Errorf("interspersed(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
