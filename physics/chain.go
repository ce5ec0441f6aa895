package physics

import "fmt"

// SpringChain is a chain of N equal point masses on a line joined by N
// springs: spring 0 ties mass 0 to a fixed wall, spring i (i ≥ 1) joins
// masses i−1 and i, and the last mass is free. With displacements x_i from
// rest (m), velocities v_i (m/s) and extensions e_i = x_i − x_{i−1}
// (x_{−1} = 0),
//
//	x_i' = v_i,   m v_i' = −k_i e_i + k_{i+1} e_{i+1} − m c v_i   (k_N = 0),
//
// with state y = [x_0 … x_{N−1}, v_0 … v_{N−1}] (length 2N) and one
// parameter per spring, p = [k_0 … k_{N−1}], the stiffnesses in N/m
// (non-negative). The mass m (kg) and the damping rate c (1/s) are fixed
// properties of the chain. Eval, VJP and JVP cost O(N) and allocate nothing,
// so chains of thousands of masses are cheap to differentiate.
type SpringChain struct {
	n       int
	mass    float64
	damping float64
}

var _ Model = (*SpringChain)(nil)

// NewSpringChain returns a chain of n ≥ 1 masses of mass kg each (positive)
// with damping rate damping in 1/s (non-negative). Bad values are errors.
func NewSpringChain(n int, mass, damping float64) (*SpringChain, error) {
	if n < 1 {
		return nil, fmt.Errorf("physics: spring chain needs N ≥ 1 masses, got %d", n)
	}
	if !(mass > 0) || !finite(mass) {
		return nil, fmt.Errorf("physics: spring chain mass %v kg must be positive", mass)
	}
	if !(damping >= 0) || !finite(damping) {
		return nil, fmt.Errorf("physics: spring chain damping %v 1/s must be non-negative", damping)
	}
	return &SpringChain{n: n, mass: mass, damping: damping}, nil
}

// N returns the number of masses (and springs).
func (m *SpringChain) N() int { return m.n }

// Dims returns n = 2N states and np = N stiffnesses.
func (m *SpringChain) Dims() (n, np int) { return 2 * m.n, m.n }

// CheckParams requires non-negative stiffnesses.
func (m *SpringChain) CheckParams(p []float64) error {
	checkLen("spring stiffnesses", len(p), m.n)
	for i, k := range p {
		if k < 0 {
			return fmt.Errorf("physics: stiffness of spring %d is %v N/m, must be non-negative", i, k)
		}
	}
	return nil
}

// Eval writes f(t, y, p).
func (m *SpringChain) Eval(dst []float64, _ float64, y, p []float64) {
	n := m.n
	x, v := y[:n], y[n:2*n]
	dx, dv := dst[:n], dst[n:2*n]
	copy(dx, v)
	inv := 1 / m.mass
	ePrev := x[0] // e_0
	for i := range n {
		// force of spring i on mass i
		fi := -p[i] * ePrev
		var fn float64
		if i+1 < n {
			e := x[i+1] - x[i]
			fn = p[i+1] * e
			ePrev = e
		}
		dv[i] = (fi+fn)*inv - m.damping*v[i]
	}
}

// VJP accumulates ybar += (∂f/∂y)ᵀw and pbar += (∂f/∂p)ᵀw.
func (m *SpringChain) VJP(ybar, pbar []float64, _ float64, y, p, w []float64) {
	n := m.n
	x := y[:n]
	wx, wv := w[:n], w[n:2*n]
	inv := 1 / m.mass
	if ybar != nil {
		xb, vb := ybar[:n], ybar[n:2*n]
		for i := range n {
			vb[i] += wx[i] - m.damping*wv[i]
		}
		rPrev := 0.0
		for j := range n {
			r := wv[j] * inv
			eb := p[j] * (rPrev - r) // ∂/∂e_j
			xb[j] += eb
			if j > 0 {
				xb[j-1] -= eb
			}
			rPrev = r
		}
	}
	if pbar != nil {
		rPrev := 0.0
		xPrev := 0.0
		for j := range n {
			r := wv[j] * inv
			pbar[j] += (x[j] - xPrev) * (rPrev - r)
			rPrev, xPrev = r, x[j]
		}
	}
}

// JVP writes dst = (∂f/∂y)ẏ + (∂f/∂p)ṗ.
func (m *SpringChain) JVP(dst []float64, _ float64, y, p, yd, pd []float64) {
	n := m.n
	x := y[:n]
	xd, vd := yd[:n], yd[n:2*n]
	copy(dst[:n], vd)
	dv := dst[n : 2*n]
	inv := 1 / m.mass
	// tangent of the spring forces T_j = k_j e_j
	tPrev := 0.0 // T_j tangent for current j
	for j := range n {
		xm := 0.0
		xdm := 0.0
		if j > 0 {
			xm, xdm = x[j-1], xd[j-1]
		}
		tj := p[j] * (xd[j] - xdm)
		if pd != nil {
			tj += pd[j] * (x[j] - xm)
		}
		if j == 0 {
			tPrev = tj
			continue
		}
		// mass j−1 feels −T_{j−1} + T_j
		dv[j-1] = (-tPrev+tj)*inv - m.damping*vd[j-1]
		tPrev = tj
	}
	dv[n-1] = -tPrev*inv - m.damping*vd[n-1]
}
