package ode

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// Forward is forward sensitivity analysis (the tangent-linear model): the
// sensitivities S = ∂y/∂θ for each θ among the parameters and the initial
// state are integrated with the solution,
//
//	S' = (∂f/∂y) S + ∂f/∂θ,   S(T0) = ∂y₀/∂θ,
//
// one JVP of f per direction and evaluation, and the cost's gradient is
// assembled from S at the final and observation times (and, for an integral
// cost, from sensitivity quadratures). Its cost grows with np+n, the number
// of directions, while the adjoint methods' does not; it needs no backward
// pass and no storage, and is the method of choice for few parameters.
//
// The solve controls the error of y and S together (with Tol for S).
// With a Rosenbrock solver the block-triangular Jacobian of the sensitivity
// system needs directional second derivatives of f (SecondOrderer, or
// finite differences of JVPs otherwise).
type Forward struct {
	// Tol holds the tolerances of the sensitivities.
	Tol Tolerances
}

var _ Sensitivity = (*Forward)(nil)

// String returns "forward sensitivities".
func (m *Forward) String() string { return "forward sensitivities" }

// record runs the plain forward solve: the solution at the observation
// times, for the ODE solve op, which calls backward only when a gradient is
// wanted.
func (m *Forward) record(j *gradJob) (*fwdTrace, any, error) {
	tr, err := j.forward(nil, false)
	return tr, nil, err
}

// backward integrates the sensitivities with the solution (it needs nothing
// from record): Gradient calls it alone.
func (m *Forward) backward(j *gradJob, _ *fwdTrace, _ any) error { return m.gradient(j) }

func (m *Forward) gradient(j *gradJob) error {
	n, np := j.n, j.np
	mdir := np + n
	st := &j.res.Backward
	ops := newSysOps(j.prob.System, j.prob.P, st, j.r.fdFloor())
	fld := newSensField(ops, j.cost.Integral, mdir)

	// Tolerances: y as forward, S per Tol, quadratures as the forward
	// quadrature.
	r, rtol := j.auxResolved(m.Tol)
	r.h0 = j.r.h0
	lamAtol, qAtol := j.adjointAtol(m.Tol)
	atol := slices.Clone(j.r.atol)
	for range mdir {
		atol = append(atol, lamAtol...)
	}
	if j.cost.Integral != nil {
		atol = append(atol, j.quadATol())
		for range mdir {
			atol = append(atol, qAtol)
		}
	}
	it := newIntegrator(fld, j.solver, st, math.Min(rtol, j.r.rtol), atol, r)
	it.phase = "forward sensitivities"

	x := make([]float64, fld.dim())
	copy(x, j.prob.Y0)
	for i := range n {
		x[n+(np+i)*n+i] = 1 // ∂y₀/∂y₀ = I
	}
	dp, dy := make([]float64, np), make([]float64, n)
	gy, gp := make([]float64, n), make([]float64, np)
	obsY := make([][]float64, len(j.obsTimes))
	// addGrad adds gyᵀS to the gradient and gp to dp.
	addGrad := func(x []float64) {
		for k := range mdir {
			s := dot(gy, x[n+k*n:n+(k+1)*n])
			if k < np {
				dp[k] += s + gp[k]
			} else {
				dy[k-np] += s
			}
		}
	}
	observe := func(obs []int, x []float64) {
		for _, i := range obs {
			obsY[i] = slices.Clone(x[:n])
			clear(gy)
			clear(gp)
			j.cost.Observations.Grad(gy, gp, i, x[:n], j.prob.P)
			addGrad(x)
		}
	}
	observe(j.obsAtT0, x)
	it.onStop = func(i int, _ float64, x []float64) error {
		observe(j.obsAt[i], x)
		return nil
	}
	if err := it.run(j.prob.T0, x, j.stops); err != nil {
		return err
	}
	j.res.YT = slices.Clone(x[:n])
	if c := j.cost.Terminal; c != nil {
		clear(gy)
		clear(gp)
		c.Grad(gy, gp, x[:n], j.prob.P)
		addGrad(x)
	}
	if j.cost.Integral != nil {
		q := n + mdir*n
		for k := range mdir {
			if k < np {
				dp[k] += x[q+1+k]
			} else {
				dy[k-np] += x[q+1+k]
			}
		}
	}
	copy(j.res.DP, dp)
	copy(j.res.DY0, dy)
	xq := slices.Clone(x[:n])
	if j.cost.Integral != nil {
		xq = append(xq, x[n+mdir*n])
	}
	v, err := j.costValue(xq, obsY)
	j.res.Value = v
	j.res.Forward = Stats{} // the solution was integrated with the sensitivities
	return err
}

// sensField is [y, S₀ … S_{m−1}, q, qS₀ … qS_{m−1}]: the state, its
// sensitivities to the np parameters then the n initial values, and for
// an integral cost its quadrature and the quadrature's sensitivities.
type sensField struct {
	o     *sysOps
	n, np int
	m     int
	integ *Integral

	e      []float64 // unit parameter direction
	gy, gp []float64

	// Linearisation.
	tLin     float64
	xLin     []float64
	jac      *mat.Dense
	lu       *luSolver
	c        float64
	gyLin    []float64
	d        []float64
	gy2, gp2 []float64
	dq       []float64
}

var _ linField = (*sensField)(nil)

