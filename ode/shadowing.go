package ode

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// Sentinel errors of Shadow: the conditions under which a shadowing method
// does not apply. Test for them with errors.Is.
var (
	// ErrShortWindow: the averaging window is too short for shadowing:
	// it spans fewer than ShadowSettings.MinLyapunovTimes e-folding times
	// of the leading Lyapunov exponent, or too few steps (LSS) or segments
	// (NILSS) to be resolved.
	ErrShortWindow = errors.New("window too short for shadowing")
	// ErrTransient: the first window's average differs from the later
	// ones by far more than they differ among themselves, so the
	// trajectory was still approaching the attractor: it needs a (longer)
	// spin-up.
	ErrTransient = errors.New("trajectory not on the attractor")
	// ErrUnresolved: NILSS's inhomogeneous tangent still grows
	// exponentially after the homogeneous tangents' directions are
	// removed, so the system has more unstable directions than
	// NILSS.Unstable.
	ErrUnresolved = errors.New("more unstable directions than homogeneous tangents")
)

// ShadowMethod computes the derivative of a long-time average by shadowing:
// LSS or NILSS. The interface is closed: its unexported method ties a method
// to the package's integrator.
type ShadowMethod interface {
	// String returns the method's name.
	String() string

	// window computes one window's average and derivative from the state
	// y0 on the attractor at T0 and returns them with the state at T1.
	window(j *shadowJob, y0 []float64) (*ShadowWindow, []float64, error)
}

// ShadowSettings configures Shadow. A nil *ShadowSettings means the zero
// value, whose fields all mean the defaults documented on them.
type ShadowSettings struct {
	// Trajectories is the number of windows of length T1 − T0 whose
	// estimates are averaged; their spread gives the statistical error.
	// Zero means 4 (or len(Starts) when Starts is set). With one window
	// the error estimates are NaN.
	Trajectories int
	// Starts, if non-nil, gives one initial state per trajectory, each
	// spun up independently (Problem.Y0 is then not used). Nil means the
	// windows follow each other on one trajectory from Problem.Y0 (batch
	// means): for windows much longer than the correlation time of the
	// dynamics their estimates are as good as independent.
	Starts [][]float64
	// SpinUp is the time integrated from each start before its first
	// window, so that the trajectory lies on the attractor. Zero means the
	// window length T1 − T0; a negative value means none (the start is on
	// the attractor already).
	SpinUp float64
	// Params lists the parameters (indices into Problem.P) whose
	// derivatives are wanted, in the order of ShadowResult.Grad. Nil means
	// all of them.
	Params []int
	// MinLyapunovTimes is the shortest window, in e-folding times 1/λ₁ of
	// the leading Lyapunov exponent λ₁ (when it is positive), that Shadow
	// accepts: shorter windows return ErrShortWindow. Zero means 10;
	// a negative value disables the check.
	MinLyapunovTimes float64
	// Solve configures the solves of the trajectory (and of NILSS's
	// tangents): tolerances and step limit (per window). SaveAt, SaveSteps,
	// Dense and Stops must be unset. Nil means defaults.
	Solve *Settings
	// Progress, if non-nil, is called after each window with the number
	// of windows done and their total; a non-nil error it returns stops
	// Shadow, which returns that error. Nil means no call.
	Progress func(done, total int) error
}

// ShadowWindow is one window's result.
type ShadowWindow struct {
	// Average is the time average of J over the window.
	Average float64
	// Grad is its shadowing derivative d⟨J⟩/dp for the selected
	// parameters.
	Grad []float64
	// Lyapunov holds the window's estimates of the leading Lyapunov
	// exponents: one for LSS, one per homogeneous tangent for NILSS.
	Lyapunov []float64
	// Stats counts the window's work.
	Stats Stats

	step float64 // the LSS step or NILSS segment length used
}

// ShadowResult is the result of Shadow.
type ShadowResult struct {
	// Average is the long-time average ⟨J⟩, the mean of the windows'
	// averages, and AverageErr its standard error.
	Average, AverageErr float64
	// Grad holds d⟨J⟩/dp for the parameters of ShadowSettings.Params (in
	// that order): the mean of the windows' derivatives.
	Grad []float64
	// GradErr holds the standard error of each entry of Grad: the
	// standard deviation over the windows divided by the square root of
	// their number (NaN for one window). A 95% confidence interval is
	// about Grad ± 2·GradErr for many windows, and wider (Student's t)
	// for few.
	GradErr []float64
	// Lyapunov holds the mean over the windows of their Lyapunov
	// exponent estimates.
	Lyapunov []float64
	// Windows holds every window's result, in order.
	Windows []ShadowWindow
	// Step is the time step LSS used (zero for NILSS) and Segment the
	// segment length NILSS used (zero for LSS).
	Step, Segment float64
	// SpinUp counts the work of the spin-ups and Stats that of
	// everything (spin-ups and windows).
	SpinUp, Stats Stats
}

