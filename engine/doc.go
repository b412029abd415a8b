// Package engine implements the Messaging Layer Security protocol (RFC 9420)
// for mlsbackup: cipher suites, the wire format, the ratchet tree and
// TreeKEM, the key schedule and secret tree, framing, proposals, commits,
// Welcome and KeyPackages, a Group API, and snapshot export/import.
//
// The engine persists only through the [Storage] interface defined here.
// Every state transition is written as one [Batch], so a store that applies
// batches atomically (localstore) makes every transition all-or-nothing.
// [MemStorage] is an in-memory implementation for tests.
//
// The engine is written from the RFC on Go's standard library: the module
// proxy refuses github.com/cisco/go-mls, which also stopped at draft-09.
package engine
