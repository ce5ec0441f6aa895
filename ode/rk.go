package ode

import "math"

// Solver is an integration method: an explicit Runge–Kutta *Tableau (Euler,
// Heun, RK4, BS3, DP5, Tsit5) or a *RosenbrockTableau for stiff problems
// (Rodas4). The step-size controller, the tolerances and the sensitivity
// method are chosen independently (see Settings and Gradient).
//
// The interface is closed: its unexported methods tie a solver to the
// package's integrator.
type Solver interface {
	// String returns the method's name.
	String() string
	// Adaptive reports whether the method has an error estimate and so can
	// choose its own step sizes (otherwise Settings.Step must be set).
	Adaptive() bool
	// Implicit reports whether the method is (linearly) implicit, suited to
	// stiff problems.
	Implicit() bool

	order() int
	errOrder() int
	newStepper(f field) stepper
}

// stepper advances a field by one step of a particular method.
type stepper interface {
	// step attempts a step of size h from (t, x), where f0 = F(t, x). It
	// writes the candidate solution to x1 and, if errv is non-nil and the
	// method has an estimate, the local error estimate to errv. An error
	// means the linear algebra failed (wrapping ErrSingular).
	step(t, h float64, x, f0, x1, errv []float64) error
	// fsal returns F(t+h, x1) if the last step computed it, else nil.
	fsal() []float64
	// dense fills rec with the continuous extension of the last step.
	// f1 = F(t+h, x1) is needed only for Hermite interpolation.
	dense(rec *denseRec, t, h float64, x0, x1, f0, f1 []float64, hermite bool)
	// badStage returns the time of the first stage of the last step whose
	// derivative is not finite.
	badStage(t, h float64) (float64, bool)
	// accepted tells the stepper that its last step was accepted, so that
	// per-point data (a Jacobian) is stale.
	accepted()
}

var _ Solver = (*Tableau)(nil)

// String returns the tableau's name.
func (tab *Tableau) String() string { return tab.Name }

// Adaptive reports whether the tableau has an error estimate.
func (tab *Tableau) Adaptive() bool { return tab.E != nil }

// Implicit returns false: tableaus are explicit.
func (tab *Tableau) Implicit() bool { return false }

func (tab *Tableau) order() int    { return tab.Order }
func (tab *Tableau) errOrder() int { return tab.ErrOrder }

func (tab *Tableau) newStepper(f field) stepper {
	tab.check()
	n, s := f.dim(), len(tab.B)
	st := &rkStepper{tab: tab, f: f, k: make([][]float64, s), y: make([]float64, n)}
	for i := range st.k {
		st.k[i] = make([]float64, n)
	}
	return st
}

// check panics if the tableau's arrays are inconsistent.
func (tab *Tableau) check() {
	s := len(tab.B)
	ok := s > 0 && len(tab.C) == s && len(tab.A) == s && (tab.E == nil || len(tab.E) == s) &&
		(tab.Dense == nil || len(tab.Dense) == s) && tab.C[0] == 0
	for i, row := range tab.A {
		ok = ok && len(row) == i
	}
	if !ok {
		panic("ode: Tableau " + tab.Name + ": inconsistent coefficient arrays")
	}
}

// rkStepper is the one generic explicit Runge–Kutta step.
type rkStepper struct {
	tab *Tableau
	f   field
	k   [][]float64 // stage derivatives of the last step
	y   []float64   // stage argument
}

// stageArg writes y = x + h Σ_{j} a[j] k[j], skipping zero coefficients
// (y must not alias x or k). The same function forms the new solution, so
// that an FSAL last stage is evaluated at exactly the new solution.
func stageArg(y, x []float64, h float64, a []float64, k [][]float64) {
	clear(y)
	for j, aj := range a {
		if aj != 0 {
			kj := k[j][:len(y)]
			for c := range y {
				y[c] += aj * kj[c]
			}
		}
	}
	x = x[:len(y)]
	for c := range y {
		y[c] = x[c] + h*y[c]
	}
}

func (st *rkStepper) step(t, h float64, x, f0, x1, errv []float64) error {
	tab := st.tab
	copy(st.k[0], f0)
	for i := 1; i < len(tab.B); i++ {
		stageArg(st.y, x, h, tab.A[i], st.k)
		st.f.eval(st.k[i], t+tab.C[i]*h, st.y)
	}
	stageArg(x1, x, h, tab.B, st.k)
	if errv != nil && tab.E != nil {
		combine(errv, tab.E, st.k)
		for c := range errv {
			errv[c] *= h
		}
	}
	return nil
}

func (st *rkStepper) fsal() []float64 {
	if st.tab.FSAL {
		return st.k[len(st.k)-1]
	}
	return nil
}

func (st *rkStepper) dense(rec *denseRec, t, h float64, x0, x1, f0, f1 []float64, hermite bool) {
	if hermite || st.tab.Dense == nil {
		rec.setHermite(t, h, x0, x1, f0, f1)
		return
	}
	rec.setPoly(t, h, x0, x1, st.tab.Dense, st.k)
}

func (st *rkStepper) badStage(t, h float64) (float64, bool) {
	for i, k := range st.k {
		if !allFinite(k) {
			return t + st.tab.C[i]*h, true
		}
	}
	return math.NaN(), false
}

func (st *rkStepper) accepted() {}
