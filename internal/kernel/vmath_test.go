package kernel

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// bigExp is eˣ correctly rounded (to far more than double precision): the
// Taylor series of e^(x/2^12) in 300-bit arithmetic, squared 12 times. It
// is the reference for Exp because the standard library's amd64 assembly
// returns +Inf from x ≈ 709.6 on, short of the true overflow at 709.78.
func bigExp(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || x > 710 || x < -746 {
		return math.Exp(x)
	}
	f, _ := bigExpF(new(big.Float).SetPrec(200).SetFloat64(x), 200).Float64()
	return f
}

// bigLog is ln x correctly rounded, by Newton's method on bigExp's series
// from the standard library's value. It is the reference for Log because
// the standard library's amd64 assembly is wrong for subnormal x.
func bigLog(x float64) float64 {
	if !(x > 0) || math.IsInf(x, 0) || x == 1 {
		return math.Log(x)
	}
	const prec = 200
	// x = m·2^e with m in [0.5, 1): ln x = ln m + e·ln 2.
	m, e := math.Frexp(x)
	bx := new(big.Float).SetPrec(prec).SetFloat64(m)
	y := new(big.Float).SetPrec(prec).SetFloat64(math.Log(m))
	for range 4 {
		ey := bigExpF(y, prec)
		// y += 2(m − e^y)/(m + e^y)
		num := new(big.Float).SetPrec(prec).Sub(bx, ey)
		den := new(big.Float).SetPrec(prec).Add(bx, ey)
		num.Quo(num, den)
		num.SetMantExp(num, 1)
		y.Add(y, num)
	}
	ln2 := new(big.Float).SetPrec(prec).SetFloat64(0.5)
	for range 4 { // ln 2 = −ln ½, refined the same way
		ey := bigExpF(new(big.Float).SetPrec(prec).Neg(ln2), prec)
		half := new(big.Float).SetPrec(prec).SetFloat64(0.5)
		num := new(big.Float).SetPrec(prec).Sub(half, ey)
		den := new(big.Float).SetPrec(prec).Add(half, ey)
		num.Quo(num, den)
		num.SetMantExp(num, 1)
		ln2.Sub(ln2, num)
	}
	y.Add(y, new(big.Float).SetPrec(prec).Mul(ln2, new(big.Float).SetPrec(prec).SetInt64(int64(e))))
	f, _ := y.Float64()
	return f
}

// bigExpF is e^x in prec-bit arithmetic.
func bigExpF(x *big.Float, prec uint) *big.Float {
	y := new(big.Float).SetPrec(prec).Set(x)
	y.SetMantExp(y, -12)
	sum := new(big.Float).SetPrec(prec).SetFloat64(1)
	term := new(big.Float).SetPrec(prec).SetFloat64(1)
	for n := 1; n < 30; n++ {
		term.Mul(term, y)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(int64(n)))
		sum.Add(sum, term)
	}
	for range 12 {
		sum.Mul(sum, sum)
	}
	return sum
}

// ulps is the distance between a and b in units in the last place of b
// (0 when both are the same NaN or equal, +Inf when one is NaN and the
// other not).
func ulps(a, b float64) float64 {
	switch {
	case a == b:
		return 0
	case math.IsNaN(a) && math.IsNaN(b):
		return 0
	case math.IsNaN(a) || math.IsNaN(b) || math.IsInf(a, 0) || math.IsInf(b, 0):
		return math.Inf(1)
	}
	u := math.Nextafter(math.Abs(b), math.Inf(1)) - math.Abs(b)
	return math.Abs(a-b) / u
}

// specials must come out exactly as the standard library has them.
var specials = []float64{0, math.Copysign(0, -1), 1, -1, 2, 0.5, math.Inf(1), math.Inf(-1), math.NaN(),
	math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, math.MaxFloat64, -math.MaxFloat64,
	1e-300, -1e-300, 0x1p-1022, 709.78, 709.79, -708.4, -745.1, -745.2, 19.1, 30, -30, 1e-8, -1e-8}

