package physics

import (
	"fmt"
	"math"
)

// NeuralField is a neural vector field (a neural ODE)
//
//	dy/dt = W2·tanh(W1·y + b1) + b2
//
// with state dimension N and H hidden units. Its parameters, p = 2NH + H + N
// of them, are laid out as [W1 (H×N, row-major), b1 (H), W2 (N×H), b2 (N)].
// Eval, VJP and JVP are written by hand and allocate only the hidden layer.
// Its parameter count grows with H while the state stays small, which makes
// it the standard workload for how gradient cost scales with the number of
// parameters (adjoint: flat; forward sensitivities: linear).
type NeuralField struct{ N, H int }

var _ Model = NeuralField{}

// Dims returns N and the parameter count 2NH + H + N.
func (m NeuralField) Dims() (int, int) { return m.N, 2*m.N*m.H + m.H + m.N }

func (m NeuralField) numParams() int { _, np := m.Dims(); return np }

func (m NeuralField) parts(p []float64) (w1, b1, w2, b2 []float64) {
	n, h := m.N, m.H
	return p[:h*n], p[h*n : h*n+h], p[h*n+h : 2*h*n+h], p[2*h*n+h:]
}

// hidden writes a = tanh(W1 y + b1).
func (m NeuralField) hidden(a, y, w1, b1 []float64) {
	for i := range m.H {
		s := b1[i]
		for j, v := range y {
			s += w1[i*m.N+j] * v
		}
		a[i] = math.Tanh(s)
	}
}

// Eval computes dst = f(y, p).
func (m NeuralField) Eval(dst []float64, _ float64, y, p []float64) {
	w1, b1, w2, b2 := m.parts(p)
	a := make([]float64, m.H)
	m.hidden(a, y, w1, b1)
	for k := range m.N {
		s := b2[k]
		for i, v := range a {
			s += w2[k*m.H+i] * v
		}
		dst[k] = s
	}
}

// VJP accumulates yb += (∂f/∂y)ᵀ v and pb += (∂f/∂p)ᵀ v; either may be nil.
func (m NeuralField) VJP(yb, pb []float64, _ float64, y, p, v []float64) {
	w1, b1, w2, _ := m.parts(p)
	a := make([]float64, m.H)
	m.hidden(a, y, w1, b1)
	g := make([]float64, m.H) // ∂/∂(pre-activation)
	for i := range m.H {
		var s float64
		for k := range m.N {
			s += w2[k*m.H+i] * v[k]
		}
		g[i] = s * (1 - a[i]*a[i])
	}
	if yb != nil {
		for i := range m.H {
			for j := range m.N {
				yb[j] += w1[i*m.N+j] * g[i]
			}
		}
	}
	if pb != nil {
		pw1, pb1, pw2, pb2 := m.parts(pb)
		for i := range m.H {
			for j := range m.N {
				pw1[i*m.N+j] += g[i] * y[j]
			}
			pb1[i] += g[i]
		}
		for k := range m.N {
			for i := range m.H {
				pw2[k*m.H+i] += v[k] * a[i]
			}
			pb2[k] += v[k]
		}
	}
}

// JVP computes dst = (∂f/∂y)·yd + (∂f/∂p)·pd; pd may be nil.
func (m NeuralField) JVP(dst []float64, _ float64, y, p, yd, pd []float64) {
	w1, b1, w2, _ := m.parts(p)
	a := make([]float64, m.H)
	m.hidden(a, y, w1, b1)
	var dw1, db1, dw2, db2 []float64
	if pd != nil {
		dw1, db1, dw2, db2 = m.parts(pd)
	}
	da := make([]float64, m.H)
	for i := range m.H {
		var s float64
		for j := range m.N {
			s += w1[i*m.N+j] * yd[j]
			if pd != nil {
				s += dw1[i*m.N+j] * y[j]
			}
		}
		if pd != nil {
			s += db1[i]
		}
		da[i] = s * (1 - a[i]*a[i])
	}
	for k := range m.N {
		var s float64
		for i := range m.H {
			s += w2[k*m.H+i] * da[i]
			if pd != nil {
				s += dw2[k*m.H+i] * a[i]
			}
		}
		if pd != nil {
			s += db2[k]
		}
		dst[k] = s
	}
}

// CheckParams accepts any finite weights; it panics if len(p) is wrong and
// rejects non-positive sizes.
func (m NeuralField) CheckParams(p []float64) error {
	if m.N <= 0 || m.H <= 0 {
		return fmt.Errorf("physics: NeuralField needs N > 0 and H > 0, got N = %d, H = %d", m.N, m.H)
	}
	if _, np := m.Dims(); len(p) != np {
		panic(fmt.Sprintf("physics: NeuralField takes %d parameters, got %d", np, len(p)))
	}
	for i, v := range p {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("physics: NeuralField parameter %d is %v", i, v)
		}
	}
	return nil
}
