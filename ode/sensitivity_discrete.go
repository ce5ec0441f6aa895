package ode

import (
	"fmt"
	"math"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Discrete is the discrete adjoint: the exact gradient of the computed
// discrete solution, obtained by differentiating every accepted step of the
// solver in reverse (backpropagation through the solver), so that it agrees
// with finite differences of the numerical solution to rounding error
// whatever the tolerances.
//
// The forward solve runs first with adaptive steps; its accepted step sizes
// are then held fixed and the solve is replayed as a recurrence
// y_{k+1} = Φ(t_k, h_k, y_k, p) through the adjoint-state engine, which
// stores checkpoints, recomputes states and applies each step's VJP. As is
// standard (and as in diffrax and SciMLSensitivity), the dependence of the
// accepted step sizes on p and y₀ through the error controller is not
// differentiated: it is the gradient of the solution with that step
// sequence. Observation times are steps onto which the solver lands
// exactly, so their terms are per-step losses; an integral cost is a
// quadrature component of the discrete state.
//
// The VJP of an explicit Runge–Kutta step costs one VJP of f per stage
// (after recomputing the stages). The VJP of a Rosenbrock step also
// differentiates the Jacobian inside the step, which needs second
// derivatives of f: exact with a SecondOrderer (Traced), by central
// differences of VJPs otherwise; and it is the derivative of the step taken
// with the exact Jacobian, so a System that leaves ∂f/∂y to finite
// differences gets a gradient accurate to about 1e-7 only.
type Discrete struct {
	// Policy is the engine's checkpointing policy for the replay:
	// adjoint.StoreAll(), adjoint.Every(k) or adjoint.Binomial(s). Every
	// policy gives bit-identical gradients; they trade stored states for
	// recomputed steps. The zero value stores every state.
	Policy adjoint.Policy
	// OnAdjoint, if non-nil, is called with the discrete adjoint
	// λ_k = ∂G/∂y_k at every step time, from T1 down to T0. Nil means no
	// call.
	OnAdjoint func(t float64, lambda []float64)
}

var _ Sensitivity = (*Discrete)(nil)

// String returns "discrete adjoint".
func (m *Discrete) String() string { return "discrete adjoint" }

// stepTape is the accepted steps of the forward solve, which the discrete
// adjoint replays.
type stepTape struct{ ts, hs []float64 }

func (m *Discrete) record(j *gradJob) (*fwdTrace, any, error) {
	tp := &stepTape{}
	onStep := func(_ *integrator, t, h float64, _, _, _, _ []float64) error {
		tp.ts, tp.hs = append(tp.ts, t), append(tp.hs, h)
		return nil
	}
	tr, err := j.forward(onStep, false)
	return tr, tp, err
}

func (m *Discrete) backward(j *gradJob, tr *fwdTrace, rec any) error {
	n := j.n
	ts, hs := rec.(*stepTape).ts, rec.(*stepTape).hs
	bst := &j.res.Backward
	ops := newSysOps(j.prob.System, j.prob.P, bst, j.r.fdFloor())
	fld := newSysField(ops, j.cost.Integral)
	var step adjoint.Step
	switch s := j.solver.(type) {
	case *Tableau:
		step = newRKStep(s, fld, ts, hs)
	case *RosenbrockTableau:
		step = newRosStep(s, fld, ts, hs)
	default:
		panic(fmt.Sprintf("ode: Discrete does not support solver %T", j.solver))
	}
	loss := &discreteLoss{j: j, n: n, nsteps: len(ts), obsY: tr.obsY, byStep: map[int][]int{}}
	for i, k := range tr.obsK { // observations at T0 have k = 0
		loss.byStep[k] = append(loss.byStep[k], i)
	}
	x0 := make([]float64, fld.dim())
	copy(x0, j.prob.Y0)
	dx0 := make([]float64, len(x0))
	var onAdj func(int, []float64)
	if m.OnAdjoint != nil {
		onAdj = func(k int, lam []float64) {
			t := j.prob.T1
			if k < len(ts) {
				t = ts[k]
			}
			m.OnAdjoint(t, lam[:n])
		}
	}
	rr, err := adjoint.Recurrence(dx0, j.res.DP, step, loss, x0, j.prob.P, len(ts), m.Policy,
		&adjoint.RecurrenceSettings{OnAdjoint: onAdj})
	bst.Steps += rr.Evals
	bst.PeakStored = rr.PeakStored + len(tr.obsY)
	if err != nil {
		return &Error{Solver: j.solver.String(), Phase: "discrete adjoint", T: j.prob.T1, Detail: err.Error(), Err: ErrNonFinite}
	}
	copy(j.res.DY0, dx0[:n])
	j.res.Value = rr.Loss
	return nil
}

// discreteLoss is the cost as the engine's Loss and RunningLoss on the
// discrete state x_k = [y_k, q_k]: observation terms at the steps where the
// solver landed on their times, the terminal cost and the integral's
// quadrature at the last state.
type discreteLoss struct {
	j      *gradJob
	n      int
	nsteps int
	obsY   [][]float64
	byStep map[int][]int
}

func (l *discreteLoss) obs(k int, x []float64) (v float64) {
	for _, i := range l.byStep[k] {
		v += l.j.cost.Observations.G(i, x[:l.n], l.j.prob.P)
	}
	return v
}

func (l *discreteLoss) obsGrad(xbar, thetabar []float64, k int, x []float64) {
	for _, i := range l.byStep[k] {
		l.j.cost.Observations.Grad(xbar[:l.n], thetabar, i, x[:l.n], l.j.prob.P)
	}
}

// Terminal returns g_T(y_n) + q_n + the observations at T1.
func (l *discreteLoss) Terminal(x, theta []float64) float64 {
	v := l.obs(l.nsteps, x)
	if c := l.j.cost.Terminal; c != nil {
		v += c.G(x[:l.n], theta)
	}
	if l.j.cost.Integral != nil {
		v += x[l.n]
	}
	return v
}

// TerminalGrad accumulates the gradients of Terminal.
func (l *discreteLoss) TerminalGrad(xbar, thetabar []float64, x, theta []float64) {
	l.obsGrad(xbar, thetabar, l.nsteps, x)
	if c := l.j.cost.Terminal; c != nil {
		c.Grad(xbar[:l.n], thetabar, x[:l.n], theta)
	}
	if l.j.cost.Integral != nil {
		xbar[l.n]++
	}
}

// Running returns the observation terms at step k.
func (l *discreteLoss) Running(k int, x, _ []float64) float64 { return l.obs(k, x) }

// RunningGrad accumulates their gradients.
func (l *discreteLoss) RunningGrad(xbar, thetabar []float64, k int, x, _ []float64) {
	l.obsGrad(xbar, thetabar, k, x)
}

var (
	_ adjoint.Loss        = (*discreteLoss)(nil)
	_ adjoint.RunningLoss = (*discreteLoss)(nil)
)

// rkStep is one explicit Runge–Kutta step with recorded (t_k, h_k) as the
// engine's Step, with its exact VJP.
type rkStep struct {
	tab    *Tableau
	fld    vjpField
	ts, hs []float64
	need   []bool // stages that influence the new state
	k, y   [][]float64
	kbar   [][]float64
	ybar   []float64
}

var _ adjoint.Step = (*rkStep)(nil)

func newRKStep(tab *Tableau, fld vjpField, ts, hs []float64) *rkStep {
	tab.check()
	s, d := len(tab.B), fld.dim()
	st := &rkStep{tab: tab, fld: fld, ts: ts, hs: hs, need: make([]bool, s), ybar: make([]float64, d)}
	for i := s - 1; i >= 0; i-- {
		st.need[i] = tab.B[i] != 0
		for l := i + 1; l < s; l++ {
			st.need[i] = st.need[i] || st.need[l] && tab.A[l][i] != 0
		}
	}
	st.k, st.y, st.kbar = make([][]float64, s), make([][]float64, s), make([][]float64, s)
	for i := range s {
		st.k[i], st.y[i], st.kbar[i] = make([]float64, d), make([]float64, d), make([]float64, d)
	}
	return st
}

// stages evaluates the needed stages of step k from x.
func (st *rkStep) stages(k int, x []float64) {
	t, h := st.ts[k], st.hs[k]
	for i := range st.tab.B {
		if !st.need[i] {
			continue
		}
		if i == 0 {
			copy(st.y[0], x)
		} else {
			stageArg(st.y[i], x, h, st.tab.A[i], st.k)
		}
		st.fld.eval(st.k[i], t+st.tab.C[i]*h, st.y[i])
	}
}

// Eval takes step k from x.
func (st *rkStep) Eval(next []float64, k int, x, _ []float64) {
	st.stages(k, x)
	stageArg(next, x, st.hs[k], st.tab.B, st.k)
}

// VJP accumulates the transposed Jacobians of step k applied to nextbar.
func (st *rkStep) VJP(xbar, thetabar []float64, k int, x, _, nextbar []float64) {
	st.stages(k, x)
	t, h := st.ts[k], st.hs[k]
	tab := st.tab
	axpy(xbar, 1, nextbar)
	for i, b := range tab.B {
		for c := range nextbar {
			st.kbar[i][c] = h * b * nextbar[c]
		}
	}
	for i := len(tab.B) - 1; i >= 0; i-- {
		if !st.need[i] {
			continue
		}
		clear(st.ybar)
		st.fld.vjp(st.ybar, thetabar, t+tab.C[i]*h, st.y[i], st.kbar[i])
		axpy(xbar, 1, st.ybar)
		for j, a := range tab.A[i] {
			if a != 0 {
				axpy(st.kbar[j], h*a, st.ybar)
			}
		}
	}
}

// rosStep is one Rosenbrock step with recorded (t_k, h_k) as the engine's
// Step. Its VJP differentiates the stage solves, the Jacobian and the
// time derivative inside the step.
type rosStep struct {
	tab    *RosenbrockTableau
	fld    *sysField
	ts, hs []float64
	st     *rosStepper
	f0, x1 []float64
	y      [][]float64
	kbar   [][]float64
	rbar   []float64
	ybar   []float64
	ftbar  []float64
}

var _ adjoint.Step = (*rosStep)(nil)

func newRosStep(tab *RosenbrockTableau, fld *sysField, ts, hs []float64) *rosStep {
	s, d := len(tab.B), fld.dim()
	st := &rosStep{tab: tab, fld: fld, ts: ts, hs: hs, st: tab.newStepper(fld).(*rosStepper),
		f0: make([]float64, d), x1: make([]float64, d), rbar: make([]float64, d), ybar: make([]float64, d),
		ftbar: make([]float64, d)}
	st.y, st.kbar = make([][]float64, s), make([][]float64, s)
	for i := range s {
		st.y[i], st.kbar[i] = make([]float64, d), make([]float64, d)
	}
	return st
}

// forward takes step k from x into dst, leaving the stages in st.st.k and
// the factorised iteration matrix in the field.
func (st *rosStep) forward(dst []float64, k int, x []float64) {
	t, h := st.ts[k], st.hs[k]
	st.fld.eval(st.f0, t, x)
	st.st.accepted() // a new point: relinearise
	if err := st.st.step(t, h, x, st.f0, dst, nil); err != nil {
		for i := range dst {
			dst[i] = math.NaN() // reported by the engine as a non-finite state
		}
	}
}

// Eval takes step k from x.
func (st *rosStep) Eval(next []float64, k int, x, _ []float64) { st.forward(next, k, x) }

// VJP accumulates the transposed Jacobians of step k applied to nextbar.
func (st *rosStep) VJP(xbar, thetabar []float64, k int, x, _, nextbar []float64) {
	st.forward(st.x1, k, x)
	t, h := st.ts[k], st.hs[k]
	tab := st.tab
	ks := st.st.k
	for i := 1; i < len(tab.B); i++ {
		stageArgNoH(st.y[i], x, tab.A[i], ks)
	}
	axpy(xbar, 1, nextbar)
	for i, b := range tab.B {
		for c := range nextbar {
			st.kbar[i][c] = b * nextbar[c]
		}
	}
	clear(st.ftbar)
	for i := len(tab.B) - 1; i >= 0; i-- {
		// kᵢ = M⁻¹ rᵢ with M = I/(hγ) − J: r̄ᵢ = M⁻ᵀ k̄ᵢ and J̄ += r̄ᵢ kᵢᵀ.
		st.fld.solve(st.rbar, st.kbar[i], true)
		st.fld.vjpTangent(xbar, thetabar, t, x, st.rbar, ks[i])
		// rᵢ = F(t + αᵢh, Yᵢ) + h dᵢ ∂F/∂t + Σⱼ (Cᵢⱼ/h) kⱼ.
		if i == 0 {
			st.fld.vjp(xbar, thetabar, t, x, st.rbar)
		} else {
			clear(st.ybar)
			st.fld.vjp(st.ybar, thetabar, t+tab.Alpha[i]*h, st.y[i], st.rbar)
			axpy(xbar, 1, st.ybar)
			for j, a := range tab.A[i] {
				if a != 0 {
					axpy(st.kbar[j], a, st.ybar)
				}
			}
		}
		if tab.D[i] != 0 {
			axpy(st.ftbar, h*tab.D[i], st.rbar)
		}
		for j, c := range tab.C[i] {
			if c != 0 {
				axpy(st.kbar[j], c/h, st.rbar)
			}
		}
	}
	st.fld.vjpTime(xbar, thetabar, t, h, x, st.ftbar)
}
