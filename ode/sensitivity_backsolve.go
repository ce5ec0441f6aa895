package ode

import "gonum.org/v1/gonum/mat"

// Backsolve is the continuous backsolve adjoint (Chen et al.'s "neural ODE"
// adjoint; diffrax's BacksolveAdjoint): the forward solve keeps nothing but
// y(T1), and the augmented system
//
//	y' = f(t, y, p),   λ' = −(∂f/∂y)ᵀλ − (∂g/∂y)ᵀ,   μ' = −(∂f/∂p)ᵀλ − (∂g/∂p)ᵀ,
//
// is solved backwards from T1 to T0, re-integrating y alongside λ and μ, so
// that the adjoint vector field is one evaluation of f and one VJP. At
// observation times y is reset to the value the forward solve recorded.
//
// Memory is O(1) in the number of steps, but the method is only as good as
// the backward reconstruction of y, and that is its known weakness: when the
// forward problem is unstable backwards in time — stiff or dissipative
// systems (Robertson), chaotic ones, anything with strongly decaying modes —
// the re-integrated y drifts from the forward trajectory or blows up, and the
// gradient is wrong or the solve fails. Even on benign problems its error is
// that of the backward solve of y, not only of λ. Prefer Interpolating or
// Discrete unless memory forbids them, and check Backsolve against them.
//
// With a Rosenbrock solver the augmented Jacobian needs second derivatives
// of f (SecondOrderer, or finite differences of VJPs otherwise).
type Backsolve struct {
	// Tol holds the backward solve's tolerances (the re-integrated y uses
	// Tol.RTol and the forward absolute tolerances).
	Tol Tolerances
	// Solver solves the backward system. Nil means the forward solver.
	Solver Solver
	// OnAdjoint, if non-nil, is called with λ(t) at T1 and at the end of
	// every backward step (t decreasing). Nil means no call.
	OnAdjoint func(t float64, lambda []float64)
}

var _ Sensitivity = (*Backsolve)(nil)

// String returns "backsolve adjoint".
func (m *Backsolve) String() string { return "backsolve adjoint" }

func (m *Backsolve) record(j *gradJob) (*fwdTrace, any, error) {
	tr, err := j.forward(nil, false)
	return tr, nil, err
}

func (m *Backsolve) backward(j *gradJob, tr *fwdTrace, _ any) error {
	bst := &j.res.Backward
	bst.PeakStored = 1 + len(tr.obsY)
	ops := newSysOps(j.prob.System, j.prob.P, bst, j.r.fdFloor())
	fld := newBacksolveField(ops, j.cost.Integral)
	return j.continuousBackward(m.Solver, m.Tol, fld, j.n, j.n, tr, nil, m.OnAdjoint, nil,
		func(x []float64) { copy(x, tr.x[:j.n]) })
}

// backsolveField is the augmented system [y, λ, μ] of Backsolve.
type backsolveField struct {
	o     *sysOps
	n, np int
	integ *Integral

	gy, gp []float64

	// Linearisation for the Rosenbrock solver: block lower triangular
	// [[J, 0, 0], [Lʸ, −Jᵀ, 0], [Mʸ, −(∂f/∂p)ᵀ, 0]].
	tLin     float64
	xLin     []float64
	jac      *mat.Dense
	lu1, lu2 *luSolver
	c        float64
	ty, tp   []float64
	rbuf     []float64
}

var _ linField = (*backsolveField)(nil)

func newBacksolveField(o *sysOps, integ *Integral) *backsolveField {
	n, np := o.n, o.np
	return &backsolveField{o: o, n: n, np: np, integ: integ,
		gy: make([]float64, n), gp: make([]float64, np),
		ty: make([]float64, n), tp: make([]float64, np),
		rbuf: make([]float64, n), xLin: make([]float64, 2*n+np)}
}

func (f *backsolveField) dim() int { return 2*f.n + f.np }

func (f *backsolveField) eval(dst []float64, t float64, x []float64) {
	n := f.n
	y, lam := x[:n], x[n:2*n]
	f.o.f(dst[:n], t, y)
	rest := dst[n:]
	clear(rest)
	f.o.vjp(rest[:n], rest[n:], t, y, lam)
	if f.integ != nil {
		f.integ.Grad(rest[:n], rest[n:], t, y, f.o.p)
	}
	for i := range rest {
		rest[i] = -rest[i]
	}
}

func (f *backsolveField) linearize(t float64, x, fx []float64) {
	n := f.n
	if f.jac == nil {
		f.jac = mat.NewDense(n, n, nil)
		f.lu1, f.lu2 = newLUSolver(n), newLUSolver(n)
	}
	f.tLin = t
	copy(f.xLin, x)
	f.o.jacobian(f.jac, t, x[:n], fx[:n])
}

// timeDeriv writes ∂F/∂t at fixed x = [y, λ, μ]: ∂f/∂t, and the time
// derivatives of −[∇_y, ∇_p](λᵀf + g).
func (f *backsolveField) timeDeriv(dst []float64, t, h float64, x, fx []float64) {
	n := f.n
	y, lam := x[:n], x[n:2*n]
	f.o.timeDeriv(dst[:n], t, h, y, fx[:n])
	rest := dst[n:]
	clear(rest)
	f.o.vjpTangent(rest[:n], rest[n:], t, h, y, lam, 1, nil, nil)
	if f.integ != nil {
		f.o.integGradTangent(f.integ, rest[:n], rest[n:], t, h, y, 1, nil)
	}
	for i := range rest {
		rest[i] = -rest[i]
	}
}

func (f *backsolveField) shift(c float64) error {
	f.c = c
	f.o.st.LUs += 2
	if err := f.lu1.shiftedFrom(f.jac, c, -1); err != nil {
		return err
	}
	return f.lu2.shiftedFrom(f.jac, c, 1)
}

// solve solves the block lower-triangular system: y first with cI − J,
// then λ with cI + Jᵀ, then μ directly. The couplings of λ' and μ' to y
// are second derivatives of f (and of g).
func (f *backsolveField) solve(dst, rhs []float64, trans bool) {
	if trans {
		panic("ode: internal error: transposed solve of the backsolve field")
	}
	n, np := f.n, f.np
	y, lam := f.xLin[:n], f.xLin[n:2*n]
	uy := dst[:n]
	f.lu1.solve(uy, rhs[:n], false)
	// [Lʸ uy; Mʸ uy] = −d/dε [∇_y, ∇_p](λᵀf + g) at y + ε uy.
	clear(f.ty)
	clear(f.tp)
	f.o.vjpTangent(f.ty, f.tp, f.tLin, 0, y, lam, 0, uy, nil)
	if f.integ != nil {
		f.o.integGradTangent(f.integ, f.ty, f.tp, f.tLin, 0, y, 0, uy)
	}
	for i := range n {
		f.rbuf[i] = rhs[n+i] - f.ty[i]
	}
	ul := dst[n : 2*n]
	f.lu2.solve(ul, f.rbuf, true)
	if np == 0 {
		return
	}
	clear(f.gp)
	f.o.vjp(nil, f.gp, f.tLin, y, ul)
	for k := range np {
		dst[2*n+k] = (rhs[2*n+k] - f.tp[k] - f.gp[k]) / f.c
	}
}
