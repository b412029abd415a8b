// Command mlsbackup runs MLS (RFC 9420) groups for an application, keeps
// their state crash-safe on local disk, and backs it up as age-encrypted
// snapshots to S3-compatible storage or a local directory.
//
// Run "mlsbackup --help" for the commands, and see README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // snapshot.timezone works on hosts without zoneinfo
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, streams{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	stop()
	os.Exit(code)
}