func newSensField(o *sysOps, integ *Integral, m int) *sensField {
	n, np := o.n, o.np
	f := &sensField{o: o, n: n, np: np, m: m, integ: integ, e: make([]float64, np),
		gy: make([]float64, n), gp: make([]float64, np), gyLin: make([]float64, n),
		d: make([]float64, n), gy2: make([]float64, n), gp2: make([]float64, np),
		dq: make([]float64, m)}
	f.xLin = make([]float64, f.dim())
	return f
}

func (f *sensField) dim() int {
	d := f.n * (1 + f.m)
	if f.integ != nil {
		d += 1 + f.m
	}
	return d
}

// dir returns the parameter direction of sensitivity k (nil for initial
// values), using f.e as storage.
func (f *sensField) dir(k int) []float64 {
	if k >= f.np {
		return nil
	}
	clear(f.e)
	f.e[k] = 1
	return f.e
}

func (f *sensField) eval(dst []float64, t float64, x []float64) {
	n := f.n
	y := x[:n]
	fy := dst[:n]
	f.o.f(fy, t, y)
	for k := range f.m {
		f.o.jvp(dst[n+k*n:n+(k+1)*n], t, y, x[n+k*n:n+(k+1)*n], f.dir(k), fy)
	}
	if f.integ != nil {
		q := n * (1 + f.m)
		dst[q] = f.integ.G(t, y, f.o.p)
		clear(f.gy)
		clear(f.gp)
		f.integ.Grad(f.gy, f.gp, t, y, f.o.p)
		for k := range f.m {
			s := dot(f.gy, x[n+k*n:n+(k+1)*n])
			if k < f.np {
				s += f.gp[k]
			}
			dst[q+1+k] = s
		}
	}
}

func (f *sensField) linearize(t float64, x, fx []float64) {
	n := f.n
	if f.jac == nil {
		f.jac = mat.NewDense(n, n, nil)
		f.lu = newLUSolver(n)
	}
	f.tLin = t
	copy(f.xLin, x)
	f.o.jacobian(f.jac, t, x[:n], fx[:n])
	if f.integ != nil {
		clear(f.gyLin)
		clear(f.gp)
		f.integ.Grad(f.gyLin, f.gp, t, x[:n], f.o.p)
	}
}

// timeDeriv writes ∂F/∂t at fixed x: ∂f/∂t, the time derivative of each
// sensitivity's right-hand side (a directional second derivative of f) and,
// for an integral cost, of the quadratures' integrands.
func (f *sensField) timeDeriv(dst []float64, t, h float64, x, fx []float64) {
	n := f.n
	y := x[:n]
	f.o.timeDeriv(dst[:n], t, h, y, fx[:n])
	for k := range f.m {
		f.o.jvpTangent(dst[n+k*n:n+(k+1)*n], t, h, y, x[n+k*n:n+(k+1)*n], f.dir(k), 1, nil, nil)
	}
	if f.integ == nil {
		return
	}
	q := n * (1 + f.m)
	clear(f.gy2)
	clear(f.gp2)
	f.o.integGradTangent(f.integ, f.gy2, f.gp2, t, h, y, 1, nil)
	var gt float64
	f.o.central(func(c, t float64, y, p []float64) { gt += c * f.integ.G(t, y, p) }, t, h, y, 1, nil, nil)
	dst[q] = gt
	for k := range f.m {
		v := dot(f.gy2, x[n+k*n:n+(k+1)*n])
		if k < f.np {
			v += f.gp2[k]
		}
		dst[q+1+k] = v
	}
}

func (f *sensField) shift(c float64) error {
	f.c = c
	f.o.st.LUs++
	return f.lu.shiftedFrom(f.jac, c, -1)
}

// solve solves the block lower-triangular system: y with cI − J, then each
// sensitivity with the same matrix and the coupling d/dε(J sₖ + ∂f/∂θₖ)
// along u_y, then the quadratures directly.
func (f *sensField) solve(dst, rhs []float64, trans bool) {
	if trans {
		panic("ode: internal error: transposed solve of the sensitivity field")
	}
	n := f.n
	y := f.xLin[:n]
	uy := dst[:n]
	f.lu.solve(uy, rhs[:n], false)
	for k := range f.m {
		s := f.xLin[n+k*n : n+(k+1)*n]
		f.o.jvpTangent(f.d, f.tLin, 0, y, s, f.dir(k), 0, uy, nil)
		r := rhs[n+k*n : n+(k+1)*n]
		for i := range n {
			f.d[i] += r[i]
		}
		f.lu.solve(dst[n+k*n:n+(k+1)*n], f.d, false)
	}
	if f.integ == nil {
		return
	}
	q := n * (1 + f.m)
	dst[q] = (rhs[q] + dot(f.gyLin, uy)) / f.c
	// d/dε [g_y(y+εu)·sₖ + g_p,k(y+εu)].
	clear(f.gy2)
	clear(f.gp2)
	f.o.integGradTangent(f.integ, f.gy2, f.gp2, f.tLin, 0, y, 0, uy)
	for k := range f.m {
		f.dq[k] = dot(f.gy2, f.xLin[n+k*n:n+(k+1)*n])
		if k < f.np {
			f.dq[k] += f.gp2[k]
		}
	}
	for k := range f.m {
		dst[q+1+k] = (rhs[q+1+k] + f.dq[k] + dot(f.gyLin, dst[n+k*n:n+(k+1)*n])) / f.c
	}
}
