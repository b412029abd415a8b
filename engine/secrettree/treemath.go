package secrettree

import "math/bits"

// The array-based tree math of RFC 9420 Appendix C that the secret tree
// needs. Node x sits at level = number of trailing one bits of x; leaf i is
// node 2i.

// level returns the level of node x (0 for leaves).
func level(x uint32) uint {
	return uint(bits.TrailingZeros32(^x))
}

// width returns the number of nodes of a tree with n leaves.
func width(n uint32) uint32 {
	if n == 0 {
		return 0
	}
	return 2*(n-1) + 1
}

// root returns the root node of a tree with n ≥ 1 leaves.
func root(n uint32) uint32 {
	w := width(n)
	return (uint32(1) << (bits.Len32(w) - 1)) - 1
}

// left returns the left child of the intermediate node x.
func left(x uint32) uint32 {
	k := level(x)
	return x ^ (1 << (k - 1))
}

// right returns the right child of the intermediate node x.
func right(x uint32) uint32 {
	k := level(x)
	return x ^ (3 << (k - 1))
}

// path returns the nodes from the root of an n-leaf tree down to target,
// root first and target last.
func path(n, target uint32) []uint32 {
	x := root(n)
	out := make([]uint32, 0, level(x)+1)
	for {
		out = append(out, x)
		if x == target || level(x) == 0 {
			return out
		}
		if target < x {
			x = left(x)
		} else {
			x = right(x)
		}
	}
}
