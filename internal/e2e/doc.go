// Package e2e holds mlsbackup's end-to-end tests: they build the mlsbackup
// binary once, run it as real processes (commands and agents) against a real
// MinIO server started by internal/testenv, and check what an operator would
// see. The README's quickstarts run here too, from the README's own text
// (readme_test.go), and every link of the README and docs/ is checked.
// The package has no non-test code besides this comment.
package e2e
