package ode

import (
	"github.com/adjointkit/adjointkit/adjoint"
	"gonum.org/v1/gonum/mat"
)

// lotkaVolterra is the predator–prey system of the CVODES example
// cvsLotkaVolterra_ASA, hand-written with every capability:
// x' = p0 x − p1 x y, y' = −p2 y + p3 x y.
type lotkaVolterra struct{}

var (
	_ System          = lotkaVolterra{}
	_ VJPer           = lotkaVolterra{}
	_ JVPer           = lotkaVolterra{}
	_ Jacobianer      = lotkaVolterra{}
	_ ParamJacobianer = lotkaVolterra{}
	_ TimeDeriver     = lotkaVolterra{}
)

func (lotkaVolterra) Dims() (int, int) { return 2, 4 }
func (lotkaVolterra) Eval(dst []float64, _ float64, u, p []float64) {
	x, y := u[0], u[1]
	dst[0] = p[0]*x - p[1]*x*y
	dst[1] = -p[2]*y + p[3]*x*y
}
func (lotkaVolterra) VJP(ub, pb []float64, _ float64, u, p, v []float64) {
	x, y := u[0], u[1]
	if ub != nil {
		ub[0] += v[0]*(p[0]-p[1]*y) + v[1]*p[3]*y
		ub[1] += -v[0]*p[1]*x + v[1]*(-p[2]+p[3]*x)
	}
	if pb != nil {
		pb[0] += v[0] * x
		pb[1] -= v[0] * x * y
		pb[2] -= v[1] * y
		pb[3] += v[1] * x * y
	}
}
func (lotkaVolterra) JVP(dst []float64, _ float64, u, p, ud, pd []float64) {
	x, y := u[0], u[1]
	dst[0] = (p[0]-p[1]*y)*ud[0] - p[1]*x*ud[1]
	dst[1] = p[3]*y*ud[0] + (-p[2]+p[3]*x)*ud[1]
	if pd != nil {
		dst[0] += x*pd[0] - x*y*pd[1]
		dst[1] += -y*pd[2] + x*y*pd[3]
	}
}
func (lotkaVolterra) Jacobian(dst *mat.Dense, _ float64, u, p []float64) {
	x, y := u[0], u[1]
	dst.Set(0, 0, p[0]-p[1]*y)
	dst.Set(0, 1, -p[1]*x)
	dst.Set(1, 0, p[3]*y)
	dst.Set(1, 1, -p[2]+p[3]*x)
}
func (lotkaVolterra) ParamJacobian(dst *mat.Dense, _ float64, u, _ []float64) {
	x, y := u[0], u[1]
	dst.Zero()
	dst.Set(0, 0, x)
	dst.Set(0, 1, -x*y)
	dst.Set(1, 2, -y)
	dst.Set(1, 3, x*y)
}
func (lotkaVolterra) TimeDeriv(dst []float64, _ float64, _, _ []float64) { clear(dst) }

// tracedLV is the same system written once with adjoint ops.
var tracedLV = &Traced{N: 2, NP: 4, F: func(_, u, p *adjoint.Var) *adjoint.Var {
	x, y := adjoint.Slice(u, 0, 0, 1), adjoint.Slice(u, 0, 1, 2)
	p0, p1 := adjoint.Slice(p, 0, 0, 1), adjoint.Slice(p, 0, 1, 2)
	p2, p3 := adjoint.Slice(p, 0, 2, 3), adjoint.Slice(p, 0, 3, 4)
	xy := adjoint.Mul(x, y)
	return adjoint.Concat(0,
		adjoint.Sub(adjoint.Mul(p0, x), adjoint.Mul(p1, xy)),
		adjoint.Add(adjoint.Neg(adjoint.Mul(p2, y)), adjoint.Mul(p3, xy)))
}}

// bareLV has only Eval: every derivative falls back to finite differences.
type bareLV struct{}

func (bareLV) Dims() (int, int)                              { return 2, 4 }
func (bareLV) Eval(dst []float64, t float64, u, p []float64) { lotkaVolterra{}.Eval(dst, t, u, p) }

