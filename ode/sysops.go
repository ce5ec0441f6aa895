package ode

import (
	"math"

	"gonum.org/v1/gonum/diff/fd"
	"gonum.org/v1/gonum/mat"
)

// sqrtEps is the relative step of first-order finite differences.
var sqrtEps = math.Sqrt(eps)

// cbrtEps is the relative step of central differences.
var cbrtEps = math.Cbrt(eps)

const eps = 0x1p-52

// sysOps calls a System for the integrators and the sensitivity methods:
// it counts evaluations into a Stats and supplies every derivative the
// System lacks, from its other capabilities or by finite differences.
type sysOps struct {
	sys   System
	n, np int
	p     []float64
	st    *Stats

	vjper VJPer
	jvper JVPer
	jac   Jacobianer
	pjac  ParamJacobianer
	td    TimeDeriver
	so    SecondOrderer

	// floor is the smallest scale of each state component used to size
	// finite-difference steps (atol/rtol of the forward solve).
	floor []float64

	jm, pm              *mat.Dense // n×n and n×np scratch
	tmp, tmp2, tmp3     []float64  // n
	ptmp, ptmp2         []float64  // np
	ybuf, ybuf2, ybuf3  []float64
	pbuf, pbuf2         []float64
	igy, igp            []float64 // integrand gradients
	scale, z            []float64
	fdOrigin, fdOrigin2 []float64
}

func newSysOps(sys System, p []float64, st *Stats, floor []float64) *sysOps {
	n, np := sys.Dims()
	o := &sysOps{sys: sys, n: n, np: np, p: p, st: st, floor: floor}
	o.vjper, _ = sys.(VJPer)
	o.jvper, _ = sys.(JVPer)
	o.jac, _ = sys.(Jacobianer)
	o.pjac, _ = sys.(ParamJacobianer)
	o.td, _ = sys.(TimeDeriver)
	o.so, _ = sys.(SecondOrderer)
	o.tmp, o.tmp2, o.tmp3 = make([]float64, n), make([]float64, n), make([]float64, n)
	o.ybuf, o.ybuf2, o.ybuf3 = make([]float64, n), make([]float64, n), make([]float64, n)
	o.ptmp, o.ptmp2, o.pbuf = make([]float64, np), make([]float64, np), make([]float64, np)
	o.fdOrigin, o.fdOrigin2 = make([]float64, n), make([]float64, n)
	return o
}

// f writes f(t, y, p) to dst.
func (o *sysOps) f(dst []float64, t float64, y []float64) {
	o.sys.Eval(dst, t, y, o.p)
	o.st.FEvals++
}

func (o *sysOps) jmat() *mat.Dense {
	if o.jm == nil {
		o.jm = mat.NewDense(o.n, o.n, nil)
	}
	return o.jm
}

func (o *sysOps) pmat() *mat.Dense {
	if o.pm == nil && o.np > 0 {
		o.pm = mat.NewDense(o.n, o.np, nil)
	}
	return o.pm
}

// jacobian writes ∂f/∂y at (t, y) to dst. fy = f(t, y) may be nil; it saves
// an evaluation when the Jacobian is taken by finite differences.
func (o *sysOps) jacobian(dst *mat.Dense, t float64, y, fy []float64) {
	o.st.JacEvals++
	if o.jac != nil {
		o.jac.Jacobian(dst, t, y, o.p)
		return
	}
	o.fdJacobian(dst, t, y, fy, false, false)
}

// paramJacobian writes ∂f/∂p at (t, y) to dst.
func (o *sysOps) paramJacobian(dst *mat.Dense, t float64, y, fy []float64) {
	if o.np == 0 {
		return
	}
	if o.pjac != nil {
		o.pjac.ParamJacobian(dst, t, y, o.p)
		return
	}
	o.fdJacobian(dst, t, y, fy, true, true)
}

