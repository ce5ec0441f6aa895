package physics

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/ode"
)

// Heat1D is the 1-D heat equation u_t = (κ(x) u_x)_x + s(x) on [0, L] with
// fixed end temperatures u(0) = Left and u(L) = Right, discretised by the
// method of lines on N cells of width Δx = L/N (finite volumes, cell
// centres at (i+½)Δx):
//
//	u_i' = (κ_{i+1} D_{i+1} − κ_i D_i)/Δx² + s_i,
//	D_i = u_i − u_{i−1} (0 < i < N),   D_0 = 2(u_0 − Left),   D_N = 2(Right − u_{N−1}),
//
// with state u (temperatures of the N cells, in K) and parameters
// p = [κ_0 … κ_N, s_0 … s_{N−1}] (length 2N+1): the thermal diffusivity at the
// N+1 cell faces in m²/s (non-negative; face 0 is the left wall) and the
// heat source of each cell in K/s. Params and its inverse Split build and
// read p. The system is linear in u and stiff for fine grids (the largest
// eigenvalue is about 4κ/Δx²): it implements ode.Jacobianer and
// ode.TimeDeriver for Rodas4, and explicit solvers need steps below about
// Δx²/(2κ).
type Heat1D struct {
	n      int
	length float64
	// Left and Right are the fixed temperatures at x = 0 and x = L, in K.
	// Zero means 0 K (temperatures are then relative to a reference).
	Left, Right float64
}

var (
	_ Model            = (*Heat1D)(nil)
	_ ode.Jacobianer   = (*Heat1D)(nil)
	_ ode.TimeDeriver  = (*Heat1D)(nil)
	_ adjoint.Residual = (*HeatSteady)(nil)
)

// NewHeat1D returns the heat equation on n ≥ 1 cells over a rod of the given
// length in m (positive). Bad values are errors.
func NewHeat1D(n int, length float64) (*Heat1D, error) {
	if n < 1 {
		return nil, fmt.Errorf("physics: heat equation needs N ≥ 1 cells, got %d", n)
	}
	if !(length > 0) || !finite(length) {
		return nil, fmt.Errorf("physics: heat equation length %v m must be positive", length)
	}
	return &Heat1D{n: n, length: length}, nil
}

// N returns the number of cells.
func (m *Heat1D) N() int { return m.n }

// Dx returns the cell width Δx in m.
func (m *Heat1D) Dx() float64 { return m.length / float64(m.n) }

// X returns the cell centres in m.
func (m *Heat1D) X() []float64 {
	x := make([]float64, m.n)
	for i := range x {
		x[i] = (float64(i) + 0.5) * m.Dx()
	}
	return x
}

// Params returns p = [kappa, source]; kappa has N+1 face values and source
// N cell values. It panics on other lengths.
func (m *Heat1D) Params(kappa, source []float64) []float64 {
	checkLen("heat diffusivity", len(kappa), m.n+1)
	checkLen("heat source", len(source), m.n)
	return append(append(make([]float64, 0, 2*m.n+1), kappa...), source...)
}

// Split returns the diffusivity and source parts of p (sharing its memory).
func (m *Heat1D) Split(p []float64) (kappa, source []float64) {
	checkLen("heat parameters", len(p), 2*m.n+1)
	return p[:m.n+1], p[m.n+1:]
}

// Dims returns n = N and np = 2N+1.
func (m *Heat1D) Dims() (n, np int) { return m.n, 2*m.n + 1 }

// CheckParams requires non-negative diffusivities.
func (m *Heat1D) CheckParams(p []float64) error {
	kappa, _ := m.Split(p)
	for i, k := range kappa {
		if k < 0 {
			return fmt.Errorf("physics: diffusivity at face %d is %v m²/s, must be non-negative", i, k)
		}
	}
	return nil
}

// diff returns D_j for face j.
func (m *Heat1D) diff(u []float64, j int) float64 {
	switch {
	case j == 0:
		return 2 * (u[0] - m.Left)
	case j == m.n:
		return 2 * (m.Right - u[m.n-1])
	}
	return u[j] - u[j-1]
}

// Eval writes f(t, u, p).
func (m *Heat1D) Eval(dst []float64, _ float64, u, p []float64) {
	n := m.n
	kappa, s := p[:n+1], p[n+1:]
	c := 1 / (m.Dx() * m.Dx())
	qPrev := kappa[0] * m.diff(u, 0)
	for i := range n {
		q := kappa[i+1] * m.diff(u, i+1)
		dst[i] = (q-qPrev)*c + s[i]
		qPrev = q
	}
}

