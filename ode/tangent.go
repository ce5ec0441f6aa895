package ode

import (
	"fmt"
	"math"
	"sync"

	"github.com/adjointkit/adjointkit/adjoint"
	"gonum.org/v1/gonum/mat"
)

// The tangent system of dy/dt = f(t, y, p) along the parameter direction q:
//
//	y' = f(t, y, p),   s' = ∂f/∂y·s + ∂f/∂p·q,
//
// with state [y, s] and parameters [p, q]. Its solution from [y₀, ẏ₀] is the
// solution and its derivative along (ẏ₀, q): the forward sensitivities of
// one direction. The second derivatives of the ODE solve op are the first
// derivatives of solves of this system.

// tangentSystem returns the tangent system of sys: again a Traced system
// for a Traced one (exact to every order), and otherwise one built from
// sys's VJPs, JVPs and second derivatives.
func tangentSystem(sys System) System {
	if t, ok := sys.(*Traced); ok {
		return t.tangent()
	}
	vj, ok1 := sys.(VJPer)
	jv, ok2 := sys.(JVPer)
	if !ok1 || !ok2 {
		panic(fmt.Sprintf("ode: second derivatives of an ODE solve of %T need a Traced system or one that implements VJPer and JVPer", sys))
	}
	so, _ := sys.(SecondOrderer)
	n, np := sys.Dims()
	t := &tangentSys{base: sys, vjp: vj, jvp: jv, so: so, n: n, np: np}
	jac, ok3 := sys.(Jacobianer)
	td, ok4 := sys.(TimeDeriver)
	if ok3 && ok4 {
		return &tangentSysJac{tangentSys: t, jac: jac, td: td}
	}
	return t
}

// tangent returns the tangent system of s, written with the same traced F.
func (s *Traced) tangent() *Traced {
	n, np := s.N, s.NP
	return &Traced{N: 2 * n, NP: 2 * np, F: func(t, ys, pq *adjoint.Var) *adjoint.Var {
		y, sv := adjoint.Slice(ys, 0, 0, n), adjoint.Slice(ys, 0, n, 2*n)
		p, q := adjoint.Slice(pq, 0, 0, np), adjoint.Slice(pq, 0, np, 2*np)
		return s.tangentF(t, y, sv, p, q)
	}, base: s}
}

// tangentF is the right-hand side of s's tangent system on the parts of its
// state and parameters: [f, ∂f/∂y·s + ∂f/∂p·q].
func (s *Traced) tangentF(t, y, sv, p, q *adjoint.Var) *adjoint.Var {
	f := adjoint.Reshape(s.F(t, y, p), s.N)
	return adjoint.Concat(0, f, adjoint.Tangent(f, []*adjoint.Var{y, p}, []*adjoint.Var{sv, q}, true))
}

// tangentSys is the tangent system of a hand-written System.
type tangentSys struct {
	base  System
	vjp   VJPer
	jvp   JVPer
	so    SecondOrderer // nil: central differences of VJPs
	n, np int
}

var (
	_ System = (*tangentSys)(nil)
	_ VJPer  = (*tangentSys)(nil)
)

// Dims returns 2n and 2np.
func (s *tangentSys) Dims() (int, int) { return 2 * s.n, 2 * s.np }

// Eval writes [f(t, y, p), ∂f/∂y·s + ∂f/∂p·q].
func (s *tangentSys) Eval(dst []float64, t float64, ys, pq []float64) {
	n, np := s.n, s.np
	y, sv, p, q := ys[:n], ys[n:], pq[:np], pq[np:]
	s.base.Eval(dst[:n], t, y, p)
	s.jvp.JVP(dst[n:], t, y, p, sv, q)
}

// VJP accumulates the transposed Jacobian of [f, ∂f/∂y·s + ∂f/∂p·q]
// applied to w = [a, b]: the y and p parts get (∂f)ᵀa plus the derivative
// of (∂f)ᵀb along (s, q), the s and q parts (∂f)ᵀb.
func (s *tangentSys) VJP(ybar, pbar []float64, t float64, ys, pq, w []float64) {
	n, np := s.n, s.np
	y, sv, p, q := ys[:n], ys[n:], pq[:np], pq[np:]
	a, b := w[:n], w[n:]
	yb0, yb1 := part(ybar, 0, n), part(ybar, n, 2*n)
	pb0, pb1 := part(pbar, 0, np), part(pbar, np, 2*np)
	s.vjp.VJP(yb0, pb0, t, y, p, a)
	s.vjp.VJP(yb1, pb1, t, y, p, b)
	if yb0 == nil && pb0 == nil {
		return
	}
	if s.so != nil {
		s.so.VJPTangent(yb0, pb0, t, y, p, b, 0, sv, q)
		return
	}
	gy, gp := make([]float64, n), make([]float64, np)
	centralAlong(y, p, sv, q, nil, nil, func(c float64, yp, pp []float64) {
		clear(gy)
		clear(gp)
		s.vjp.VJP(gy, gp, t, yp, pp, b)
		axpy(yb0, c, gy)
		axpy(pb0, c, gp)
	})
}

