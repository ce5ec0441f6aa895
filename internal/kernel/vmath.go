package kernel

import (
	"math"
)

// Elementwise functions on slices: dst[i] = f(src[i]). Each is a loop
// whose body holds the whole computation (argument reduction, polynomial,
// reconstruction) with no call per element, so the iterations are
// independent and pipeline. Accuracy is within a few units in the last
// place of the standard library's functions (the tests bound it), and the
// exact cases stay exact: f(0), f(±Inf), NaN in NaN out, exp(0) = 1,
// log(1) = 0, tanh and sigmoid saturating to exactly ±1, 0, 1.
//
// The functions with an exponential share one core, e^y = 2^k·e^r with
// k = round(y/ln 2) and |r| ≤ ln2/2, e^r by its Taylor polynomial to degree
// 13 (the remainder is below 2^-57 relative), and 2^k applied as two exact
// power-of-two factors so that overflow and gradual underflow round once.
// dst and src may be the same slice.

// Constants of the exponential and logarithm: ln 2 split so that k·ln2Hi
// is exact for |k| < 2^21.
const (
	log2e    = 1.4426950408889634
	ln2Hi    = 0x1.62e42fee00000p-1
	ln2Lo    = 1.9082149292705877e-10
	roundMag = 0x1.8p52 // adding and subtracting it rounds to an integer
)

// Reciprocal factorials 1/n! for the Taylor polynomial of e^r.
const (
	inv2  = 1.0 / 2
	inv3  = 1.0 / 6
	inv4  = 1.0 / 24
	inv5  = 1.0 / 120
	inv6  = 1.0 / 720
	inv7  = 1.0 / 5040
	inv8  = 1.0 / 40320
	inv9  = 1.0 / 362880
	inv10 = 1.0 / 3628800
	inv11 = 1.0 / 39916800
	inv12 = 1.0 / 479001600
	inv13 = 1.0 / 6227020800
)

// pow2 returns 2^k for −1022 ≤ k ≤ 1023.
func pow2(k int64) float64 { return math.Float64frombits(uint64(k+1023) << 52) }

// expSplit returns k = round(y/ln 2), as a float, and r = y − k·ln 2 with
// |r| ≤ ln2/2 (|y| < 2^21·ln 2). Small enough to be inlined into the loops.
func expSplit(y float64) (kf, r float64) {
	kf = y*log2e + roundMag
	kf -= roundMag
	return kf, (y - kf*ln2Hi) - kf*ln2Lo
}

// expPoly returns q(r) = (e^r − 1)/r by its Taylor polynomial (degree 12
// in r), so that e^r = 1 + r·q; inlined into the loops.
func expPoly(r float64) float64 {
	return 1 + r*(inv2+r*(inv3+r*(inv4+r*(inv5+r*(inv6+r*(inv7+r*(inv8+r*(inv9+r*(inv10+r*(inv11+r*(inv12+r*inv13)))))))))))
}

// scale2 returns p·2^k for an integer-valued k in [−1100, 1100], as two
// power-of-two factors, so that overflow and gradual underflow round once.
func scale2(p, kf float64) float64 {
	k := int64(kf)
	k1 := k >> 1
	return p * pow2(k1) * pow2(k-k1)
}

// Exp sets dst[i] = eˣ for x = src[i].
func Exp(dst, src []float64) {
	dst = dst[:len(src)]
	if vm := active.vm; vm != nil {
		if len(src) > 0 {
			vm.exp(&dst[0], &src[0], len(src), &vmConst)
		}
		return
	}
	for i, x := range src {
		// Beyond these bounds eˣ is +Inf or 0; clamping keeps k in range
		// (NaN passes through min and max).
		y := max(min(x, 710), -746)
		kf, r := expSplit(y)
		q := expPoly(r)
		dst[i] = scale2(q*r+1, kf)
	}
}

