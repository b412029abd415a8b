package suite

// scalarBits bounds the scalars the tables multiply: reduced modulo the
// group order L < 2^253.
const scalarBits = 253

// maxDigits is the most signed digits a recoded scalar has (window of 4).
const maxDigits = (scalarBits + 3) / 4

// fixedTable holds, for one point P and a window of w bits, the multiples
// j·2^(w·i)·P for j = 1 … 2^(w−1) and every window i, so that [s]P is one
// mixed addition per nonzero signed digit of s and no doubling.
type fixedTable struct {
	w    int
	half int          // 2^(w−1), the entries per window
	pts  []nielsPoint // window i, multiple j at pts[i*half+j-1]
}

// windows returns how many signed digits of w bits a scalar below
// 2^scalarBits needs: the top window holds fewer than w bits, so the last
// carry always fits.
func windows(w int) int { return (scalarBits + w - 1) / w }

// newFixedTable builds the table of p for windows of w bits (4 ≤ w ≤ 7:
// the digits are int8 and at most maxDigits).
func (c *curve) newFixedTable(p *edPoint, w int) *fixedTable {
	half := 1 << (w - 1)
	nw := windows(w)
	ext := make([]edPoint, nw*half)
	base := *p // 2^(w·i)·P
	var r completedPoint
	var bc cachedPoint
	for i := 0; i < nw; i++ {
		row := ext[i*half : (i+1)*half]
		row[0] = base
		c.toCached(&bc, &base)
		for j := 1; j < half; j++ {
			addCached(&r, &row[j-1], &bc, false)
			r.toExt(&row[j])
		}
		// 2^w·base = 2·(half·base)
		dbl(&r, &row[half-1])
		r.toExt(&base)
	}
	t := &fixedTable{w: w, half: half, pts: make([]nielsPoint, len(ext))}
	c.toNiels(t.pts, ext)
	return t
}

// recode writes the signed base-2^w digits of the little-endian scalar s
// (below 2^scalarBits) to out and returns them: s = Σ out[i]·2^(w·i) with
// every digit in [−2^(w−1)+1, 2^(w−1)].
func recode(out []int8, s *[32]byte, w int) []int8 {
	n := windows(w)
	out = out[:n]
	mask := 1<<w - 1
	half := 1 << (w - 1)
	carry := 0
	for i := 0; i < n; i++ {
		pos := i * w
		b := pos / 8
		v := int(s[b])
		if b+1 < len(s) {
			v |= int(s[b+1]) << 8
		}
		d := (v>>(pos%8))&mask + carry
		carry = 0
		if d > half {
			d -= 1 << w
			carry = 1
		}
		out[i] = int8(d)
	}
	return out
}

// accumulate adds Σ digits[i]·2^(w·i)·P to acc, or subtracts it if neg is
// set; digits come from recode with the table's window.
func (t *fixedTable) accumulate(acc *edPoint, digits []int8, neg bool) {
	for i, d := range digits {
		switch {
		case d > 0:
			addNiels(acc, acc, &t.pts[i*t.half+int(d)-1], neg)
		case d < 0:
			addNiels(acc, acc, &t.pts[i*t.half+int(-d)-1], !neg)
		}
	}
}