// centralAlong takes a derivative along (dy, dp) by central differences:
// it calls acc(c, y', p') at the two perturbed points with the weights
// whose weighted sum is the derivative, the increment relative to the size
// of y (and of p when dp is non-nil). dy and dp may be nil (zero); yp and
// pp are scratch space of the lengths of y and p, or nil to allocate.
func centralAlong(y, p, dy, dp, yp, pp []float64, acc func(c float64, yp, pp []float64)) {
	nu := math.Hypot(norm2(dy), norm2(dp))
	if nu == 0 {
		return
	}
	scale := math.Max(1, norm2(y))
	if dp != nil {
		scale = math.Max(scale, norm2(p))
	}
	e := cbrtEps * scale / nu
	if yp == nil {
		yp = make([]float64, len(y))
	}
	if dp == nil {
		pp = p
	} else if pp == nil {
		pp = make([]float64, len(p))
	}
	for _, sgn := range [2]float64{1, -1} {
		copy(yp, y)
		if dy != nil {
			axpy(yp, sgn*e, dy)
		}
		if dp != nil {
			copy(pp, p)
			axpy(pp, sgn*e, dp)
		}
		acc(sgn/(2*e), yp, pp)
	}
}

// tangentSysJac is the tangent system of a System that also has a
// Jacobian and a time derivative: the stiff solver then gets the tangent
// system's Jacobian [[J, 0], [∂(J·s + ∂f/∂p·q)/∂y, J]] and time derivative
// from them and from f's second derivatives (SecondOrderer, or central
// differences of JVPs), not from differences of the whole tangent system.
type tangentSysJac struct {
	*tangentSys
	jac Jacobianer
	td  TimeDeriver
}

var (
	_ Jacobianer  = (*tangentSysJac)(nil)
	_ TimeDeriver = (*tangentSysJac)(nil)
)

// Jacobian writes the tangent system's Jacobian.
func (s *tangentSysJac) Jacobian(dst *mat.Dense, t float64, ys, pq []float64) {
	n, np := s.n, s.np
	y, sv, p, q := ys[:n], ys[n:], pq[:np], pq[np:]
	dst.Zero()
	j := mat.NewDense(n, n, nil)
	s.jac.Jacobian(j, t, y, p)
	dst.Slice(0, n, 0, n).(*mat.Dense).Copy(j)
	dst.Slice(n, 2*n, n, 2*n).(*mat.Dense).Copy(j)
	e, col := make([]float64, n), make([]float64, n)
	for k := range n {
		e[k] = 1
		s.jvpTangent(col, t, y, p, sv, q, 0, e)
		e[k] = 0
		for i, v := range col {
			dst.Set(n+i, k, v)
		}
	}
}

// TimeDeriv writes the tangent system's ∂/∂t.
func (s *tangentSysJac) TimeDeriv(dst []float64, t float64, ys, pq []float64) {
	n, np := s.n, s.np
	y, sv, p, q := ys[:n], ys[n:], pq[:np], pq[np:]
	s.td.TimeDeriv(dst[:n], t, y, p)
	s.jvpTangent(dst[n:], t, y, p, sv, q, 1, nil)
}

// jvpTangent writes the derivative of J·ydot + ∂f/∂p·pdot along (dt, dy):
// exactly with a SecondOrderer, by central differences of JVPs otherwise.
func (s *tangentSys) jvpTangent(dst []float64, t float64, y, p, ydot, pdot []float64, dt float64, dy []float64) {
	if s.so != nil {
		s.so.JVPTangent(dst, t, y, p, ydot, pdot, dt, dy, nil)
		return
	}
	var e float64
	if dt != 0 {
		e = cbrtEps * math.Max(1, math.Abs(t)) / math.Abs(dt)
	} else {
		nu := norm2(dy)
		if nu == 0 {
			clear(dst)
			return
		}
		e = cbrtEps * math.Max(1, norm2(y)) / nu
	}
	yp, a := make([]float64, len(y)), make([]float64, len(dst))
	for k, sgn := range [2]float64{1, -1} {
		copy(yp, y)
		if dy != nil {
			axpy(yp, sgn*e, dy)
		}
		out := dst
		if k == 1 {
			out = a
		}
		s.jvp.JVP(out, t+sgn*e*dt, yp, p, ydot, pdot)
	}
	for i := range dst {
		dst[i] = (dst[i] - a[i]) / (2 * e)
	}
}