// fdJacobian takes ∂f/∂y (or ∂f/∂p) by finite differences with gonum's
// fd.Jacobian on variables scaled to order one, so that every column gets a
// relative step whatever the magnitude of its variable: forward differences
// (step √ε) for the stiff solver's iteration matrix, central ones (step
// ε^⅓, relative error about 1e-10) where the derivative enters a gradient.
func (o *sysOps) fdJacobian(dst *mat.Dense, t float64, y, fy []float64, wrtP, central bool) {
	x := y
	if wrtP {
		x = o.p
	}
	m := len(x)
	if cap(o.scale) < m {
		o.scale, o.z = make([]float64, m), make([]float64, m)
	}
	scale, z := o.scale[:m], o.z[:m]
	for j, v := range x {
		s := math.Abs(v)
		if wrtP {
			if s == 0 {
				s = 1
			}
		} else if o.floor != nil {
			s = math.Max(s, o.floor[j])
		} else {
			s = math.Max(s, 1e-8)
		}
		scale[j] = s
		z[j] = v / s
	}
	origin := o.fdOrigin
	if central {
		// Central differences need no value at the origin.
	} else if fy != nil {
		copy(origin, fy)
	} else {
		o.f(origin, t, y)
	}
	xs := o.ybuf2
	if wrtP {
		xs = o.pbuf
	}
	fn := func(dst, z []float64) {
		for j := range z {
			xs[j] = z[j] * scale[j]
		}
		if wrtP {
			o.sys.Eval(dst, t, y, xs)
		} else {
			o.sys.Eval(dst, t, xs, o.p)
		}
		o.st.FEvals++
	}
	set := &fd.JacobianSettings{Formula: fd.Forward, OriginValue: origin, Step: sqrtEps}
	if central {
		set = &fd.JacobianSettings{Formula: fd.Central, Step: cbrtEps}
	}
	fd.Jacobian(dst, fn, z, set)
	for j := range m {
		for i := range o.n {
			dst.Set(i, j, dst.At(i, j)/scale[j])
		}
	}
}

// vjp accumulates ybar += (∂f/∂y)ᵀ w and pbar += (∂f/∂p)ᵀ w. Either
// destination may be nil.
func (o *sysOps) vjp(ybar, pbar []float64, t float64, y, w []float64) {
	o.st.VJPs++
	if o.vjper != nil {
		o.vjper.VJP(ybar, pbar, t, y, o.p, w)
		return
	}
	// From the dense Jacobians (given or by central differences).
	if ybar != nil {
		j := o.jmat()
		if o.jac != nil {
			o.jac.Jacobian(j, t, y, o.p)
		} else {
			o.fdJacobian(j, t, y, nil, false, true)
		}
		mulTransAdd(ybar, j, w)
	}
	if pbar != nil && o.np > 0 {
		pm := o.pmat()
		o.paramJacobian(pm, t, y, nil)
		mulTransAdd(pbar, pm, w)
	}
}

// jvp writes dst = (∂f/∂y)·ydot + (∂f/∂p)·pdot; pdot may be nil. fy =
// f(t, y) may be nil; it saves an evaluation for finite differences.
func (o *sysOps) jvp(dst []float64, t float64, y, ydot, pdot, fy []float64) {
	o.st.JVPs++
	if o.jvper != nil {
		o.jvper.JVP(dst, t, y, o.p, ydot, pdot)
		return
	}
	if o.jac != nil && (pdot == nil || o.pjac != nil) {
		j := o.jmat()
		o.jac.Jacobian(j, t, y, o.p)
		mulAdd(dst, j, ydot, true)
		if pdot != nil && o.np > 0 {
			pm := o.pmat()
			o.pjac.ParamJacobian(pm, t, y, o.p)
			mulAdd(dst, pm, pdot, false)
		}
		return
	}
	// Directional forward difference.
	base := o.fdOrigin2
	if fy != nil {
		copy(base, fy)
	} else {
		o.f(base, t, y)
	}
	nrm := math.Max(norm2(ydot), norm2(pdot))
	if nrm == 0 {
		clear(dst)
		return
	}
	e := sqrtEps * math.Max(1, math.Max(norm2(y), norm2(o.p))) / nrm
	for i := range y {
		o.ybuf[i] = y[i] + e*ydot[i]
	}
	ps := o.p
	if pdot != nil {
		for i := range o.p {
			o.pbuf[i] = o.p[i] + e*pdot[i]
		}
		ps = o.pbuf
	}
	o.sys.Eval(dst, t, o.ybuf, ps)
	o.st.FEvals++
	for i := range dst {
		dst[i] = (dst[i] - base[i]) / e
	}
}

// timeDeriv writes ∂f/∂t at (t, y) to dst; fy = f(t, y). h is the current
// step, which sizes the finite-difference increment.
func (o *sysOps) timeDeriv(dst []float64, t, h float64, y, fy []float64) {
	if o.td != nil {
		o.td.TimeDeriv(dst, t, y, o.p)
		return
	}
	d := sqrtEps * math.Max(math.Abs(t), math.Max(math.Abs(h), 1e-300))
	o.f(dst, t+d, y)
	for i := range dst {
		dst[i] = (dst[i] - fy[i]) / d
	}
}

