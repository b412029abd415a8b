// Package quickstart is `mlsbackup demo`: the README's first command, run in
// one process with no agent and no network.
//
// Several members (alice, bob, carol, dave), each with its own data directory
// (a localstore), run one MLS group through epochs of adds, self-updates, a
// removal and application messages; the demo itself plays the delivery
// service and keeps every commit it delivered. Every Options.EveryEpochs
// epochs each member cuts a snapshot of its group, encrypts it with age to a
// freshly generated identity's recipient and uploads it to its own prefix of a
// local directory bucket (or the destination it is given). Then bob's data
// directory is wiped, restored from the bucket with package restore, and bob
// catches up by processing the commits he missed since his snapshot, decrypts
// a new message from alice and sends from a fresh epoch.
//
// Run writes one progress line per step and returns a [Summary].
package quickstart
