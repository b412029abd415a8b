//go:build !killpoint

package main

import "github.com/mlsbackup/mlsbackup/internal/fsx"

// dataFS is the file system of the data directory (the agent's and
// restore's): the real one. Builds with the killpoint tag, for the kill
// campaign of internal/killcampaign, wrap it to kill the process at an
// aimed step (killpoint_on.go).
func dataFS() fsx.FS { return fsx.OS{} }
