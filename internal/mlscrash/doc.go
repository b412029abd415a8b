// Package mlscrash drives real MLS groups (package engine) over a
// crash-injected localstore: an [MLS] workload for the crashtest harness,
// in which one member under test keeps its state in the store being
// crashed while the other members keep theirs in engine.MemStorage, and a
// [NonceLog] that records the sender, generation, key and nonce of every
// PrivateMessage so that a test can prove none repeats across crashes.
//
// After each crash the recovered member is checked at the MLS level: every
// group it holds is at the epoch it had acknowledged (or one further, if
// the operation in flight survived) with the authenticator the other
// members saw for that epoch; the messages it had not durably processed
// are re-delivered from the delivery-service log; then every member of
// every group agrees on the epoch authenticator, and one more commit and
// one more application message go through.
package mlscrash
