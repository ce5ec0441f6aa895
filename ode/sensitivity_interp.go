package ode

import (
	"slices"
	"sort"
)

// Interpolating is the interpolating, checkpointed continuous adjoint, the
// approach of SUNDIALS CVODES: the forward solve stores a checkpoint every
// CheckpointEvery steps (and the step sizes); the adjoint system
//
//	λ' = −(∂f/∂y)ᵀλ − (∂g/∂y)ᵀ,   λ(T1) = ∂g_T/∂y,
//	μ' = −(∂f/∂p)ᵀλ − (∂g/∂p)ᵀ,   dG/dp = ∂g_T/∂p + μ(T0),   dG/dy₀ = λ(T0),
//
// is then solved backwards, one checkpoint interval at a time: each interval
// is first recomputed from its checkpoint with the recorded steps, keeping
// the dense output, which supplies y(t) to the adjoint. The backward vector
// field is one VJP of f. λ jumps by ∂gᵢ/∂y at observation times.
//
// The gradient approximates the exact gradient of the ODE solution to the
// accuracy of both solves; it is not the exact gradient of the discrete
// forward solution (see Discrete). The backward solve uses Solver (by
// default the forward one): the adjoint of a stiff system is stiff, so a
// stiff forward solve needs a stiff backward one, and Rodas4 then solves
// with (∂f/∂y)ᵀ in its iteration matrix.
//
// Cost: one forward solve, one recomputation of it, and a backward solve of
// n+np variables with one VJP per evaluation. Memory: ⌈steps/CheckpointEvery⌉
// checkpoints plus the dense output of one interval.
type Interpolating struct {
	// Tol holds the backward solve's tolerances.
	Tol Tolerances
	// CheckpointEvery is the number of steps between checkpoints. Zero
	// means 20; a negative value keeps the dense output of every forward
	// step instead (no recomputation, memory proportional to the steps).
	CheckpointEvery int
	// Solver solves the backward adjoint system. Nil means the forward
	// solver.
	Solver Solver
	// OnAdjoint, if non-nil, is called with λ(t) at T1 and at the end of
	// every backward step (t decreasing), for plots. lambda must not be
	// retained. Nil means no call.
	OnAdjoint func(t float64, lambda []float64)
}

var _ Sensitivity = (*Interpolating)(nil)

// String returns "interpolating adjoint".
func (m *Interpolating) String() string { return "interpolating adjoint" }

// interpTape is what the interpolating adjoint's forward solve keeps: the
// accepted steps and a checkpoint every K of them, or with K < 0 the dense
// output of every step.
type interpTape struct {
	k      int
	ts, hs []float64
	cks    [][]float64 // y at the start of steps 0, K, 2K, …
	all    []*denseRec // K < 0: every forward step
	stored int
}

func (m *Interpolating) record(j *gradJob) (*fwdTrace, any, error) {
	n := j.n
	K := m.CheckpointEvery
	if K == 0 {
		K = 20
	}
	hermite := j.r.interp == InterpHermite
	tp := &interpTape{k: K}
	onStep := func(it *integrator, t, h float64, x0, x1, f0, f1 []float64) error {
		k := len(tp.ts)
		tp.ts, tp.hs = append(tp.ts, t), append(tp.hs, h)
		if K < 0 {
			rec := &denseRec{}
			it.st.dense(rec, t, h, x0, x1, f0, f1, hermite)
			tp.all = append(tp.all, rec)
			tp.stored += rec.vectors()
		} else if k%K == 0 {
			tp.cks = append(tp.cks, slices.Clone(x0[:n]))
			tp.stored++
		}
		return nil
	}
	tr, err := j.forward(onStep, K < 0)
	return tr, tp, err
}