// Defaults of ShadowSettings and of the methods.
const (
	defaultTrajectories     = 4
	defaultMinLyapunovTimes = 10
	// transientLevel is the two-sided significance level of the
	// comparison of the first window's average with the others.
	transientLevel = 1e-3
)

// shadowJob holds what every window of a Shadow call needs.
type shadowJob struct {
	prob   Problem
	avg    *Integral
	solver Solver
	set    Settings // the solves' settings
	r      *resolved
	n, np  int
	params []int
	T      float64 // window length

	// rate is the largest rate of the linearised flow, ‖∂f/∂y‖₂, found
	// along the first window: the time scale of the default LSS step and
	// NILSS segment. Zero until rateAt has run.
	rate float64
	// alpha is LSS's default time-dilation weight, set from the first
	// window (zero until then).
	alpha float64
}

// Shadow computes the derivative of the long-time average of a running
// quantity J(y, p) = avg.G(t, y, p) along the trajectories of an
// autonomous chaotic (or periodic, or steady) system,
//
//	⟨J⟩ = lim_{T→∞} (1/T) ∫₀ᵀ J(y(t), p) dt,
//
// with respect to the parameters, by a shadowing method: LSS (least-squares
// shadowing) or NILSS (its non-intrusive variant). For a chaotic system the
// derivative of every finite-window average grows like exp(λ₁T) with the
// window (the conventional tangent and adjoint methods of Gradient
// differentiate exactly that), while ⟨J⟩ itself is, for a uniformly
// hyperbolic system, a differentiable function of p. Shadowing replaces
// the initial-value tangent problem by the bounded tangent trajectory
// closest to it (the shadowing direction, which exists by the shadowing
// lemma) and a time dilation, and its derivative converges to d⟨J⟩/dp
// like 1/√T. (That is a theorem for uniformly hyperbolic systems; on others,
// such as Lorenz-63, the shadowing derivative may differ a little from the
// response of ⟨J⟩ — by about 2% for d⟨z⟩/dρ of Lorenz-63 at ρ = 28.)
//
// Each window [T0, T1] of ShadowSettings.Trajectories windows is computed
// on its own (after a spin-up onto the attractor), and the result is their
// mean with its standard error. The system must be autonomous (f and J must
// not depend on t) and its derivatives are found as in Gradient: JVPer and
// VJPer, or finite differences. A nil solver means DP5 (NILSS needs an
// explicit one), a nil method means NILSS{} and nil settings mean defaults.
//
// Shadow returns an error wrapping ErrShortWindow, ErrTransient or
// ErrUnresolved where the method does not apply, and a solve's *Error on
// numerical failure. Misuse (T1 ≤ T0, a parameter index out of range,
// slices of the wrong length, avg or its functions nil) panics.
func Shadow(prob Problem, avg *Integral, solver Solver, method ShadowMethod, settings *ShadowSettings) (*ShadowResult, error) {
	n, np := prob.dims()
	if avg == nil || avg.G == nil || avg.Grad == nil {
		panic("ode: Shadow needs a running quantity with G and Grad")
	}
	if !(prob.T1 > prob.T0) {
		panic(fmt.Sprintf("ode: Shadow needs a window T1 > T0, got [%v, %v]", prob.T0, prob.T1))
	}
	if solver == nil {
		solver = DP5
	}
	if method == nil {
		method = &NILSS{}
	}
	var s ShadowSettings
	if settings != nil {
		s = *settings
	}
	if s.Trajectories < 0 {
		panic(fmt.Sprintf("ode: ShadowSettings.Trajectories = %d is negative", s.Trajectories))
	}
	K := s.Trajectories
	if s.Starts != nil {
		if K != 0 && K != len(s.Starts) {
			panic(fmt.Sprintf("ode: ShadowSettings has %d starts for %d trajectories", len(s.Starts), K))
		}
		K = len(s.Starts)
		for i, y := range s.Starts {
			if len(y) != n {
				panic(fmt.Sprintf("ode: len(ShadowSettings.Starts[%d]) = %d, want %d", i, len(y), n))
			}
		}
	}
	if K == 0 {
		K = defaultTrajectories
	}
	params := s.Params
	if params == nil {
		for i := range np {
			params = append(params, i)
		}
	}
	for _, k := range params {
		if k < 0 || k >= np {
			panic(fmt.Sprintf("ode: ShadowSettings.Params holds %d, outside the %d parameters", k, np))
		}
	}
	var set Settings
	if s.Solve != nil {
		set = *s.Solve
	}
	if set.SaveAt != nil || set.SaveSteps || set.Dense || set.Stops != nil {
		panic("ode: ShadowSettings.Solve may not set SaveAt, SaveSteps, Dense or Stops")
	}
	T := prob.T1 - prob.T0
	spin := s.SpinUp
	if spin == 0 {
		spin = T
	}
	minTimes := s.MinLyapunovTimes
	if minTimes == 0 {
		minTimes = defaultMinLyapunovTimes
	}
	j := &shadowJob{prob: prob, avg: avg, solver: solver, set: set, r: resolve(&set, n), n: n, np: np,
		params: slices.Clone(params), T: T}
	res := &ShadowResult{}
	wrap := func(err error) error { return fmt.Errorf("ode: %v: %w", method, err) }

	var y []float64
	for k := range K {
		switch {
		case s.Starts != nil:
			y = slices.Clone(s.Starts[k])
		case k == 0:
			y = slices.Clone(prob.Y0)
		}
		if spin > 0 && (k == 0 || s.Starts != nil) {
			var err error
			if y, err = j.spinUp(y, spin, &res.SpinUp); err != nil {
				return res, wrap(fmt.Errorf("spin-up of trajectory %d: %w", k, err))
			}
		}
		w, yEnd, err := method.window(j, y)
		if err != nil {
			return res, wrap(fmt.Errorf("window %d: %w", k, err))
		}
		if !finite(w.Average) || !allFinite(w.Grad) {
			return res, wrap(fmt.Errorf("window %d: the average or the derivative is not finite (%v, %v)", k, w.Average, w.Grad))
		}
		res.Windows = append(res.Windows, *w)
		y = yEnd
		if s.Progress != nil {
			if err := s.Progress(k+1, K); err != nil {
				return res, err
			}
		}
	}
	res.summarise(len(params))
	switch method.(type) {
	case *LSS:
		res.Step = res.Windows[0].step
	case *NILSS:
		res.Segment = res.Windows[0].step
	}

	if l := res.Lyapunov; minTimes > 0 && len(l) > 0 && l[0] > 0 && l[0]*T < minTimes {
		return res, wrap(fmt.Errorf("%w: the window T = %.4g spans λ₁T = %.3g e-folding times of the leading Lyapunov exponent λ₁ ≈ %.3g; "+
			"shadowing needs at least %g (ShadowSettings.MinLyapunovTimes): lengthen the window", ErrShortWindow, T, l[0]*T, l[0], minTimes))
	}
	if err := res.checkTransient(); err != nil {
		return res, wrap(err)
	}
	return res, nil
}

