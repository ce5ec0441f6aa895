package physics

import (
	"fmt"
	"math"

	"github.com/adjointkit/adjointkit/ode"
)

// Pendulum is a damped, driven pendulum,
//
//	θ'' = −(g/L) sin θ − c θ' + A cos(Ω t),
//
// with state y = [θ, ω] (angle from the downward vertical in rad, angular
// velocity θ' in rad/s) and parameters p = [L, c, A, Ω]: length L in m
// (positive), damping rate c in 1/s (non-negative), drive amplitude A in
// rad/s² and drive angular frequency Ω in rad/s. Time is in s.
type Pendulum struct {
	// Gravity is g in m/s². Zero means StandardGravity.
	Gravity float64
}

// Indices of the pendulum's parameters in p.
const (
	PendulumLength = iota
	PendulumDamping
	PendulumAmplitude
	PendulumFrequency
)

var _ Model = (*Pendulum)(nil)

func (m *Pendulum) g() float64 {
	if m.Gravity == 0 {
		return StandardGravity
	}
	return m.Gravity
}

// Dims returns n = 2 states and np = 4 parameters.
func (m *Pendulum) Dims() (n, np int) { return 2, 4 }

// CheckParams requires a positive length and a non-negative damping.
func (m *Pendulum) CheckParams(p []float64) error {
	checkLen("pendulum parameters", len(p), 4)
	if !(p[PendulumLength] > 0) {
		return fmt.Errorf("physics: pendulum length %v m must be positive", p[PendulumLength])
	}
	if p[PendulumDamping] < 0 {
		return fmt.Errorf("physics: pendulum damping %v 1/s must be non-negative", p[PendulumDamping])
	}
	return nil
}

// Eval writes f(t, y, p).
func (m *Pendulum) Eval(dst []float64, t float64, y, p []float64) {
	dst[0] = y[1]
	dst[1] = -m.g()/p[0]*math.Sin(y[0]) - p[1]*y[1] + p[2]*math.Cos(p[3]*t)
}

// VJP accumulates ybar += (∂f/∂y)ᵀv and pbar += (∂f/∂p)ᵀv.
func (m *Pendulum) VJP(ybar, pbar []float64, t float64, y, p, v []float64) {
	g, L := m.g(), p[0]
	if ybar != nil {
		ybar[0] += -g / L * math.Cos(y[0]) * v[1]
		ybar[1] += v[0] - p[1]*v[1]
	}
	if pbar != nil {
		pbar[0] += g / (L * L) * math.Sin(y[0]) * v[1]
		pbar[1] += -y[1] * v[1]
		pbar[2] += math.Cos(p[3]*t) * v[1]
		pbar[3] += -p[2] * t * math.Sin(p[3]*t) * v[1]
	}
}

// JVP writes dst = (∂f/∂y)ẏ + (∂f/∂p)ṗ.
func (m *Pendulum) JVP(dst []float64, t float64, y, p, yd, pd []float64) {
	g, L := m.g(), p[0]
	dst[0] = yd[1]
	dst[1] = -g/L*math.Cos(y[0])*yd[0] - p[1]*yd[1]
	if pd != nil {
		dst[1] += g/(L*L)*math.Sin(y[0])*pd[0] - y[1]*pd[1] + math.Cos(p[3]*t)*pd[2] - p[2]*t*math.Sin(p[3]*t)*pd[3]
	}
}

// Lorenz63 is Lorenz's 1963 convection model
//
//	x' = σ(y − x),   y' = x(ρ − z) − y,   z' = xy − βz,
//
// with state [x, y, z] and parameters p = [σ, ρ, β] (dimensionless; the
// classical chaotic values are 10, 28, 8/3, where the leading Lyapunov
// exponent is about 0.906).
type Lorenz63 struct{}

var _ Model = Lorenz63{}

// Dims returns n = 3 and np = 3.
func (Lorenz63) Dims() (n, np int) { return 3, 3 }

// CheckParams accepts any finite values.
func (Lorenz63) CheckParams(p []float64) error {
	checkLen("Lorenz-63 parameters", len(p), 3)
	return nil
}

// Eval writes f(t, y, p).
func (Lorenz63) Eval(dst []float64, _ float64, y, p []float64) {
	dst[0] = p[0] * (y[1] - y[0])
	dst[1] = y[0]*(p[1]-y[2]) - y[1]
	dst[2] = y[0]*y[1] - p[2]*y[2]
}

