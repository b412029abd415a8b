package engine

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkSnapshot measures GroupSnapshot export (from storage) and import
// (into an empty storage) of one member's group in the sparse shape, as
// BenchmarkSnapshot/<op>/n=<size>; it reports the snapshot size.
func BenchmarkSnapshot(b *testing.B) {
	ctx := context.Background()
	for _, n := range benchSizes[1:] {
		if testing.Short() && n > 1000 {
			continue
		}
		var g *benchGroup
		setup := func(b *testing.B) *benchGroup {
			if g == nil {
				g = newSparseGroup(b, n)
				b.ResetTimer()
			}
			return g
		}
		b.Run(fmt.Sprintf("export/n=%d", n), func(b *testing.B) {
			g := setup(b)
			var size int
			for i := 0; i < b.N; i++ {
				data, _, err := ExportSnapshot(ctx, g.b.st, g.b.g.GroupID())
				if err != nil {
					b.Fatal(err)
				}
				size = len(data)
			}
			b.ReportMetric(float64(size), "snapshot-bytes")
		})
		b.Run(fmt.Sprintf("import/n=%d", n), func(b *testing.B) {
			g := setup(b)
			data, _, err := ExportSnapshot(ctx, g.b.st, g.b.g.GroupID())
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := ImportSnapshot(ctx, NewMemStorage(), data, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