// robertson is the stiff chemical kinetics problem of the CVODES example
// cvsRoberts_ASAi_dns:
// y1' = −p1 y1 + p2 y2 y3, y2' = p1 y1 − p2 y2 y3 − p3 y2², y3' = p3 y2².
type robertson struct{}

var (
	_ System          = robertson{}
	_ VJPer           = robertson{}
	_ Jacobianer      = robertson{}
	_ ParamJacobianer = robertson{}
	_ TimeDeriver     = robertson{}
)

func (robertson) Dims() (int, int) { return 3, 3 }
func (robertson) Eval(dst []float64, _ float64, y, p []float64) {
	a := p[0] * y[0]
	b := p[1] * y[1] * y[2]
	c := p[2] * y[1] * y[1]
	dst[0] = -a + b
	dst[1] = a - b - c
	dst[2] = c
}
func (robertson) Jacobian(dst *mat.Dense, _ float64, y, p []float64) {
	dst.Set(0, 0, -p[0])
	dst.Set(0, 1, p[1]*y[2])
	dst.Set(0, 2, p[1]*y[1])
	dst.Set(1, 0, p[0])
	dst.Set(1, 1, -p[1]*y[2]-2*p[2]*y[1])
	dst.Set(1, 2, -p[1]*y[1])
	dst.Set(2, 0, 0)
	dst.Set(2, 1, 2*p[2]*y[1])
	dst.Set(2, 2, 0)
}
func (robertson) ParamJacobian(dst *mat.Dense, _ float64, y, _ []float64) {
	dst.Zero()
	dst.Set(0, 0, -y[0])
	dst.Set(0, 1, y[1]*y[2])
	dst.Set(1, 0, y[0])
	dst.Set(1, 1, -y[1]*y[2])
	dst.Set(1, 2, -y[1]*y[1])
	dst.Set(2, 2, y[1]*y[1])
}
func (robertson) VJP(yb, pb []float64, _ float64, y, p, v []float64) {
	d01 := v[1] - v[0] // a enters −v0 + v1
	d12 := v[0] - v[1] // b enters v0 − v1
	d2 := v[2] - v[1]  // c enters −v1 + v2
	if yb != nil {
		yb[0] += d01 * p[0]
		yb[1] += d12*p[1]*y[2] + d2*2*p[2]*y[1]
		yb[2] += d12 * p[1] * y[1]
	}
	if pb != nil {
		pb[0] += d01 * y[0]
		pb[1] += d12 * y[1] * y[2]
		pb[2] += d2 * y[1] * y[1]
	}
}
func (robertson) TimeDeriv(dst []float64, _ float64, _, _ []float64) { clear(dst) }

var (
	robP    = []float64{0.04, 1e4, 3e7}
	robY0   = []float64{1, 0, 0}
	robATol = []float64{1e-8, 1e-14, 1e-6}
)

// robIntegral is G = ∫ y3 dt.
var robIntegral = &Integral{
	G:    func(_ float64, y, _ []float64) float64 { return y[2] },
	Grad: func(gy, _ []float64, _ float64, _, _ []float64) { gy[2] += 1 },
}

var (
	lvP  = []float64{1.5, 1, 3, 1}
	lvY0 = []float64{1, 1}
)

// cvsHessianHW is the system of CVODES's cvsHessian_ASA_FSA written by
// hand with every capability, second derivatives included:
// y1' = −p1 y1² − y3, y2' = −y2, y3' = −p2² y2 y3.
type cvsHessianHW struct{}

var (
	_ System          = cvsHessianHW{}
	_ VJPer           = cvsHessianHW{}
	_ JVPer           = cvsHessianHW{}
	_ Jacobianer      = cvsHessianHW{}
	_ TimeDeriver     = cvsHessianHW{}
	_ SecondOrderer   = cvsHessianHW{}
	_ ParamJacobianer = cvsHessianHW{}
)