// VJP accumulates ubar += (∂f/∂u)ᵀw and pbar += (∂f/∂p)ᵀw.
func (m *Heat1D) VJP(ubar, pbar []float64, _ float64, u, p, w []float64) {
	n := m.n
	kappa := p[:n+1]
	c := 1 / (m.Dx() * m.Dx())
	for j := 0; j <= n; j++ {
		var cj float64
		if j >= 1 {
			cj += w[j-1] * c
		}
		if j <= n-1 {
			cj -= w[j] * c
		}
		if pbar != nil {
			pbar[j] += cj * m.diff(u, j)
		}
		if ubar != nil {
			db := cj * kappa[j]
			switch {
			case j == 0:
				ubar[0] += 2 * db
			case j == n:
				ubar[n-1] -= 2 * db
			default:
				ubar[j] += db
				ubar[j-1] -= db
			}
		}
	}
	if pbar != nil {
		for i := range n {
			pbar[n+1+i] += w[i]
		}
	}
}

// JVP writes dst = (∂f/∂u)u̇ + (∂f/∂p)ṗ.
func (m *Heat1D) JVP(dst []float64, _ float64, u, p, ud, pd []float64) {
	n := m.n
	kappa := p[:n+1]
	c := 1 / (m.Dx() * m.Dx())
	dd := func(j int) float64 {
		switch {
		case j == 0:
			return 2 * ud[0]
		case j == n:
			return -2 * ud[n-1]
		}
		return ud[j] - ud[j-1]
	}
	q := func(j int) float64 {
		v := kappa[j] * dd(j)
		if pd != nil {
			v += pd[j] * m.diff(u, j)
		}
		return v
	}
	qPrev := q(0)
	for i := range n {
		qi := q(i + 1)
		dst[i] = (qi - qPrev) * c
		if pd != nil {
			dst[i] += pd[n+1+i]
		}
		qPrev = qi
	}
}

// Jacobian writes the tridiagonal ∂f/∂u to dst (N×N).
func (m *Heat1D) Jacobian(dst *mat.Dense, _ float64, _, p []float64) {
	n := m.n
	kappa := p[:n+1]
	c := 1 / (m.Dx() * m.Dx())
	dst.Zero()
	for i := range n {
		left, right := kappa[i], kappa[i+1]
		if i == 0 {
			left *= 2
		}
		if i == n-1 {
			right *= 2
		}
		dst.Set(i, i, -(left+right)*c)
		if i > 0 {
			dst.Set(i, i-1, kappa[i]*c)
		}
		if i < n-1 {
			dst.Set(i, i+1, kappa[i+1]*c)
		}
	}
}

// TimeDeriv clears dst: the equation is autonomous.
func (m *Heat1D) TimeDeriv(dst []float64, _ float64, _, _ []float64) { clear(dst) }

// HeatSteady is the steady state of a Heat1D with fixed diffusivity, as the
// residual F(u, s) = f(u, [Kappa, s]) = 0 whose unknown u is the steady
// temperature and whose parameter θ = s is the source field: an
// adjoint.Residual (with ResidualJacobian) for adjoint.ImplicitVJP.
type HeatSteady struct {
	// Heat is the model (grid and end temperatures).
	Heat *Heat1D
	// Kappa holds the N+1 face diffusivities in m²/s.
	Kappa []float64
}

func (h *HeatSteady) params(s []float64) []float64 { return h.Heat.Params(h.Kappa, s) }

// Eval computes r = F(u, s).
func (h *HeatSteady) Eval(r []float64, u, s []float64) { h.Heat.Eval(r, 0, u, h.params(s)) }

// VJPU accumulates ubar += (∂F/∂u)ᵀw.
func (h *HeatSteady) VJPU(ubar []float64, u, s, w []float64) {
	h.Heat.VJP(ubar, nil, 0, u, h.params(s), w)
}

// VJPTheta accumulates sbar += (∂F/∂s)ᵀw = w.
func (h *HeatSteady) VJPTheta(sbar []float64, _, _, w []float64) {
	checkLen("source gradient", len(sbar), h.Heat.n)
	for i := range sbar {
		sbar[i] += w[i]
	}
}

