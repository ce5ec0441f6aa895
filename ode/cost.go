package ode

import (
	"fmt"
	"math"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Cost is the functional whose gradient Gradient computes,
//
//	G(p, y₀) = g_T(y(T), p) + ∫_{T0}^{T1} g(t, y, p) dt + Σᵢ gᵢ(y(tᵢ), p),
//
// a sum of any of a terminal term, an integral term and terms at observation
// times (a data misfit). Nil parts are absent; at least one must be set.
type Cost struct {
	// Terminal is g_T, evaluated at the final time T1.
	Terminal *Terminal
	// Integral is the running cost g, integrated over [T0, T1].
	Integral *Integral
	// Observations are the terms gᵢ at the observation times tᵢ.
	Observations *Observations
}

// Terminal is a cost g(y(T1), p) on the final state.
type Terminal struct {
	// G returns g(y, p).
	G func(y, p []float64) float64
	// Grad accumulates gy += ∂g/∂y and gp += ∂g/∂p (neither is nil).
	Grad func(gy, gp, y, p []float64)
}

// Integral is a running cost g(t, y, p) whose integral over [T0, T1] enters
// the cost. Its value is integrated alongside the solution as a quadrature
// component under the same error control; the adjoint methods integrate its
// gradient backwards as a quadrature too.
type Integral struct {
	// G returns g(t, y, p).
	G func(t float64, y, p []float64) float64
	// Grad accumulates gy += ∂g/∂y and gp += ∂g/∂p (neither is nil).
	Grad func(gy, gp []float64, t float64, y, p []float64)
	// GradTangent, if non-nil, accumulates the derivative of Grad along
	// the direction (dt, dy, dp): gy += d/dε ∂g/∂y and gp += d/dε ∂g/∂p at
	// (t+ε·dt, y+ε·dy, p+ε·dp), ε = 0; dy and dp may be nil (zero). These
	// second derivatives are needed by the stiff solvers' augmented
	// Jacobians, the exact time derivatives of the adjoint fields and the
	// second derivatives of Op. Nil means central differences of Grad.
	// TracedIntegral supplies it exactly.
	GradTangent func(gy, gp []float64, t float64, y, p []float64, dt float64, dy, dp []float64)
}

// Observations are cost terms gᵢ(y(tᵢ), p) at observation times: the
// integrator steps onto each tᵢ exactly, and the adjoint jumps there.
type Observations struct {
	// Times are the observation times, in the direction of integration
	// and within [T0, T1]. Times may repeat.
	Times []float64
	// G returns gᵢ(y, p) for observation i.
	G func(i int, y, p []float64) float64
	// Grad accumulates gy += ∂gᵢ/∂y and gp += ∂gᵢ/∂p (neither is nil).
	Grad func(gy, gp []float64, i int, y, p []float64)
}

func (c Cost) check(prob Problem) {
	if c.Terminal == nil && c.Integral == nil && c.Observations == nil {
		panic("ode: Cost has no terms")
	}
	if t := c.Terminal; t != nil && (t.G == nil || t.Grad == nil) {
		panic("ode: Cost.Terminal needs G and Grad")
	}
	if t := c.Integral; t != nil && (t.G == nil || t.Grad == nil) {
		panic("ode: Cost.Integral needs G and Grad")
	}
	if o := c.Observations; o != nil {
		if o.G == nil || o.Grad == nil {
			panic("ode: Cost.Observations needs G and Grad")
		}
		checkTimes("Observations.Times", o.Times, prob.T0, prob.T1)
	}
}

// SquaredError returns the terminal cost ½‖y(T) − target‖².
func SquaredError(target []float64) *Terminal {
	return &Terminal{
		G: func(y, _ []float64) float64 {
			if len(y) != len(target) {
				panic(fmt.Sprintf("ode: SquaredError: target has %d components, state %d", len(target), len(y)))
			}
			var s float64
			for i, v := range y {
				d := v - target[i]
				s += d * d
			}
			return s / 2
		},
		Grad: func(gy, _, y, _ []float64) {
			for i, v := range y {
				gy[i] += v - target[i]
			}
		},
	}
}

// LeastSquares returns the data misfit ½ Σᵢ ‖y(tᵢ) − dataᵢ‖² over
// observation times. It panics if the lengths differ.
func LeastSquares(times []float64, data [][]float64) *Observations {
	return LeastSquaresOf(times, data, nil)
}

// LeastSquaresOf returns the data misfit of observations of some state
// components only,
//
//	½ Σᵢ Σⱼ (y_{components[j]}(tᵢ) − data[i][j])²,
//
// the usual situation of an experiment that measures part of the state (a
// predator count without the prey, a position without the velocity).
// Nil components means all of them, as in LeastSquares. It panics if the
// numbers of times and data rows differ, or if a data row does not have
// one entry per observed component; a component outside the state panics
// when the cost is evaluated.
func LeastSquaresOf(times []float64, data [][]float64, components []int) *Observations {
	if len(times) != len(data) {
		panic(fmt.Sprintf("ode: LeastSquares: %d times but %d data vectors", len(times), len(data)))
	}
	if components != nil {
		for i, row := range data {
			if len(row) != len(components) {
				panic(fmt.Sprintf("ode: LeastSquaresOf: data row %d has %d entries for %d observed components", i, len(row), len(components)))
			}
		}
	}
	comp := func(j int, y []float64) int {
		k := j
		if components != nil {
			k = components[j]
		}
		if k < 0 || k >= len(y) {
			panic(fmt.Sprintf("ode: LeastSquaresOf: component %d outside a state of %d", k, len(y)))
		}
		return k
	}
	return &Observations{
		Times: times,
		G: func(i int, y, _ []float64) float64 {
			var s float64
			for j, d := range data[i] {
				r := y[comp(j, y)] - d
				s += r * r
			}
			return s / 2
		},
		Grad: func(gy, _ []float64, i int, y, _ []float64) {
			for j, d := range data[i] {
				k := comp(j, y)
				gy[k] += y[k] - d
			}
		},
	}
}

// tracedScalar evaluates a traced scalar cost term on the bridge
// (adjoint.Record: tracked arguments in every call) and, when gy or gp is
// non-nil, accumulates its gradients.
func tracedScalar(f func(t, y, p *adjoint.Var) *adjoint.Var, t float64, y, p, gy, gp []float64) float64 {
	r := tracedRecord(f, t, y, p)
	if gy != nil || gp != nil {
		r.VJP([][]float64{nil, gy, gp}, []float64{1})
	}
	return r.Value()[0]
}

// tracedRecord records one run of a traced scalar cost term.
func tracedRecord(f func(t, y, p *adjoint.Var) *adjoint.Var, t float64, y, p []float64) *adjoint.Recording {
	r := adjoint.Record(func(in []*adjoint.Var) *adjoint.Var { return f(in[0], in[1], in[2]) },
		adjoint.Scalar(t), vec(y), vec(p))
	if r.Out.Size() != 1 {
		panic(fmt.Sprintf("ode: traced cost returned shape %v, want a scalar", r.Out.Shape()))
	}
	return r
}

// TracedTerminal returns a terminal cost written with the adjoint package's
// operations; its gradients come from reverse mode. g receives y and p as
// 1-D values and must return one element.
func TracedTerminal(g func(y, p *adjoint.Var) *adjoint.Var) *Terminal {
	f := func(_, y, p *adjoint.Var) *adjoint.Var { return g(y, p) }
	return &Terminal{
		G:    func(y, p []float64) float64 { return tracedScalar(f, 0, y, p, nil, nil) },
		Grad: func(gy, gp, y, p []float64) { tracedScalar(f, 0, y, p, gy, gp) },
	}
}

// TracedIntegral returns a running cost written with the adjoint package's
// operations (t is a 0-D value), with exact first and second derivatives.
func TracedIntegral(g func(t, y, p *adjoint.Var) *adjoint.Var) *Integral {
	return &Integral{
		G:    func(t float64, y, p []float64) float64 { return tracedScalar(g, t, y, p, nil, nil) },
		Grad: func(gy, gp []float64, t float64, y, p []float64) { tracedScalar(g, t, y, p, gy, gp) },
		GradTangent: func(gy, gp []float64, t float64, y, p []float64, dt float64, dy, dp []float64) {
			r := tracedRecord(g, t, y, p)
			r.Tangent(dtDot(dt), dy, dp).VJP([][]float64{nil, gy, gp}, []float64{1})
		},
	}
}

// TracedObservations returns observation terms written with the adjoint
// package's operations.
func TracedObservations(times []float64, g func(i int, y, p *adjoint.Var) *adjoint.Var) *Observations {
	at := func(i int) func(_, y, p *adjoint.Var) *adjoint.Var {
		return func(_, y, p *adjoint.Var) *adjoint.Var { return g(i, y, p) }
	}
	return &Observations{
		Times: times,
		G:     func(i int, y, p []float64) float64 { return tracedScalar(at(i), 0, y, p, nil, nil) },
		Grad:  func(gy, gp []float64, i int, y, p []float64) { tracedScalar(at(i), 0, y, p, gy, gp) },
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
