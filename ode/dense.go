package ode

// Dense output: the continuous extension of each accepted step, used to
// report the solution at requested times (Settings.SaveAt), to answer
// Solution.At, and to supply y(t) to the interpolating adjoint's backward
// solve.

// Interpolation selects the continuous extension used for dense output.
type Interpolation int

const (
	// InterpNative uses the method's own continuous extension when it has
	// one (fourth order for DP5 and Tsit5, third order for Rodas4) and
	// cubic Hermite interpolation otherwise. It is the zero value.
	InterpNative Interpolation = iota
	// InterpHermite always uses cubic Hermite interpolation from the values
	// and derivatives at both ends of a step (third order, C¹ across steps).
	InterpHermite
)

type denseKind int

const (
	denseHermite denseKind = iota
	densePoly
	denseRodas
)

// denseRec is the continuous extension of one step from t to t+h.
type denseRec struct {
	t, h   float64
	kind   denseKind
	x0, x1 []float64
	f0, f1 []float64   // Hermite
	ks     [][]float64 // stage derivatives (poly) or the two Rosenbrock combinations
	poly   [][]float64 // polynomial weights of a tableau
}

func ensure(buf []float64, n int) []float64 {
	if cap(buf) < n {
		return make([]float64, n)
	}
	return buf[:n]
}

func (r *denseRec) setEnds(t, h float64, x0, x1 []float64) {
	r.t, r.h = t, h
	r.x0 = ensure(r.x0, len(x0))
	r.x1 = ensure(r.x1, len(x1))
	copy(r.x0, x0)
	copy(r.x1, x1)
}

func (r *denseRec) setHermite(t, h float64, x0, x1, f0, f1 []float64) {
	if f1 == nil {
		panic("ode: internal error: Hermite dense output without f at the step end")
	}
	r.kind = denseHermite
	r.setEnds(t, h, x0, x1)
	r.f0 = ensure(r.f0, len(f0))
	r.f1 = ensure(r.f1, len(f1))
	copy(r.f0, f0)
	copy(r.f1, f1)
}

func (r *denseRec) setKs(ks [][]float64) {
	if len(r.ks) != len(ks) {
		r.ks = make([][]float64, len(ks))
	}
	for i, k := range ks {
		r.ks[i] = ensure(r.ks[i], len(k))
		copy(r.ks[i], k)
	}
}

func (r *denseRec) setPoly(t, h float64, x0, x1 []float64, poly [][]float64, ks [][]float64) {
	r.kind = densePoly
	r.setEnds(t, h, x0, x1)
	r.poly = poly
	r.setKs(ks)
}

// vectors returns the number of state-length vectors the record holds.
func (r *denseRec) vectors() int {
	switch r.kind {
	case denseHermite:
		return 4
	default:
		return 2 + len(r.ks)
	}
}

// eval writes the interpolated state at time t (normally within the step)
// to dst.
func (r *denseRec) eval(dst []float64, t float64) {
	th := (t - r.t) / r.h
	switch {
	case th == 1:
		copy(dst, r.x1)
		return
	case th == 0:
		copy(dst, r.x0)
		return
	}
	switch r.kind {
	case denseHermite:
		// Cubic Hermite basis.
		t2, t3 := th*th, th*th*th
		h00 := 2*t3 - 3*t2 + 1
		h10 := t3 - 2*t2 + th
		h01 := -2*t3 + 3*t2
		h11 := t3 - t2
		for i := range dst {
			dst[i] = h00*r.x0[i] + h01*r.x1[i] + r.h*(h10*r.f0[i]+h11*r.f1[i])
		}
	case densePoly:
		var bw [16]float64
		r.combine(dst, r.weights(bw[:0], th, false), r.h, r.x0)
	case denseRodas:
		k0, k1 := r.ks[0], r.ks[1]
		for i := range dst {
			dst[i] = (1-th)*r.x0[i] + th*(r.x1[i]+(1-th)*(k0[i]+th*k1[i]))
		}
	}
}