type vfunc struct {
	slow  bool // the reference is a big.Float computation: fewer draws
	name  string
	f     func(dst, src []float64)
	ref   func(float64) float64
	draw  func(*rand.Rand) float64
	bound float64 // ulps, over the random draws
}

func sigmoidRef(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func softplusRef(x float64) float64 { return max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }

func uniform(lo, hi float64) func(*rand.Rand) float64 {
	return func(r *rand.Rand) float64 { return lo + (hi-lo)*r.Float64() }
}

func logUniform(lo, hi float64) func(*rand.Rand) float64 {
	return func(r *rand.Rand) float64 { return math.Exp(math.Log(lo) + (math.Log(hi)-math.Log(lo))*r.Float64()) }
}

// The bounds are the worst errors seen over many millions of draws,
// rounded up; they include the standard library's own error (up to one
// ulp for its exp and log) as both are compared with each other.
var vfuncs = []vfunc{
	{true, "exp", Exp, bigExp, uniform(-745, 709.8), 1},
	{true, "exp_small", Exp, bigExp, uniform(-1, 1), 1},
	{false, "tanh", Tanh, math.Tanh, uniform(-20, 20), 3},
	{false, "tanh_small", Tanh, math.Tanh, logUniform(1e-12, 1), 3},
	{false, "sigmoid", Sigmoid, sigmoidRef, uniform(-40, 40), 3},
	{false, "softplus", Softplus, softplusRef, uniform(-40, 40), 3},
	{true, "log", Log, bigLog, logUniform(1e-320, 1e308), 1},
	{true, "log_near_1", Log, bigLog, uniform(0.5, 2), 1},
	{false, "sin", Sin, math.Sin, uniform(-100, 100), 2},
	{false, "sin_wide", Sin, math.Sin, uniform(-5e5, 5e5), 2},
	{false, "cos", Cos, math.Cos, uniform(-100, 100), 2},
	{false, "cos_wide", Cos, math.Cos, uniform(-5e5, 5e5), 2},
}

// forEachKernel runs f with each kernel this machine has in use, so that
// the assembly of every instruction set and the portable loops are tested.
func forEachKernel(t *testing.T, f func(t *testing.T)) {
	defer func(old *microKernel) { active = old }(active)
	for _, mk := range available() {
		active = mk
		t.Run(mk.name, f)
	}
}

func TestElementwiseAccuracy(t *testing.T) { forEachKernel(t, testElementwiseAccuracy) }

func testElementwiseAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	n := 1 << 16
	if testing.Short() {
		n = 1 << 12
	}
	for _, vf := range vfuncs {
		n := n
		if vf.slow {
			n /= 16
		}
		src := make([]float64, n)
		for i := range src {
			src[i] = vf.draw(rng)
			if rng.IntN(2) == 0 && vf.name != "log" && vf.name != "log_near_1" {
				src[i] = -src[i]
			}
		}
		dst := make([]float64, n)
		vf.f(dst, src)
		worst, at := 0.0, 0.0
		for i, x := range src {
			if e := ulps(dst[i], vf.ref(x)); e > worst {
				worst, at = e, x
			}
		}
		t.Logf("%s: worst %.2f ulp at %v", vf.name, worst, at)
		if worst > vf.bound {
			t.Errorf("%s: %.2f ulp at x = %v (f = %v, reference %v), bound %v", vf.name, worst, at, apply(vf.f, at), vf.ref(at), vf.bound)
		}
		// Special values: exact agreement (sign of zero included), except
		// where the reference itself is inexact; then the same bound.
		for _, x := range specials {
			got, want := apply(vf.f, x), vf.ref(x)
			if math.Signbit(got) != math.Signbit(want) && !math.IsNaN(want) || ulps(got, want) > vf.bound {
				t.Errorf("%s(%v) = %v, want %v", vf.name, x, got, want)
			}
		}
	}
}