// Tanh sets dst[i] = tanh x for x = src[i], as −m/(2+m) with
// m = expm1(−2|x|) and the sign of x; expm1 is formed as
// 2^k·(e^r − 1) + (2^k − 1), exact in its parts, so small arguments keep
// full relative precision.
func Tanh(dst, src []float64) {
	dst = dst[:len(src)]
	if vm := active.vm; vm != nil {
		if len(src) > 0 {
			vm.tanh(&dst[0], &src[0], len(src), &vmConst)
		}
		return
	}
	for i, x := range src {
		// tanh rounds to ±1 beyond |x| = 19.1.
		y := max(-2*math.Abs(x), -40)
		kf, r := expSplit(y)
		q := expPoly(r)
		s := pow2(int64(kf))
		m := s*(q*r) + (s - 1)
		dst[i] = math.Copysign(-m/(2+m), x)
	}
}

// Sigmoid sets dst[i] = 1/(1 + e⁻ˣ) for x = src[i], computed from
// e = e^−|x| ≤ 1 as 1/(1+e) or e/(1+e), which never overflows.
func Sigmoid(dst, src []float64) {
	dst = dst[:len(src)]
	if vm := active.vm; vm != nil {
		if len(src) > 0 {
			vm.sigmoid(&dst[0], &src[0], len(src), &vmConst)
		}
		return
	}
	for i, x := range src {
		y := max(-math.Abs(x), -746)
		kf, r := expSplit(y)
		q := expPoly(r)
		e := scale2(q*r+1, kf)
		num := 1.0
		if x < 0 {
			num = e
		}
		dst[i] = num / (1 + e)
	}
}

// Coefficients 1/(2n+1) of atanh(s)/s − 1 = Σ s^{2n}/(2n+1), in s², for
// the logarithm.
const (
	lg1  = 1.0 / 3
	lg2  = 1.0 / 5
	lg3  = 1.0 / 7
	lg4  = 1.0 / 9
	lg5  = 1.0 / 11
	lg6  = 1.0 / 13
	lg7  = 1.0 / 15
	lg8  = 1.0 / 17
	lg9  = 1.0 / 19
	lg10 = 1.0 / 21
)

// Softplus sets dst[i] = log(1 + eˣ) for x = src[i], as
// max(x, 0) + log1p(e^−|x|), which neither overflows nor loses small
// values.
func Softplus(dst, src []float64) {
	dst = dst[:len(src)]
	for i, x := range src {
		y := max(-math.Abs(x), -746)
		kf, r := expSplit(y)
		q := expPoly(r)
		e := scale2(q*r+1, kf) // e^−|x| ∈ [0, 1]
		// log1p(e) = log(w) − ((w − 1) − e)/w with w = 1 + e ∈ [1, 2]
		// rounded: the correction restores what rounding w lost.
		w := 1 + e
		kw := 0.0
		mw := w
		if w > math.Sqrt2 {
			mw, kw = w/2, 1
		}
		f := mw - 1
		s := f / (2 + f)
		z := s * s
		t := z * (lg1 + z*(lg2+z*(lg3+z*(lg4+z*(lg5+z*(lg6+z*(lg7+z*(lg8+z*(lg9+z*lg10)))))))))
		lw := kw*ln2Hi + (f - (s*(f-2*t) - kw*ln2Lo))
		if e != 0 {
			lw -= ((w - 1) - e) / w
		}
		if x != x {
			lw = x
		}
		dst[i] = max(x, 0) + lw
	}
}