// summarise fills the means, standard errors and total work.
func (res *ShadowResult) summarise(q int) {
	K := len(res.Windows)
	avgs := make([]float64, K)
	for k, w := range res.Windows {
		avgs[k] = w.Average
		res.Stats.add(w.Stats)
	}
	res.Stats.add(res.SpinUp)
	res.Average, res.AverageErr = meanErr(avgs)
	res.Grad, res.GradErr = make([]float64, q), make([]float64, q)
	g := make([]float64, K)
	for i := range q {
		for k, w := range res.Windows {
			g[k] = w.Grad[i]
		}
		res.Grad[i], res.GradErr[i] = meanErr(g)
	}
	nl := len(res.Windows[0].Lyapunov)
	res.Lyapunov = make([]float64, nl)
	for _, w := range res.Windows {
		for i, l := range w.Lyapunov {
			res.Lyapunov[i] += l / float64(K)
		}
	}
}

// checkTransient compares the first window's average with the others (when
// there are at least three others): a difference beyond what their spread
// allows at the level transientLevel (Student's t), and beyond rounding,
// means the first window was not yet on the attractor.
func (res *ShadowResult) checkTransient() error {
	K := len(res.Windows)
	if K < 4 {
		return nil
	}
	rest := make([]float64, K-1)
	for k := range rest {
		rest[k] = res.Windows[k+1].Average
	}
	m, sd := stat.MeanStdDev(rest, nil)
	d := math.Abs(res.Windows[0].Average - m)
	q := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(K - 2)}.Quantile(1 - transientLevel/2)
	bound := q * sd * math.Sqrt(1+1/float64(K-1))
	if d > bound && d > 1e-6*math.Abs(m) {
		return fmt.Errorf("%w: the first window's average %.6g differs from the mean %.6g of the %d others by %.3g, "+
			"while they scatter by %.3g (standard deviation): the trajectory was still approaching the attractor; "+
			"lengthen ShadowSettings.SpinUp", ErrTransient, res.Windows[0].Average, m, K-1, d, sd)
	}
	return nil
}

