package ode

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// field is the vector field x' = F(t, x) that an integrator advances: the
// user's system, possibly augmented with quadratures, sensitivities or
// adjoint variables.
type field interface {
	dim() int
	eval(dst []float64, t float64, x []float64)
}

// linField is a field that the Rosenbrock solver can linearise. Each
// augmented field solves its linear systems in its own block structure.
type linField interface {
	field
	// linearize evaluates and keeps the Jacobian ∂F/∂x at (t, x), where
	// fx = F(t, x).
	linearize(t float64, x, fx []float64)
	// timeDeriv writes ∂F/∂t at (t, x) to dst; h sizes finite differences.
	timeDeriv(dst []float64, t, h float64, x, fx []float64)
	// shift factorises c·I − J for the kept Jacobian. A singular matrix
	// gives an error (which the integrator wraps with ErrSingular).
	shift(c float64) error
	// solve writes (c·I − J)⁻¹ rhs, or its transpose's inverse applied to
	// rhs when trans is set, to dst (dst and rhs distinct).
	solve(dst, rhs []float64, trans bool)
}

// vjpField is a field whose solver steps can be differentiated in reverse
// (the discrete adjoint). The parameters are those of the user's system.
type vjpField interface {
	field
	// vjp accumulates xbar += (∂F/∂x)ᵀ w and pbar += (∂F/∂p)ᵀ w at (t, x).
	vjp(xbar, pbar []float64, t float64, x, w []float64)
	// vjpTangent accumulates xbar += ∇_x(wᵀ (∂F/∂x) u) and
	// pbar += ∇_p(wᵀ (∂F/∂x) u) at (t, x).
	vjpTangent(xbar, pbar []float64, t float64, x, w, u []float64)
	// vjpTime accumulates xbar += ∇_x(wᵀ ∂F/∂t), pbar += ∇_p(wᵀ ∂F/∂t).
	vjpTime(xbar, pbar []float64, t, h float64, x, w []float64)
}

// luSolver factorises dense iteration matrices with gonum's LU.
type luSolver struct {
	n      int
	a      *mat.Dense
	lu     mat.LU
	bv, xv *mat.VecDense
}

func newLUSolver(n int) *luSolver {
	return &luSolver{n: n, a: mat.NewDense(n, n, nil), bv: mat.NewVecDense(n, nil), xv: mat.NewVecDense(n, nil)}
}

// factor factorises s.a, which the caller has filled.
func (s *luSolver) factor() error {
	s.lu.Factorize(s.a)
	if c := s.lu.Cond(); !(c < 1/eps) {
		return fmt.Errorf("the iteration matrix has condition number %.3g", c)
	}
	return nil
}

// shiftedFrom fills s.a with c·I + sign·J (or its transpose) and factorises.
func (s *luSolver) shiftedFrom(j *mat.Dense, c, sign float64) error {
	for r := range s.n {
		row := s.a.RawRowView(r)
		jr := j.RawRowView(r)
		for k := range s.n {
			row[k] = sign * jr[k]
		}
		row[r] += c
	}
	return s.factor()
}

func (s *luSolver) solve(dst, rhs []float64, trans bool) {
	copy(s.bv.RawVector().Data, rhs)
	_ = s.lu.SolveVecTo(s.xv, trans, s.bv) // conditioning was checked in factor
	copy(dst, s.xv.RawVector().Data)
}

// sysField is the user's system, optionally followed by one quadrature
// component q' = g(t, y, p) for an integral cost: x = [y, q].
type sysField struct {
	o     *sysOps
	n     int
	integ *Integral

	jac    *mat.Dense
	lu     *luSolver
	c      float64
	gyLin  []float64 // ∂g/∂y at the linearisation point
	gy, gp []float64
	zbuf   []float64
}

var (
	_ linField = (*sysField)(nil)
	_ vjpField = (*sysField)(nil)
)

func newSysField(o *sysOps, integ *Integral) *sysField {
	f := &sysField{o: o, n: o.n, integ: integ}
	f.gy, f.gp = make([]float64, o.n), make([]float64, o.np)
	f.gyLin = make([]float64, o.n)
	f.zbuf = make([]float64, o.n)
	return f
}

func (f *sysField) dim() int {
	if f.integ != nil {
		return f.n + 1
	}
	return f.n
}