// Log sets dst[i] = ln x for x = src[i]: with x = 2^k·(1+f),
// √½ ≤ 1+f < √2, ln(1+f) = 2·atanh(s), s = f/(2+f), written as
// f − s·(f − 2T) with T = Σ_{n≥1} s^{2n}/(2n+1) so that the leading term f
// is exact.
func Log(dst, src []float64) {
	dst = dst[:len(src)]
	for i, x := range src {
		if !(x > 0 && x <= math.MaxFloat64) {
			switch {
			case x == 0:
				dst[i] = math.Inf(-1)
			case x > 0 || x != x:
				dst[i] = x // +Inf, NaN
			default:
				dst[i] = math.NaN()
			}
			continue
		}
		b := math.Float64bits(x)
		k := float64(int64(b>>52) - 1023)
		if b>>52 == 0 { // subnormal: scale into the normal range
			b = math.Float64bits(x * 0x1p52)
			k = float64(int64(b>>52) - 1023 - 52)
		}
		m := math.Float64frombits(b&(1<<52-1) | 1023<<52) // [1, 2)
		if m > math.Sqrt2 {
			m /= 2
			k++
		}
		f := m - 1
		s := f / (2 + f)
		z := s * s
		t := z * (lg1 + z*(lg2+z*(lg3+z*(lg4+z*(lg5+z*(lg6+z*(lg7+z*(lg8+z*(lg9+z*lg10)))))))))
		dst[i] = k*ln2Hi + (f - (s*(f-2*t) - k*ln2Lo))
	}
}

// π/2 in four parts, the first three of 33 significant bits, so that n
// times each is exact for |n| < 2^20, and 2/π.
const (
	pio2a   = 0x1.921fb54400000p+0
	pio2b   = 0x1.0b4611a600000p-34
	pio2c   = 0x1.3198a2e000000p-69
	pio2d   = 0x1.b839a252049c1p-104
	twoOvPi = 0.6366197723675814
	// Beyond this the three-part reduction loses accuracy and the
	// standard library's exact (Payne–Hanek) reduction takes over.
	trigReduceMax = 0x1p19
)

// Taylor coefficients of sin r = r + r³·S(r²) and cos r = 1 − r²/2 +
// r⁴·C(r²) on |r| ≤ π/4; the remainders are below 2^-60.
const (
	s1 = -1.0 / 6
	s2 = 1.0 / 120
	s3 = -1.0 / 5040
	s4 = 1.0 / 362880
	s5 = -1.0 / 39916800
	s6 = 1.0 / 6227020800
	s7 = -1.0 / 1307674368000
	s8 = 1.0 / 355687428096000
	c2 = 1.0 / 24
	c3 = -1.0 / 720
	c4 = 1.0 / 40320
	c5 = -1.0 / 3628800
	c6 = 1.0 / 479001600
	c7 = -1.0 / 87178291200
	c8 = 1.0 / 20922789888000
	c9 = -1.0 / 6402373705728000
)

// Sin sets dst[i] = sin x for x = src[i].
func Sin(dst, src []float64) { sinCos(dst, src, 0) }

// Cos sets dst[i] = cos x for x = src[i].
func Cos(dst, src []float64) { sinCos(dst, src, 1) }

// sinCos computes sin(x + shift·π/2): x is reduced to r = x − n·π/2,
// |r| ≤ π/4, and the quadrant n + shift picks ±sin r or ±cos r, by
// arithmetic rather than branches.
func sinCos(dst, src []float64, shift int64) {
	dst = dst[:len(src)]
	for i, x := range src {
		if !(math.Abs(x) < trigReduceMax) || x == 0 {
			// Huge or non-finite arguments: rare, and handled exactly by
			// the standard library (as are ±0, whose sign sin keeps).
			if shift == 0 {
				dst[i] = math.Sin(x)
			} else {
				dst[i] = math.Cos(x)
			}
			continue
		}
		nf := x*twoOvPi + roundMag
		nf -= roundMag
		r := ((x - nf*pio2a) - nf*pio2b) - nf*pio2c
		r -= nf * pio2d
		z := r * r
		sr := r + r*z*(s1+z*(s2+z*(s3+z*(s4+z*(s5+z*(s6+z*(s7+z*s8)))))))
		cr := 1 - (0.5*z - z*z*(c2+z*(c3+z*(c4+z*(c5+z*(c6+z*(c7+z*(c8+z*c9))))))))
		q := int64(nf) + shift
		odd := float64(q & 1)    // 1: cos r, 0: sin r
		sign := float64(1 - q&2) // q mod 4 ∈ {2, 3} flips the sign
		v := sr
		if odd != 0 {
			v = cr
		}
		dst[i] = sign * v
	}
}
