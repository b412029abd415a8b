package engine

import "time"

// timeNow is the wall clock used to date new KeyPackages when
// [Options.Now] is not set.
func timeNow() time.Time { return time.Now() }
