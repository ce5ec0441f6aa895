package ode

import (
	"gonum.org/v1/gonum/mat"
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
