package ode

import "gonum.org/v1/gonum/mat"

// adjField is the continuous adjoint system on a known forward trajectory,
// integrated backwards from T1:
//
//	λ' = −(∂f/∂y)ᵀλ − (∂g/∂y)ᵀ,   μ' = −(∂f/∂p)ᵀλ − (∂g/∂p)ᵀ,
//
// with x = [λ, μ]; y(t) comes from the trajectory's dense output and g is
// the integral cost. One VJP of f per evaluation.
type adjField struct {
	o     *sysOps
	n, np int
	traj  *trajectory
	integ *Integral

	y, yd  []float64 // y(t) and dy/dt (the trajectory may carry extra components)
	gy, gp []float64

	// Linearisation for the Rosenbrock solver.
	tLin float64
	yLin []float64
	jac  *mat.Dense
	pjac *mat.Dense
	lu   *luSolver
	c    float64
	pt   []float64
}

var _ linField = (*adjField)(nil)

func newAdjField(o *sysOps, integ *Integral, trajDim int) *adjField {
	return &adjField{o: o, n: o.n, np: o.np, integ: integ,
		y: make([]float64, trajDim), yd: make([]float64, trajDim), gy: make([]float64, o.n), gp: make([]float64, o.np),
		yLin: make([]float64, trajDim), pt: make([]float64, o.np)}
}

func (f *adjField) dim() int { return f.n + f.np }

func (f *adjField) eval(dst []float64, t float64, x []float64) {
	f.traj.eval(f.y, t)
	y := f.y[:f.n]
	clear(dst)
	f.o.vjp(dst[:f.n], dst[f.n:], t, y, x[:f.n])
	if f.integ != nil {
		f.integ.Grad(dst[:f.n], dst[f.n:], t, y, f.o.p)
	}
	for i := range dst {
		dst[i] = -dst[i]
	}
}

func (f *adjField) linearize(t float64, _, _ []float64) {
	if f.jac == nil {
		f.jac = mat.NewDense(f.n, f.n, nil)
		f.lu = newLUSolver(f.n)
		if f.o.pjac != nil && f.np > 0 {
			f.pjac = mat.NewDense(f.n, f.np, nil)
		}
	}
	f.tLin = t
	f.traj.eval(f.yLin, t)
	f.o.jacobian(f.jac, t, f.yLin[:f.n], nil)
	if f.pjac != nil {
		f.o.paramJacobian(f.pjac, t, f.yLin[:f.n], nil)
	}
}

// timeDeriv writes ∂F/∂t exactly: F depends on t directly and through
// y(t), the dense output of the forward solve, so
//
//	∂F/∂t = −d/dε [∇_y, ∇_p](λᵀf + g) at (t+ε, y(t)+ε·ẏ(t)),
//
// with ẏ the derivative of the interpolant: one directional second
// derivative of f (exact with a SecondOrderer, central differences of VJPs
// otherwise). A difference quotient of the whole field instead mixes the
// interpolant's rounding into the Rosenbrock stages and changes the step
// sequence with the VJP's rounding.
func (f *adjField) timeDeriv(dst []float64, t, h float64, x, _ []float64) {
	n := f.n
	f.traj.eval(f.y, t)
	f.traj.deriv(f.yd, t)
	y, yd := f.y[:n], f.yd[:n]
	clear(dst)
	f.o.vjpTangent(dst[:n], dst[n:], t, h, y, x[:n], 1, yd, nil)
	if f.integ != nil {
		f.o.integGradTangent(f.integ, dst[:n], dst[n:], t, h, y, 1, yd)
	}
	for i := range dst {
		dst[i] = -dst[i]
	}
}

// shift factorises cI + J, whose transpose is c·I − (−Jᵀ).
func (f *adjField) shift(c float64) error {
	f.c = c
	f.o.st.LUs++
	return f.lu.shiftedFrom(f.jac, c, 1)
}

// solve handles [[cI + Jᵀ, 0], [(∂f/∂p)ᵀ, c]].
func (f *adjField) solve(dst, rhs []float64, trans bool) {
	n := f.n
	if trans {
		panic("ode: internal error: transposed solve of the adjoint field")
	}
	f.lu.solve(dst[:n], rhs[:n], true)
	if f.np == 0 {
		return
	}
	clear(f.pt)
	if f.pjac != nil {
		mulTransAdd(f.pt, f.pjac, dst[:n])
	} else {
		f.o.vjp(nil, f.pt, f.tLin, f.yLin[:n], dst[:n])
	}
	for k := range f.np {
		dst[n+k] = (rhs[n+k] - f.pt[k]) / f.c
	}
}
