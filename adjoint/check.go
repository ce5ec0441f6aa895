package adjoint

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"
)

// CheckSettings configures Check. A nil *CheckSettings means the defaults
// described on each field.
type CheckSettings struct {
	// Step is the central finite-difference step. Zero means gonum's
	// default for fd.Central (about 6e-6, the cube root of machine
	// epsilon, which balances truncation against rounding).
	Step float64
	// FirstOrderOnly skips the second-order checks: for functions with
	// kinks where second derivatives are zero almost everywhere anyway, or
	// with custom Funcs that supply first derivatives only.
	FirstOrderOnly bool
	// Seed fixes the random directions used by the duality and
	// second-order checks. Zero means 1.
	Seed uint64
}

// ErrStat is the discrepancy between a computed array and a reference.
type ErrStat struct {
	// MaxAbs is max |aᵢ − bᵢ|.
	MaxAbs float64
	// MaxRel is the normwise relative error max |aᵢ − bᵢ| / max |bᵢ|: the
	// largest discrepancy measured against the largest reference entry.
	// Unlike an elementwise ratio it stays meaningful when some entries are
	// zero; when every reference entry is zero it equals MaxAbs.
	MaxRel float64
}

// CheckResult reports how well reverse mode, forward mode and finite
// differences agree for a function at a point. Jacobians are flattened:
// one row per output element, one column per input element.
type CheckResult struct {
	// In and Out are the total numbers of input and output elements.
	In, Out int
	// RevFD compares the reverse-mode Jacobian with central differences,
	// FwdFD the forward-mode Jacobian with central differences, and RevFwd
	// the two modes with each other (these should agree to rounding).
	RevFD, FwdFD, RevFwd ErrStat
	// Duality compares ⟨u, J·v⟩ by forward mode with ⟨Jᵀ·u, v⟩ by reverse
	// mode for random u and v.
	Duality ErrStat
	// SecondOrder reports whether the second-order checks ran. They
	// concern the scalar s(x) = ⟨w, f(x)⟩ for a random w (s = f for scalar
	// f).
	SecondOrder bool
	// HessFD compares the reverse-over-reverse Hessian of s with central
	// differences of its reverse-mode gradient; HessFwdRev compares it with
	// the forward-over-reverse Hessian.
	HessFD, HessFwdRev ErrStat
}

// MaxRel returns the largest relative error of all comparisons that ran.
func (r CheckResult) MaxRel() float64 {
	m := max(r.RevFD.MaxRel, r.FwdFD.MaxRel, r.RevFwd.MaxRel, r.Duality.MaxRel)
	if r.SecondOrder {
		m = max(m, r.HessFD.MaxRel, r.HessFwdRev.MaxRel)
	}
	return m
}

// Err returns nil if every comparison against finite differences has a
// relative error of at most fdTol and every comparison between the two
// exact modes at most adTol, and otherwise an error naming the worst one.
// A NaN error fails.
func (r CheckResult) Err(fdTol, adTol float64) error {
	type c struct {
		name string
		v    float64
		tol  float64
	}
	cs := []c{{"reverse vs finite differences", r.RevFD.MaxRel, fdTol},
		{"forward vs finite differences", r.FwdFD.MaxRel, fdTol},
		{"reverse vs forward", r.RevFwd.MaxRel, adTol},
		{"JVP/VJP duality", r.Duality.MaxRel, adTol}}
	if r.SecondOrder {
		cs = append(cs, c{"Hessian vs finite differences", r.HessFD.MaxRel, fdTol},
			c{"Hessian reverse-over-reverse vs forward-over-reverse", r.HessFwdRev.MaxRel, adTol})
	}
	for _, x := range cs {
		if !(x.v <= x.tol) {
			return fmt.Errorf("adjoint: check failed: %s: relative error %.3g > %.3g", x.name, x.v, x.tol)
		}
	}
	return nil
}

// String summarises the result on one line.
func (r CheckResult) String() string {
	s := fmt.Sprintf("in=%d out=%d rev~fd %.2g fwd~fd %.2g rev~fwd %.2g duality %.2g",
		r.In, r.Out, r.RevFD.MaxRel, r.FwdFD.MaxRel, r.RevFwd.MaxRel, r.Duality.MaxRel)
	if r.SecondOrder {
		s += fmt.Sprintf(" hess~fd %.2g hess rr~fr %.2g", r.HessFD.MaxRel, r.HessFwdRev.MaxRel)
	}
	return s
}