func (cvsHessianHW) Dims() (int, int) { return 3, 2 }
func (cvsHessianHW) Eval(dst []float64, _ float64, y, p []float64) {
	dst[0] = -p[0]*y[0]*y[0] - y[2]
	dst[1] = -y[1]
	dst[2] = -p[1] * p[1] * y[1] * y[2]
}
func (cvsHessianHW) VJP(yb, pb []float64, _ float64, y, p, v []float64) {
	q := p[1] * p[1]
	if yb != nil {
		yb[0] -= 2 * p[0] * y[0] * v[0]
		yb[1] -= v[1] + q*y[2]*v[2]
		yb[2] -= v[0] + q*y[1]*v[2]
	}
	if pb != nil {
		pb[0] -= y[0] * y[0] * v[0]
		pb[1] -= 2 * p[1] * y[1] * y[2] * v[2]
	}
}
func (cvsHessianHW) JVP(dst []float64, _ float64, y, p, yd, pd []float64) {
	q := p[1] * p[1]
	dst[0] = -2*p[0]*y[0]*yd[0] - yd[2]
	dst[1] = -yd[1]
	dst[2] = -q*y[2]*yd[1] - q*y[1]*yd[2]
	if pd != nil {
		dst[0] -= y[0] * y[0] * pd[0]
		dst[2] -= 2 * p[1] * y[1] * y[2] * pd[1]
	}
}
func (cvsHessianHW) Jacobian(dst *mat.Dense, _ float64, y, p []float64) {
	q := p[1] * p[1]
	dst.Zero()
	dst.Set(0, 0, -2*p[0]*y[0])
	dst.Set(0, 2, -1)
	dst.Set(1, 1, -1)
	dst.Set(2, 1, -q*y[2])
	dst.Set(2, 2, -q*y[1])
}
func (cvsHessianHW) ParamJacobian(dst *mat.Dense, _ float64, y, p []float64) {
	dst.Zero()
	dst.Set(0, 0, -y[0]*y[0])
	dst.Set(2, 1, -2*p[1]*y[1]*y[2])
}
func (cvsHessianHW) TimeDeriv(dst []float64, _ float64, _, _ []float64) { clear(dst) }

// at returns v[i], or 0 for a nil v.
func at(v []float64, i int) float64 {
	if v == nil {
		return 0
	}
	return v[i]
}

func (cvsHessianHW) VJPTangent(yb, pb []float64, _ float64, y, p, v []float64, _ float64, dy, dp []float64) {
	dy0, dy1, dy2 := at(dy, 0), at(dy, 1), at(dy, 2)
	dp0, dp1 := at(dp, 0), at(dp, 1)
	if yb != nil {
		yb[0] -= 2 * (dp0*y[0] + p[0]*dy0) * v[0]
		yb[1] -= (2*p[1]*dp1*y[2] + p[1]*p[1]*dy2) * v[2]
		yb[2] -= (2*p[1]*dp1*y[1] + p[1]*p[1]*dy1) * v[2]
	}
	if pb != nil {
		pb[0] -= 2 * y[0] * dy0 * v[0]
		pb[1] -= 2 * (dp1*y[1]*y[2] + p[1]*dy1*y[2] + p[1]*y[1]*dy2) * v[2]
	}
}
func (cvsHessianHW) JVPTangent(dst []float64, _ float64, y, p, yd, pd []float64, _ float64, dy, dp []float64) {
	dy0, dy1, dy2 := at(dy, 0), at(dy, 1), at(dy, 2)
	dp0, dp1 := at(dp, 0), at(dp, 1)
	dst[0] = -2 * (dp0*y[0] + p[0]*dy0) * yd[0]
	dst[1] = 0
	dst[2] = -(2*p[1]*dp1*y[2]+p[1]*p[1]*dy2)*yd[1] - (2*p[1]*dp1*y[1]+p[1]*p[1]*dy1)*yd[2]
	if pd != nil {
		dst[0] -= 2 * y[0] * dy0 * pd[0]
		dst[2] -= 2 * (dp1*y[1]*y[2] + p[1]*dy1*y[2] + p[1]*y[1]*dy2) * pd[1]
	}
}

// halfSquares is the running cost ½‖y‖² with exact second derivatives.
var halfSquares = &Integral{
	G: func(_ float64, y, _ []float64) float64 { return dot(y, y) / 2 },
	Grad: func(gy, _ []float64, _ float64, y, _ []float64) {
		axpy(gy, 1, y)
	},
	GradTangent: func(gy, _ []float64, _ float64, _, _ []float64, _ float64, dy, _ []float64) {
		if dy != nil {
			axpy(gy, 1, dy)
		}
	},
}