// meanErr returns the mean of x and its standard error (NaN for one value).
func meanErr(x []float64) (mean, se float64) {
	if len(x) == 1 {
		return x[0], math.NaN()
	}
	m, sd := stat.MeanStdDev(x, nil)
	return m, sd / math.Sqrt(float64(len(x)))
}

// spinUp integrates from y for the time spin and returns the final state.
func (j *shadowJob) spinUp(y []float64, spin float64, st *Stats) ([]float64, error) {
	sol, err := Solve(Problem{System: j.prob.System, T0: j.prob.T0 - spin, T1: j.prob.T0, Y0: y, P: j.prob.P}, j.solver, &j.set)
	st.add(sol.Stats)
	if err != nil {
		return nil, err
	}
	return sol.Y[len(sol.Y)-1], nil
}

// solveWindow integrates the window from y0 at T0, reporting the solution
// at the given times (nil: T1 only).
func (j *shadowJob) solveWindow(y0, at []float64, st *Stats) (*Solution, error) {
	set := j.set
	set.SaveAt = at
	sol, err := Solve(Problem{System: j.prob.System, T0: j.prob.T0, T1: j.prob.T1, Y0: y0, P: j.prob.P}, j.solver, &set)
	st.add(sol.Stats)
	return sol, err
}

// rateSamples is the number of states along the first window at which the
// rate of the linearised flow is measured, and rateIters the power
// iterations at each.
const (
	rateSamples = 16
	rateIters   = 12
)

// rateAt returns the largest rate of the linearised flow, max ‖∂f/∂y‖₂
// over rateSamples states along the window from y0 (computed once, on the
// first call), each by power iteration on (∂f/∂y)ᵀ(∂f/∂y) with JVPs and
// VJPs. It sets the time scale of the default LSS step and NILSS segment.
func (j *shadowJob) rateAt(y0 []float64, st *Stats) (float64, error) {
	if j.rate > 0 {
		return j.rate, nil
	}
	at := make([]float64, rateSamples)
	for i := range at {
		at[i] = j.prob.T0 + j.T*float64(i)/float64(rateSamples)
	}
	sol, err := j.solveWindow(y0, at, st)
	if err != nil {
		return 0, err
	}
	o := newSysOps(j.prob.System, j.prob.P, st, j.r.fdFloor())
	n := j.n
	x, ax := make([]float64, n), make([]float64, n)
	rng := rand.New(rand.NewPCG(1, 2))
	var rate float64
	for i, y := range sol.Y {
		for k := range x {
			x[k] = rng.NormFloat64()
		}
		var s float64
		for range rateIters {
			nx := norm2(x)
			for k := range x {
				x[k] /= nx
			}
			o.jvp(ax, sol.T[i], y, x, nil, nil)
			s = norm2(ax)
			if s == 0 {
				break
			}
			clear(x)
			o.vjp(x, nil, sol.T[i], y, ax)
		}
		rate = math.Max(rate, s)
	}
	if !(rate > 0) || math.IsInf(rate, 0) {
		return 0, fmt.Errorf("the linearised flow has rate %v along the first window: the system does not move", rate)
	}
	j.rate = rate
	return rate, nil
}

// maxATol is the largest absolute tolerance of the state.
func (j *shadowJob) maxATol() float64 {
	var m float64
	for _, a := range j.r.atol {
		m = math.Max(m, a)
	}
	return m
}

// unitDirs returns the unit vectors of the selected parameters.
func (j *shadowJob) unitDirs() [][]float64 {
	e := make([][]float64, len(j.params))
	for i, k := range j.params {
		e[i] = make([]float64, j.np)
		e[i][k] = 1
	}
	return e
}
