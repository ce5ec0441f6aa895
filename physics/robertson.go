package physics

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/adjointkit/adjointkit/ode"
)

// Robertson is Robertson's chemical kinetics (1966), the classic stiff test
// problem,
//
//	y1' = −k1 y1 + k2 y2 y3,
//	y2' =  k1 y1 − k2 y2 y3 − k3 y2²,
//	y3' =  k3 y2²,
//
// with state [y1, y2, y3] (concentrations, dimensionless; their sum is
// conserved) and parameters p = [k1, k2, k3] (reaction rates,
// non-negative). The classic rates are 0.04, 1e4 and 3e7 with y(0) = (1, 0,
// 0), as in SUNDIALS CVODES's example cvsRoberts_ASAi_dns; the time scales
// then span about eleven decades, so it needs an implicit solver
// (ode.Rodas4), which uses the Jacobian it implements.
type Robertson struct{}

var (
	_ Model               = Robertson{}
	_ ode.Jacobianer      = Robertson{}
	_ ode.ParamJacobianer = Robertson{}
	_ ode.TimeDeriver     = Robertson{}
)

// Dims returns n = 3 and np = 3.
func (Robertson) Dims() (n, np int) { return 3, 3 }

// CheckParams requires non-negative rates.
func (Robertson) CheckParams(p []float64) error {
	checkLen("Robertson parameters", len(p), 3)
	for i, v := range p {
		if v < 0 {
			return fmt.Errorf("physics: Robertson rate k%d = %v must be non-negative", i+1, v)
		}
	}
	return nil
}

// Eval writes f(t, y, p).
func (Robertson) Eval(dst []float64, _ float64, y, p []float64) {
	a := p[0] * y[0]        // y1 → y2
	b := p[1] * y[1] * y[2] // y2 + y3 → y1 + y3
	c := p[2] * y[1] * y[1] // 2 y2 → y2 + y3
	dst[0] = -a + b
	dst[1] = a - b - c
	dst[2] = c
}

// VJP accumulates ybar += (∂f/∂y)ᵀv and pbar += (∂f/∂p)ᵀv.
func (Robertson) VJP(ybar, pbar []float64, _ float64, y, p, v []float64) {
	da := v[1] - v[0] // the rate a enters f as −v0 + v1
	db := v[0] - v[1] // b enters as v0 − v1
	dc := v[2] - v[1] // c enters as −v1 + v2
	if ybar != nil {
		ybar[0] += da * p[0]
		ybar[1] += db*p[1]*y[2] + dc*2*p[2]*y[1]
		ybar[2] += db * p[1] * y[1]
	}
	if pbar != nil {
		pbar[0] += da * y[0]
		pbar[1] += db * y[1] * y[2]
		pbar[2] += dc * y[1] * y[1]
	}
}

// JVP writes dst = (∂f/∂y)ẏ + (∂f/∂p)ṗ.
func (Robertson) JVP(dst []float64, _ float64, y, p, yd, pd []float64) {
	a := p[0] * yd[0]
	b := p[1] * (yd[1]*y[2] + y[1]*yd[2])
	c := 2 * p[2] * y[1] * yd[1]
	if pd != nil {
		a += pd[0] * y[0]
		b += pd[1] * y[1] * y[2]
		c += pd[2] * y[1] * y[1]
	}
	dst[0] = -a + b
	dst[1] = a - b - c
	dst[2] = c
}

// Jacobian writes ∂f/∂y (3×3) to dst.
func (Robertson) Jacobian(dst *mat.Dense, _ float64, y, p []float64) {
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

// ParamJacobian writes ∂f/∂p (3×3) to dst.
func (Robertson) ParamJacobian(dst *mat.Dense, _ float64, y, _ []float64) {
	dst.Zero()
	dst.Set(0, 0, -y[0])
	dst.Set(0, 1, y[1]*y[2])
	dst.Set(1, 0, y[0])
	dst.Set(1, 1, -y[1]*y[2])
	dst.Set(1, 2, -y[1]*y[1])
	dst.Set(2, 2, y[1]*y[1])
}

// TimeDeriv writes ∂f/∂t = 0: the model is autonomous.
func (Robertson) TimeDeriv(dst []float64, _ float64, _, _ []float64) { clear(dst) }
