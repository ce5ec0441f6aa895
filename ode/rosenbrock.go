package ode

import (
	"fmt"
	"math"
)

var _ Solver = (*RosenbrockTableau)(nil)

// String returns the method's name.
func (tab *RosenbrockTableau) String() string { return tab.Name }

// Adaptive reports whether the method has an error estimate.
func (tab *RosenbrockTableau) Adaptive() bool { return tab.E != nil }

// Implicit returns true: Rosenbrock methods are linearly implicit.
func (tab *RosenbrockTableau) Implicit() bool { return true }

func (tab *RosenbrockTableau) order() int    { return tab.Order }
func (tab *RosenbrockTableau) errOrder() int { return tab.ErrOrder }

func (tab *RosenbrockTableau) check() {
	s := len(tab.B)
	ok := s > 0 && len(tab.A) == s && len(tab.C) == s && len(tab.Alpha) == s && len(tab.D) == s &&
		(tab.E == nil || len(tab.E) == s) && tab.Gamma != 0 && tab.Alpha[0] == 0
	for i := range s {
		ok = ok && len(tab.A[i]) == i && len(tab.C[i]) == i
	}
	for _, row := range tab.H {
		ok = ok && len(row) == s
	}
	if !ok {
		panic("ode: RosenbrockTableau " + tab.Name + ": inconsistent coefficient arrays")
	}
}

func (tab *RosenbrockTableau) newStepper(f field) stepper {
	tab.check()
	lf, ok := f.(linField)
	if !ok {
		panic(fmt.Sprintf("ode: internal error: %s needs a linearisable field, got %T", tab.Name, f))
	}
	n, s := f.dim(), len(tab.B)
	st := &rosStepper{tab: tab, f: lf, k: make([][]float64, s),
		y: make([]float64, n), fi: make([]float64, n), rhs: make([]float64, n), ft: make([]float64, n)}
	for i := range st.k {
		st.k[i] = make([]float64, n)
	}
	return st
}

// rosStepper takes Rosenbrock steps: one Jacobian per point (kept across
// rejected attempts), one LU factorisation per attempt.
type rosStepper struct {
	tab    *RosenbrockTableau
	f      linField
	k      [][]float64
	y, fi  []float64
	rhs    []float64
	ft     []float64 // ∂F/∂t at the linearisation point
	linear bool      // the Jacobian is current for this point
}

func (st *rosStepper) step(t, h float64, x, f0, x1, errv []float64) error {
	tab := st.tab
	if !st.linear {
		st.f.linearize(t, x, f0)
		st.f.timeDeriv(st.ft, t, h, x, f0)
		st.linear = true
	}
	if err := st.f.shift(1 / (h * tab.Gamma)); err != nil {
		return err
	}
	for i := range tab.B {
		fi := f0
		if i > 0 {
			stageArgNoH(st.y, x, tab.A[i], st.k)
			st.f.eval(st.fi, t+tab.Alpha[i]*h, st.y)
			fi = st.fi
		}
		d := h * tab.D[i]
		for c := range st.rhs {
			s := fi[c] + d*st.ft[c]
			for j, cij := range tab.C[i] {
				s += cij / h * st.k[j][c]
			}
			st.rhs[c] = s
		}
		st.f.solve(st.k[i], st.rhs, false)
	}
	stageArgNoH(x1, x, tab.B, st.k)
	if errv != nil && tab.E != nil {
		combine(errv, tab.E, st.k)
	}
	return nil
}

// stageArgNoH writes y = x + Σ a[j] k[j] (Rosenbrock stages carry h in k).
func stageArgNoH(y, x []float64, a []float64, k [][]float64) {
	combine(y, a, k)
	x = x[:len(y)]
	for c := range y {
		y[c] += x[c]
	}
}

// combine writes dst = Σ a[j] k[j], skipping zero coefficients.
func combine(dst []float64, a []float64, k [][]float64) {
	clear(dst)
	for j, aj := range a {
		if aj != 0 {
			kj := k[j][:len(dst)]
			for c := range dst {
				dst[c] += aj * kj[c]
			}
		}
	}
}

func (st *rosStepper) fsal() []float64 { return nil }

func (st *rosStepper) dense(rec *denseRec, t, h float64, x0, x1, f0, f1 []float64, hermite bool) {
	if hermite || st.tab.H == nil {
		rec.setHermite(t, h, x0, x1, f0, f1)
		return
	}
	rec.kind = denseRodas
	rec.setEnds(t, h, x0, x1)
	if len(rec.ks) != len(st.tab.H) {
		rec.ks = make([][]float64, len(st.tab.H))
	}
	for m, row := range st.tab.H {
		rec.ks[m] = ensure(rec.ks[m], len(x0))
		combine(rec.ks[m], row, st.k)
	}
}

func (st *rosStepper) badStage(t, h float64) (float64, bool) {
	for i, k := range st.k {
		if !allFinite(k) {
			return t + st.tab.Alpha[i]*h, true
		}
	}
	if !allFinite(st.ft) {
		return t, true
	}
	return math.NaN(), false
}

func (st *rosStepper) accepted() { st.linear = false }