// Check differentiates f at the point xs in every way the package knows
// and compares the results: reverse-mode and forward-mode Jacobians against
// each other and against central finite differences (gonum diff/fd), the
// duality ⟨u, J·v⟩ = ⟨Jᵀ·u, v⟩, and, unless disabled, the Hessian of a
// random projection of f by reverse-over-reverse, forward-over-reverse and
// central differences of the gradient. f must be deterministic and
// differentiable near xs.
func Check(f func(xs ...*Var) *Var, xs []*Tensor, s *CheckSettings) CheckResult {
	var set CheckSettings
	if s != nil {
		set = *s
	}
	if set.Seed == 0 {
		set.Seed = 1
	}
	rng := rand.New(rand.NewPCG(set.Seed, 0x5eed))

	// Work on one flat input z holding every input, split inside the
	// trace, so that the Jacobian helpers and gonum's fd see a single
	// vector.
	lay := LayoutOf(xs...)
	z := lay.Pack(nil, xs...)
	g := func(zv *Var) *Var { return Reshape(f(lay.Vars(zv)...), -1) }
	zt := FromData(z, len(z))
	n := len(z)
	y0 := g(Const(zt))
	m := y0.Size()
	res := CheckResult{In: n, Out: m}

	rev := JacobianRev(nil, g, zt)
	fwd := JacobianFwd(nil, g, zt)
	num := mat.NewDense(m, n, nil)
	fd.Jacobian(num, func(y, x []float64) {
		copy(y, g(Const(FromData(x, n))).val.Data)
	}, z, &fd.JacobianSettings{Formula: fd.Central, Step: set.Step})
	res.RevFD = compare(rev.RawMatrix().Data, num.RawMatrix().Data)
	res.FwdFD = compare(fwd.RawMatrix().Data, num.RawMatrix().Data)
	res.RevFwd = compare(rev.RawMatrix().Data, fwd.RawMatrix().Data)

	u, v := randTensor(rng, m), randTensor(rng, n)
	_, jv := JVP(g, zt, v)
	zp := Param(zt)
	jtu := VJP(g(zp), u, zp)[0]
	res.Duality = compare([]float64{dot(u.Data, jv.Data)}, []float64{dot(jtu.Data, v.Data)})

	if set.FirstOrderOnly {
		return res
	}
	res.SecondOrder = true
	w := randTensor(rng, m)
	if m == 1 {
		w.Data[0] = 1
	}
	sfun := func(zv *Var) *Var { return Dot(g(zv), Const(w)) }
	hrr := Hessian(nil, sfun, zt)
	hfr := make([]float64, n*n)
	e := New(n)
	for j := range n {
		e.Data[j] = 1
		col := HVP(sfun, zt, e)
		for i := range n {
			hfr[i*n+j] = col.Data[i]
		}
		e.Data[j] = 0
	}
	hnum := mat.NewDense(n, n, nil)
	fd.Jacobian(hnum, func(grad, x []float64) {
		xp := Param(FromData(x, n))
		copy(grad, Grad(sfun(xp), xp)[0].Data)
	}, z, &fd.JacobianSettings{Formula: fd.Central, Step: set.Step})
	hrrDense := make([]float64, n*n)
	for i := range n {
		for j := range n {
			hrrDense[i*n+j] = hrr.At(i, j)
		}
	}
	res.HessFD = compare(hrrDense, hnum.RawMatrix().Data)
	res.HessFwdRev = compare(hrrDense, hfr)
	return res
}

// Compare returns the discrepancy of a against the reference b, the measure
// Check reports (see ErrStat). It panics if the lengths differ.
func Compare(a, b []float64) ErrStat {
	if len(a) != len(b) {
		panic(fmt.Sprintf("adjoint: Compare of lengths %d and %d", len(a), len(b)))
	}
	return compare(a, b)
}

// compare returns the discrepancy of a against the reference b.
func compare(a, b []float64) ErrStat {
	var maxAbs, maxRef float64
	for i := range a {
		d := math.Abs(a[i] - b[i])
		if math.IsNaN(d) {
			return ErrStat{MaxAbs: math.NaN(), MaxRel: math.NaN()}
		}
		maxAbs = max(maxAbs, d)
		maxRef = max(maxRef, math.Abs(b[i]))
	}
	if maxRef == 0 {
		return ErrStat{MaxAbs: maxAbs, MaxRel: maxAbs}
	}
	return ErrStat{MaxAbs: maxAbs, MaxRel: maxAbs / maxRef}
}

func randTensor(rng *rand.Rand, n int) *Tensor {
	t := New(n)
	for i := range t.Data {
		t.Data[i] = rng.NormFloat64()
	}
	return t
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