func (f *sysField) eval(dst []float64, t float64, x []float64) {
	y := x[:f.n]
	f.o.f(dst[:f.n], t, y)
	if f.integ != nil {
		dst[f.n] = f.integ.G(t, y, f.o.p)
	}
}

func (f *sysField) linearize(t float64, x, fx []float64) {
	if f.jac == nil {
		f.jac = mat.NewDense(f.n, f.n, nil)
		f.lu = newLUSolver(f.n)
	}
	y := x[:f.n]
	f.o.jacobian(f.jac, t, y, fx[:f.n])
	if f.integ != nil {
		clear(f.gyLin)
		clear(f.gp)
		f.integ.Grad(f.gyLin, f.gp, t, y, f.o.p)
	}
}

func (f *sysField) timeDeriv(dst []float64, t, h float64, x, fx []float64) {
	y := x[:f.n]
	f.o.timeDeriv(dst[:f.n], t, h, y, fx[:f.n])
	if f.integ != nil {
		d := sqrtEps * math.Max(math.Abs(t), math.Max(math.Abs(h), 1e-300))
		dst[f.n] = (f.integ.G(t+d, y, f.o.p) - fx[f.n]) / d
	}
}

func (f *sysField) shift(c float64) error {
	f.c = c
	f.o.st.LUs++
	return f.lu.shiftedFrom(f.jac, c, -1)
}

// solve handles the block structure [[cI − J, 0], [−g_y, c]].
func (f *sysField) solve(dst, rhs []float64, trans bool) {
	n := f.n
	if f.integ == nil {
		f.lu.solve(dst, rhs, trans)
		return
	}
	if !trans {
		f.lu.solve(dst[:n], rhs[:n], false)
		dst[n] = (rhs[n] + dot(f.gyLin, dst[:n])) / f.c
		return
	}
	zq := rhs[n] / f.c
	for i := range n {
		f.zbuf[i] = rhs[i] + f.gyLin[i]*zq
	}
	f.lu.solve(dst[:n], f.zbuf, true)
	dst[n] = zq
}

func (f *sysField) vjp(xbar, pbar []float64, t float64, x, w []float64) {
	y := x[:f.n]
	f.o.vjp(xbar[:f.n], pbar, t, y, w[:f.n])
	if f.integ != nil && w[f.n] != 0 {
		clear(f.gy)
		clear(f.gp)
		f.integ.Grad(f.gy, f.gp, t, y, f.o.p)
		axpy(xbar[:f.n], w[f.n], f.gy)
		axpy(pbar, w[f.n], f.gp)
	}
}

func (f *sysField) vjpTangent(xbar, pbar []float64, t float64, x, w, u []float64) {
	y := x[:f.n]
	f.o.vjpTangent(xbar[:f.n], pbar, t, 0, y, w[:f.n], 0, u[:f.n], nil)
	if f.integ != nil && w[f.n] != 0 {
		clear(f.gy)
		clear(f.gp)
		f.o.integGradTangent(f.integ, f.gy, f.gp, t, 0, y, 0, u[:f.n])
		axpy(xbar[:f.n], w[f.n], f.gy)
		axpy(pbar, w[f.n], f.gp)
	}
}

// vjpTime accumulates the derivative of the VJP in t: exact for f with a
// SecondOrderer, by central differences otherwise, and for the integrand
// by central differences of its gradient.
func (f *sysField) vjpTime(xbar, pbar []float64, t, h float64, x, w []float64) {
	y := x[:f.n]
	f.o.vjpTangent(xbar[:f.n], pbar, t, h, y, w[:f.n], 1, nil, nil)
	if f.integ != nil && w[f.n] != 0 {
		clear(f.gy)
		clear(f.gp)
		f.o.integGradTangent(f.integ, f.gy, f.gp, t, h, y, 1, nil)
		axpy(xbar[:f.n], w[f.n], f.gy)
		axpy(pbar, w[f.n], f.gp)
	}
}

// axpy computes dst += a·x; a nil dst is skipped.
func axpy(dst []float64, a float64, x []float64) {
	if dst == nil {
		return
	}
	for i, v := range x {
		dst[i] += a * v
	}
}

func dot(a, b []float64) float64 {
	var s float64
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

func allFinite(x []float64) bool {
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}