// tracedTangentIntegral returns the running cost of the tangent system for
// a traced integrand g: g̃(t, [y, s], [p, q]) = ∂g/∂y·s + ∂g/∂p·q as a
// traced function, and as an Integral with exact derivatives of every
// order. The Integral's value and gradient take y, p, s and q as leaves of
// their own (its value by a forward pass that records nothing), the same
// arithmetic as recording the traced function on [y, s] and [p, q] without
// cutting them apart and joining their cotangents.
func tracedTangentIntegral(g func(t, y, p *adjoint.Var) *adjoint.Var, n, np int) (func(t, ys, pq *adjoint.Var) *adjoint.Var, *Integral) {
	tan := func(t, y, sv, p, q *adjoint.Var) *adjoint.Var {
		return adjoint.Tangent(g(t, y, p), []*adjoint.Var{y, p}, []*adjoint.Var{sv, q}, true)
	}
	traced := func(t, ys, pq *adjoint.Var) *adjoint.Var {
		y, sv := adjoint.Slice(ys, 0, 0, n), adjoint.Slice(ys, 0, n, 2*n)
		p, q := adjoint.Slice(pq, 0, 0, np), adjoint.Slice(pq, 0, np, 2*np)
		return tan(t, y, sv, p, q)
	}
	integ := TracedIntegral(traced)
	integ.G = func(t float64, ys, pq []float64) float64 {
		var d [1]float64
		tracedRecord(g, t, ys[:n], pq[:np]).JVP(d[:], nil, ys[n:], pq[np:])
		return d[0]
	}
	integ.Grad = func(gys, gpq []float64, t float64, ys, pq []float64) {
		r := recordParts(tan, t, ys, pq, n, np)
		if r.Out.Size() != 1 {
			panic(fmt.Sprintf("ode: traced cost returned shape %v, want a scalar", r.Out.Shape()))
		}
		vjpParts(r, gys, gpq, []float64{1}, n, np)
	}
	return traced, integ
}

// recordParts records f(t, y, s, p, q) on the parts of a tangent system's
// state ys = [y, s] and parameters pq = [p, q], each a leaf of its own:
// the same arithmetic as recording on [y, s] and [p, q] and slicing them
// inside, without cutting the arguments apart and joining their
// cotangents in the graph.
func recordParts(f func(t, y, sv, p, q *adjoint.Var) *adjoint.Var, t float64, ys, pq []float64, n, np int) *adjoint.Recording {
	return adjoint.Record(func(in []*adjoint.Var) *adjoint.Var { return f(in[0], in[1], in[3], in[2], in[4]) },
		adjoint.Scalar(t), vec(ys[:n]), vec(pq[:np]), vec(ys[n:]), vec(pq[np:]))
}

// vjpParts accumulates the cotangents of a recordParts recording for the
// cotangent w of its result into ybar = [ȳ, s̄] and pbar = [p̄, q̄] (either
// may be nil: not wanted).
func vjpParts(r *adjoint.Recording, ybar, pbar, w []float64, n, np int) {
	r.VJP([][]float64{nil, part(ybar, 0, n), part(pbar, 0, np), part(ybar, n, 2*n), part(pbar, np, 2*np)}, w)
}

// part returns v[lo:hi], or nil for a nil v (a destination not wanted).
func part(v []float64, lo, hi int) []float64 {
	if v == nil {
		return nil
	}
	return v[lo:hi]
}

// tangentIntegral returns the running cost of the tangent system for a
// hand-written Integral: g̃(t, [y, s], [p, q]) = ∂g/∂y·s + ∂g/∂p·q. Its
// gradient with respect to s and q is g's gradient; with respect to y and p
// it needs g's second derivatives: GradTangent, or central differences of
// g's gradient along (s, q).
func tangentIntegral(g *Integral, n, np int) *Integral {
	// Scratch space for g's gradient: the running cost may be used by
	// several backward passes at once, so each call borrows its own.
	pool := sync.Pool{New: func() any { b := make([]float64, n+np); return &b }}
	grad := func(buf []float64, t float64, y, p []float64) ([]float64, []float64) {
		clear(buf)
		gy, gp := buf[:n], buf[n:]
		g.Grad(gy, gp, t, y, p)
		return gy, gp
	}
	return &Integral{
		G: func(t float64, ys, pq []float64) float64 {
			buf := pool.Get().(*[]float64)
			defer pool.Put(buf)
			gy, gp := grad(*buf, t, ys[:n], pq[:np])
			return dot(gy, ys[n:]) + dot(gp, pq[np:])
		},
		Grad: func(gys, gpq []float64, t float64, ys, pq []float64) {
			buf := pool.Get().(*[]float64)
			defer pool.Put(buf)
			y, sv, p, q := ys[:n], ys[n:], pq[:np], pq[np:]
			gy, gp := grad(*buf, t, y, p)
			axpy(gys[n:], 1, gy)
			axpy(gpq[np:], 1, gp)
			if g.GradTangent != nil {
				g.GradTangent(gys[:n], gpq[:np], t, y, p, 0, sv, q)
				return
			}
			centralAlong(y, p, sv, q, nil, nil, func(c float64, yp, pp []float64) {
				a, b := grad(*buf, t, yp, pp)
				axpy(gys[:n], c, a)
				axpy(gpq[:np], c, b)
			})
		},
	}
}