// JacobianU sets dst to ∂F/∂u.
func (h *HeatSteady) JacobianU(dst *mat.Dense, u, s []float64) {
	h.Heat.Jacobian(dst, 0, u, h.params(s))
}

// Solve writes the steady temperature for the sources s to u, solving the
// tridiagonal system F(u, s) = 0 directly (Thomas algorithm). A
// diffusivity field that makes it singular (a zero face cutting the rod
// from both ends) is an error.
func (h *HeatSteady) Solve(u, s []float64) error {
	n := h.Heat.n
	checkLen("steady temperature", len(u), n)
	checkLen("source", len(s), n)
	checkLen("diffusivity", len(h.Kappa), n+1)
	// Build A u = −(b + s): the Jacobian is A, and f(0) = b + s.
	p := h.params(s)
	f0 := make([]float64, n)
	h.Heat.Eval(f0, 0, make([]float64, n), p)
	c := 1 / (h.Heat.Dx() * h.Heat.Dx())
	k := h.Kappa
	diag := make([]float64, n)
	lower := make([]float64, n)
	upper := make([]float64, n)
	for i := range n {
		left, right := k[i], k[i+1]
		if i == 0 {
			left *= 2
		}
		if i == n-1 {
			right *= 2
		}
		diag[i] = -(left + right) * c
		if i > 0 {
			lower[i] = k[i] * c
		}
		if i < n-1 {
			upper[i] = k[i+1] * c
		}
	}
	rhs := make([]float64, n)
	for i := range rhs {
		rhs[i] = -f0[i]
	}
	for i := 1; i < n; i++ {
		if diag[i-1] == 0 {
			return fmt.Errorf("physics: steady heat problem is singular at cell %d", i-1)
		}
		w := lower[i] / diag[i-1]
		diag[i] -= w * upper[i-1]
		rhs[i] -= w * rhs[i-1]
	}
	if diag[n-1] == 0 {
		return fmt.Errorf("physics: steady heat problem is singular at cell %d", n-1)
	}
	u[n-1] = rhs[n-1] / diag[n-1]
	for i := n - 2; i >= 0; i-- {
		u[i] = (rhs[i] - upper[i]*u[i+1]) / diag[i]
	}
	return nil
}

// HeatDesign is a steady design problem: find the heat sources s (K/s per
// cell) whose steady temperature u(s) matches a target profile, by
// minimising
//
//	L(s) = ½ ‖u(s) − Target‖² Δx + ½ α ‖s‖² Δx,
//
// with u(s) solving F(u, s) = 0 (HeatSteady) and its gradient from one
// adjoint solve with adjoint.ImplicitVJP: (∂F/∂u)ᵀλ = (u − Target)Δx and
// ∇L = −(∂F/∂s)ᵀλ + α s Δx.
type HeatDesign struct {
	// Steady is the steady problem (grid, end temperatures, diffusivity).
	Steady *HeatSteady
	// Target is the wanted steady temperature of each cell, in K.
	Target []float64
	// Tikhonov is α ≥ 0 (in s²); zero means none.
	Tikhonov float64
	// Implicit configures adjoint.ImplicitVJP. Nil means defaults (dense
	// LU up to 500 cells).
	Implicit *adjoint.ImplicitSettings
}

// Loss returns L(s) and, if grad is non-nil, writes ∇L to it.
func (d *HeatDesign) Loss(grad, s []float64) (float64, error) {
	n := d.Steady.Heat.N()
	checkLen("design target", len(d.Target), n)
	u := make([]float64, n)
	if err := d.Steady.Solve(u, s); err != nil {
		return math.NaN(), err
	}
	dx := d.Steady.Heat.Dx()
	ubar := make([]float64, n)
	var val float64
	for i := range u {
		r := u[i] - d.Target[i]
		val += r * r * dx / 2
		ubar[i] = r * dx
		val += d.Tikhonov * s[i] * s[i] * dx / 2
	}
	if grad != nil {
		checkLen("gradient", len(grad), n)
		clear(grad)
		if _, err := adjoint.ImplicitVJP(grad, d.Steady, u, s, ubar, d.Implicit); err != nil {
			return math.NaN(), fmt.Errorf("physics: heat design adjoint: %w", err)
		}
		for i := range grad {
			grad[i] += d.Tikhonov * s[i] * dx
		}
	}
	return val, nil
}