// vjpTangent accumulates the derivative of the VJP along (dt, dy, dp) (see
// SecondOrderer): ybar += d/dε (∂f/∂y)ᵀw, pbar += d/dε (∂f/∂p)ᵀw at
// (t+ε·dt, y+ε·dy, p+ε·dp). It is exact with a SecondOrderer and otherwise
// taken by central differences of VJPs; h, the current step, sizes the
// time increment. dy and dp may be nil, and so may either destination.
func (o *sysOps) vjpTangent(ybar, pbar []float64, t, h float64, y, w []float64, dt float64, dy, dp []float64) {
	if o.so != nil {
		o.st.VJPs++
		o.so.VJPTangent(ybar, pbar, t, y, o.p, w, dt, dy, dp)
		return
	}
	yb, pb := o.tmp2, o.ptmp2
	o.central(func(c, t float64, y, p []float64) {
		var ybd, pbd []float64
		if ybar != nil {
			clear(yb)
			ybd = yb
		}
		if pbar != nil {
			clear(pb)
			pbd = pb
		}
		o.vjpAt(ybd, pbd, t, y, p, w)
		axpy(ybar, c, yb)
		axpy(pbar, c, pb)
	}, t, h, y, dt, dy, dp)
}

// jvpTangent writes the derivative of the JVP along (dt, dy, dp) (see
// SecondOrderer) to dst: exactly with a SecondOrderer, otherwise by
// central differences of JVPs.
func (o *sysOps) jvpTangent(dst []float64, t, h float64, y, ydot, pdot []float64, dt float64, dy, dp []float64) {
	if o.so != nil {
		o.st.JVPs++
		o.so.JVPTangent(dst, t, y, o.p, ydot, pdot, dt, dy, dp)
		return
	}
	clear(dst)
	o.central(func(c, t float64, y, p []float64) {
		saved := o.p
		o.p = p
		o.jvp(o.tmp3, t, y, ydot, pdot, nil)
		o.p = saved
		axpy(dst, c, o.tmp3)
	}, t, h, y, dt, dy, dp)
}

// integGradTangent accumulates the derivative of the integrand's gradient
// along (dt, dy): gy += d/dε ∇_y g, gp += d/dε ∇_p g at (t+ε·dt, y+ε·dy),
// exactly with Integral.GradTangent and by central differences of Grad
// otherwise.
func (o *sysOps) integGradTangent(integ *Integral, gy, gp []float64, t, h float64, y []float64, dt float64, dy []float64) {
	if integ.GradTangent != nil {
		integ.GradTangent(gy, gp, t, y, o.p, dt, dy, nil)
		return
	}
	if o.igy == nil {
		o.igy, o.igp = make([]float64, o.n), make([]float64, o.np)
	}
	o.central(func(c, t float64, y, p []float64) {
		clear(o.igy)
		clear(o.igp)
		integ.Grad(o.igy, o.igp, t, y, p)
		axpy(gy, c, o.igy)
		axpy(gp, c, o.igp)
	}, t, h, y, dt, dy, nil)
}

// vjpAt is vjp with the parameters p in place of o.p.
func (o *sysOps) vjpAt(ybar, pbar []float64, t float64, y, p, w []float64) {
	saved := o.p
	o.p = p
	o.vjp(ybar, pbar, t, y, w)
	o.p = saved
}

// central takes the derivative of a function of (t, y, p) along
// (dt, dy, dp) by central differences: it calls acc(c, t', y', p') at
// perturbed points with the weights c whose weighted sum is the derivative.
// The time part uses an increment tied to h, the step being taken (the
// scale on which the solution is resolved), and the (y, p) part an
// increment relative to the size of y and p, so that neither scale spoils
// the other.
func (o *sysOps) central(acc func(c, t float64, y, p []float64), t, h float64, y []float64, dt float64, dy, dp []float64) {
	if dt != 0 {
		d := math.Max(cbrtEps*math.Abs(h), sqrtEps*math.Abs(t))
		if d == 0 {
			d = cbrtEps
		}
		tp, tm := t+d, t-d
		acc(dt/(tp-tm), tp, y, o.p)
		acc(-dt/(tp-tm), tm, y, o.p)
	}
	if dp != nil && o.pbuf2 == nil {
		o.pbuf2 = make([]float64, o.np)
	}
	centralAlong(y, o.p, dy, dp, o.ybuf3, o.pbuf2, func(c float64, yp, pp []float64) { acc(c, t, yp, pp) })
}

// mulTransAdd accumulates dst += Aᵀ w.
func mulTransAdd(dst []float64, a *mat.Dense, w []float64) {
	r, c := a.Dims()
	for j := range c {
		var s float64
		for i := range r {
			s += a.At(i, j) * w[i]
		}
		dst[j] += s
	}
}

// mulAdd writes dst = A x (overwrite) or dst += A x.
func mulAdd(dst []float64, a *mat.Dense, x []float64, overwrite bool) {
	r, c := a.Dims()
	for i := range r {
		var s float64
		row := a.RawRowView(i)
		for j := range c {
			s += row[j] * x[j]
		}
		if overwrite {
			dst[i] = s
		} else {
			dst[i] += s
		}
	}
}

func norm2(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s)
}