// VJP accumulates ybar += (∂f/∂y)ᵀv and pbar += (∂f/∂p)ᵀv.
func (Lorenz63) VJP(ybar, pbar []float64, _ float64, y, p, v []float64) {
	if ybar != nil {
		ybar[0] += -p[0]*v[0] + (p[1]-y[2])*v[1] + y[1]*v[2]
		ybar[1] += p[0]*v[0] - v[1] + y[0]*v[2]
		ybar[2] += -y[0]*v[1] - p[2]*v[2]
	}
	if pbar != nil {
		pbar[0] += (y[1] - y[0]) * v[0]
		pbar[1] += y[0] * v[1]
		pbar[2] += -y[2] * v[2]
	}
}

// JVP writes dst = (∂f/∂y)ẏ + (∂f/∂p)ṗ.
func (Lorenz63) JVP(dst []float64, _ float64, y, p, yd, pd []float64) {
	dst[0] = p[0] * (yd[1] - yd[0])
	dst[1] = (p[1]-y[2])*yd[0] - y[0]*yd[2] - yd[1]
	dst[2] = y[1]*yd[0] + y[0]*yd[1] - p[2]*yd[2]
	if pd != nil {
		dst[0] += (y[1] - y[0]) * pd[0]
		dst[1] += y[0] * pd[1]
		dst[2] -= y[2] * pd[2]
	}
}

// Lorenz96 is Lorenz's 1996 model of an atmospheric quantity on a circle of
// N sites,
//
//	x_i' = (x_{i+1} − x_{i−2}) x_{i−1} − x_i + F,   indices mod N,
//
// with state x (length N ≥ 4) and one parameter p = [F], the forcing
// (dimensionless; F = 8 is the classical chaotic value). One time unit is
// about five days of atmospheric time.
type Lorenz96 struct {
	n int
}

var _ Model = (*Lorenz96)(nil)

// NewLorenz96 returns the Lorenz-96 model on n sites; n < 4 is an error.
func NewLorenz96(n int) (*Lorenz96, error) {
	if n < 4 {
		return nil, fmt.Errorf("physics: Lorenz-96 needs N ≥ 4 sites, got %d", n)
	}
	return &Lorenz96{n: n}, nil
}

// Dims returns n = N and np = 1.
func (m *Lorenz96) Dims() (n, np int) { return m.n, 1 }

// CheckParams accepts any finite forcing.
func (m *Lorenz96) CheckParams(p []float64) error {
	checkLen("Lorenz-96 parameters", len(p), 1)
	return nil
}

// Eval writes f(t, y, p).
func (m *Lorenz96) Eval(dst []float64, _ float64, x, p []float64) {
	n := m.n
	for i := range n {
		dst[i] = (x[(i+1)%n]-x[(i+n-2)%n])*x[(i+n-1)%n] - x[i] + p[0]
	}
}

// VJP accumulates ybar += (∂f/∂y)ᵀv and pbar += (∂f/∂p)ᵀv.
func (m *Lorenz96) VJP(ybar, pbar []float64, _ float64, x, p, v []float64) {
	n := m.n
	if ybar != nil {
		for i := range n {
			ip1, im1, im2 := (i+1)%n, (i+n-1)%n, (i+n-2)%n
			ybar[ip1] += x[im1] * v[i]
			ybar[im2] -= x[im1] * v[i]
			ybar[im1] += (x[ip1] - x[im2]) * v[i]
			ybar[i] -= v[i]
		}
	}
	if pbar != nil {
		for i := range n {
			pbar[0] += v[i]
		}
	}
}

// JVP writes dst = (∂f/∂y)ẏ + (∂f/∂p)ṗ.
func (m *Lorenz96) JVP(dst []float64, _ float64, x, p, xd, pd []float64) {
	n := m.n
	var f float64
	if pd != nil {
		f = pd[0]
	}
	for i := range n {
		ip1, im1, im2 := (i+1)%n, (i+n-1)%n, (i+n-2)%n
		dst[i] = (xd[ip1]-xd[im2])*x[im1] + (x[ip1]-x[im2])*xd[im1] - xd[i] + f
	}
}

var _ ode.System = (*Lorenz96)(nil)