// deriv writes the time derivative of the interpolant at t to dst: the
// exact derivative of the polynomial that eval evaluates.
func (r *denseRec) deriv(dst []float64, t float64) {
	th := (t - r.t) / r.h
	switch r.kind {
	case denseHermite:
		t2 := th * th
		d00 := (6*t2 - 6*th) / r.h
		d10 := 3*t2 - 4*th + 1
		d01 := -d00
		d11 := 3*t2 - 2*th
		for i := range dst {
			dst[i] = d00*r.x0[i] + d01*r.x1[i] + d10*r.f0[i] + d11*r.f1[i]
		}
	case densePoly:
		// x0 + h Σⱼ bⱼ(θ) kⱼ: the derivative in t is Σⱼ bⱼ'(θ) kⱼ.
		var bw [16]float64
		r.combine(dst, r.weights(bw[:0], th, true), 1, nil)
	case denseRodas:
		// (1−θ)x0 + θ(x1 + (1−θ)(k0 + θk1)), differentiated in θ.
		k0, k1 := r.ks[0], r.ks[1]
		for i := range dst {
			v := -r.x0[i] + r.x1[i] + (1-2*th)*k0[i] + (2*th-3*th*th)*k1[i]
			dst[i] = v / r.h
		}
	}
}

// weights appends to b the polynomial weights bⱼ(θ) = Σₘ cⱼₘ θ^(m+1) of a
// tableau's dense output, or their derivatives bⱼ'(θ) with deriv.
func (r *denseRec) weights(b []float64, th float64, deriv bool) []float64 {
	for _, row := range r.poly {
		var s, p float64 = 0, th
		if deriv {
			p = 1
		}
		for m, c := range row {
			if deriv {
				s += float64(m+1) * c * p
			} else {
				s += c * p
			}
			p *= th
		}
		b = append(b, s)
	}
	return b
}

// combine writes dst = x0 + h Σⱼ bⱼ kⱼ (x0 nil: zero).
func (r *denseRec) combine(dst, b []float64, h float64, x0 []float64) {
	for i := range dst {
		var s float64
		for j, k := range r.ks {
			if b[j] != 0 {
				s += b[j] * k[i]
			}
		}
		if x0 != nil {
			dst[i] = x0[i] + h*s
		} else {
			dst[i] = h * s
		}
	}
}

// trajectory is a piecewise continuous extension over consecutive steps.
type trajectory struct {
	recs []*denseRec // in the order of integration
	last int         // index of the last record used (a search hint)
}

// eval writes the state at t to dst. t must lie within the covered span.
func (tr *trajectory) eval(dst []float64, t float64) {
	tr.find(t).eval(dst, t)
}

// deriv writes the time derivative of the interpolant at t to dst.
func (tr *trajectory) deriv(dst []float64, t float64) {
	tr.find(t).deriv(dst, t)
}

// find returns the record whose step contains t (the nearest one at the
// ends).
func (tr *trajectory) find(t float64) *denseRec {
	n := len(tr.recs)
	if n == 0 {
		panic("ode: internal error: empty trajectory")
	}
	dir := 1.0
	if tr.recs[0].h < 0 {
		dir = -1
	}
	in := func(i int) int { // -1 before, 0 inside, +1 after record i
		r := tr.recs[i]
		switch {
		case dir*(t-r.t) < 0:
			return -1
		case dir*(t-(r.t+r.h)) > 0:
			return 1
		}
		return 0
	}
	i := tr.last
	if i >= n {
		i = n - 1
	}
	// Walk from the hint: the adjoint queries move steadily backwards.
	for k := 0; k < 4; k++ {
		switch in(i) {
		case 0:
			tr.last = i
			return tr.recs[i]
		case -1:
			if i == 0 {
				return tr.recs[0]
			}
			i--
		case 1:
			if i == n-1 {
				return tr.recs[n-1]
			}
			i++
		}
	}
	lo, hi := 0, n-1
	for lo < hi {
		mid := (lo + hi) / 2
		if in(mid) > 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	tr.last = lo
	return tr.recs[lo]
}