// Every length, so that the vector loops' masked tails run, and the same
// value gives the same result at every position.
func TestElementwiseLengths(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		for _, f := range []func(dst, src []float64){Exp, Log, Tanh, Sigmoid, Softplus, Sin, Cos} {
			for n := range 40 {
				src := make([]float64, n)
				for i := range src {
					src[i] = 0.731
				}
				dst := make([]float64, n+1)
				dst[n] = 42
				f(dst[:n], src)
				for i := range n {
					if dst[i] != apply(f, 0.731) {
						t.Fatalf("length %d: element %d = %v, alone %v", n, i, dst[i], apply(f, 0.731))
					}
				}
				if dst[n] != 42 {
					t.Fatalf("length %d: wrote past the end", n)
				}
			}
		}
	})
}

func apply(f func(dst, src []float64), x float64) float64 {
	d := []float64{0}
	f(d, []float64{x})
	return d[0]
}

// The cases that were exact must stay exact.
func TestElementwiseExactCases(t *testing.T) { forEachKernel(t, testElementwiseExactCases) }

func testElementwiseExactCases(t *testing.T) {
	negZero := math.Copysign(0, -1)
	for _, c := range []struct {
		name    string
		f       func(dst, src []float64)
		x, want float64
	}{
		{"exp(0)", Exp, 0, 1}, {"exp(-0)", Exp, negZero, 1}, {"exp(-Inf)", Exp, math.Inf(-1), 0},
		{"exp(+Inf)", Exp, math.Inf(1), math.Inf(1)}, {"exp(1000)", Exp, 1000, math.Inf(1)}, {"exp(-1000)", Exp, -1000, 0},
		{"log(1)", Log, 1, 0}, {"log(0)", Log, 0, math.Inf(-1)}, {"log(+Inf)", Log, math.Inf(1), math.Inf(1)},
		{"tanh(0)", Tanh, 0, 0}, {"tanh(-0)", Tanh, negZero, negZero}, {"tanh(25)", Tanh, 25, 1}, {"tanh(-1e300)", Tanh, -1e300, -1},
		{"sigmoid(0)", Sigmoid, 0, 0.5}, {"sigmoid(800)", Sigmoid, 800, 1}, {"sigmoid(-800)", Sigmoid, -800, 0},
		{"softplus(-800)", Softplus, -800, 0}, {"softplus(800)", Softplus, 800, 800},
		{"sin(0)", Sin, 0, 0}, {"sin(-0)", Sin, negZero, negZero}, {"cos(0)", Cos, 0, 1},
	} {
		if got := apply(c.f, c.x); got != c.want || math.Signbit(got) != math.Signbit(c.want) {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	for _, f := range []func(dst, src []float64){Exp, Log, Tanh, Sigmoid, Softplus, Sin, Cos} {
		if got := apply(f, math.NaN()); !math.IsNaN(got) {
			t.Errorf("NaN in gives %v", got)
		}
	}
	if got := apply(Log, -1); !math.IsNaN(got) {
		t.Errorf("log(-1) = %v, want NaN", got)
	}
}

func BenchmarkElementwise(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	src := make([]float64, 1024)
	for i := range src {
		src[i] = 4 * rng.NormFloat64()
	}
	dst := make([]float64, len(src))
	pos := make([]float64, len(src))
	for i, x := range src {
		pos[i] = math.Abs(x) + 1e-3
	}
	for _, c := range []struct {
		name string
		f    func(dst, src []float64)
		ref  func(float64) float64
		in   []float64
	}{
		{"exp", Exp, math.Exp, src}, {"tanh", Tanh, math.Tanh, src}, {"sigmoid", Sigmoid, sigmoidRef, src},
		{"softplus", Softplus, softplusRef, src}, {"log", Log, math.Log, pos}, {"sin", Sin, math.Sin, src}, {"cos", Cos, math.Cos, src},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.f(dst, c.in)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(src)), "ns/elem")
		})
		b.Run(c.name+"/math", func(b *testing.B) {
			for b.Loop() {
				for i, x := range c.in {
					dst[i] = c.ref(x)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(src)), "ns/elem")
		})
	}
}
