package physics

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/adjointkit/adjointkit/ode"
)

// LotkaVolterra is the predator–prey model
//
//	x' = αx − βxy,   y' = δxy − γy,
//
// with state [x, y] (prey and predator populations, dimensionless) and the
// four rates α, β, γ, δ (per unit time, non-negative) in p in the order
// Order says. Besides Model, it implements ode.Jacobianer,
// ode.ParamJacobianer and ode.TimeDeriver, so every solver and sensitivity
// method of package ode runs on it without finite differences.
type LotkaVolterra struct {
	// Order is the order of the rates in p; the zero value is
	// AlphaBetaDeltaGamma.
	Order LVOrder
}

// LVOrder is an order of the Lotka–Volterra rates in the parameter vector.
type LVOrder int

const (
	// AlphaBetaDeltaGamma is p = [α, β, δ, γ]: the growth and predation
	// terms of each population in turn.
	AlphaBetaDeltaGamma LVOrder = iota
	// AlphaBetaGammaDelta is p = [α, β, γ, δ], the order of SUNDIALS
	// CVODES's adjoint example cvsLotkaVolterra_ASA, which writes the model
	// x' = p0 x − p1 x y, y' = −p2 y + p3 x y.
	AlphaBetaGammaDelta
)

var (
	_ Model               = LotkaVolterra{}
	_ ode.Jacobianer      = LotkaVolterra{}
	_ ode.ParamJacobianer = LotkaVolterra{}
	_ ode.TimeDeriver     = LotkaVolterra{}
)

// rates returns the indices of δ and γ in p (α is 0 and β is 1 in both
// orders).
func (m LotkaVolterra) rates() (delta, gamma int) {
	switch m.Order {
	case AlphaBetaDeltaGamma:
		return 2, 3
	case AlphaBetaGammaDelta:
		return 3, 2
	}
	panic(fmt.Sprintf("physics: unknown Lotka–Volterra parameter order %d", m.Order))
}

// Dims returns n = 2 and np = 4.
func (LotkaVolterra) Dims() (n, np int) { return 2, 4 }

// CheckParams requires non-negative rates.
func (m LotkaVolterra) CheckParams(p []float64) error {
	checkLen("Lotka–Volterra parameters", len(p), 4)
	d, g := m.rates()
	names := []string{"α", "β", "", ""}
	names[d], names[g] = "δ", "γ"
	for i, v := range p {
		if v < 0 {
			return fmt.Errorf("physics: Lotka–Volterra rate %s = %v must be non-negative", names[i], v)
		}
	}
	return nil
}

// Eval writes f(t, y, p).
func (m LotkaVolterra) Eval(dst []float64, _ float64, y, p []float64) {
	d, g := m.rates()
	x, z := y[0], y[1]
	dst[0] = p[0]*x - p[1]*x*z
	dst[1] = p[d]*x*z - p[g]*z
}

// VJP accumulates ybar += (∂f/∂y)ᵀv and pbar += (∂f/∂p)ᵀv.
func (m LotkaVolterra) VJP(ybar, pbar []float64, _ float64, y, p, v []float64) {
	d, g := m.rates()
	x, z := y[0], y[1]
	if ybar != nil {
		ybar[0] += (p[0]-p[1]*z)*v[0] + p[d]*z*v[1]
		ybar[1] += -p[1]*x*v[0] + (p[d]*x-p[g])*v[1]
	}
	if pbar != nil {
		pbar[0] += x * v[0]
		pbar[1] += -x * z * v[0]
		pbar[d] += x * z * v[1]
		pbar[g] += -z * v[1]
	}
}

// JVP writes dst = (∂f/∂y)ẏ + (∂f/∂p)ṗ.
func (m LotkaVolterra) JVP(dst []float64, _ float64, y, p, yd, pd []float64) {
	d, g := m.rates()
	x, z := y[0], y[1]
	dst[0] = (p[0]-p[1]*z)*yd[0] - p[1]*x*yd[1]
	dst[1] = p[d]*z*yd[0] + (p[d]*x-p[g])*yd[1]
	if pd != nil {
		dst[0] += x*pd[0] - x*z*pd[1]
		dst[1] += x*z*pd[d] - z*pd[g]
	}
}

// Jacobian writes ∂f/∂y (2×2) to dst.
func (m LotkaVolterra) Jacobian(dst *mat.Dense, _ float64, y, p []float64) {
	d, g := m.rates()
	x, z := y[0], y[1]
	dst.Set(0, 0, p[0]-p[1]*z)
	dst.Set(0, 1, -p[1]*x)
	dst.Set(1, 0, p[d]*z)
	dst.Set(1, 1, p[d]*x-p[g])
}

// ParamJacobian writes ∂f/∂p (2×4) to dst.
func (m LotkaVolterra) ParamJacobian(dst *mat.Dense, _ float64, y, _ []float64) {
	d, g := m.rates()
	x, z := y[0], y[1]
	dst.Zero()
	dst.Set(0, 0, x)
	dst.Set(0, 1, -x*z)
	dst.Set(1, d, x*z)
	dst.Set(1, g, -z)
}

// TimeDeriv writes ∂f/∂t = 0: the model is autonomous.
func (LotkaVolterra) TimeDeriv(dst []float64, _ float64, _, _ []float64) { clear(dst) }