func (m *Interpolating) backward(j *gradJob, tr *fwdTrace, rec any) error {
	n := j.n
	tp := rec.(*interpTape)
	K, ts, hs, cks, all, stored := tp.k, tp.ts, tp.hs, tp.cks, tp.all, tp.stored
	hermite := j.r.interp == InterpHermite
	bst := &j.res.Backward
	bst.PeakStored = stored + len(tr.obsY)
	nsteps := len(ts)

	ops := newSysOps(j.prob.System, j.prob.P, bst, j.r.fdFloor())
	traj := &trajectory{}
	trajDim := n
	if K < 0 {
		traj.recs = all
		trajDim = j.forwardDim()
	}
	fld := newAdjField(ops, j.cost.Integral, trajDim)
	fld.traj = traj

	// Recomputation of one checkpoint interval with dense output.
	var (
		replayFld *sysField
		replaySt  stepper
		pool      []*denseRec
		loaded    = -1
		rx, rx1   = make([]float64, n), make([]float64, n)
		rf0, rf1  = make([]float64, n), make([]float64, n)
	)
	replay := func(seg int) error {
		if replayFld == nil {
			replayFld = newSysField(ops, nil)
			replaySt = j.solver.newStepper(replayFld)
		}
		k0, k1 := seg*K, min((seg+1)*K, nsteps)
		copy(rx, cks[seg])
		replayFld.eval(rf0, ts[k0], rx)
		for len(pool) < k1-k0 {
			pool = append(pool, &denseRec{})
		}
		for k := k0; k < k1; k++ {
			if err := replaySt.step(ts[k], hs[k], rx, rf0, rx1, nil); err != nil {
				return &Error{Solver: j.solver.String(), Phase: "recomputation", T: ts[k], H: hs[k], Detail: err.Error(), Err: ErrSingular}
			}
			if f := replaySt.fsal(); f != nil {
				copy(rf1, f)
			} else {
				replayFld.eval(rf1, ts[k]+hs[k], rx1)
			}
			replaySt.dense(pool[k-k0], ts[k], hs[k], rx, rx1, rf0, rf1, hermite)
			replaySt.accepted()
			rx, rx1 = rx1, rx
			rf0, rf1 = rf1, rf0
		}
		bst.Steps += k1 - k0
		traj.recs, traj.last = pool[:k1-k0], k1-k0-1
		loaded = seg
		bst.PeakStored = max(bst.PeakStored, stored+len(tr.obsY)+(k1-k0)*pool[0].vectors())
		return nil
	}

	// Backward stops: forward stops (observations) and checkpoint times.
	var extra []float64
	if K > 0 {
		for s := 1; s < len(cks); s++ {
			extra = append(extra, ts[s*K])
		}
	}
	segOf := func(t float64) int { // the checkpoint interval containing t (backwards)
		dir := 1.0
		if j.prob.T1 < j.prob.T0 {
			dir = -1
		}
		// The last checkpoint at or before t in the forward direction.
		return sort.Search(len(cks), func(s int) bool { return dir*(ts[s*K]-t) > 0 }) - 1
	}
	return j.continuousBackward(m.Solver, m.Tol, fld, 0, n, tr, extra, m.OnAdjoint,
		func(tFrom, tTo float64) error {
			if K < 0 || nsteps == 0 {
				return nil
			}
			if s := segOf(tTo); s != loaded {
				return replay(s)
			}
			return nil
		})
}

// forwardDim is the dimension of the forward field [y, q].
func (j *gradJob) forwardDim() int {
	if j.cost.Integral != nil {
		return j.n + 1
	}
	return j.n
}

// continuousBackward solves a continuous adjoint field backwards from T1 to
// T0 in pieces between the backward stops (forward stops, where
// observations make λ jump, and the given extra times), calling before at
// the start of each piece. λ occupies x[lamOff:lamOff+n] and the parameter
// quadrature x[lamOff+n:]; the state before lamOff (backsolve's y) is set
// by the caller through init.
func (j *gradJob) continuousBackward(solver Solver, tol Tolerances, fld field, lamOff, n int, tr *fwdTrace,
	extra []float64, onAdjoint func(float64, []float64), before func(tFrom, tTo float64) error, init ...func(x []float64)) error {
	if solver == nil {
		solver = j.solver
	}
	np := j.np
	r, rtol := j.auxResolved(tol)
	lamAtol, qAtol := j.adjointAtol(tol)
	atol := make([]float64, 0, fld.dim())
	if lamOff > 0 {
		atol = append(atol, j.r.atol...)
	}
	atol = append(atol, lamAtol...)
	for range np {
		atol = append(atol, qAtol)
	}
	bst := &j.res.Backward
	it := newIntegrator(fld, solver, bst, rtol, atol, r)
	it.phase = "backward"

	dp := make([]float64, np)
	x := make([]float64, fld.dim())
	for _, f := range init {
		f(x)
	}
	lam := j.adjointStart(tr.x[:n], tr.obsY, dp)
	copy(x[lamOff:], lam)
	if onAdjoint != nil {
		onAdjoint(j.prob.T1, x[lamOff:lamOff+n])
		it.onStep = func(t, h float64, _, x1, _, _ []float64) error {
			onAdjoint(t+h, x1[lamOff:lamOff+n])
			return nil
		}
	}

	// Pieces between consecutive backward stops.
	stopIdx := make(map[float64]int, len(j.stops))
	for i, s := range j.stops[:len(j.stops)-1] {
		stopIdx[s] = i
	}
	times := append(slices.Clone(extra), j.backwardStops()...)
	times = makeStops(j.prob.T1, j.prob.T0, times)
	tFrom := j.prob.T1
	for _, tTo := range times {
		if before != nil {
			if err := before(tFrom, tTo); err != nil {
				return err
			}
		}
		// A piece of zero length (T0 = T1) has nothing to integrate: the
		// field is not even evaluated there, since with no forward steps
		// there is no trajectory to evaluate it on.
		if tTo != tFrom {
			if err := it.run(tFrom, x, []float64{tTo}); err != nil {
				return err
			}
		}
		if i, ok := stopIdx[tTo]; ok {
			j.observationJump(x[lamOff:lamOff+n], dp, j.obsAt[i], tr.obsY)
			if lamOff > 0 && len(j.obsAt[i]) > 0 {
				copy(x[:lamOff], tr.obsY[j.obsAt[i][0]]) // see Backsolve: reset y to the forward value
			}
		}
		if err := checkFiniteVec("λ", x[lamOff:], tTo, solver); err != nil {
			return err
		}
		tFrom = tTo
	}
	j.observationJump(x[lamOff:lamOff+n], dp, j.obsAtT0, tr.obsY)
	copy(j.res.DY0, x[lamOff:lamOff+n])
	for k := range np {
		j.res.DP[k] = dp[k] + x[lamOff+n+k]
	}
	if len(j.obsAtT0) > 0 && onAdjoint != nil {
		onAdjoint(j.prob.T0, j.res.DY0)
	}
	return nil
}
